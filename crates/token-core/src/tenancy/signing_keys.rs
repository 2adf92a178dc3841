//! Signing keys (our paths: Authlete has none): list, rotate and revoke a service's keys, and how
//! operators see a key.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{TAG_TENANCY, typed};
use crate::error::ValidationError;
use crate::keys::SignAlg;

crate::api::json_payload!(KeyListResponse, KeyRotateRequest, KeyRotateResponse, KeyRevokeResponse);

crate::api::endpoint! {
    /// `GET /api/{serviceId}/keys/list` (organization token).
    pub struct KeyList {
        operation_id: "keys_list_api",
        method: Get,
        path: "/api/{serviceId}/keys/list",
        summary: "List the service's signing keys (current, retired, revoked; public parts only).",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: KeyListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `POST /api/{serviceId}/keys/rotate` (organization token).
    pub struct KeyRotate {
        operation_id: "keys_rotate_api",
        method: Post,
        path: "/api/{serviceId}/keys/rotate",
        summary: "Make a new signing key current; the previous one stays published while tokens it signed live.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: false,
        errors: crate::api::KEY_MAKING_ERRORS,
        request: KeyRotateRequest,
        response: KeyRotateResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `POST /api/{serviceId}/keys/revoke/{kid}` (organization token).
    pub struct KeyRevoke {
        operation_id: "keys_revoke_api",
        method: Post,
        path: "/api/{serviceId}/keys/revoke/{kid}",
        summary: "Revoke a signing key: unpublished at once, and every live token it signed is revoked.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::KEY_MAKING_ERRORS,
        request: crate::api::NoBody,
        response: KeyRevokeResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

/// Where a signing key is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Signs now.
    Current,
    /// Replaced; published while tokens it signed live.
    Retired,
    /// Unpublished; nothing it signed is accepted.
    Revoked,
}

impl KeyState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Current => "current",
            KeyState::Retired => "retired",
            KeyState::Revoked => "revoked",
        }
    }
}

/// A signing key as operators see it: its state and times (milliseconds), and its public part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyInfo {
    /// The key ID (`kid`).
    pub kid: String,
    /// The algorithm.
    pub alg: SignAlg,
    /// Current, retired or revoked.
    pub state: KeyState,
    /// When it was made.
    pub created_at: i64,
    /// When it stopped signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// The public JWK, as the JWK Set publishes it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_jwk: Value,
}

/// Answer of the key list: newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyListResponse {
    /// Every key of the service, newest first.
    pub keys: Vec<SigningKeyInfo>,
}

/// Request of a key rotation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRotateRequest {
    /// The new key's algorithm; by default that of the service's JWT access tokens, else the
    /// current key's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<SignAlg>,
}

impl KeyRotateRequest {
    /// Reads a request body: a JSON object (serde would read a struct from an array too).
    pub fn from_request(body: Value) -> Result<KeyRotateRequest, ValidationError> {
        if !body.is_object() {
            return Err(ValidationError::member_invalid(
                "(body)",
                "a key rotation is a JSON object ({} or {\"alg\": …})",
            ));
        }
        typed(body)
    }
}

/// Answer of a key rotation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyRotateResponse {
    /// The key that is now current.
    pub key: SigningKeyInfo,
}

/// Answer of a key revocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyRevokeResponse {
    /// The revoked key's ID.
    pub revoked: String,
    /// The key made current, when the revoked one was current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<SigningKeyInfo>,
    /// Live tokens revoked because the key signed their JWT access token or their custom token.
    pub tokens_revoked: u64,
}

#[cfg(feature = "openapi")]
mod documented {
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::openapi::{Components, Documented, derived};

    derived!(KeyListResponse, KeyRotateResponse, KeyRevokeResponse);

    impl Documented for KeyRotateRequest {
        // A key rotation may be sent with no body at all (it reads as `{}`).
        const REQUIRED: bool = false;

        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            Some(components.add::<Self>())
        }
    }
}
