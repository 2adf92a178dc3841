//! The service's JWK Set (RFC 7517): public for verifiers, and the hosted API's authenticated path.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use token_core::jwks::JwkSet;

use crate::http::auth::ServiceCaller;
use crate::service::{ServiceError, Services};

pub async fn public_jwks(
    State(services): State<Services>,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, ServiceError> {
    let service = services.public_service(&raw).await?.id;
    let body = services.published_keys(service).await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(body)))
}

pub async fn service_jwks(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
) -> Result<Json<JwkSet>, ServiceError> {
    Ok(Json(services.published_keys(caller.service.id).await?))
}
