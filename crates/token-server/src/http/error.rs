//! The wire rendering of [`ServiceError`] (`{resultCode, resultMessage, action}` with the code's
//! HTTP status), done once here, and the JSON body extractor whose rejections share that shape.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use token_core::ResultCode;
use token_core::token_manage::ApiErrorBody;

pub use crate::service::error::ErrorInfo;
use crate::service::error::{ServiceError, parse_json};

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let info = self.info();
        if info.code.status >= 500 {
            tracing::error!(error = %self, code = info.code.code, "request failed");
        } else {
            tracing::debug!(code = info.code.code, message = %info.message, "request rejected");
        }
        let status = StatusCode::from_u16(info.code.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ApiErrorBody {
            result_code: info.code.code.to_owned(),
            result_message: info.message.clone(),
            action: Some(info.code.action),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if info.code == ResultCode::CREDENTIAL_INVALID {
                r#"Bearer realm="token-service", error="invalid_token""#
            } else {
                r#"Bearer realm="token-service""#
            };
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let ServiceError::TooMany { retry_after_secs, .. } = &self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response.extensions_mut().insert(info);
        response
    }
}

/// A JSON request body: requires `Content-Type: application/json`, honours the body limit, and
/// names the offending field (`path: problem`) when the JSON does not fit `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ServiceError::rule(
                ResultCode::CONTENT_TYPE_UNSUPPORTED,
                format!(
                    "Content-Type must be application/json (got '{}').",
                    if content_type.is_empty() { "none" } else { content_type }
                ),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::rule(
                    ResultCode::BODY_TOO_LARGE,
                    "The request body is larger than the configured limit.",
                )
            } else {
                ServiceError::rule(
                    ResultCode::BODY_MALFORMED,
                    format!("The request body could not be read: {rejection}."),
                )
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}
