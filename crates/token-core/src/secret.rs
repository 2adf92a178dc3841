//! Secret values (token strings, credentials). They serialise as plain strings on the wire, but never
//! print through `Debug` and have no `Display`, so they cannot leak into logs or error text by accident.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A secret string. Read it deliberately with [`Secret::secret`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Callers own the responsibility of not logging it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The value itself, for the one place that must send or show it.
    pub fn into_secret(self) -> String {
        self.0
    }

    /// The SHA-256 of the value: what the store keeps instead of the value.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// base64url (no padding) SHA-256 of a token value: 43 characters. Safe to log, store and return.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hash of `value`.
    pub fn of(value: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes())))
    }

    /// Accepts an already computed hash (e.g. from a list answer) when it has the right shape.
    pub fn from_encoded(encoded: &str) -> Option<Self> {
        crate::validate::is_base64url_sha256(encoded).then(|| Self(encoded.to_owned()))
    }

    /// The hash, base64url without padding.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_value() {
        let secret = Secret::new("super-secret-token");
        let printed = format!("{secret:?} {:?}", Some(&secret));
        assert!(!printed.contains("super-secret"), "{printed}");
    }

    #[test]
    fn hash_is_base64url_sha256() {
        // echo -n abc | sha256sum → ba7816bf…; base64url of those bytes:
        assert_eq!(TokenHash::of("abc").as_str(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
        assert!(TokenHash::from_encoded(TokenHash::of("x").as_str()).is_some());
        assert!(TokenHash::from_encoded("short").is_none());
    }
}
