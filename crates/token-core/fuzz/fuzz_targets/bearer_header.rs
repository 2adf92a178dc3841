//! The `Authorization` header: a credential, when found, is a non-empty run of visible ASCII
//! taken from the value itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_core::bearer::parse_bearer;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = std::str::from_utf8(data)
        && let Some(credential) = parse_bearer(value)
    {
        assert!(!credential.is_empty());
        assert!(credential.bytes().all(|b| b.is_ascii_graphic()));
        assert!(value.contains(credential));
    }
});
