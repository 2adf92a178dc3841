//! The HTTP layer's errors and their wire rendering, one renderer per API family, all here: the
//! Authlete family's `{resultCode, resultMessage, action}` with the code's HTTP status (the
//! default), the custom-token family's `{success: false, error}`, and the RFC 6749 token
//! endpoint's `{error, error_description}`. Which family an answer is rendered in is the
//! endpoint's type (`http::endpoint`), not a second pass over the response.

use std::convert::Infallible;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use token_core::api::Family;
use token_core::custom_token::{GenerateCustomTokenResponse, OAuthErrorResponse};
use token_core::token_manage::ApiErrorBody;
use token_core::{ResultCode, ValidationError};

pub use crate::service::error::ErrorInfo;
use crate::service::error::{AuthError, CustomTokenError, RefreshError, RequestError, ServiceError};

/// What a request can fail with at the HTTP layer: what HTTP itself refuses (media type, size,
/// method, time, an unknown path) and every failure of the operation it called.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("Content-Type must be application/json (got '{0}').")]
    ContentType(String),
    #[error("The request body is larger than the configured limit.")]
    BodyTooLarge,
    /// The body could not be read or parsed; the detail names where and why.
    #[error("{0}")]
    Body(String),
    #[error("Query parameters: {0}.")]
    Query(String),
    #[error("The request was not received and answered within {0} seconds.")]
    Timeout(u64),
    #[error("No endpoint at this path.")]
    NoEndpoint,
    #[error("This endpoint does not accept this HTTP method.")]
    MethodNotAllowed,
    /// The operation failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl HttpError {
    /// The catalogue entry and the caller-facing message.
    pub fn info(&self) -> ErrorInfo {
        let code = match self {
            HttpError::Service(e) => return e.info(),
            HttpError::ContentType(_) => ResultCode::CONTENT_TYPE_UNSUPPORTED,
            HttpError::BodyTooLarge => ResultCode::BODY_TOO_LARGE,
            HttpError::Body(_) => ResultCode::BODY_MALFORMED,
            HttpError::Query(_) => ResultCode::QUERY_INVALID,
            HttpError::Timeout(_) => ResultCode::REQUEST_TIMEOUT,
            HttpError::NoEndpoint => ResultCode::NOT_FOUND,
            HttpError::MethodNotAllowed => ResultCode::METHOD_NOT_ALLOWED,
        };
        ErrorInfo { message: code.message(self.to_string()), code }
    }
}

impl From<ValidationError> for HttpError {
    fn from(e: ValidationError) -> Self {
        HttpError::Service(e.into())
    }
}

impl From<AuthError> for HttpError {
    fn from(e: AuthError) -> Self {
        HttpError::Service(e.into())
    }
}

impl From<RequestError> for HttpError {
    fn from(e: RequestError) -> Self {
        HttpError::Service(e.into())
    }
}

impl From<crate::service::tenancy::TenancyError> for HttpError {
    fn from(e: crate::service::tenancy::TenancyError) -> Self {
        HttpError::Service(e.into())
    }
}

impl From<PathRejection> for HttpError {
    fn from(e: PathRejection) -> Self {
        RequestError::Path(e.to_string()).into()
    }
}

impl From<Infallible> for HttpError {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

/// Logs an error on its way to the wire: the internal detail of a server-side failure (which the
/// caller never sees), a rejection at debug level.
fn log(error: &dyn std::fmt::Display, info: &ErrorInfo) {
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

/// The custom-token family's error body.
pub fn custom_token_failure(info: &ErrorInfo) -> GenerateCustomTokenResponse {
    GenerateCustomTokenResponse::failed(info.message.clone())
}

/// `failure` in `family`'s shape (the Authlete or the custom-token family): the code's status,
/// `WWW-Authenticate` on 401, `Retry-After` on 429, and the [`ErrorInfo`] as an extension for
/// the access log and metrics.
pub fn render(failure: HttpError, family: Family) -> Response {
    let info = failure.info();
    log(&failure, &info);
    let status = StatusCode::from_u16(info.code.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match family {
        Family::CustomToken => (status, Json(custom_token_failure(&info))).into_response(),
        Family::Api | Family::OAuth => (status, Json(api_error_body(&info))).into_response(),
    };
    let headers = response.headers_mut();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if matches!(
            failure,
            HttpError::Service(ServiceError::Auth(AuthError::Unknown | AuthError::Unusable))
        ) {
            r#"Bearer realm="token-service", error="invalid_token""#
        } else {
            r#"Bearer realm="token-service""#
        };
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    if let HttpError::Service(ServiceError::TooMany { retry_after_secs, .. }) = &failure
        && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        headers.insert(header::RETRY_AFTER, value);
    }
    response.extensions_mut().insert(info);
    response
}

/// The Authlete family (the default).
impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        render(self, Family::Api)
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        render(self.into(), Family::Api)
    }
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
    /// The catalogue's code for the access log and the error metrics (the body is RFC 6749's).
    pub code: ResultCode,
}

impl OAuthError {
    pub fn bad(error: OAuthErrorCode, description: impl Into<String>) -> Self {
        let code = match error {
            OAuthErrorCode::UnsupportedGrantType => ResultCode::OAUTH_GRANT_TYPE_UNSUPPORTED,
            _ => ResultCode::OAUTH_REQUEST_INVALID,
        };
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            retry_after_secs: None,
            code,
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
            // A malformed request (its path, or a token missing), not a bad grant.
            ServiceError::Request(_)
            | ServiceError::CustomToken(CustomTokenError::Missing)
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
                let retry_after_secs = Some(*retry_after_secs);
                return Self { status, error, description, retry_after_secs, code: info.code };
            }
            _ => (StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidGrant),
        };
        Self { status, error, description: info.message, retry_after_secs: None, code: info.code }
    }
}

impl From<HttpError> for OAuthError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Service(e) => e.into(),
            HttpError::BodyTooLarge => Self {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                error: OAuthErrorCode::InvalidRequest,
                description: e.to_string(),
                retry_after_secs: None,
                code: ResultCode::BODY_TOO_LARGE,
            },
            other => Self::bad(OAuthErrorCode::InvalidRequest, other.info().message),
        }
    }
}

impl From<PathRejection> for OAuthError {
    fn from(e: PathRejection) -> Self {
        HttpError::from(e).into()
    }
}

impl From<Infallible> for OAuthError {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let info = ErrorInfo { code: self.code, message: self.description.clone() };
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
        // RFC 6749 §5.2: a 401 names the scheme the client may authenticate with.
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="token-service""#),
            );
        }
        // For the access log and the error metrics, as every other family's errors.
        response.extensions_mut().insert(info);
        response
    }
}

/// Token endpoint answers are never cached (RFC 6749 section 5.1).
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
