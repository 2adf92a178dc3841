//! Signing keys.

use super::{KEY_COLUMNS, Statement};

/// A new key row ([`signing_key_row`](super::params::signing_key_row)): its private part as sealed.
pub static INSERT_SIGNING_KEY: Statement = Statement::new(
    "INSERT INTO signing_keys (kid, service_id, alg, private_der, \
    public_jwk, created_at, kek_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
);

/// A JWT-issuing service `?2` takes the algorithm `?1` of the key that just became current (in the
/// key's own transaction): the service never says one algorithm while its JWTs carry another,
/// however rotations from any instance interleave.
pub static SERVICE_FOLLOWS_KEY_ALG: Statement = Statement::new(
    "UPDATE services SET access_token_sign_alg = ?1 \
    WHERE id = ?2 AND access_token_sign_alg IS NOT NULL AND access_token_sign_alg <> ?1",
);

/// Keys of service `?1` matching `condition`, current first, newest first.
fn keys_where(condition: &str) -> String {
    format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys WHERE service_id = ?1 AND revoked_at IS NULL AND {condition} \
         ORDER BY retired_at IS NOT NULL, created_at DESC"
    )
}

pub static CURRENT_KEY: Statement =
    Statement::built(|| format!("{} LIMIT 1", keys_where("retired_at IS NULL")));

/// The JWK Set at `?2`: read from the keys table alone (unauthenticated callers must not make the
/// server scan the tokens table).
pub static PUBLISHED_KEYS: Statement =
    Statement::built(|| keys_where("(retired_at IS NULL OR published_until > ?2)"));

/// Keys that verify a custom token at `?2`: current, or retired at most `?3` ms before.
pub static VERIFICATION_KEYS: Statement =
    Statement::built(|| keys_where("(retired_at IS NULL OR retired_at + ?3 >= ?2)"));

pub static REVOKE_SIGNING_KEY: Statement = Statement::new(
    "UPDATE signing_keys SET revoked_at = ?1, \
    retired_at = COALESCE(retired_at, ?1) WHERE service_id = ?2 AND kid = ?3 AND revoked_at IS NULL",
);

/// Every key of service `?1`, revoked ones included, newest first.
pub static ALL_KEYS_OF_SERVICE: Statement = Statement::built(|| {
    format!("SELECT {KEY_COLUMNS} FROM signing_keys WHERE service_id = ?1 ORDER BY created_at DESC, kid")
});

/// Private keys, to open and re-seal under the current key-encryption key at start.
pub static ALL_SEALED_KEYS: Statement = Statement::new("SELECT kid, private_der, kek_id FROM signing_keys");

pub static RESEAL_KEY: Statement =
    Statement::new("UPDATE signing_keys SET private_der = ?1, kek_id = ?2 WHERE kid = ?3");
