//! The service's JWK Set (RFC 7517): public for verifiers, and the hosted API's authenticated path.
//! Both carry an `ETag` (a hash of the set) and answer `If-None-Match` with 304, so verifiers can
//! revalidate often at the cost of a header; the public one may be cached for
//! [`PUBLIC_MAX_AGE_SECS`].

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use token_core::keys::{PublicJwks, ServiceJwks};

use crate::http::auth::ServiceCaller;
use crate::http::conditional;
use crate::http::endpoint::{Failure, Reply};
use crate::service::App;

/// How long a shared cache may keep the public set: short, so a revoked key leaves caches fast.
pub const PUBLIC_MAX_AGE_SECS: u64 = 30;

pub async fn public_jwks(
    State(app): State<App>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Reply<PublicJwks>, Failure<PublicJwks>> {
    let service = app.authentication().public_service(&raw).await?.id;
    let set = app.keys().published_keys(service).await?;
    let cache_control = format!("public, max-age={PUBLIC_MAX_AGE_SECS}");
    // The set was rendered once, when it changed: its JSON is served as it is.
    Ok(Reply::encoded(conditional::answer(
        &headers,
        &set.etag,
        "application/json",
        set.json.clone(),
        Some(&cache_control),
    )))
}

pub async fn service_jwks(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    headers: HeaderMap,
) -> Result<Reply<ServiceJwks>, Failure<ServiceJwks>> {
    let set = app.keys().published_keys(caller.service.id).await?;
    Ok(Reply::encoded(conditional::answer(&headers, &set.etag, "application/json", set.json.clone(), None)))
}
