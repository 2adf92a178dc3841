//! Everything random the server makes: token values, token IDs, credential secrets, client IDs,
//! the organization and service IDs the store assigns, request IDs, the randomness of signing keys
//! and signatures, and the nonces that seal private keys. One place, so that what each is made of
//! (and how unpredictable it is) is said once. A leaf module: every layer may use it, it uses none.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use token_core::token_value::{self, ValueKind};
use token_core::{ClientId, OrganizationId, Secret, ServiceId};

/// `n` (at most 64) random bytes, base64url without padding. The thread's CSPRNG (ChaCha, seeded
/// and periodically reseeded from the OS): as unpredictable as the OS source without a system call
/// per token.
pub fn random_b64(n: usize) -> String {
    let mut bytes = [0u8; 64];
    let bytes = &mut bytes[..n.min(64)];
    rand::thread_rng().fill_bytes(bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// 128 random bits as 32 lowercase hex digits (Shared Signals stream IDs, verification `jti`s).
pub fn random_hex128() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How new token values are made: carrying their token's ID (once every instance of a shared
/// store understands them, `migrate --finish`), or as 256 random bits found by their hash (what
/// versions before the selector format issue and understand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    /// 43 base64url characters: 256 random bits.
    Hashed,
    /// `atk_`/`rtk_`, the token ID, 256 random bits, a check ([`token_core::token_value`]).
    Selector,
}

/// A new value of `kind` for the token `token_id`, in `format`.
pub fn token_value(kind: ValueKind, token_id: &str, format: ValueFormat) -> Secret {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    match format {
        ValueFormat::Hashed => Secret::new(URL_SAFE_NO_PAD.encode(secret)),
        ValueFormat::Selector => Secret::new(token_value::compose(kind, token_id, &secret)),
    }
}

/// A new credential secret: `prefix` (so that a leaked one is recognisable) and 256 random bits.
pub fn credential_secret(prefix: &str) -> Secret {
    Secret::new(format!("{prefix}{}", random_b64(32)))
}

/// A new token ID: the creation time (milliseconds, 11 hex digits) then 12 random bytes
/// (base64url). IDs created later sort later, so the store's unique index on them grows at its
/// right edge instead of taking a write at a random page for every token.
pub fn new_token_id(now_ms: i64) -> String {
    format!("{:011x}{}", now_ms.max(0), random_b64(12))
}

/// A new numeric client ID, in the range of the document's example (26888344961664).
pub fn client_id() -> ClientId {
    ClientId(rand::thread_rng().gen_range(10_000_000_000_000..100_000_000_000_000))
}

/// The source of signing keys' material (`keys::generate`): the OS's, read for each key.
pub fn key_rng() -> rand::rngs::OsRng {
    rand::rngs::OsRng
}

/// The randomness a signature needs (ECDSA's nonce, RSA's blinding): aws-lc-rs's system source.
pub fn signing_rng() -> aws_lc_rs::rand::SystemRandom {
    aws_lc_rs::rand::SystemRandom::new()
}

/// A new request ID (when the client sent none, or one not fit to be logged): 96 random bits.
pub fn request_id() -> String {
    random_b64(12)
}

/// A new organization's ID (the store assigns it; a collision is its `Conflict(Id)`).
pub fn organization_id() -> OrganizationId {
    OrganizationId(rand::thread_rng().gen_range(1_000..1_000_000_000))
}

/// A new service's ID (nine or ten digits, as Authlete's; assigned by the store like an
/// organization's).
pub fn service_id() -> ServiceId {
    ServiceId(rand::thread_rng().gen_range(100_000_000..10_000_000_000))
}

/// `N` bytes from the operating system's generator (the nonce of a sealed private key: never
/// repeated under one key-encryption key).
pub fn os_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_as_long_as_promised_and_ids_sort_by_time() {
        let id = new_token_id(1_000);
        assert_eq!(token_value(ValueKind::Access, &id, ValueFormat::Hashed).secret().len(), 43);
        let value = token_value(ValueKind::Refresh, &id, ValueFormat::Selector);
        assert_eq!(token_value::parse(value.secret()), Some((ValueKind::Refresh, id.as_str())));
        assert!(credential_secret("sat_").secret().starts_with("sat_"));
        assert!(new_token_id(1_000) < new_token_id(2_000));
        let fresh = || token_value(ValueKind::Access, &id, ValueFormat::Selector).into_secret();
        assert_ne!(fresh(), fresh());
        assert!((10_000_000_000_000..100_000_000_000_000).contains(&client_id().get()));
        assert_eq!(request_id().len(), 16);
    }
}
