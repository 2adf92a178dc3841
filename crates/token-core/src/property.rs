//! Token properties: extra key/value pairs attached to a token, and their rules.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::validate::truncate;

/// Caps for `properties`.
pub const MAX_PROPERTIES: usize = 100;
/// Longest property name, in characters.
pub const MAX_PROPERTY_KEY_LEN: usize = 256;
/// Longest property value, in characters.
pub const MAX_PROPERTY_VALUE_LEN: usize = 8192;

/// An extra property attached to a token. Hidden properties are stored but never returned by the
/// APIs that face resource servers (introspection).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Property {
    /// The property's name.
    pub key: String,
    /// The property's value.
    pub value: String,
    #[serde(default)]
    /// Hidden properties are kept for the service and never shown to clients.
    pub hidden: bool,
}

impl Property {
    /// A visible property.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into(), hidden: false }
    }
}

/// Property keys that would shadow a member a resource server relies on in the RFC 7662
/// introspection answer (properties are returned at its top level): a property named `cnf`,
/// `acr` or `active` could forge it, so these keys are refused. Exactly: the RFC 7662 §2.2
/// members, `cnf` (RFC 7800), `acr`, `amr`, `auth_time` (OpenID Connect, RFC 9068), `act`,
/// `may_act` (RFC 8693), `authorization_details` (RFC 9396), `roles`, `groups`, `entitlements`
/// (RFC 9068 §2.2.3.1), and what this server itself emits there (`identity`, `claims` of tokens
/// from custom tokens).
pub const RESERVED_PROPERTY_KEYS: &[&str] = &[
    "active",
    "scope",
    "client_id",
    "username",
    "token_type",
    "exp",
    "iat",
    "nbf",
    "sub",
    "aud",
    "iss",
    "jti",
    "cnf",
    "acr",
    "amr",
    "auth_time",
    "act",
    "may_act",
    "authorization_details",
    "roles",
    "groups",
    "entitlements",
    "identity",
    "claims",
];

/// Property rules: at most [`MAX_PROPERTIES`], non-empty unique keys that are not
/// [`RESERVED_PROPERTY_KEYS`], capped sizes.
pub fn check_properties(properties: &[Property]) -> Result<(), ValidationError> {
    if properties.len() > MAX_PROPERTIES {
        return Err(ValidationError::PropertyInvalid {
            index: MAX_PROPERTIES,
            reason: format!("at most {MAX_PROPERTIES} properties are accepted"),
        });
    }
    for (index, property) in properties.iter().enumerate() {
        let reason = if property.key.is_empty() {
            "the key is empty".to_owned()
        } else if property.key.len() > MAX_PROPERTY_KEY_LEN {
            format!("the key is longer than {MAX_PROPERTY_KEY_LEN} bytes")
        } else if property.value.len() > MAX_PROPERTY_VALUE_LEN {
            format!("the value is longer than {MAX_PROPERTY_VALUE_LEN} bytes")
        } else if RESERVED_PROPERTY_KEYS.contains(&property.key.as_str()) {
            format!(
                "the key '{}' is reserved (it is a member of the RFC 7662 introspection answer)",
                property.key
            )
        } else if properties[..index].iter().any(|p| p.key == property.key) {
            format!("the key '{}' appears twice", truncate(&property.key))
        } else {
            continue;
        };
        return Err(ValidationError::PropertyInvalid { index, reason });
    }
    Ok(())
}
