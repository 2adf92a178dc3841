//! The service layer's one error enum. Each error knows its catalogue entry (`ResultCode`, hence
//! HTTP status and `action`); `http::error` renders it on the wire, once.

use serde::de::DeserializeOwned;
use token_core::custom_token::{OP_CREATE_TOKEN, OP_GENERATE_CUSTOM_TOKEN};
use token_core::{ResultCode, ServiceId, ValidationError};

use super::keys::KeyError;
use super::tenancy::TenancyError;
use crate::store::StoreError;

/// Everything a domain operation can fail with: a variant per kind of failure, each carrying its
/// detail and knowing its catalogue entry ([`ServiceError::code`]). Internal details are logged
/// by the renderer and replaced by a generic message.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A rule of the API was broken (core validation).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request itself (path, query, headers, body) is not one this server reads.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The caller is not authenticated, or not for this service.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A custom token could not be exchanged.
    #[error(transparent)]
    CustomToken(#[from] CustomTokenError),
    /// A refresh token could not be used.
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    /// A token management request (list, update, delete, revoke) names nothing it can act on.
    #[error(transparent)]
    Manage(#[from] ManageError),
    /// A pipeline's shape is wrong: nothing of it ran.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Provisioning (services, clients, keys) refused; store, key and rule failures are not here
    /// (they convert to `Store`, `Keys` and `Invalid`).
    #[error(transparent)]
    Tenancy(TenancyError),
    /// A Shared Signals request names no stream, or one it may not act on.
    #[error(transparent)]
    Ssf(#[from] SsfError),
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

/// An input is not one this service reads (a path segment, a pipeline input); what HTTP itself
/// refuses (media type, size, method, time) is `http::error::HttpError`.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// An input could not be read; the detail names where and why.
    #[error("{0}")]
    Body(String),
    #[error("The path is not valid: {0}.")]
    Path(String),
    #[error("The service ID '{0}' in the path is not a canonical decimal number.")]
    ServiceId(String),
}

impl RequestError {
    pub fn code(&self) -> ResultCode {
        match self {
            RequestError::Body(_) => ResultCode::BODY_MALFORMED,
            RequestError::Path(_) | RequestError::ServiceId(_) => ResultCode::PATH_INVALID,
        }
    }
}

/// Authentication and the tenant rule.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("The request needs 'Authorization: Bearer <Service Access Token or Organization Token>'.")]
    Missing,
    #[error("The Bearer credential is not a valid Service Access Token or Organization Token.")]
    Unknown,
    #[error("The Bearer credential was revoked or has expired.")]
    Unusable,
    #[error("The credential may not act on the service {0}.")]
    Forbidden(ServiceId),
    #[error("No service has the ID {0}.")]
    ServiceUnknown(ServiceId),
    #[error(
        "This endpoint needs an Organization Token; a Service Access Token may not manage services or keys."
    )]
    OrganizationTokenRequired,
}

impl AuthError {
    pub fn code(&self) -> ResultCode {
        match self {
            AuthError::Missing => ResultCode::AUTHORIZATION_MISSING,
            AuthError::Unknown | AuthError::Unusable => ResultCode::CREDENTIAL_INVALID,
            AuthError::Forbidden(_) => ResultCode::CREDENTIAL_FORBIDDEN,
            AuthError::ServiceUnknown(_) => ResultCode::SERVICE_UNKNOWN,
            AuthError::OrganizationTokenRequired => ResultCode::ORGANIZATION_TOKEN_REQUIRED,
        }
    }
}

