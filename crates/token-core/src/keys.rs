//! Keys as verifiers see them: the service's JWK Set (RFC 7517), its endpoints and the signing algorithms.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::TAG_TOKEN_MANAGEMENT;

crate::api::endpoint! {
    /// `GET /api/{serviceId}/jwks`: the public JWK Set.
    pub struct PublicJwks {
        operation_id: "service_jwks_public",
        method: Get,
        path: "/api/{serviceId}/jwks",
        summary: "The service's public JWK Set (no credential needed; for verifiers).",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Public,
        idempotent: true,
        errors: PUBLIC_JWKS_ERRORS,
        request: crate::api::NoBody,
        response: JwkSet,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::json_payload!(JwkSet);

crate::api::endpoint! {
    /// `GET /api/{serviceId}/service/jwks/get`: the JWK Set for an authenticated caller.
    pub struct ServiceJwks {
        operation_id: "service_jwks_get_api",
        method: Get,
        path: "/api/{serviceId}/service/jwks/get",
        summary: "The service's public JWK Set, for an authenticated caller (the hosted API's path).",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: JwkSet,
        error: crate::error_body::ApiErrorBody,
    }
}

/// The statuses of the public JWK Set.
pub const PUBLIC_JWKS_ERRORS: crate::api::ErrorStatuses = &[("404", "No such service.")];

/// `{"keys": [...]}`: the current key first, then retired keys that still verify live tokens.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JwkSet {
    /// Public JWKs with `kid`, `kty`, `use`, `alg`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub keys: Vec<Value>,
}

/// Signature algorithms a service signs with (its keys' `alg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SignAlg {
    #[serde(rename = "EdDSA")]
    /// `EdDSA` (Ed25519).
    EdDsa,
    #[serde(rename = "ES256")]
    /// `ES256` (P-256).
    Es256,
    #[serde(rename = "RS256")]
    /// `RS256` (RSA 2048).
    Rs256,
}

impl SignAlg {
    /// Every algorithm a service may sign with.
    pub const ALL: [SignAlg; 3] = [SignAlg::EdDsa, SignAlg::Es256, SignAlg::Rs256];

    /// The JOSE name (RFC 7518 / RFC 8037).
    pub fn as_str(self) -> &'static str {
        match self {
            SignAlg::EdDsa => "EdDSA",
            SignAlg::Es256 => "ES256",
            SignAlg::Rs256 => "RS256",
        }
    }

    /// The algorithm whose JOSE name is `name`.
    pub fn parse(name: &str) -> Option<SignAlg> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

#[cfg(feature = "openapi")]
crate::openapi::derived!(JwkSet);
