//! The service's JWK Set (RFC 7517): endpoint metadata and the answer's shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{Endpoint, Method, TAG_TOKEN_MANAGEMENT};

pub const ENDPOINT: Endpoint = Endpoint {
    operation_id: "service_jwks_public",
    method: Method::Get,
    path: "/api/{serviceId}/jwks",
    summary: "The service's public JWK Set (no credential needed; for verifiers).",
    tag: TAG_TOKEN_MANAGEMENT,
};

pub const SERVICE_JWKS_ENDPOINT: Endpoint = Endpoint {
    operation_id: "service_jwks_get_api",
    method: Method::Get,
    path: "/api/{serviceId}/service/jwks/get",
    summary: "The service's public JWK Set, for an authenticated caller (the hosted API's path).",
    tag: TAG_TOKEN_MANAGEMENT,
};

/// `{"keys": [...]}`: the current key first, then retired keys that still verify live tokens.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JwkSet {
    /// Public JWKs with `kid`, `kty`, `use`, `alg`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub keys: Vec<Value>,
}