/// Why a custom token was not exchanged.
#[derive(Debug, thiserror::Error)]
pub enum CustomTokenError {
    #[error("customToken is required.")]
    Missing,
    #[error("The custom token is invalid: {0}.")]
    Invalid(String),
    #[error("The custom token has expired (custom tokens live {0} seconds).")]
    Expired(i64),
    #[error("The custom token was already exchanged; a custom token is single use.")]
    Replayed,
    #[error("The service does not allow the JWT_BEARER grant type; custom tokens are exchanged by it.")]
    GenerationNotAllowed,
    #[error("The service no longer allows the JWT_BEARER grant type; custom tokens are exchanged by it.")]
    ExchangeNotAllowed,
    #[error(
        "Every token of this user was revoked at or after the custom token was generated (tokensValidAfterTime); generate a new one."
    )]
    SubjectSignedOut,
}

impl CustomTokenError {
    pub fn code(&self) -> ResultCode {
        match self {
            CustomTokenError::Missing => ResultCode::CUSTOM_TOKEN_MISSING,
            CustomTokenError::Invalid(_) => ResultCode::CUSTOM_TOKEN_INVALID,
            CustomTokenError::Expired(_) => ResultCode::CUSTOM_TOKEN_EXPIRED,
            CustomTokenError::Replayed => ResultCode::CUSTOM_TOKEN_REPLAYED,
            CustomTokenError::GenerationNotAllowed => ResultCode::CUSTOM_TOKEN_GENERATION_NOT_ALLOWED,
            CustomTokenError::ExchangeNotAllowed => ResultCode::CUSTOM_TOKEN_EXCHANGE_NOT_ALLOWED,
            CustomTokenError::SubjectSignedOut => ResultCode::CUSTOM_TOKEN_SUBJECT_SIGNED_OUT,
        }
    }
}

/// Why a refresh token was not used.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("refreshToken is required.")]
    Missing,
    #[error("The service or the client no longer allows the REFRESH_TOKEN grant type.")]
    NotAllowed,
    #[error("The refresh token is unknown, expired or revoked.")]
    Invalid,
    #[error("This refresh token was already used and rotated; its whole token family was revoked.")]
    Reused,
    #[error(
        "Refreshing this token needs the service's Bearer credential: without it only custom-token sessions and DPoP-bound tokens (with a DPoP proof) are refreshed."
    )]
    CredentialRequired,
    #[error("The token is DPoP-bound and the DPoP proof is missing or invalid: {0}.")]
    ProofInvalid(String),
    #[error("The token is certificate-bound: give the bound client certificate (clientCertificate, PEM).")]
    CertificateMismatch,
}

impl RefreshError {
    pub fn code(&self) -> ResultCode {
        match self {
            RefreshError::Missing => ResultCode::REFRESH_TOKEN_MISSING,
            RefreshError::NotAllowed => ResultCode::REFRESH_NOT_ALLOWED,
            RefreshError::Invalid => ResultCode::REFRESH_TOKEN_INVALID,
            RefreshError::Reused => ResultCode::REFRESH_TOKEN_REUSED,
            RefreshError::CredentialRequired => ResultCode::REFRESH_CREDENTIAL_REQUIRED,
            RefreshError::ProofInvalid(_) => ResultCode::REFRESH_PROOF_INVALID,
            RefreshError::CertificateMismatch => ResultCode::REFRESH_CERTIFICATE_MISMATCH,
        }
    }
}

/// What token management could not act on.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("start = {start}, end = {end}: end must be ≥ start and end - start ≤ {max}.")]
    ListRange { start: u32, end: u32, max: u32 },
    #[error("No client with this clientIdentifier exists in the service.")]
    ListClientUnknown,
    /// An update request that cannot be applied; the detail says why.
    #[error("{0}")]
    UpdateInvalid(String),
    #[error("No access token of this service has this value or hash.")]
    UpdateNotFound,
    #[error("A token with the same value already exists; nothing was changed.")]
    ValueInUse,
    #[error("No access token of this service has this value or hash.")]
    DeleteNotFound,
    #[error("No client with this clientIdentifier exists in the service.")]
    RevokeClientUnknown,
    #[error(
        "Give accessTokenIdentifier, refreshTokenIdentifier, clientIdentifier (with an optional subject), or subject."
    )]
    RevokeRequestInvalid,
    #[error("The service keeps no Token Status Lists, or has no list {0} (or it was retired).")]
    StatusListUnknown(i64),
}

