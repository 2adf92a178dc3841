//! `000_…` usage, first block: `rdk.generateCustomToken({ userId: 'user00', identity: 'enduser',
//! claims: { name: 'John Doe' } })`.
//!
//! Run against a server: `TOKEN_SERVICE_URL=http://127.0.0.1:8080 TOKEN_SERVICE_ID=… \
//! TOKEN_SERVICE_BEARER=sat_… cargo run -p token-client --example generate_custom_token`

use serde_json::json;
use token_client::TokenClient;
use token_core::custom_token::GenerateCustomToken;

fn client() -> Result<TokenClient, Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    Ok(TokenClient::builder()
        .base_url(var("TOKEN_SERVICE_URL")?)
        .service(var("TOKEN_SERVICE_ID")?.parse::<u64>()?)
        .bearer(var("TOKEN_SERVICE_BEARER")?)
        .build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = client()?;
    let mut input = GenerateCustomToken::new("user00", "enduser");
    input.claims = Some(json!({ "name": "John Doe" }));
    let custom_token = client.generate_custom_token(&input).await?;
    // Hand this to the end user; printing it here is the point of the example.
    println!("{}", custom_token.secret());
    Ok(())
}
