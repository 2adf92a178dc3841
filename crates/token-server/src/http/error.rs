//! The wire rendering of [`ServiceError`], one renderer per API family, all here: the Authlete
//! family's `{resultCode, resultMessage, action}` with the code's HTTP status (the default), the
//! custom-token family's `{success: false, error}`, and the RFC 6749 token endpoint's `{error,
//! error_description}`; and the JSON body extractor whose rejections share the default shape.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use token_core::custom_token::{GenerateCustomTokenResponse, OAuthErrorResponse};
use token_core::token_manage::ApiErrorBody;

pub use crate::service::error::ErrorInfo;
use crate::service::error::{
    AuthError, CustomTokenError, RefreshError, RequestError, ServiceError, parse_json,
};

/// Logs an error on its way to the wire: the internal detail of a server-side failure (which the
/// caller never sees), a rejection at debug level.
fn log(error: &ServiceError, info: &ErrorInfo) {
    if info.code.status >= 500 {
        tracing::error!(error = %error, code = info.code.code, "request failed");
    } else {
        tracing::debug!(code = info.code.code, message = %info.message, "request rejected");
    }
}

/// The Authlete family's error body.
pub fn api_error_body(info: &ErrorInfo) -> ApiErrorBody {
    ApiErrorBody {
        result_code: info.code.code.to_owned(),
        result_message: info.message.clone(),
        action: Some(info.code.action),
    }
}

/// The Authlete family (the default): the code's status and body, `WWW-Authenticate` on 401,
/// `Retry-After` on 429.
impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let info = self.info();
        log(&self, &info);
        let status = StatusCode::from_u16(info.code.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(api_error_body(&info))).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if matches!(self, ServiceError::Auth(AuthError::Unknown | AuthError::Unusable)) {
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

/// The custom-token family's error body.
pub fn custom_token_failure(info: &ErrorInfo) -> GenerateCustomTokenResponse {
    GenerateCustomTokenResponse::failed(info.message.clone())
}

/// The custom-token family answers errors as `{success: false, error}`: this re-renders any error
/// response of the routes it wraps (auth, body, rules, 429 — rendered in the default family
/// first, with their [`ErrorInfo`]) keeping status and headers.
pub async fn custom_token_family(response: Response) -> Response {
    let Some(info) = response.extensions().get::<ErrorInfo>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut rebuilt = (parts.status, axum::Json(custom_token_failure(&info))).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE {
            rebuilt.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rebuilt.extensions_mut().insert(info);
    rebuilt
}

/// The `error` codes of RFC 6749 section 5.2 this endpoint answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidDpopProof,
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1's word for "not now": answered with 429 and `Retry-After`.
    TemporarilyUnavailable,
    ServerError,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthErrorCode::ServerError => "server_error",
        }
    }
}

/// An RFC 6749 section 5.2 error.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: OAuthErrorCode,
    pub description: String,
    /// Seconds for `Retry-After` (with 429).
    pub retry_after_secs: Option<u64>,
}

impl OAuthError {
    pub fn bad(error: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            retry_after_secs: None,
        }
    }
}

impl From<ServiceError> for OAuthError {
    fn from(e: ServiceError) -> Self {
        let info = e.info();
        let (status, error) = match &e {
            ServiceError::Auth(AuthError::ServiceUnknown(_)) => {
                (StatusCode::NOT_FOUND, OAuthErrorCode::InvalidRequest)
            }
            _ if info.code.status >= 500 => {
                log(&e, &info);
                (StatusCode::INTERNAL_SERVER_ERROR, OAuthErrorCode::ServerError)
            }
            ServiceError::CustomToken(CustomTokenError::Missing)
            | ServiceError::Refresh(RefreshError::Missing) => {
                (StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidRequest)
            }
            // RFC 6749 §5.2: this token needs an authenticated client (here: the service's
            // credential), or the credential given is not valid; RFC 9449 §5: a bad DPoP proof.
            ServiceError::Refresh(RefreshError::CredentialRequired) | ServiceError::Auth(_) => {
                (StatusCode::UNAUTHORIZED, OAuthErrorCode::InvalidClient)
            }
            ServiceError::Refresh(RefreshError::ProofInvalid(_)) => {
                (StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidDpopProof)
            }
            ServiceError::TooMany { retry_after_secs, .. } => {
                let description = info.message;
                let (status, error) = (StatusCode::TOO_MANY_REQUESTS, OAuthErrorCode::TemporarilyUnavailable);
                return Self { status, error, description, retry_after_secs: Some(*retry_after_secs) };
            }
            _ => (StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidGrant),
        };
        Self { status, error, description: info.message, retry_after_secs: None }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorResponse {
            error: self.error.as_str().to_owned(),
            error_description: Some(self.description),
        };
        let mut response = (self.status, Json(body)).into_response();
        no_store(response.headers_mut());
        if let Some(value) =
            self.retry_after_secs.and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Token endpoint answers are never cached (RFC 6749 section 5.1).
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A JSON request body: requires `Content-Type: application/json`, honours the body limit, and
/// names the offending field (`path: problem`) when the JSON does not fit `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            let got = if content_type.is_empty() { "none" } else { content_type };
            return Err(RequestError::ContentType(got.to_owned()).into());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                RequestError::BodyTooLarge
            } else {
                RequestError::Body(format!("The request body could not be read: {rejection}."))
            }
        })?;
        // Every typed body of the API is a JSON object, and serde would also read a struct from an
        // array (`["x"]` as its first field): refuse that before it is read. A `Value` body (the
        // pipeline's array form, the tenancy objects) is checked by what reads it.
        if std::any::TypeId::of::<T>() != std::any::TypeId::of::<serde_json::Value>()
            && bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        {
            return Err(RequestError::Body("The request body must be a JSON object.".into()).into());
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON object body that may be left out: no body at all (as `curl -X POST` sends) reads as
/// `{}`; any body is read as [`JsonBody`] reads it (content type, limit, shape).
#[derive(Debug)]
pub struct JsonBodyOrNone(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBodyOrNone {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                RequestError::BodyTooLarge
            } else {
                RequestError::Body(format!("The request body could not be read: {rejection}."))
            }
        })?;
        // No body however it was sent (no length, `Content-Length: 0`, an empty chunked body).
        if bytes.is_empty() {
            return Ok(Self(serde_json::Value::Object(Default::default())));
        }
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            let got = if content_type.is_empty() { "none".to_owned() } else { content_type };
            return Err(RequestError::ContentType(got).into());
        }
        parse_json(&bytes).map(Self)
    }
}
