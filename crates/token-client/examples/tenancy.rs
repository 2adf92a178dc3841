//! Provisioning from Rust with an Organization Token: a service, a client of it, a key rotation,
//! the keys listed, then the service deleted again.
//!
//! Run against a server: `TOKEN_SERVICE_URL=http://127.0.0.1:8080 TOKEN_ORGANIZATION_BEARER=ort_… \
//! cargo run -p token-client --example tenancy` (the first start's credentials file holds both).

use token_client::token_core::tenancy::Scope;
use token_client::{Client, GrantType, KeyRotateRequest, ListRange, Service, TokenClient};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let organization = TokenClient::builder()
        .base_url(var("TOKEN_SERVICE_URL")?)
        .bearer(var("TOKEN_ORGANIZATION_BEARER")?)
        .build()?;

    let service = organization
        .create_service(&Service {
            service_name: Some("example".into()),
            supported_scopes: Some(vec![Scope { name: "openid".into() }, Scope { name: "profile".into() }]),
            ..Service::default()
        })
        .await?;
    let id = service.api_key.ok_or("service create answered no ID")?;
    println!("service {id} created");
    let this = organization.service(id);

    let app = this
        .create_client(&Client {
            client_name: Some("example app".into()),
            client_id_alias: Some("example-app".into()),
            grant_types: Some(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
            ..Client::default()
        })
        .await?;
    println!("client {:?} created", app.client_id);

    let rotated = this.rotate_key(&KeyRotateRequest::default()).await?;
    println!("key {} is current", rotated.key.kid);
    let keys = this.list_keys().await?;
    println!("{} key(s): {:?}", keys.keys.len(), keys.keys.iter().map(|k| &k.state).collect::<Vec<_>>());

    let services = organization.list_services(ListRange::default()).await?;
    println!("the organization has {} service(s)", services.total_count);
    this.delete_service().await?;
    println!("service {id} deleted");
    Ok(())
}