impl ManageError {
    pub fn code(&self) -> ResultCode {
        match self {
            ManageError::ListRange { .. } => ResultCode::TOKEN_LIST_RANGE_INVALID,
            ManageError::ListClientUnknown => ResultCode::TOKEN_LIST_CLIENT_UNKNOWN,
            ManageError::UpdateInvalid(_) => ResultCode::TOKEN_UPDATE_INVALID,
            ManageError::UpdateNotFound => ResultCode::TOKEN_UPDATE_NOT_FOUND,
            ManageError::ValueInUse => ResultCode::TOKEN_VALUE_IN_USE,
            ManageError::DeleteNotFound => ResultCode::TOKEN_DELETE_NOT_FOUND,
            ManageError::RevokeClientUnknown => ResultCode::REVOKE_CLIENT_UNKNOWN,
            ManageError::RevokeRequestInvalid => ResultCode::REVOKE_REQUEST_INVALID,
            ManageError::StatusListUnknown(_) => ResultCode::STATUS_LIST_UNKNOWN,
        }
    }
}

impl From<TenancyError> for ServiceError {
    fn from(e: TenancyError) -> Self {
        match e {
            TenancyError::Store(e) => ServiceError::Store(e),
            TenancyError::Keys(e) => ServiceError::Keys(e),
            TenancyError::Rule(e) => ServiceError::Invalid(e),
            TenancyError::KeysTooOften { retry_after_secs, .. } => {
                ServiceError::TooMany { message: e.to_string(), retry_after_secs }
            }
            e => ServiceError::Tenancy(e),
        }
    }
}

fn tenancy_code(e: &TenancyError) -> ResultCode {
    match e {
        TenancyError::NoService(_) => ResultCode::SERVICE_UNKNOWN,
        TenancyError::NoClient { .. } => ResultCode::TENANCY_CLIENT_NOT_FOUND,
        TenancyError::NoKey { .. } => ResultCode::TENANCY_KEY_NOT_FOUND,
        TenancyError::Taken(_) => ResultCode::TENANCY_CONFLICT,
        TenancyError::KeysTooOften { .. } => ResultCode::TOO_MANY_REQUESTS,
        TenancyError::Rule(e) => e.result_code(),
        TenancyError::Invalid(_)
        | TenancyError::NoOrganization(_)
        | TenancyError::NoCredential(_)
        | TenancyError::Store(_)
        | TenancyError::Keys(_) => ResultCode::TENANCY_SETTINGS_INVALID,
    }
}

/// A pipeline whose shape is wrong (nothing of it ran).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// `at` says where (" of operation 3", " 2 of 'createToken'"), or is empty.
    #[error("Unknown operation '{op}'{at}; use {g} or {c}. Nothing ran.", g = OP_GENERATE_CUSTOM_TOKEN, c = OP_CREATE_TOKEN)]
    UnknownOperation { op: String, at: String },
    #[error("The input{0} must be a JSON object. Nothing ran.")]
    InputNotObject(String),
    #[error("Operation {0} is not an object with a string 'op' and an 'input'. Nothing ran.")]
    NotAnOperation(usize),
    #[error("The pipeline holds {count} operations; the maximum is {max}. Split it.")]
    TooLarge { count: usize, max: usize },
    #[error("'{0}' must map to an array of inputs.")]
    NotAList(String),
    #[error("The body must be an array of {{\"op\", \"input\"}} or an object keyed by operation.")]
    BadShape,
}

impl PipelineError {
    pub fn code(&self) -> ResultCode {
        match self {
            PipelineError::UnknownOperation { .. }
            | PipelineError::InputNotObject(_)
            | PipelineError::NotAnOperation(_) => ResultCode::PIPELINE_OPERATION_UNKNOWN,
            PipelineError::TooLarge { .. } => ResultCode::PIPELINE_TOO_LARGE,
            PipelineError::NotAList(_) | PipelineError::BadShape => ResultCode::PIPELINE_NOT_A_LIST,
        }
    }
}

