//! Organizations, the first start, services and clients.

use super::{CLIENT_COLUMNS, ORGANIZATION_COLUMNS, SERVICE_COLUMNS, Statement, placeholders};

// Organizations.

pub static INSERT_ORGANIZATION: Statement =
    Statement::new("INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)");

pub static LIST_ORGANIZATIONS: Statement =
    Statement::built(|| format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations ORDER BY created_at, id"));

pub static ORGANIZATION_BY_ID: Statement =
    Statement::built(|| format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE id = ?1"));

pub static COUNT_ORGANIZATIONS: Statement = Statement::new("SELECT COUNT(*) FROM organizations");

/// Inserts nothing when the first start was claimed already.
pub static CLAIM_FIRST_START: Statement =
    Statement::new("INSERT INTO first_start (id, claimed_at) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING");

// Services.

/// A new service row: its ID, organization and settings ([`SERVICE_COLUMNS`]), then `created_at`
/// ([`service_row`](super::params::service_row)).
pub static INSERT_SERVICE: Statement = Statement::built(|| {
    format!("INSERT INTO services ({SERVICE_COLUMNS}, created_at) VALUES ({})", placeholders(14))
});

/// Services of organization `?1`, or of every organization when it is NULL.
pub static LIST_SERVICES: Statement = Statement::built(|| {
    format!(
        "SELECT {SERVICE_COLUMNS} FROM services \
         WHERE CAST(?1 AS BIGINT) IS NULL OR organization_id = ?1 ORDER BY created_at, id"
    )
});

pub static SERVICE_BY_ID: Statement =
    Statement::built(|| format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = ?1"));

/// The settings of service `?1`, from `?2` ([`service_update`](super::params::service_update)).
pub static UPDATE_SERVICE: Statement = Statement::new(
    "UPDATE services SET name = ?2, issuer = ?3, supported_scopes = ?4, \
    supported_grant_types = ?5, access_token_duration = ?6, refresh_token_duration = ?7, \
    access_token_sign_alg = ?8, custom_token_access_ttl = ?9, custom_token_refresh_ttl = ?10, \
    status_list_ttl = ?11, issuance_events = ?12 WHERE id = ?1",
);

// Clients.

/// A new client row ([`client_row`](super::params::client_row)).
pub static INSERT_CLIENT: Statement =
    Statement::built(|| format!("INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ({})", placeholders(6)));

/// The clients of service `?1` by ID (the same order on every backend: pages of a listing follow
/// it).
pub static LIST_CLIENTS: Statement = Statement::built(|| {
    format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE service_id = ?1 ORDER BY client_id")
});

pub static CLIENT_BY_ID: Statement = Statement::built(|| {
    format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = ?1 AND service_id = ?2")
});

pub static CLIENT_BY_ALIAS: Statement =
    Statement::built(|| format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE alias = ?1 AND service_id = ?2"));

/// The client `?1` of service `?2` takes name, alias, entity ID and grant types `?3`… `?6`
/// ([`client_row`](super::params::client_row)).
pub static UPDATE_CLIENT: Statement = Statement::new(
    "UPDATE clients SET name = ?3, alias = ?4, entity_id = ?5, grant_types = ?6 \
    WHERE client_id = ?1 AND service_id = ?2",
);

/// The clients of service `?1` holding a live token of subject `?2` at `?3` (live: not revoked,
/// and its access or refresh token not expired; `ends_at` is NULL for a token that never ends).
pub static CLIENTS_OF_SUBJECT: Statement = Statement::built(|| {
    format!(
        "SELECT {CLIENT_COLUMNS} FROM clients c WHERE c.service_id = ?1 AND EXISTS (SELECT 1 FROM tokens t \
         WHERE t.service_id = ?1 AND t.subject = ?2 AND t.client_id = c.client_id \
         AND t.revoked_at IS NULL AND (t.ends_at IS NULL OR t.ends_at > ?3)) ORDER BY c.client_id"
    )
});

// Deleting a service, in one transaction: what hangs off it, then the service. Its Service Access
// Tokens are revoked, not deleted (the audit trail of `admin credential list` keeps them).

/// At most `?2` rows of service `?1` of each table that can grow without bound, children first:
/// deleting a service deletes these a batch per write until none is left ([`REVOKE_BATCH`]), then
/// the rest ([`DELETE_SERVICE_ROWS`]) and the service in one transaction. Each batch is found
/// through an index that leads with the service.
///
/// [`REVOKE_BATCH`]: crate::store::REVOKE_BATCH
pub static DELETE_SERVICE_ROWS_BATCH: [Statement; 8] = [
    Statement::new(
        "DELETE FROM rotated_refresh_tokens WHERE (service_id, hash) IN \
         (SELECT service_id, hash FROM rotated_refresh_tokens WHERE service_id = ?1 LIMIT ?2)",
    ),
    Statement::new(
        "DELETE FROM custom_token_uses WHERE jti IN (SELECT jti FROM custom_token_uses WHERE service_id = ?1 LIMIT ?2)",
    ),
    Statement::new(
        "DELETE FROM dpop_proof_uses WHERE (service_id, jti) IN \
         (SELECT service_id, jti FROM dpop_proof_uses WHERE service_id = ?1 LIMIT ?2)",
    ),
    Statement::new("DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE service_id = ?1 LIMIT ?2)"),
    Statement::new(
        "DELETE FROM status_bits WHERE (service_id, list_id, idx) IN \
         (SELECT service_id, list_id, idx FROM status_bits WHERE service_id = ?1 LIMIT ?2)",
    ),
    Statement::new(
        "DELETE FROM clients WHERE (service_id, client_id) IN \
         (SELECT service_id, client_id FROM clients WHERE service_id = ?1 LIMIT ?2)",
    ),
    Statement::new(
        "DELETE FROM subject_cutoffs WHERE (service_id, subject) IN \
         (SELECT service_id, subject FROM subject_cutoffs WHERE service_id = ?1 LIMIT ?2)",
    ),
    // The service's event stream is its ID.
    Statement::new("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE stream = ?1 LIMIT ?2)"),
];

/// Rows of service `?1`, children first (the status bits after the tokens: deleting a token sets
/// its bit).
pub static DELETE_SERVICE_ROWS: [Statement; 14] = [
    Statement::new("DELETE FROM rotated_refresh_tokens WHERE service_id = ?1"),
    Statement::new("DELETE FROM custom_token_uses WHERE service_id = ?1"),
    Statement::new("DELETE FROM dpop_proof_uses WHERE service_id = ?1"),
    Statement::new("DELETE FROM tokens WHERE service_id = ?1"),
    Statement::new("DELETE FROM status_bits WHERE service_id = ?1"),
    Statement::new("DELETE FROM status_list_changes WHERE service_id = ?1"),
    Statement::new("DELETE FROM status_lists WHERE service_id = ?1"),
    Statement::new("DELETE FROM clients WHERE service_id = ?1"),
    Statement::new("DELETE FROM signing_keys WHERE service_id = ?1"),
    Statement::new("DELETE FROM subject_cutoffs WHERE service_id = ?1"),
    Statement::new("DELETE FROM events WHERE stream = ?1"),
    Statement::new("DELETE FROM event_streams WHERE stream = ?1"),
    Statement::new(
        "DELETE FROM ssf_queue WHERE stream_id IN (SELECT stream_id FROM ssf_streams WHERE service_id = ?1)",
    ),
    Statement::new("DELETE FROM ssf_streams WHERE service_id = ?1"),
];

/// The organization of service `?1`.
pub static ORGANIZATION_OF_SERVICE: Statement =
    Statement::new("SELECT organization_id FROM services WHERE id = ?1");

/// Deletes the client `?2` of service `?1`.
pub static DELETE_CLIENT: Statement =
    Statement::new("DELETE FROM clients WHERE service_id = ?1 AND client_id = ?2");

/// Revokes at `?1` the live tokens of client `?3` of service `?2` (it is being deleted, in the same
/// transaction).
pub static REVOKE_CLIENT_TOKENS: Statement = Statement::new(
    "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND client_id = ?3 AND revoked_at IS NULL",
);

/// Revokes (at `?2`) the live Service Access Tokens of service `?1`.
pub static REVOKE_SERVICE_CREDENTIALS: Statement = Statement::new(
    "UPDATE credentials SET revoked_at = ?2 WHERE kind = 'service' AND owner_id = ?1 AND revoked_at IS NULL",
);

pub static DELETE_SERVICE: Statement = Statement::new("DELETE FROM services WHERE id = ?1");
