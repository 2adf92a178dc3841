//! A custom token as exchange parses it: the JWS header, the signature check with an EdDSA key,
//! the claims, then the exchange rules (`CustomTokenClaims::check`). Never a panic, and nothing
//! that is not signed by the key ever verifies.
#![no_main]

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use libfuzzer_sys::fuzz_target;
use token_core::custom_token::{CUSTOM_TOKEN_TYP, CustomTokenClaims};

/// An Ed25519 public key (RFC 8037 appendix A.2).
const PUBLIC_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let Ok(header) = jsonwebtoken::decode_header(token) else { return };
    if header.typ.as_deref() != Some(CUSTOM_TOKEN_TYP) || header.alg != Algorithm::EdDSA {
        return;
    }
    let Ok(key) = DecodingKey::from_ed_components(PUBLIC_X) else { return };
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.set_required_spec_claims::<&str>(&[]);
    if let Ok(data) = jsonwebtoken::decode::<CustomTokenClaims>(token, &key, &validation) {
        // The fuzzer does not hold the private key: reaching here would be a forgery.
        let _ = data.claims.check();
        panic!("a token not signed by the key verified");
    }
});
