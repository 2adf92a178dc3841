//! Form-encoded parameters: the RFC 7662 / RFC 7009 `parameters` strings and the RFC 6749 token
//! request body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_core::introspection::{parse_form, token_from_form};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_form(text);
        let _ = token_from_form(text);
    }
    let _ = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data);
});
