//! Service Access Tokens and Organization Tokens.

use super::{CREDENTIAL_COLUMNS, SERVICE_COLUMNS, Statement};

/// A new credential ([`credential_row`](super::params::credential_row)); answers its ID.
pub static INSERT_CREDENTIAL: Statement = Statement::new(
    "INSERT INTO credentials (kind, owner_id, hash, label, created_at, \
    expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
);

pub static LIST_CREDENTIALS: Statement =
    Statement::built(|| format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY id"));

/// The credential whose hash is `?1` ([`CREDENTIAL_COLUMNS`]) and, only with it, the service `?2`
/// ([`SERVICE_COLUMNS`], NULLs when there is none): what authentication reads, in one statement.
pub static CREDENTIAL_AND_SERVICE: Statement = Statement::built(|| {
    let prefixed = |prefix: &str, columns: &str| {
        columns.split(", ").map(|c| format!("{prefix}.{}", c.trim())).collect::<Vec<_>>().join(", ")
    };
    format!(
        "SELECT {}, {} FROM credentials c LEFT JOIN services s ON s.id = ?2 WHERE c.hash = ?1",
        prefixed("c", CREDENTIAL_COLUMNS),
        prefixed("s", SERVICE_COLUMNS)
    )
});

/// Columns of [`CREDENTIAL_COLUMNS`]: where a joined service's columns start.
pub const CREDENTIAL_COLUMN_COUNT: usize = 9;

pub static REVOKE_CREDENTIAL: Statement = Statement::new(
    "UPDATE credentials SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL RETURNING kind, owner_id",
);

pub static TOUCH_CREDENTIAL: Statement =
    Statement::new("UPDATE credentials SET last_used_at = ?1 WHERE id = ?2");
