//! `POST /api/{serviceId}/auth/revocation`: the RFC 7009 wrapper. The authorization server passes
//! its client's form-encoded revocation request through; the answer tells it what to reply.

use serde::{Deserialize, Serialize};

use crate::api::TAG_TOKEN_MANAGEMENT;
use crate::result_code::Action;

crate::api::endpoint! {
    /// `POST /api/{serviceId}/auth/revocation` (RFC 7009).
    pub struct Revoke {
        operation_id: "auth_revocation_api",
        method: Post,
        path: "/api/{serviceId}/auth/revocation",
        summary: "RFC 7009 revocation: the client's form-encoded request in, the action and the answer to relay out.",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: RevocationRequest,
        response: RevocationResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::json_payload!(RevocationRequest, RevocationResponse);

/// Request: the revocation request's form parameters (`token=…&token_type_hint=…`) and the
/// revoking client (here or as `client_id` in the parameters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RevocationRequest {
    /// The request's form parameters, URL-encoded, as the endpoint received them.
    pub parameters: String,
    /// The client's ID or alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Accepted for compatibility; clients of this service have no secrets (the authorization
    /// server in front authenticates them), so it is not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client certificate (PEM) presented over mutual TLS.
    pub client_certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The certificate chain of the client certificate (PEM each).
    pub client_certificate_path: Option<Vec<String>>,
}

impl RevocationRequest {
    /// A request carrying the client's form-encoded RFC 7009 `parameters`.
    pub fn new(parameters: impl Into<String>) -> Self {
        Self {
            parameters: parameters.into(),
            client_id: None,
            client_secret: None,
            client_certificate: None,
            client_certificate_path: None,
        }
    }
}

/// Answer (HTTP 200): `action` OK, BAD_REQUEST, INVALID_CLIENT or INTERNAL_SERVER_ERROR;
/// `responseContent` is the OAuth error JSON to relay when the action is not OK.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RevocationResponse {
    /// The result code (`A…`), as in Authlete's API.
    pub result_code: String,
    /// The result code and a message naming the cause: `[code] text`.
    pub result_message: String,
    /// What the caller should do next (always sent).
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// A body the caller can relay as it is (JSON for RFC answers), when there is one.
    pub response_content: Option<String>,
}

#[cfg(feature = "openapi")]
crate::openapi::derived!(RevocationRequest, RevocationResponse);
