//! Introspection: the family's own form (`/auth/introspection`) and the RFC 7662 wrapper
//! (`/auth/introspection/standard`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::TAG_TOKEN_MANAGEMENT;
use crate::ids::ClientId;
use crate::result_code::Action;
use crate::secret::Secret;
use crate::token_create::{GrantType, Property};

crate::api::endpoint! {
    /// `POST /api/{serviceId}/auth/introspection`.
    pub struct Introspect {
        operation_id: "auth_introspection_api",
        method: Post,
        path: "/api/{serviceId}/auth/introspection",
        summary: "Introspect an access token for a resource server (scope, subject and binding checks).",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: IntrospectionRequest,
        response: IntrospectionResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::json_payload!(
    IntrospectionRequest,
    IntrospectionResponse,
    StandardIntrospectionRequest,
    StandardIntrospectionResponse
);

crate::api::endpoint! {
    /// `POST /api/{serviceId}/auth/introspection/standard` (RFC 7662).
    pub struct Standard {
        operation_id: "auth_introspection_standard_api",
        method: Post,
        path: "/api/{serviceId}/auth/introspection/standard",
        summary: "RFC 7662 introspection: the form-encoded request in, the RFC 7662 JSON out (responseContent).",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: StandardIntrospectionRequest,
        response: StandardIntrospectionResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

/// Request of `/auth/introspection`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IntrospectionRequest {
    /// The access token presented to the resource server.
    pub token: Secret,
    /// Scopes the resource needs; all must be granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// The subject the resource needs the token to be for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// PEM client certificate presented over mTLS (checked against a certificate-bound token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    /// The thumbprint of the DPoP key whose proof the resource server verified (RFC 9449 `jkt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key_thumbprint: Option<String>,
    /// The `DPoP` header the client sent to the resource server (RFC 9449 proof JWT): checked in
    /// full for a DPoP-bound token (then `htm` and `htu` are required); ignored for other tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<String>,
    /// The HTTP method of the client's request to the resource server, e.g. `GET` (the proof's `htm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htm: Option<String>,
    /// The URL of the client's request to the resource server (the proof's `htu`; query and
    /// fragment are not compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htu: Option<String>,
}

impl IntrospectionRequest {
    /// A request to introspect `token`, with no further checks.
    pub fn new(token: Secret) -> Self {
        Self {
            token,
            scopes: None,
            subject: None,
            client_certificate: None,
            dpop_key_thumbprint: None,
            dpop: None,
            htm: None,
            htu: None,
        }
    }

    /// The DPoP proof of the client's request to the resource server: `dpop`, `htm`, `htu`.
    pub fn with_dpop_proof(
        mut self,
        proof: impl Into<String>,
        htm: impl Into<String>,
        htu: impl Into<String>,
    ) -> Self {
        self.dpop = Some(proof.into());
        self.htm = Some(htm.into());
        self.htu = Some(htu.into());
        self
    }
}

/// Answer of `/auth/introspection`. `action`: OK, BAD_REQUEST, UNAUTHORIZED, FORBIDDEN,
/// INTERNAL_SERVER_ERROR; `responseContent` is the value for a `WWW-Authenticate` header when the
/// action is not OK.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IntrospectionResponse {
    /// The result code (`A…`), as in Authlete's API.
    pub result_code: String,
    /// The result code and a message naming the cause: `[code] text`.
    pub result_message: String,
    /// What the caller should do next (always sent).
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// A body the caller can relay as it is (JSON for RFC answers), when there is one.
    pub response_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client's ID.
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The resource owner (end user) the token is for.
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes.
    pub scopes: Option<Vec<String>>,
    /// Milliseconds since the epoch; 0 for a persistent token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default)]
    /// Whether the token exists.
    pub existent: bool,
    #[serde(default)]
    /// Whether the token exists, is not revoked and has not expired.
    pub usable: bool,
    #[serde(default)]
    /// Whether the token covers the scopes asked for.
    pub sufficient: bool,
    #[serde(default)]
    /// Whether the token has a usable refresh token.
    pub refreshable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Extra properties of the token (hidden ones are never shown to clients).
    pub properties: Option<Vec<Property>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The grant type the token was issued under.
    pub grant_type: Option<GrantType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The SHA-256 thumbprint of the client certificate the token is bound to (RFC 8705).
    pub certificate_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The JWK thumbprint of the DPoP key the token is bound to (RFC 9449).
    pub dpop_key_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The resources the access token is for (RFC 8707).
    pub access_token_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    /// RFC 9396 authorization details.
    pub authorization_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client identifier as the request gave it (ID, alias or entity ID).
    pub client_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The authentication context class reference of the end user's authentication.
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the end user authenticated, seconds since the epoch.
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The end user's session ID at the authorization server.
    pub session_id: Option<String>,
    /// Tokens from custom tokens: the end user's identity (role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Tokens from custom tokens: the claims the application put in the custom token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub claims: Option<Value>,
}

/// Request of `/auth/introspection/standard`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StandardIntrospectionRequest {
    /// The resource server's form-encoded RFC 7662 request, e.g. `token=…&token_type_hint=access_token`.
    pub parameters: String,
    /// Include hidden properties in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_hidden_properties: Option<bool>,
}

impl StandardIntrospectionRequest {
    /// A request carrying the resource server's form-encoded RFC 7662 `parameters`.
    pub fn new(parameters: impl Into<String>) -> Self {
        Self { parameters: parameters.into(), with_hidden_properties: None }
    }
}

/// Answer of `/auth/introspection/standard`; `responseContent` is the RFC 7662 JSON as a string.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StandardIntrospectionResponse {
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

/// The RFC 7662 answer. An inactive token answers only `{"active": false}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rfc7662Response {
    /// Whether the token is active (RFC 7662).
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes, space-separated.
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client's ID.
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The resource owner's username.
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The token type: `Bearer`, or `DPoP` for a DPoP-bound token.
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Expires at, seconds since the epoch.
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Issued at, seconds since the epoch.
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The subject.
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The audiences.
    pub aud: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The issuer.
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The token's ID.
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The confirmation of the key the token is bound to (RFC 8705 `x5t#S256`, RFC 9449 `jkt`).
    pub cnf: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// RFC 9396 authorization details.
    pub authorization_details: Option<Value>,
    /// The authentication context class of the end user's authentication (OpenID Connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// When the end user authenticated, seconds since the epoch (OpenID Connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Non-hidden properties (hidden ones too when asked), as top-level members.
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, Value>,
}