/// What the Shared Signals transmitter refuses (beyond the rules of its requests: `Invalid`).
#[derive(Debug, thiserror::Error)]
pub enum SsfError {
    #[error("The service has no stream {0}.")]
    NoStream(String),
    #[error("The push URL's origin {0} is not in ssf_receiver_allowlist (empty: push delivery is off).")]
    PushNotAllowed(String),
    #[error("Stream {0} is delivered by push, not polled.")]
    NotPolled(String),
    #[error("The service has {0} streams, as many as it may.")]
    Limit(usize),
    #[error("A verification of this stream was asked for less than {0} seconds ago.")]
    VerifyTooSoon(u64),
    #[error("The stream has {0} SETs waiting, as many as it may; its receiver must take them first.")]
    QueueFull(u64),
}

impl SsfError {
    pub fn code(&self) -> ResultCode {
        match self {
            SsfError::NoStream(_) => ResultCode::SSF_STREAM_NOT_FOUND,
            SsfError::PushNotAllowed(_) => ResultCode::SSF_PUSH_NOT_ALLOWED,
            SsfError::NotPolled(_) => ResultCode::SSF_NOT_POLLED,
            SsfError::Limit(_) => ResultCode::SSF_STREAM_LIMIT,
            SsfError::VerifyTooSoon(_) => ResultCode::SSF_VERIFY_TOO_SOON,
            SsfError::QueueFull(_) => ResultCode::SSF_QUEUE_FULL,
        }
    }
}

/// The code and message of an error response; also attached to the response as an extension so
/// that API families with another error shape (custom tokens) can re-render it.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub code: ResultCode,
    pub message: String,
}

impl ServiceError {
    /// The catalogue entry of this error.
    pub fn code(&self) -> ResultCode {
        match self {
            ServiceError::Invalid(e) => e.result_code(),
            ServiceError::Request(e) => e.code(),
            ServiceError::Auth(e) => e.code(),
            ServiceError::CustomToken(e) => e.code(),
            ServiceError::Refresh(e) => e.code(),
            ServiceError::Manage(e) => e.code(),
            ServiceError::Pipeline(e) => e.code(),
            ServiceError::Tenancy(e) => tenancy_code(e),
            ServiceError::Ssf(e) => e.code(),
            ServiceError::TooMany { .. } => ResultCode::TOO_MANY_REQUESTS,
            ServiceError::Store(e) if e.is_unavailable() => ResultCode::STORE_UNAVAILABLE,
            ServiceError::Store(StoreError::Unstorable(_)) => ResultCode::BODY_MALFORMED,
            ServiceError::Store(_) | ServiceError::Keys(_) | ServiceError::Internal(_) => {
                ResultCode::SERVER_ERROR
            }
        }
    }

    /// The catalogue entry and the caller-facing message (never internal details).
    pub fn info(&self) -> ErrorInfo {
        let code = self.code();
        let detail = match self {
            ServiceError::Store(e) if e.is_unavailable() => {
                "The token store is unavailable; see the server log.".to_owned()
            }
            ServiceError::Store(StoreError::Unstorable(what)) => {
                format!("The request is refused: {what}.")
            }
            ServiceError::Store(e) => format!("Unexpected store answer: {e}."),
            ServiceError::Keys(_) | ServiceError::Internal(_) => {
                "An unexpected server-side error occurred; see the server log.".to_owned()
            }
            caller_facing => caller_facing.to_string(),
        };
        ErrorInfo { message: code.message(detail), code }
    }
}

/// Parses JSON into `T`, naming the field that does not fit (a pipeline's inputs).
pub fn parse_json<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ServiceError> {
    token_core::json::parse(value.to_string().as_bytes()).map_err(|e| RequestError::Body(e.0).into())
}
