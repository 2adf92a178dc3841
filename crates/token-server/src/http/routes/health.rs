//! Liveness, readiness, metrics and the OpenAPI document: the operational endpoints, declared
//! here as endpoint types like the API's own (they are not in the document).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use token_core::api::{Carrier, Endpoint, Metadata, Method, NO_ERRORS, NoBody, Payload, TAG_OPERATIONS};
use token_core::error_body::ApiErrorBody;

use crate::http::endpoint::{Failure, Reply};
use crate::service::App;

const fn operational(operation_id: &'static str, path: &'static str) -> Metadata {
    Metadata {
        operation_id,
        method: Method::Get,
        path,
        summary: "",
        tag: TAG_OPERATIONS,
        auth: token_core::api::Auth::Public,
        idempotent: true,
        errors: NO_ERRORS,
    }
}

/// `{"status": …}`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
}

impl Payload for Health {
    const CARRIER: Carrier = Carrier::Json;
}

/// The OpenAPI document, as JSON.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct OpenApiDocument;

impl Payload for OpenApiDocument {
    const CARRIER: Carrier = Carrier::Json;
}

/// The Prometheus text exposition.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct MetricsText(pub String);

impl Payload for MetricsText {
    const CARRIER: Carrier = Carrier::Text("text/plain; version=0.0.4; charset=utf-8");
}

macro_rules! operational {
    ($($(#[$doc:meta])* $name:ident: $operation_id:literal, $path:literal => $response:ty;)+) => {
        $($(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;

        impl Endpoint for $name {
            const METADATA: Metadata = operational($operation_id, $path);
            type Request = NoBody;
            type Response = $response;
            type Error = ApiErrorBody;
        })+
    };
}

operational! {
    /// `GET /healthz`: the process answers.
    Healthz: "healthz", "/healthz" => Health;
    /// `GET /readyz`: the store answers.
    Readyz: "readyz", "/readyz" => Health;
    /// `GET /openapi.json`.
    OpenApi: "openapi", "/openapi.json" => OpenApiDocument;
    /// `GET /metrics`.
    Metrics: "metrics", "/metrics" => MetricsText;
}

pub async fn healthz() -> Result<Reply<Healthz>, Failure<Healthz>> {
    Ok(Reply::new(Health { status: "ok" }))
}

pub async fn readyz(State(app): State<App>) -> Result<Reply<Readyz>, Failure<Readyz>> {
    app.maintenance().ready().await?;
    Ok(Reply::new(Health { status: "ready" }))
}

pub async fn metrics(State(app): State<App>) -> Result<Reply<Metrics>, Failure<Metrics>> {
    Ok(Reply::new(MetricsText(app.render_metrics())))
}

pub async fn openapi() -> Result<Reply<OpenApi>, Failure<OpenApi>> {
    Ok(Reply::encoded(([(header::CONTENT_TYPE, "application/json")], openapi_document()).into_response()))
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
