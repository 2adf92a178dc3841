//! Liveness, readiness, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::service::{App, ServiceError};

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The process can serve: the store answers.
pub async fn readyz(State(app): State<App>) -> Result<Json<Value>, ServiceError> {
    app.maintenance().ready().await?;
    Ok(Json(json!({"status": "ready"})))
}

/// Operational metrics, Prometheus text format.
pub async fn metrics(State(app): State<App>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], app.render_metrics())
}

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi_document())
}

/// The OpenAPI document, rendered once per process: it is public, so its cost per request must stay
/// that of `/healthz` (answers share the bytes, nothing is copied).
fn openapi_document() -> bytes::Bytes {
    static DOCUMENT: std::sync::LazyLock<bytes::Bytes> =
        std::sync::LazyLock::new(|| bytes::Bytes::from(token_core::openapi::document_json()));
    DOCUMENT.clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_is_rendered_once_and_shared() {
        let (first, second) = (super::openapi_document(), super::openapi_document());
        assert_eq!(first.as_ptr(), second.as_ptr(), "every answer shares one rendering");
        assert_eq!(first, token_core::openapi::document_json().as_bytes());
    }
}
