//! RFC 9068 JWT access tokens, built from the stored token so that every issuing path (token
//! create, custom-token exchange, refresh) produces the same claims.

use serde_json::{Map, Value, json};
use token_core::token_create::authorization_details_elements;

use crate::store::{ServiceRecord, TokenRecord};

/// The header `typ` of a JWT access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of the JWT access token for `token`. Registered claims come first and `extra_claims`
/// (already checked not to redefine them) are added after, never overriding.
pub fn access_token_claims(
    service: &ServiceRecord,
    token: &TokenRecord,
    extra_claims: &Map<String, Value>,
) -> Value {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(service.issuer));
    let client_id = token.client_identifier.clone().unwrap_or_else(|| token.client_id.to_string());
    // RFC 9068: for a grant without a user, `sub` is the client.
    claims.insert("sub".into(), json!(token.subject.clone().unwrap_or_else(|| client_id.clone())));
    let aud = match token.resources.as_slice() {
        [] => json!(client_id),
        [one] => json!(one),
        many => json!(many),
    };
    claims.insert("aud".into(), aud);
    claims.insert("client_id".into(), json!(client_id));
    claims.insert("iat".into(), json!(token.created_at / 1000));
    // A persistent token has no expiry; RFC 9068 wants `exp`, so persistent JWTs omit it by design
    // (documented in docs/api.md) rather than inventing a date.
    if token.access_expires_at != 0 {
        claims.insert("exp".into(), json!(token.access_expires_at / 1000));
    }
    claims.insert("jti".into(), json!(token.token_id));
    if !token.scopes.is_empty() {
        claims.insert("scope".into(), json!(token.scopes.join(" ")));
    }
    let mut cnf = Map::new();
    if let Some(x5t) = &token.certificate_thumbprint {
        cnf.insert("x5t#S256".into(), json!(x5t));
    }
    if let Some(jkt) = &token.dpop_key_thumbprint {
        cnf.insert("jkt".into(), json!(jkt));
    }
    if !cnf.is_empty() {
        claims.insert("cnf".into(), Value::Object(cnf));
    }
    if let Some(details) = &token.authorization_details
        && let Ok(elements) = authorization_details_elements(details)
    {
        claims.insert("authorization_details".into(), json!(elements));
    }
    if let Some(auth_time) = token.auth_time {
        claims.insert("auth_time".into(), json!(auth_time));
    }
    if let Some(acr) = &token.acr {
        claims.insert("acr".into(), json!(acr));
    }
    for (name, value) in extra_claims {
        claims.entry(name.clone()).or_insert_with(|| value.clone());
    }
    Value::Object(claims)
}
