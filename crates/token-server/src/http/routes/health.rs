//! Liveness, readiness and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::service::{ServiceError, Services};

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The process can serve: the store answers.
pub async fn readyz(State(services): State<Services>) -> Result<Json<Value>, ServiceError> {
    services.ready().await?;
    Ok(Json(json!({"status": "ready"})))
}

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], token_core::openapi::document_json())
}
