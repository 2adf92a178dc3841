//! Small shared checks used by the resource modules.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// base64url without padding, decoding to exactly 32 bytes (a SHA-256 value): 43 characters.
pub fn is_base64url_sha256(value: &str) -> bool {
    value.len() == 43 && URL_SAFE_NO_PAD.decode(value).is_ok_and(|bytes| bytes.len() == 32)
}

/// RFC 8707: an absolute URI with no fragment. Returns why not, for the error message.
pub fn absolute_uri_problem(value: &str) -> Option<String> {
    match url::Url::parse(value) {
        Err(e) => Some(format!("'{}' does not parse as an absolute URI ({e})", truncate(value))),
        Ok(url) if url.fragment().is_some() => Some(format!("'{}' has a fragment", truncate(value))),
        Ok(_) => None,
    }
}

/// Token values chosen by callers: 1..=512 printable ASCII characters, no spaces.
pub fn is_token_value(value: &str) -> bool {
    (1..=512).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

/// RFC 6749 §3.3 `scope-token`: `1*( %x21 / %x23-5B / %x5D-7E )` (printable ASCII without space,
/// `"` or `\`).
pub fn is_scope_token(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// Echoing user input in messages is useful, but it must stay short.
pub(crate) fn truncate(value: &str) -> String {
    const MAX: usize = 64;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let cut: String = value.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints() {
        assert!(is_base64url_sha256("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"));
        assert!(!is_base64url_sha256("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0="));
        assert!(!is_base64url_sha256("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0"));
        assert!(!is_base64url_sha256(""));
    }

    #[test]
    fn scope_tokens() {
        assert!(is_scope_token("read"));
        assert!(is_scope_token("history.read:all"));
        assert!(!is_scope_token(""));
        assert!(!is_scope_token("two words"));
        assert!(!is_scope_token("quo\"te"));
        assert!(!is_scope_token("back\\slash"));
        assert!(!is_scope_token("é"));
    }

    #[test]
    fn uris() {
        assert!(absolute_uri_problem("https://api.example.com/v1").is_none());
        assert!(absolute_uri_problem("urn:example:resource").is_none());
        assert!(absolute_uri_problem("/relative").is_some());
        assert!(absolute_uri_problem("https://a.example/#frag").is_some());
    }
}
