//! The service's JWK Set (RFC 7517): public for verifiers, and the hosted API's authenticated path.
//! Both carry an `ETag` (a hash of the set) and answer `If-None-Match` with 304, so verifiers can
//! revalidate often at the cost of a header; the public one may be cached for
//! [`PUBLIC_MAX_AGE_SECS`].

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use token_core::TokenHash;
use token_core::jwks::JwkSet;

use crate::http::auth::ServiceCaller;
use crate::http::conditional;
use crate::service::{ServiceError, Services};

/// How long a shared cache may keep the public set: short, so a revoked key leaves caches fast.
pub const PUBLIC_MAX_AGE_SECS: u64 = 30;

pub async fn public_jwks(
    State(services): State<Services>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let service = services.public_service(&raw).await?.id;
    let set = services.published_keys(service).await?;
    Ok(answer(&set, &headers, Some(&format!("public, max-age={PUBLIC_MAX_AGE_SECS}"))))
}

pub async fn service_jwks(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let set = services.published_keys(caller.service.id).await?;
    // Not for shared caches: the router's default `no-store` applies.
    Ok(answer(&set, &headers, None))
}

/// The set with its `ETag`, or 304 when the caller's `If-None-Match` names it.
fn answer(set: &JwkSet, headers: &HeaderMap, cache_control: Option<&str>) -> Response {
    let body = serde_json::to_string(set).unwrap_or_else(|_| "{\"keys\":[]}".to_owned());
    let etag = format!("\"{}\"", &TokenHash::of(&body).as_str()[..22]);
    conditional::answer(headers, &etag, "application/json", body, cache_control)
}
