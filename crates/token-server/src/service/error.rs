//! The service layer's one error enum. Each error knows its catalogue entry (`ResultCode`, hence
//! HTTP status and `action`); `http::error` renders it on the wire, once.

use serde::de::DeserializeOwned;
use token_core::{ResultCode, ValidationError};

use super::keys::KeyError;
use crate::store::StoreError;

/// Everything a domain operation can fail with. Internal details are logged by the renderer and
/// replaced by a generic message.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
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

impl ServiceError {
    pub fn rule(code: ResultCode, message: impl Into<String>) -> Self {
        ServiceError::Rule { code, message: message.into() }
    }

    /// The catalogue entry and the caller-facing message (never internal details).
    pub fn info(&self) -> ErrorInfo {
        let (code, message) = match self {
            ServiceError::Invalid(e) => (e.result_code(), e.to_string()),
            ServiceError::Rule { code, message } => (*code, message.clone()),
            ServiceError::TooMany { message, .. } => (ResultCode::TOO_MANY_REQUESTS, message.clone()),
            ServiceError::Store(e) if e.is_unavailable() => {
                (ResultCode::STORE_UNAVAILABLE, "The token store is unavailable; see the server log.".into())
            }
            ServiceError::Store(e) => (ResultCode::SERVER_ERROR, format!("Unexpected store answer: {e}.")),
            ServiceError::Keys(_) | ServiceError::Internal(_) => (
                ResultCode::SERVER_ERROR,
                "An unexpected server-side error occurred; see the server log.".into(),
            ),
        };
        ErrorInfo { message: code.message(message), code }
    }
}

/// Parses JSON into `T`, naming the field that does not fit.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("The request body is not valid: {inner}.")
        } else {
            format!("The request body is not valid at '{path}': {inner}.")
        };
        ServiceError::rule(ResultCode::BODY_MALFORMED, message)
    })?;
    deserializer.end().map_err(|e| {
        ServiceError::rule(ResultCode::BODY_MALFORMED, format!("The request body is not valid: {e}."))
    })?;
    Ok(value)
}
