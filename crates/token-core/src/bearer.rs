//! The `Authorization: Bearer <credential>` header (RFC 6750 section 2.1), parsed without I/O so
//! that it is fuzzed and property-tested with the other decoders.

/// The credential of a Bearer `Authorization` value: the scheme is case-insensitive, one or more
/// spaces follow it, and the credential is non-empty and made of visible ASCII only (RFC 6750's
/// `b64token` is stricter; visible ASCII keeps every credential format of ours and of the hosted
/// API, and refuses control characters and non-ASCII outright).
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let credential = rest.trim_matches(' ');
    let visible = |b: u8| b.is_ascii_graphic();
    (!credential.is_empty() && credential.bytes().all(visible)).then_some(credential)
}

#[cfg(test)]
mod tests {
    use super::parse_bearer;

    #[test]
    fn bearer_forms() {
        assert_eq!(parse_bearer("Bearer sat_abc"), Some("sat_abc"));
        assert_eq!(parse_bearer("bearer   sat_abc "), Some("sat_abc"));
        assert_eq!(parse_bearer("Basic dXNlcg=="), None);
        assert_eq!(parse_bearer("Bearer "), None);
        assert_eq!(parse_bearer("Bearer a b"), None);
        assert_eq!(parse_bearer("Bearer a\tb"), None);
        assert_eq!(parse_bearer("Bearersat_abc"), None);
        assert_eq!(parse_bearer("Bearer é"), None);
    }
}
