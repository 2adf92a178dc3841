//! Single use: custom tokens' `jti`s and subject cutoffs, DPoP proofs' `jti`s.

use super::Statement;

/// Whether custom token `?1` was redeemed, and the cutoff of subject `?3` of service `?2`.
pub static CUSTOM_TOKEN_STANDING: Statement = Statement::new(
    "SELECT (SELECT COUNT(*) FROM custom_token_uses WHERE jti = ?1), \
    (SELECT valid_after FROM subject_cutoffs WHERE service_id = ?2 AND subject = ?3)",
);

/// The cutoff of subject `?2` of service `?1`.
pub static SUBJECT_CUTOFF: Statement =
    Statement::new("SELECT valid_after FROM subject_cutoffs WHERE service_id = ?1 AND subject = ?2");

/// Sets the cutoff of subject `?2` of service `?1` to `?3`, unless it is later already.
pub static END_CUSTOM_TOKENS: Statement = Statement::new(
    "INSERT INTO subject_cutoffs (service_id, subject, valid_after) \
    VALUES (?1, ?2, ?3) ON CONFLICT (service_id, subject) DO UPDATE SET valid_after = excluded.valid_after \
    WHERE subject_cutoffs.valid_after < excluded.valid_after",
);

/// Records custom token `?1` of service `?2` redeemed for token `?3`, kept until `?4`; inserts
/// nothing when the `jti` was redeemed already.
pub static REDEEM_JTI: Statement = Statement::new(
    "INSERT INTO custom_token_uses (jti, service_id, token_id, expires_at) \
    VALUES (?1, ?2, ?3, ?4) ON CONFLICT (jti) DO NOTHING",
);

/// Inserts nothing when the DPoP proof's `jti` was used already.
pub static USE_PROOF_JTI: Statement = Statement::new(
    "INSERT INTO dpop_proof_uses (jti, service_id, expires_at) \
    VALUES (?1, ?2, ?3) ON CONFLICT (service_id, jti) DO NOTHING",
);
