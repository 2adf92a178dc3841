//! Everything random the service makes: token values, token IDs, credential secrets, client IDs and
//! request IDs. One place, so that what each is made of (and how unpredictable it is) is said once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use token_core::{ClientId, Secret};

/// `n` (at most 64) random bytes, base64url without padding. The thread's CSPRNG (ChaCha, seeded
/// and periodically reseeded from the OS): as unpredictable as the OS source without a system call
/// per token.
pub fn random_b64(n: usize) -> String {
    let mut bytes = [0u8; 64];
    let bytes = &mut bytes[..n.min(64)];
    rand::thread_rng().fill_bytes(bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new access or refresh token value: 256 random bits.
pub fn token_value() -> Secret {
    Secret::new(random_b64(32))
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

/// A new request ID (when the client sent none, or one not fit to be logged): 96 random bits.
pub fn request_id() -> String {
    random_b64(12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_as_long_as_promised_and_ids_sort_by_time() {
        assert_eq!(token_value().secret().len(), 43);
        assert!(credential_secret("sat_").secret().starts_with("sat_"));
        assert!(new_token_id(1_000) < new_token_id(2_000));
        assert_ne!(token_value().secret(), token_value().secret());
        assert!((10_000_000_000_000..100_000_000_000_000).contains(&client_id().get()));
        assert_eq!(request_id().len(), 16);
    }
}
