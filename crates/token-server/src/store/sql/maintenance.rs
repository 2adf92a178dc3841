//! Upgrades waiting for every instance, and the janitor's portable statements.

use super::Statement;

/// The one upgrade waiting for every instance: new values carry their token's ID.
pub static SELECTOR_VALUES_FINISHED: Statement =
    Statement::new("SELECT count(*) FROM upgrades WHERE name = 'selector_values'");

/// Records it finished at `?1` (nothing when it was).
pub static FINISH_SELECTOR_VALUES: Statement = Statement::new(
    "INSERT INTO upgrades (name, finished_at) \
    VALUES ('selector_values', ?1) ON CONFLICT (name) DO NOTHING",
);

/// Used DPoP proof `jti`s past their window, in bounded batches (as [`PURGE_REDEEMED_JTIS`]).
pub static PURGE_PROOF_JTIS: Statement = Statement::new(
    "DELETE FROM dpop_proof_uses WHERE (service_id, jti) IN \
    (SELECT service_id, jti FROM dpop_proof_uses WHERE expires_at < ?1 LIMIT ?2)",
);

/// Expired `jti`s can never be replayed (their tokens fail the exp check): the janitor removes
/// them in bounded batches through the `expires_at` index, never a redemption (an unbounded
/// delete in a writer batch stalls every write behind it).
pub static PURGE_REDEEMED_JTIS: Statement = Statement::new(
    "DELETE FROM custom_token_uses WHERE jti IN \
    (SELECT jti FROM custom_token_uses WHERE expires_at < ?1 LIMIT ?2)",
);
