//! The service's JWK Set (RFC 7517): its current public key, and retired keys while tokens they
//! signed are alive.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use token_core::ServiceId;
use token_core::jwks::JwkSet;

use crate::app::AppState;
use crate::auth::{ServiceCaller, public_service};
use crate::clock::now_ms;
use crate::error::ApiError;

async fn key_set(state: &AppState, service: ServiceId) -> Result<JwkSet, ApiError> {
    let keys = state.db(move |store| store.published_signing_keys(service, now_ms())).await?;
    Ok(JwkSet { keys: keys.into_iter().map(|k| k.public_jwk).collect() })
}

pub async fn public_jwks(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let service = public_service(&state, &raw).await?.id;
    let body = key_set(&state, service).await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(body)))
}

pub async fn service_jwks(
    State(state): State<AppState>,
    caller: ServiceCaller,
) -> Result<Json<JwkSet>, ApiError> {
    Ok(Json(key_set(&state, caller.service.id).await?))
}
