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

/// What the store keeps of a token value, and what operators name a token by (`accessTokenHash`,
/// `refreshTokenHash`): the base64url (no padding) SHA-256 of the value, 43 characters — led, for
/// a value in the generated format ([`crate::token_value`]), by its selector and a dot
/// (`<token ID>.<SHA-256>`, 71 characters), so that the token is found by its time-ordered ID.
/// Safe to log, store and return.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hash of `value`.
    pub fn of(value: &str) -> Self {
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()));
        match crate::token_value::parse(value) {
            Some((_, selector)) => Self(format!("{selector}.{digest}")),
            None => Self(digest),
        }
    }

    /// Accepts an already computed hash (e.g. from a list answer) when it has the right shape.
    pub fn from_encoded(encoded: &str) -> Option<Self> {
        let digest = match encoded.split_once('.') {
            Some((selector, digest)) if crate::token_value::is_token_id(selector) => digest,
            Some(_) => return None,
            None => encoded,
        };
        crate::validate::is_base64url_sha256(digest).then(|| Self(encoded.to_owned()))
    }

    /// The hash, base64url without padding (after the selector and a dot, for a generated value).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token ID a generated value's hash leads with; `None` for the hash of any other value.
    pub fn selector(&self) -> Option<&str> {
        self.0.split_once('.').map(|(selector, _)| selector)
    }

    /// Equality in time independent of where the two differ (for a hash found by its selector and
    /// compared with the presented value's).
    pub fn matches(&self, other: &TokenHash) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

    #[test]
    fn a_generated_values_hash_leads_with_its_selector() {
        let id = "0192f3a4b5cAbCdEfGhIjKlMnOp";
        let value = crate::token_value::compose(crate::token_value::ValueKind::Access, id, &[9; 32]);
        let hash = TokenHash::of(&value);
        assert_eq!(hash.selector(), Some(id));
        assert_eq!(hash.as_str().len(), 27 + 1 + 43);
        assert_eq!(TokenHash::from_encoded(hash.as_str()), Some(hash.clone()));
        assert!(hash.matches(&TokenHash::of(&value)));
        assert!(!hash.matches(&TokenHash::of("other")));
        assert_eq!(TokenHash::of("other").selector(), None);
        assert!(TokenHash::from_encoded(&format!("not-an-id.{}", TokenHash::of("x").as_str())).is_none());
    }
}
