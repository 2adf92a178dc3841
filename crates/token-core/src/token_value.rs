//! The format of the access and refresh token values the service generates: a value carries its
//! token's identifier (the *selector*), so that the store finds the token through its time-ordered
//! key and then compares the hash of the whole value in constant time. No index keyed by a random
//! hash is written for a generated value (the selector/verifier pattern).
//!
//! ```text
//! atk_0192f3a4b5cAbCdEfGhIjKlMnOp<43 characters: 256 random bits><6 characters: check>
//! └─┬┘└────────────┬────────────┘└───────────────┬──────────────┘└──────────┬─────────┘
//! prefix   selector: the token ID          secret (base64url)       first 4 bytes of the
//! (atk_ access,  (11 hex digits of the                               SHA-256 of what precedes,
//!  rtk_ refresh)  creation ms + 16 base64url)                        base64url
//! ```
//!
//! The prefix lets secret scanners and operators recognise a value; the check tells a real value
//! from a typo without a lookup. Values given by a caller (token create's `accessToken` /
//! `refreshToken`) must not start with a reserved prefix, so a caller's value never takes a
//! generated value's selector. Values in any other shape — those issued before this format, and
//! callers' own — are found by the hash of the whole value, through an index of their own.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Which of a token's two values a generated value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// An access token (`atk_`).
    Access,
    /// A refresh token (`rtk_`).
    Refresh,
}

impl ValueKind {
    /// The prefix of generated values of this kind.
    pub const fn prefix(self) -> &'static str {
        match self {
            ValueKind::Access => "atk_",
            ValueKind::Refresh => "rtk_",
        }
    }

    /// Its name: `access` or `refresh`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ValueKind::Access => "access",
            ValueKind::Refresh => "refresh",
        }
    }
}

/// Prefixes no caller-supplied value may start with.
pub const RESERVED_PREFIXES: [&str; 2] = [ValueKind::Access.prefix(), ValueKind::Refresh.prefix()];

/// Characters of a token ID: 11 lowercase hex digits (creation time, ms) and 16 base64url.
pub const TOKEN_ID_LEN: usize = 27;
const PREFIX_LEN: usize = 4;
const SECRET_LEN: usize = 43;
const CHECK_LEN: usize = 6;
/// Characters of a generated value.
pub const VALUE_LEN: usize = PREFIX_LEN + TOKEN_ID_LEN + SECRET_LEN + CHECK_LEN;

fn is_base64url(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// A token ID as the service makes them: 11 lowercase hex digits, then 16 base64url characters.
pub fn is_token_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == TOKEN_ID_LEN
        && bytes[..11].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        && is_base64url(&bytes[11..])
}

fn check(body: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(body.as_bytes())[..4])
}

/// The value of `kind` for the token `token_id` with the random `secret`.
///
/// # Panics
/// When `token_id` is not a token ID ([`is_token_id`]): the caller makes both.
pub fn compose(kind: ValueKind, token_id: &str, secret: &[u8; 32]) -> String {
    assert!(is_token_id(token_id), "not a token ID");
    let mut value = String::with_capacity(VALUE_LEN);
    value.push_str(kind.prefix());
    value.push_str(token_id);
    URL_SAFE_NO_PAD.encode_string(secret, &mut value);
    let check = check(&value);
    value.push_str(&check);
    value
}

/// A generated value's kind and selector (its token's ID), when `value` has the generated shape and
/// its check matches; `None` for any other value.
pub fn parse(value: &str) -> Option<(ValueKind, &str)> {
    if value.len() != VALUE_LEN || !value.is_ascii() {
        return None;
    }
    let kind = match &value[..PREFIX_LEN] {
        "atk_" => ValueKind::Access,
        "rtk_" => ValueKind::Refresh,
        _ => return None,
    };
    let selector = &value[PREFIX_LEN..PREFIX_LEN + TOKEN_ID_LEN];
    let body_end = VALUE_LEN - CHECK_LEN;
    let secret = &value[PREFIX_LEN + TOKEN_ID_LEN..body_end];
    (is_token_id(selector)
        && is_base64url(secret.as_bytes())
        && URL_SAFE_NO_PAD.decode(secret).is_ok_and(|s| s.len() == 32)
        && check(&value[..body_end]) == value[body_end..])
        .then_some((kind, selector))
}

/// True when a caller-supplied value starts with a prefix reserved for generated values.
pub fn is_reserved(value: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| value.starts_with(p))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ID: &str = "0192f3a4b5cAbCdEfGhIjKlMnOp";

    #[test]
    fn a_value_names_its_kind_and_selector() {
        let value = compose(ValueKind::Refresh, ID, &[7; 32]);
        assert_eq!(value.len(), VALUE_LEN);
        assert!(value.starts_with("rtk_0192f3a4b5c"));
        assert_eq!(parse(&value), Some((ValueKind::Refresh, ID)));
        assert!(is_reserved(&value));
        assert!(!is_reserved("my-own-value"));
    }

    #[test]
    fn other_shapes_are_not_generated_values() {
        let value = compose(ValueKind::Access, ID, &[1; 32]);
        assert_eq!(parse(&value[1..]), None);
        assert_eq!(parse(&format!("{value}x")), None);
        assert_eq!(parse(&value.replacen("atk_", "xtk_", 1)), None);
        // The 43 characters of a value issued before this format.
        assert_eq!(parse("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"), None);
        assert!(!is_token_id("0192F3A4B5CAbCdEfGhIjKlMnOp"), "upper-case hex is not ours");
    }

    proptest! {
        #[test]
        fn every_composed_value_parses_back(secret in any::<[u8; 32]>(), ms in 0u64..(1 << 44),
                                            tail in "[A-Za-z0-9_-]{16}", refresh in any::<bool>()) {
            let id = format!("{ms:011x}{tail}");
            let kind = if refresh { ValueKind::Refresh } else { ValueKind::Access };
            let value = compose(kind, &id, &secret);
            prop_assert_eq!(parse(&value), Some((kind, id.as_str())));
        }

        #[test]
        fn a_changed_character_is_caught_by_the_check(secret in any::<[u8; 32]>(), at in 4usize..VALUE_LEN,
                                                      replacement in "[A-Za-z0-9_-]") {
            let value = compose(ValueKind::Access, ID, &secret);
            let mut typo = value.clone();
            typo.replace_range(at..at + 1, &replacement);
            prop_assume!(typo != value);
            // A 32-bit check: one typo in 2^32 slips through; the generator finds none.
            prop_assert_eq!(parse(&typo), None);
        }

        #[test]
        fn parsing_never_panics(value in "\\PC{0,100}") {
            let _ = parse(&value);
        }
    }
}
