//! `000_…` usage, third block:
//! `rdk.pipeline().generateCustomToken({…user01…}).generateCustomToken({…user02…}).send()`.
//!
//! Environment: TOKEN_SERVICE_URL, TOKEN_SERVICE_ID, TOKEN_SERVICE_BEARER.

use serde_json::json;
use token_client::TokenClient;
use token_core::custom_token::GenerateCustomToken;

fn input(user: &str, name: &str) -> GenerateCustomToken {
    let mut input = GenerateCustomToken::new(user, "enduser");
    input.claims = Some(json!({ "name": name }));
    input
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let client = TokenClient::builder()
        .base_url(var("TOKEN_SERVICE_URL")?)
        .service(var("TOKEN_SERVICE_ID")?.parse::<u64>()?)
        .bearer(var("TOKEN_SERVICE_BEARER")?)
        .build()?;

    let results = client
        .pipeline()
        .generate_custom_token(input("user01", "John Doe"))
        .generate_custom_token(input("user02", "Jane Doe"))
        .send()
        .await?;
    for (i, result) in results.iter().enumerate() {
        println!("operation {i}: {}", if result.is_ok() { "ok" } else { "failed" });
    }
    Ok(())
}
