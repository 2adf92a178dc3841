//! `000_…` usage, second block: the same call with `accessTokenTTL: 3600, refreshTokenTTL: 86400`,
//! then what the end user's app does with it: exchange it for the token pair.
//!
//! Environment: TOKEN_SERVICE_URL, TOKEN_SERVICE_ID, TOKEN_SERVICE_BEARER.

use serde_json::json;
use token_client::TokenClient;
use token_core::custom_token::GenerateCustomToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let client = TokenClient::builder()
        .base_url(var("TOKEN_SERVICE_URL")?)
        .service(var("TOKEN_SERVICE_ID")?.parse::<u64>()?)
        .bearer(var("TOKEN_SERVICE_BEARER")?)
        .build()?;

    let mut input = GenerateCustomToken::new("user00", "enduser");
    input.claims = Some(json!({ "name": "John Doe" }));
    input.access_token_ttl = Some(3600);
    input.refresh_token_ttl = Some(86400);
    let custom_token = client.generate_custom_token(&input).await?;

    let pair = client.exchange_custom_token(&custom_token).await?;
    println!(
        "access token expires at {:?} ms, refresh token at {:?} ms",
        pair.access_token_expires_at, pair.refresh_token_expires_at
    );
    Ok(())
}
