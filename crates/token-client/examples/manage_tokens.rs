//! Token management from Rust (`004_…`): create an access token for a user, introspect it as a
//! resource server would, list the user's tokens, then sign the user out everywhere and see the
//! token inactive.
//!
//! Run against a server: `TOKEN_SERVICE_URL=http://127.0.0.1:8080 TOKEN_SERVICE_ID=… \
//! TOKEN_SERVICE_BEARER=sat_… TOKEN_SERVICE_CLIENT_ID=… cargo run -p token-client --example manage_tokens`
//! (the first start's credentials file holds all four).

use token_client::{
    ClientId, GrantType, IntrospectionRequest, TokenClient, TokenCreateRequest, TokenListRequest,
    TokenRevokeRequest,
};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = TokenClient::builder()
        .base_url(var("TOKEN_SERVICE_URL")?)
        .service(var("TOKEN_SERVICE_ID")?.parse::<u64>()?)
        .bearer(var("TOKEN_SERVICE_BEARER")?)
        .build()?;
    let client_id: ClientId = var("TOKEN_SERVICE_CLIENT_ID")?.parse()?;

    let created = client
        .create_token(
            &TokenCreateRequest::new(GrantType::AuthorizationCode)
                .client(client_id)
                .subject("alice")
                .scopes(["openid"]),
        )
        .await?;
    let access_token = created.access_token.ok_or("token create answered no access token")?;
    println!("created: {} (expires at {:?})", created.result_message, created.expires_at);

    let seen = client.introspect(&IntrospectionRequest::new(access_token.clone())).await?;
    println!("introspected: {:?}, subject {:?}", seen.action, seen.subject);

    let listed = client.list_tokens(&TokenListRequest::default().subject("alice")).await?;
    println!("alice has {} token(s)", listed.total_count);

    let revoked = client.revoke(&TokenRevokeRequest::subject("alice")).await?;
    println!("revoked: {}", revoked.count);
    let seen = client.introspect(&IntrospectionRequest::new(access_token)).await?;
    println!("introspected after the revocation: {:?}", seen.action);
    Ok(())
}
