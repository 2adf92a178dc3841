//! The server layer's error type, mapped to the wire in one place, and the JSON body extractor
//! whose rejections share that shape.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use token_core::token_manage::ApiErrorBody;
use token_core::{ResultCode, ValidationError};

use crate::keys::KeyError;
use crate::store::StoreError;

/// Everything a request can fail with. `IntoResponse` renders `{resultCode, resultMessage, action}`
/// with the code's HTTP status; internal details are logged and replaced by a generic message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A rule of the API was broken (core validation).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Any other catalogued answer, with its message.
    #[error("{message}")]
    Rule { code: ResultCode, message: String },
    /// Too many requests in flight; retry after `retry_after_secs`.
    #[error("{message}")]
    TooMany { message: String, retry_after_secs: u64 },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("keys: {0}")]
    Keys(#[from] KeyError),
    #[error("internal: {0}")]
    Internal(String),
}

/// The code and message of an error response; also attached to the response as an extension so
/// that API families with another error shape (custom tokens) can re-render it.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub code: ResultCode,
    pub message: String,
}

impl ApiError {
    pub fn rule(code: ResultCode, message: impl Into<String>) -> Self {
        ApiError::Rule { code, message: message.into() }
    }

    /// The catalogue entry and the caller-facing message (never internal details).
    pub fn info(&self) -> ErrorInfo {
        let (code, message) = match self {
            ApiError::Invalid(e) => (e.result_code(), e.to_string()),
            ApiError::Rule { code, message } => (*code, message.clone()),
            ApiError::TooMany { message, .. } => (ResultCode::TOO_MANY_REQUESTS, message.clone()),
            ApiError::Store(StoreError::Backend(_)) => {
                (ResultCode::STORE_UNAVAILABLE, "The token store is unavailable; see the server log.".into())
            }
            ApiError::Store(e) => (ResultCode::SERVER_ERROR, format!("Unexpected store answer: {e}.")),
            ApiError::Keys(_) | ApiError::Internal(_) => (
                ResultCode::SERVER_ERROR,
                "An unexpected server-side error occurred; see the server log.".into(),
            ),
        };
        ErrorInfo { message: code.message(message), code }
    }
}

impl IntoResponse for ApiError {
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
        if let ApiError::TooMany { retry_after_secs, .. } = &self
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
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::rule(
                ResultCode::CONTENT_TYPE_UNSUPPORTED,
                format!(
                    "Content-Type must be application/json (got '{}').",
                    if content_type.is_empty() { "none" } else { content_type }
                ),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::rule(
                    ResultCode::BODY_TOO_LARGE,
                    "The request body is larger than the configured limit.",
                )
            } else {
                ApiError::rule(
                    ResultCode::BODY_MALFORMED,
                    format!("The request body could not be read: {rejection}."),
                )
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses JSON into `T`, naming the field that does not fit.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("The request body is not valid: {inner}.")
        } else {
            format!("The request body is not valid at '{path}': {inner}.")
        };
        ApiError::rule(ResultCode::BODY_MALFORMED, message)
    })?;
    deserializer.end().map_err(|e| {
        ApiError::rule(ResultCode::BODY_MALFORMED, format!("The request body is not valid: {e}."))
    })?;
    Ok(value)
}