/// Decodes a form-encoded parameter string into its pairs, refusing repeated names (RFC 6749 3.2).
pub fn parse_form(parameters: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in parameters.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = form_decode(key).ok_or_else(|| "a parameter name is not valid form encoding".to_owned())?;
        let value =
            form_decode(value).ok_or_else(|| format!("the value of '{key}' is not valid form encoding"))?;
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(format!("'{key}' appears more than once"));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Reads the token (and its hint) out of a form-encoded RFC 7662 / RFC 7009 request.
/// Returns `Err` with a message naming what is wrong.
pub fn token_from_form(parameters: &str) -> Result<(Secret, Option<String>), String> {
    let pairs = parse_form(parameters)?;
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match get("token") {
        Some(t) if !t.is_empty() => Ok((Secret::new(t), get("token_type_hint"))),
        _ => Err("the mandatory parameter 'token' is missing".into()),
    }
}

/// `application/x-www-form-urlencoded` decoding of one value.
fn form_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;

    use super::*;
    use crate::openapi::{Rules, derived, with_rules};

    derived!(IntrospectionResponse, StandardIntrospectionRequest, StandardIntrospectionResponse);

    with_rules!(IntrospectionRequest => |rules: &mut Rules<'_>| {
        rules.set(
            "examples",
            json!([{"token": "VFGsNK-5sXiqterdaR7b5QbRX9VTwVCQB87jbr2_xAI", "scopes": ["history.read"]}]),
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_parsing() {
        let (token, hint) = token_from_form("token=abc%2Bd+e&token_type_hint=access_token").unwrap();
        assert_eq!(token.secret(), "abc+d e");
        assert_eq!(hint.as_deref(), Some("access_token"));
        assert!(token_from_form("token_type_hint=x").is_err());
        assert!(token_from_form("token=%zz").is_err());
        assert!(token_from_form("token=a&token=b").is_err());
    }

    #[test]
    fn inactive_is_only_active_false() {
        let inactive = Rfc7662Response::default();
        assert_eq!(serde_json::to_string(&inactive).unwrap(), r#"{"active":false}"#);
    }
}
