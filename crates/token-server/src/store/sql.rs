//! What the two SQL backends share: the column lists, every statement that reads the same in
//! both dialects, and the row codecs. Statements are written with SQLite's `?N` placeholders;
//! PostgreSQL's backend rewrites them to `$N` once each (`postgres::pg!`). What stays in a
//! backend is its dialect only: row locks and `SKIP LOCKED`, multi-statement `WITH … RETURNING`,
//! `MAX`/`GREATEST`, a client's insertion order (`rowid`/`seq`), SQLite's group-commit writer.
//!
//! Both schemas keep the same columns under the same names: integers as 64-bit integers, JSON
//! values as text exactly as serialised, hashes as their text encoding.

use std::sync::LazyLock;

use serde_json::Value;
use token_core::grant::GrantType;
use token_core::jwks::SignAlg;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use super::*;
use crate::key_encryption::KeyEncryption;

pub const ORGANIZATION_COLUMNS: &str = "id, name, created_at";

pub const SERVICE_COLUMNS: &str = "id, organization_id, name, issuer, supported_scopes, \
    supported_grant_types, access_token_duration, refresh_token_duration, access_token_sign_alg, \
    custom_token_access_ttl, custom_token_refresh_ttl, status_list_ttl";

pub const CLIENT_COLUMNS: &str = "client_id, service_id, name, alias, entity_id, grant_types";

pub const CREDENTIAL_COLUMNS: &str =
    "id, kind, owner_id, label, created_at, expires_at, revoked_at, last_used_at, hash";

pub const KEY_COLUMNS: &str =
    "kid, service_id, alg, private_der, public_jwk, created_at, retired_at, revoked_at, kek_id";

pub const TOKEN_COLUMNS: &str = "token_id, service_id, access_hash, refresh_hash, client_id, subject, \
    grant_type, scopes, refresh_scopes, created_at, access_expires_at, refresh_expires_at, \
    last_refreshed_at, properties, certificate_thumbprint, dpop_key_thumbprint, token_type, \
    authorization_details, resources, acr, auth_time, session_id, client_identifier, \
    for_external_attachment, jwt_kid, extra, revoked_at, custom_token_kid, status_list, status_idx";

/// `?1, ?2, …, ?n`.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// `sql` with `?N` placeholders written `$N` (PostgreSQL). No statement here has a `?` that is
/// not a placeholder.
pub fn dollar(sql: &str) -> String {
    sql.replace('?', "$")
}

// Organizations.

pub const INSERT_ORGANIZATION: &str = "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)";

pub static LIST_ORGANIZATIONS: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations ORDER BY created_at, id"));

pub static ORGANIZATION_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE id = ?1"));

pub const COUNT_ORGANIZATIONS: &str = "SELECT COUNT(*) FROM organizations";

/// Inserts nothing when the first start was claimed already.
/// A JWT-issuing service `?2` takes the algorithm `?1` of the key that just became current (in the
/// key's own transaction): the service never says one algorithm while its JWTs carry another,
/// however rotations from any instance interleave.
pub const SERVICE_FOLLOWS_KEY_ALG: &str = "UPDATE services SET access_token_sign_alg = ?1 \
    WHERE id = ?2 AND access_token_sign_alg IS NOT NULL AND access_token_sign_alg <> ?1";

/// A credential just stored: live, never used, never expiring.
pub fn new_credential(id: i64, principal: Principal, label: &str, now_ms: i64) -> CredentialRecord {
    CredentialRecord {
        id,
        principal,
        label: label.to_owned(),
        created_at: now_ms,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    }
}

pub const CLAIM_FIRST_START: &str =
    "INSERT INTO first_start (id, claimed_at) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING";

// Services.

/// A new service row: its ID, organization and settings ([`SERVICE_COLUMNS`]), then `created_at`.
pub static INSERT_SERVICE: LazyLock<String> = LazyLock::new(|| {
    format!("INSERT INTO services ({SERVICE_COLUMNS}, created_at) VALUES ({})", placeholders(13))
});

/// Services of organization `?1`, or of every organization when it is NULL.
pub static LIST_SERVICES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SERVICE_COLUMNS} FROM services \
         WHERE CAST(?1 AS BIGINT) IS NULL OR organization_id = ?1 ORDER BY created_at, id"
    )
});

pub static SERVICE_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = ?1"));

/// The settings of service `?1` (in [`service_settings_params`]' order from `?2`).
pub const UPDATE_SERVICE: &str = "UPDATE services SET name = ?2, issuer = ?3, supported_scopes = ?4, \
    supported_grant_types = ?5, access_token_duration = ?6, refresh_token_duration = ?7, \
    access_token_sign_alg = ?8, custom_token_access_ttl = ?9, custom_token_refresh_ttl = ?10, \
    status_list_ttl = ?11 WHERE id = ?1";

// Clients.

pub static INSERT_CLIENT: LazyLock<String> =
    LazyLock::new(|| format!("INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ({})", placeholders(6)));

pub static CLIENT_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = ?1 AND service_id = ?2")
});

pub static CLIENT_BY_ALIAS: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE alias = ?1 AND service_id = ?2"));

pub const UPDATE_CLIENT: &str = "UPDATE clients SET name = ?3, alias = ?4, entity_id = ?5, grant_types = ?6 \
    WHERE client_id = ?1 AND service_id = ?2";

/// The clients of service `?1` holding a live token of subject `?2` at `?3` (live: not revoked,
/// and its access or refresh token not expired; `ends_at` is NULL for a token that never ends).
pub static CLIENTS_OF_SUBJECT: LazyLock<String> = LazyLock::new(|| {
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
pub const DELETE_SERVICE_ROWS_BATCH: [&str; 7] = [
    "DELETE FROM rotated_refresh_tokens WHERE (service_id, hash) IN \
     (SELECT service_id, hash FROM rotated_refresh_tokens WHERE service_id = ?1 LIMIT ?2)",
    "DELETE FROM custom_token_uses WHERE jti IN (SELECT jti FROM custom_token_uses WHERE service_id = ?1 LIMIT ?2)",
    "DELETE FROM dpop_proof_uses WHERE (service_id, jti) IN \
     (SELECT service_id, jti FROM dpop_proof_uses WHERE service_id = ?1 LIMIT ?2)",
    "DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE service_id = ?1 LIMIT ?2)",
    "DELETE FROM status_bits WHERE (service_id, list_id, idx) IN \
     (SELECT service_id, list_id, idx FROM status_bits WHERE service_id = ?1 LIMIT ?2)",
    "DELETE FROM clients WHERE (service_id, client_id) IN \
     (SELECT service_id, client_id FROM clients WHERE service_id = ?1 LIMIT ?2)",
    "DELETE FROM subject_cutoffs WHERE (service_id, subject) IN \
     (SELECT service_id, subject FROM subject_cutoffs WHERE service_id = ?1 LIMIT ?2)",
];

/// Rows of service `?1`, children first (the status bits after the tokens: deleting a token sets
/// its bit).
pub const DELETE_SERVICE_ROWS: [&str; 10] = [
    "DELETE FROM rotated_refresh_tokens WHERE service_id = ?1",
    "DELETE FROM custom_token_uses WHERE service_id = ?1",
    "DELETE FROM dpop_proof_uses WHERE service_id = ?1",
    "DELETE FROM tokens WHERE service_id = ?1",
    "DELETE FROM status_bits WHERE service_id = ?1",
    "DELETE FROM status_list_changes WHERE service_id = ?1",
    "DELETE FROM status_lists WHERE service_id = ?1",
    "DELETE FROM clients WHERE service_id = ?1",
    "DELETE FROM signing_keys WHERE service_id = ?1",
    "DELETE FROM subject_cutoffs WHERE service_id = ?1",
];
/// Revokes (at `?2`) the live Service Access Tokens of service `?1`.
pub const REVOKE_SERVICE_CREDENTIALS: &str =
    "UPDATE credentials SET revoked_at = ?2 WHERE kind = 'service' AND owner_id = ?1 AND revoked_at IS NULL";
pub const DELETE_SERVICE: &str = "DELETE FROM services WHERE id = ?1";

// Token Status Lists.

/// The newest list of service `?1`: its ID, size and next free index (a retired list is full, so
/// it only numbers the next one).
pub const NEWEST_STATUS_LIST: &str = "SELECT list_id, size, next_idx FROM status_lists \
    WHERE service_id = ?1 ORDER BY list_id DESC LIMIT 1";
/// Hands out `?3` more indexes of list `?2` of service `?1`.
pub const RESERVE_STATUS_INDEXES: &str =
    "UPDATE status_lists SET next_idx = next_idx + ?3 WHERE service_id = ?1 AND list_id = ?2";
/// List `?5` of service `?1` (the one after the newest: two instances making it at once conflict,
/// and the loser uses it), of `?2` indexes, the first `?3` handed out, at `?4`.
/// Its JWTs' latest expiry starts at 0 and is raised by a trigger as JWTs get indexes.
pub const NEW_STATUS_LIST: &str = "INSERT INTO status_lists (service_id, list_id, size, next_idx, created_at, \
    jwt_expires_by) VALUES (?1, ?5, ?2, ?3, ?4, 0)";
/// The size and version (bits gained, over every lane) of list `?2` of service `?1`, unless retired.
pub const STATUS_LIST_VERSION: &str = "SELECT l.size, CAST(COALESCE((SELECT SUM(c.changes) \
    FROM status_list_changes c WHERE c.service_id = l.service_id AND c.list_id = l.list_id), 0) AS BIGINT) \
    FROM status_lists l WHERE l.service_id = ?1 AND l.list_id = ?2 AND l.retired_at IS NULL";
/// The invalid indexes of list `?2` of service `?1`.
pub const STATUS_LIST_BITS: &str =
    "SELECT idx FROM status_bits WHERE service_id = ?1 AND list_id = ?2 ORDER BY idx";
/// Retires (at `?1`) the full lists none of whose tokens is still live and every JWT naming which
/// has expired (a persistent JWT: never), and forgets their bits.
pub const RETIRE_STATUS_LISTS: &str = "UPDATE status_lists SET retired_at = ?1 \
    WHERE retired_at IS NULL AND next_idx >= size AND jwt_expires_by <= ?1 AND NOT EXISTS (SELECT 1 FROM tokens t \
    WHERE t.service_id = status_lists.service_id AND t.status_list = status_lists.list_id \
    AND (t.ends_at IS NULL OR t.ends_at > ?1))";
/// Forgets the versions of retired lists (with their bits, [`FORGET_RETIRED_STATUS_BITS`]).
pub const FORGET_RETIRED_STATUS_CHANGES: &str = "DELETE FROM status_list_changes WHERE EXISTS (SELECT 1 \
    FROM status_lists l WHERE l.service_id = status_list_changes.service_id \
    AND l.list_id = status_list_changes.list_id AND l.retired_at IS NOT NULL)";
pub const FORGET_RETIRED_STATUS_BITS: &str = "DELETE FROM status_bits WHERE EXISTS (SELECT 1 \
    FROM status_lists l WHERE l.service_id = status_bits.service_id AND l.list_id = status_bits.list_id \
    AND l.retired_at IS NOT NULL)";

// Credentials.

pub const INSERT_CREDENTIAL: &str = "INSERT INTO credentials (kind, owner_id, hash, label, created_at, \
    expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";

pub static LIST_CREDENTIALS: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY id"));

/// The credential whose hash is `?1` ([`CREDENTIAL_COLUMNS`]) and, only with it, the service `?2`
/// ([`SERVICE_COLUMNS`], NULLs when there is none): what authentication reads, in one statement.
pub static CREDENTIAL_AND_SERVICE: LazyLock<String> = LazyLock::new(|| {
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

pub const REVOKE_CREDENTIAL: &str =
    "UPDATE credentials SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL";

pub const TOUCH_CREDENTIAL: &str = "UPDATE credentials SET last_used_at = ?1 WHERE id = ?2";

// Signing keys.

pub const INSERT_SIGNING_KEY: &str = "INSERT INTO signing_keys (kid, service_id, alg, private_der, \
    public_jwk, created_at, kek_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Keys of service `?1` matching `condition`, current first, newest first.
fn keys_where(condition: &str) -> String {
    format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys WHERE service_id = ?1 AND revoked_at IS NULL AND {condition} \
         ORDER BY retired_at IS NOT NULL, created_at DESC"
    )
}

pub static CURRENT_KEY: LazyLock<String> =
    LazyLock::new(|| format!("{} LIMIT 1", keys_where("retired_at IS NULL")));

/// The JWK Set at `?2`: read from the keys table alone (unauthenticated callers must not make the
/// server scan the tokens table).
pub static PUBLISHED_KEYS: LazyLock<String> =
    LazyLock::new(|| keys_where("(retired_at IS NULL OR published_until > ?2)"));

/// Keys that verify a custom token at `?2`: current, or retired at most `?3` ms before.
pub static VERIFICATION_KEYS: LazyLock<String> =
    LazyLock::new(|| keys_where("(retired_at IS NULL OR retired_at + ?3 >= ?2)"));

pub const REVOKE_SIGNING_KEY: &str = "UPDATE signing_keys SET revoked_at = ?1, \
    retired_at = COALESCE(retired_at, ?1) WHERE service_id = ?2 AND kid = ?3 AND revoked_at IS NULL";

/// Every key of service `?1`, revoked ones included, newest first.
pub static ALL_KEYS_OF_SERVICE: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {KEY_COLUMNS} FROM signing_keys WHERE service_id = ?1 ORDER BY created_at DESC, kid")
});

/// Private keys, to open and re-seal under the current key-encryption key at start.
pub const ALL_SEALED_KEYS: &str = "SELECT kid, private_der, kek_id FROM signing_keys";

pub const RESEAL_KEY: &str = "UPDATE signing_keys SET private_der = ?1, kek_id = ?2 WHERE kid = ?3";

// Tokens.

/// A new token row, every column ([`TokenValues`] in [`TOKEN_COLUMNS`] order).
pub static INSERT_TOKEN: LazyLock<String> = LazyLock::new(|| insert_tokens(1));

/// `rows` new token rows in one statement, row after row, each in [`TOKEN_COLUMNS`] order.
pub fn insert_tokens(rows: usize) -> String {
    let columns = TOKEN_COLUMNS.split(',').count();
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=columns).map(|c| format!("?{}", row * columns + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES {}", values.join(", "))
}

/// How a statement finds the token a value's hash names: the hash of a generated value leads with
/// its token's ID ([`TokenHash::selector`]), found through the time-ordered unique index on
/// `token_id`; any other hash (values issued before the selector format, values callers chose)
/// through the partial unique indexes of hashes without a selector (`… NOT LIKE '%.%'`, written
/// the same in every statement so that both planners match them to the index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKey {
    Selector = 0,
    Hash = 1,
}

impl ValueKey {
    pub fn of(hash: &TokenHash) -> Self {
        if hash.selector().is_some() { ValueKey::Selector } else { ValueKey::Hash }
    }
}

/// The condition "`column` holds the hash `?n`", in `key`'s way (for a selector, the token ID is
/// the hash's first 27 characters: the database cuts it from the same parameter).
fn value_is(column: &str, n: usize, key: ValueKey) -> String {
    match key {
        ValueKey::Selector => format!(
            "token_id = substr(?{n}, 1, {}) AND {column} = ?{n}",
            token_core::token_value::TOKEN_ID_LEN
        ),
        ValueKey::Hash => format!("{column} = ?{n} AND {column} NOT LIKE '%.%'"),
    }
}

/// `statement` once per [`ValueKey`] (indexed by it), `{value}` replaced by the condition on
/// `column` and placeholder `n`.
pub fn keyed(statement: &str, column: &str, n: usize) -> [String; 2] {
    [ValueKey::Selector, ValueKey::Hash].map(|key| statement.replace("{value}", &value_is(column, n, key)))
}

/// The token of service `?2` with the ID the selector hash `?1` leads with; the caller compares the
/// whole hash in constant time ([`holds`]).
pub static TOKEN_BY_SELECTOR: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_id = substr(?1, 1, {}) AND service_id = ?2",
        token_core::token_value::TOKEN_ID_LEN
    )
});

/// The token of service `?2` whose access value (without a selector) hashes to `?1`.
pub static TOKEN_BY_ACCESS_HASH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {} AND service_id = ?2",
        value_is("access_hash", 1, ValueKey::Hash)
    )
});

/// The token of service `?2` whose refresh value (without a selector) hashes to `?1`.
pub static TOKEN_BY_REFRESH_HASH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {} AND service_id = ?2",
        value_is("refresh_hash", 1, ValueKey::Hash)
    )
});

/// The token's lookup by the hash of its value of `kind` ([`TOKEN_BY_SELECTOR`], then [`holds`];
/// or the hash index).
pub fn token_by_value(kind: ValueKind, key: ValueKey) -> &'static str {
    match (key, kind) {
        (ValueKey::Selector, _) => &TOKEN_BY_SELECTOR,
        (ValueKey::Hash, ValueKind::Access) => &TOKEN_BY_ACCESS_HASH,
        (ValueKey::Hash, ValueKind::Refresh) => &TOKEN_BY_REFRESH_HASH,
    }
}

/// Whether `token`'s value of `kind` hashes to `hash`, compared in constant time (a token found by
/// a selector holds the presented value only when the whole hash matches).
pub fn holds(token: &TokenRecord, kind: ValueKind, hash: &TokenHash) -> bool {
    match kind {
        ValueKind::Access => token.access_hash.matches(hash),
        ValueKind::Refresh => token.refresh_hash.as_ref().is_some_and(|h| h.matches(hash)),
    }
}

/// What an update may change of a token (never `revoked_at`).
pub const UPDATE_TOKEN: &str = "UPDATE tokens SET access_hash = ?1, access_expires_at = ?2, \
    refresh_expires_at = ?3, scopes = ?4, properties = ?5, certificate_thumbprint = ?6, \
    dpop_key_thumbprint = ?7, token_type = ?8, authorization_details = ?9 \
    WHERE token_id = ?10 AND service_id = ?11";

/// A refresh rotation: new values and lifetimes, in place.
pub const ROTATE_TOKEN: &str = "UPDATE tokens SET access_hash = ?1, refresh_hash = ?2, \
    access_expires_at = ?3, refresh_expires_at = ?4, last_refreshed_at = ?5, jwt_kid = ?6, \
    status_list = ?8, status_idx = ?9 WHERE token_id = ?7";

/// Remembers a family's rotated-away values: the refresh value `?1` (its reuse revokes the
/// family) and the access value `?5` (a revocation naming it still reaches the family).
pub const REMEMBER_ROTATED_VALUES: &str = "INSERT INTO rotated_refresh_tokens (hash, service_id, \
    token_id, rotated_at, kind) VALUES (?1, ?2, ?3, ?4, 'refresh'), (?5, ?2, ?3, ?4, 'access')";

/// At most `?4` live tokens of service `?2` whose JWT access token or custom token the key `?3`
/// signed, revoked at `?1`.
pub const REVOKE_SIGNED_BY: &str = "UPDATE tokens SET revoked_at = ?1 WHERE id IN (SELECT id FROM tokens \
    WHERE service_id = ?2 AND revoked_at IS NULL AND (jwt_kid = ?3 OR custom_token_kid = ?3) LIMIT ?4)";

/// How many times family `?2` of service `?1` was rotated after `?3`, and the earliest of those.
pub const FAMILY_ROTATIONS_SINCE: &str = "SELECT COUNT(*), COALESCE(MIN(rotated_at), 0) \
    FROM rotated_refresh_tokens WHERE token_id = ?2 AND service_id = ?1 AND kind = 'refresh' AND rotated_at > ?3";

/// Forgets the rotated-away values of family `?2` of service `?1` older than its last `?3 + 1`
/// rotations.
pub const FORGET_OLD_ROTATED_VALUES: &str = "DELETE FROM rotated_refresh_tokens \
    WHERE token_id = ?2 AND service_id = ?1 AND rotated_at < (SELECT rotated_at FROM rotated_refresh_tokens \
    WHERE token_id = ?2 AND service_id = ?1 AND kind = 'refresh' ORDER BY rotated_at DESC LIMIT 1 OFFSET ?3)";

/// Whether custom token `?1` was redeemed, and the cutoff of subject `?3` of service `?2`.
pub const CUSTOM_TOKEN_STANDING: &str = "SELECT (SELECT COUNT(*) FROM custom_token_uses WHERE jti = ?1), \
    (SELECT valid_after FROM subject_cutoffs WHERE service_id = ?2 AND subject = ?3)";

/// The cutoff of subject `?2` of service `?1`.
pub const SUBJECT_CUTOFF: &str =
    "SELECT valid_after FROM subject_cutoffs WHERE service_id = ?1 AND subject = ?2";

/// Sets the cutoff of subject `?2` of service `?1` to `?3`, unless it is later already.
pub const END_CUSTOM_TOKENS: &str = "INSERT INTO subject_cutoffs (service_id, subject, valid_after) \
    VALUES (?1, ?2, ?3) ON CONFLICT (service_id, subject) DO UPDATE SET valid_after = excluded.valid_after \
    WHERE subject_cutoffs.valid_after < excluded.valid_after";

/// The family (token ID) a rotated-away refresh value belonged to.
pub const FAMILY_OF_ROTATED_REFRESH: &str = "SELECT token_id FROM rotated_refresh_tokens \
    WHERE hash = ?1 AND service_id = ?2 AND kind = 'refresh'";

/// The family whose rotated-away value of kind `?3` (`access` or `refresh`) is `?1`, as it is now.
pub static TOKEN_BY_ROTATED_VALUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE service_id = ?2 AND token_id = \
         (SELECT token_id FROM rotated_refresh_tokens WHERE hash = ?1 AND service_id = ?2 AND kind = ?3)"
    )
});

pub const REVOKE_FAMILY: &str =
    "UPDATE tokens SET revoked_at = ?1 WHERE token_id = ?2 AND revoked_at IS NULL";

/// Revokes at `?1` the live token of service `?2` whose access value hashes to `?3`, per [`ValueKey`].
pub static REVOKE_BY_ACCESS_HASH: LazyLock<[String; 2]> = LazyLock::new(|| {
    keyed(
        "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND {value} AND revoked_at IS NULL",
        "access_hash",
        3,
    )
});

/// Revokes at `?1` the live token of service `?2` whose refresh value hashes to `?3`, per [`ValueKey`].
pub static REVOKE_BY_REFRESH_HASH: LazyLock<[String; 2]> = LazyLock::new(|| {
    keyed(
        "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND {value} AND revoked_at IS NULL",
        "refresh_hash",
        3,
    )
});

/// The rotation records of the token of service `?2` whose access value hashes to `?1` (before
/// the token is deleted), per [`ValueKey`].
pub static DELETE_ROTATIONS_OF_TOKEN: LazyLock<[String; 2]> = LazyLock::new(|| {
    keyed(
        "DELETE FROM rotated_refresh_tokens WHERE token_id IN \
         (SELECT token_id FROM tokens WHERE {value} AND service_id = ?2)",
        "access_hash",
        1,
    )
});

/// The token of service `?2` whose access value hashes to `?1`, per [`ValueKey`].
pub static DELETE_TOKEN: LazyLock<[String; 2]> =
    LazyLock::new(|| keyed("DELETE FROM tokens WHERE {value} AND service_id = ?2", "access_hash", 1));

/// At most `?5` live tokens of client `?3` (and of subject `?4` when it is not NULL).
pub const REVOKE_BY_CLIENT_SUBJECT: &str = "UPDATE tokens SET revoked_at = ?1 WHERE id IN (SELECT id FROM tokens \
    WHERE service_id = ?2 AND client_id = ?3 AND (CAST(?4 AS TEXT) IS NULL OR subject = ?4) \
    AND revoked_at IS NULL LIMIT ?5)";

/// The family (token ID `?3`) of service `?2`, if live.
pub const REVOKE_FAMILY_OF_SERVICE: &str =
    "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND token_id = ?3 AND revoked_at IS NULL";

/// At most `?4` live tokens of subject `?3`, of every client.
pub const REVOKE_BY_SUBJECT: &str = "UPDATE tokens SET revoked_at = ?1 WHERE id IN (SELECT id FROM tokens \
    WHERE service_id = ?2 AND subject = ?3 AND revoked_at IS NULL LIMIT ?4)";

/// The count and the page of a token listing with `filter` (its placeholders from `?1`, then
/// the page's limit and offset). The offset is walked in the index alone (the rows skipped are
/// never read), and only the page's rows are read whole.
pub fn list_tokens_sql(filter: &TokenFilter) -> (String, String) {
    let condition = filter.condition(|n| format!("?{n}"));
    let used = filter_placeholders(filter);
    (
        format!("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM tokens WHERE {condition}"),
        format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE id IN (SELECT id FROM tokens WHERE {condition} \
             ORDER BY id DESC LIMIT ?{} OFFSET ?{}) ORDER BY id DESC",
            used + 1,
            used + 2
        ),
    )
}

/// The page of a token listing with `filter` that follows the row whose `id` is the placeholder
/// after the filter's, read by key: its limit is the next placeholder. No `OFFSET`: a deep page
/// costs what the first one does.
pub fn list_tokens_after_sql(filter: &TokenFilter) -> String {
    let condition = filter.condition(|n| format!("?{n}"));
    let used = filter_placeholders(filter);
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {condition} AND id < ?{} ORDER BY id DESC LIMIT ?{}",
        used + 1,
        used + 2
    )
}

fn filter_placeholders(filter: &TokenFilter) -> usize {
    1 + usize::from(filter.client_id.is_some()) + usize::from(filter.subject.is_some())
}

/// The row `id` of the token `?1` of service `?2` (where a listing by key continues).
pub const TOKEN_ROW_ID: &str = "SELECT id FROM tokens WHERE token_id = ?1 AND service_id = ?2";

// Upgrades.

/// The one upgrade waiting for every instance: new values carry their token's ID.
pub const SELECTOR_VALUES_FINISHED: &str = "SELECT count(*) FROM upgrades WHERE name = 'selector_values'";

/// Records it finished at `?1` (nothing when it was).
pub const FINISH_SELECTOR_VALUES: &str = "INSERT INTO upgrades (name, finished_at) \
    VALUES ('selector_values', ?1) ON CONFLICT (name) DO NOTHING";

// Custom tokens.

/// Inserts nothing when the `jti` was redeemed already.
pub const REDEEM_JTI: &str = "INSERT INTO custom_token_uses (jti, service_id, token_id, expires_at) \
    VALUES (?1, ?2, ?3, ?4) ON CONFLICT (jti) DO NOTHING";

/// Inserts nothing when the DPoP proof's `jti` was used already.
pub const USE_PROOF_JTI: &str = "INSERT INTO dpop_proof_uses (jti, service_id, expires_at) \
    VALUES (?1, ?2, ?3) ON CONFLICT (service_id, jti) DO NOTHING";

/// Used DPoP proof `jti`s past their window, in bounded batches (as [`PURGE_REDEEMED_JTIS`]).
pub const PURGE_PROOF_JTIS: &str = "DELETE FROM dpop_proof_uses WHERE (service_id, jti) IN \
    (SELECT service_id, jti FROM dpop_proof_uses WHERE expires_at < ?1 LIMIT ?2)";

/// Expired `jti`s can never be replayed (their tokens fail the exp check): the janitor removes
/// them in bounded batches through the `expires_at` index, never a redemption (an unbounded
/// delete in a writer batch stalls every write behind it).
pub const PURGE_REDEEMED_JTIS: &str = "DELETE FROM custom_token_uses WHERE jti IN \
    (SELECT jti FROM custom_token_uses WHERE expires_at < ?1 LIMIT ?2)";

// Codecs.

/// A result row, read by position, whichever the driver.
pub trait Columns {
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn text(&self, i: usize) -> StoreResult<String>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn opt_bool(&self, i: usize) -> StoreResult<Option<bool>>;
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>>;
}

/// The columns of `row` from position `start` on (a joined row's second table).
pub struct Offset<'r>(pub &'r dyn Columns, pub usize);

impl Columns for Offset<'_> {
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.0.int(self.1 + i)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.0.opt_int(self.1 + i)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        self.0.text(self.1 + i)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.0.opt_text(self.1 + i)
    }
    fn opt_bool(&self, i: usize) -> StoreResult<Option<bool>> {
        self.0.opt_bool(self.1 + i)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        self.0.bytes(self.1 + i)
    }
}

pub fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(text)?)
}

fn opt_json<T: serde::de::DeserializeOwned>(text: Option<String>) -> StoreResult<Option<T>> {
    text.map(|t| from_json(&t)).transpose()
}

/// A stored token or credential hash (always written by [`TokenHash`], so always well formed).
fn hash(text: String) -> StoreResult<TokenHash> {
    TokenHash::from_encoded(&text).ok_or_else(|| StoreError::Backend("malformed stored hash".into()))
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::driver("stored JSON", e)
    }
}

/// A row of [`ORGANIZATION_COLUMNS`].
pub fn organization_from_row(r: &dyn Columns) -> StoreResult<OrganizationRecord> {
    Ok(OrganizationRecord { id: OrganizationId(r.int(0)? as u64), name: r.text(1)?, created_at: r.int(2)? })
}

/// A row of [`SERVICE_COLUMNS`].
pub fn service_from_row(r: &dyn Columns) -> StoreResult<ServiceRecord> {
    Ok(ServiceRecord {
        id: ServiceId(r.int(0)? as u64),
        organization_id: OrganizationId(r.int(1)? as u64),
        settings: ServiceSettings {
            name: r.text(2)?,
            issuer: r.text(3)?,
            supported_scopes: from_json(&r.text(4)?)?,
            supported_grant_types: from_json(&r.text(5)?)?,
            access_token_duration: r.int(6)?,
            refresh_token_duration: r.int(7)?,
            access_token_sign_alg: r.opt_text(8)?.and_then(|a| SignAlg::parse(&a)),
            custom_token_access_ttl: r.int(9)?,
            custom_token_refresh_ttl: r.int(10)?,
            status_list_ttl: r.opt_int(11)?,
        },
    })
}

/// A service's settings as [`UPDATE_SERVICE`] and [`INSERT_SERVICE`] take them (after the ID and
/// organization): name, issuer, scopes, grant types, durations, algorithm, custom-token TTLs.
pub struct SettingsValues {
    pub name: String,
    pub issuer: String,
    pub supported_scopes: String,
    pub supported_grant_types: String,
    pub access_token_duration: i64,
    pub refresh_token_duration: i64,
    pub access_token_sign_alg: Option<&'static str>,
    pub custom_token_access_ttl: i64,
    pub custom_token_refresh_ttl: i64,
    pub status_list_ttl: Option<i64>,
}

pub fn service_settings_params(s: &ServiceSettings) -> StoreResult<SettingsValues> {
    Ok(SettingsValues {
        name: s.name.clone(),
        issuer: s.issuer.clone(),
        supported_scopes: to_json(&s.supported_scopes)?,
        supported_grant_types: to_json(&s.supported_grant_types)?,
        access_token_duration: s.access_token_duration,
        refresh_token_duration: s.refresh_token_duration,
        access_token_sign_alg: s.access_token_sign_alg.map(SignAlg::as_str),
        custom_token_access_ttl: s.custom_token_access_ttl,
        custom_token_refresh_ttl: s.custom_token_refresh_ttl,
        status_list_ttl: s.status_list_ttl,
    })
}

/// A row of [`CLIENT_COLUMNS`].
pub fn client_from_row(r: &dyn Columns) -> StoreResult<ClientRecord> {
    Ok(ClientRecord {
        client_id: ClientId(r.int(0)?),
        service_id: ServiceId(r.int(1)? as u64),
        name: r.text(2)?,
        alias: r.opt_text(3)?,
        entity_id: r.opt_text(4)?,
        grant_types: from_json(&r.text(5)?)?,
    })
}

/// How a credential's principal is stored: its kind and owner ID.
pub fn principal_columns(principal: Principal) -> (&'static str, i64) {
    match principal {
        Principal::Service(id) => ("service", id.get() as i64),
        Principal::Organization(id) => ("organization", id.get() as i64),
    }
}

/// A row of [`CREDENTIAL_COLUMNS`].
pub fn credential_from_row(r: &dyn Columns) -> StoreResult<StoredCredential> {
    let owner = r.int(2)? as u64;
    Ok(StoredCredential {
        record: CredentialRecord {
            id: r.int(0)?,
            principal: if r.text(1)? == "service" {
                Principal::Service(ServiceId(owner))
            } else {
                Principal::Organization(OrganizationId(owner))
            },
            label: r.text(3)?,
            created_at: r.int(4)?,
            expires_at: r.opt_int(5)?,
            revoked_at: r.opt_int(6)?,
            last_used_at: r.opt_int(7)?,
        },
        hash: hash(r.text(8)?)?,
    })
}

/// A row of [`CREDENTIAL_AND_SERVICE`]: the credential, and the service when one was joined.
pub fn credential_and_service_from_row(
    r: &dyn Columns,
) -> StoreResult<(StoredCredential, Option<ServiceRecord>)> {
    let service = Offset(r, CREDENTIAL_COLUMN_COUNT);
    let joined = service.opt_int(0)?.is_some();
    Ok((credential_from_row(r)?, if joined { Some(service_from_row(&service)?) } else { None }))
}

/// A row of [`KEY_COLUMNS`]; the private key opened with `keys`.
pub fn key_from_row(keys: &KeyEncryption, r: &dyn Columns) -> StoreResult<SigningKeyRecord> {
    let kid = r.text(0)?;
    let alg = r.text(2)?;
    let private = keys
        .open(&kid, &r.bytes(3)?, r.opt_text(8)?.as_deref())
        .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
    Ok(SigningKeyRecord {
        service_id: ServiceId(r.int(1)? as u64),
        alg: SignAlg::parse(&alg).ok_or_else(|| StoreError::Backend(format!("unknown alg {alg}")))?,
        private_der: PrivateKeyDer(private),
        public_jwk: from_json(&r.text(4)?)?,
        created_at: r.int(5)?,
        retired_at: r.opt_int(6)?,
        revoked_at: r.opt_int(7)?,
        kid,
    })
}

/// A row of [`TOKEN_COLUMNS`].
pub fn token_from_row(r: &dyn Columns) -> StoreResult<TokenRecord> {
    let grant = r.text(6)?;
    Ok(TokenRecord {
        token_id: r.text(0)?,
        service_id: ServiceId(r.int(1)? as u64),
        access_hash: hash(r.text(2)?)?,
        refresh_hash: r.opt_text(3)?.map(hash).transpose()?,
        client_id: ClientId(r.int(4)?),
        subject: r.opt_text(5)?,
        grant_type: GrantType::parse(&grant)
            .ok_or_else(|| StoreError::Backend(format!("unknown grant type {grant}")))?,
        scopes: from_json(&r.text(7)?)?,
        refresh_scopes: opt_json(r.opt_text(8)?)?,
        created_at: r.int(9)?,
        access_expires_at: r.int(10)?,
        refresh_expires_at: r.opt_int(11)?,
        last_refreshed_at: r.int(12)?,
        properties: from_json(&r.text(13)?)?,
        certificate_thumbprint: r.opt_text(14)?,
        dpop_key_thumbprint: r.opt_text(15)?,
        token_type: r.text(16)?,
        authorization_details: opt_json::<Value>(r.opt_text(17)?)?,
        resources: from_json(&r.text(18)?)?,
        acr: r.opt_text(19)?,
        auth_time: r.opt_int(20)?,
        session_id: r.opt_text(21)?,
        client_identifier: r.opt_text(22)?,
        for_external_attachment: r.opt_bool(23)?,
        jwt_kid: r.opt_text(24)?,
        extra: from_json(&r.text(25)?)?,
        revoked_at: r.opt_int(26)?,
        custom_token_kid: r.opt_text(27)?,
        status: match (r.opt_int(28)?, r.opt_int(29)?) {
            (Some(list), Some(idx)) => Some(StatusEntry { list, idx }),
            _ => None,
        },
    })
}

/// The 30 values of [`TOKEN_COLUMNS`], owned, in order ([`token_params!`] lends them to a
/// driver).
pub struct TokenValues {
    pub token_id: String,
    pub service_id: i64,
    pub access_hash: String,
    pub refresh_hash: Option<String>,
    pub client_id: i64,
    pub subject: Option<String>,
    pub grant_type: &'static str,
    pub scopes: String,
    pub refresh_scopes: Option<String>,
    pub created_at: i64,
    pub access_expires_at: i64,
    pub refresh_expires_at: Option<i64>,
    pub last_refreshed_at: i64,
    pub properties: String,
    pub certificate_thumbprint: Option<String>,
    pub dpop_key_thumbprint: Option<String>,
    pub token_type: String,
    pub authorization_details: Option<String>,
    pub resources: String,
    pub acr: Option<String>,
    pub auth_time: Option<i64>,
    pub session_id: Option<String>,
    pub client_identifier: Option<String>,
    pub for_external_attachment: Option<bool>,
    pub jwt_kid: Option<String>,
    pub extra: String,
    pub revoked_at: Option<i64>,
    pub custom_token_kid: Option<String>,
    pub status_list: Option<i64>,
    pub status_idx: Option<i64>,
}

impl TokenValues {
    pub fn of(t: &TokenRecord) -> StoreResult<Self> {
        Ok(Self {
            token_id: t.token_id.clone(),
            service_id: t.service_id.get() as i64,
            access_hash: t.access_hash.as_str().to_owned(),
            refresh_hash: t.refresh_hash.as_ref().map(|h| h.as_str().to_owned()),
            client_id: t.client_id.get(),
            subject: t.subject.clone(),
            grant_type: t.grant_type.as_str(),
            scopes: to_json(&t.scopes)?,
            refresh_scopes: t.refresh_scopes.as_ref().map(to_json).transpose()?,
            created_at: t.created_at,
            access_expires_at: t.access_expires_at,
            refresh_expires_at: t.refresh_expires_at,
            last_refreshed_at: t.last_refreshed_at,
            properties: to_json(&t.properties)?,
            certificate_thumbprint: t.certificate_thumbprint.clone(),
            dpop_key_thumbprint: t.dpop_key_thumbprint.clone(),
            token_type: t.token_type.clone(),
            authorization_details: t.authorization_details.as_ref().map(to_json).transpose()?,
            resources: to_json(&t.resources)?,
            acr: t.acr.clone(),
            auth_time: t.auth_time,
            session_id: t.session_id.clone(),
            client_identifier: t.client_identifier.clone(),
            for_external_attachment: t.for_external_attachment,
            jwt_kid: t.jwt_kid.clone(),
            extra: to_json(&t.extra)?,
            revoked_at: t.revoked_at,
            custom_token_kid: t.custom_token_kid.clone(),
            status_list: t.status.map(|s| s.list),
            status_idx: t.status.map(|s| s.idx),
        })
    }
}

/// The values of a [`TokenValues`] as an array of the driver's parameter type `$param` (e.g.
/// `dyn rusqlite::ToSql`), in [`TOKEN_COLUMNS`] order.
macro_rules! token_params {
    ($v:expr => $param:ty) => {{
        let v = &$v;
        [
            &v.token_id as &$param,
            &v.service_id,
            &v.access_hash,
            &v.refresh_hash,
            &v.client_id,
            &v.subject,
            &v.grant_type,
            &v.scopes,
            &v.refresh_scopes,
            &v.created_at,
            &v.access_expires_at,
            &v.refresh_expires_at,
            &v.last_refreshed_at,
            &v.properties,
            &v.certificate_thumbprint,
            &v.dpop_key_thumbprint,
            &v.token_type,
            &v.authorization_details,
            &v.resources,
            &v.acr,
            &v.auth_time,
            &v.session_id,
            &v.client_identifier,
            &v.for_external_attachment,
            &v.jwt_kid,
            &v.extra,
            &v.revoked_at,
            &v.custom_token_kid,
            &v.status_list,
            &v.status_idx,
        ]
    }};
}
pub(crate) use token_params;

/// The values [`UPDATE_TOKEN`] writes for `token` (as changed), in order.
pub struct UpdateValues {
    pub access_hash: String,
    pub access_expires_at: i64,
    pub refresh_expires_at: Option<i64>,
    pub scopes: String,
    pub properties: String,
    pub certificate_thumbprint: Option<String>,
    pub dpop_key_thumbprint: Option<String>,
    pub token_type: String,
    pub authorization_details: Option<String>,
    pub token_id: String,
    pub service_id: i64,
}

impl UpdateValues {
    pub fn of(token: &TokenRecord) -> StoreResult<Self> {
        Ok(Self {
            access_hash: token.access_hash.as_str().to_owned(),
            access_expires_at: token.access_expires_at,
            refresh_expires_at: token.refresh_expires_at,
            scopes: to_json(&token.scopes)?,
            properties: to_json(&token.properties)?,
            certificate_thumbprint: token.certificate_thumbprint.clone(),
            dpop_key_thumbprint: token.dpop_key_thumbprint.clone(),
            token_type: token.token_type.clone(),
            authorization_details: token.authorization_details.as_ref().map(to_json).transpose()?,
            token_id: token.token_id.clone(),
            service_id: token.service_id.get() as i64,
        })
    }
}

/// `token` after `rotation` (what [`ROTATE_TOKEN`] wrote).
pub fn rotated(mut token: TokenRecord, rotation: &Rotation) -> TokenRecord {
    token.access_hash = rotation.new_access_hash.clone();
    token.refresh_hash = Some(rotation.new_refresh_hash.clone());
    token.access_expires_at = rotation.access_expires_at;
    token.refresh_expires_at = Some(rotation.refresh_expires_at);
    token.last_refreshed_at = rotation.now_ms;
    token.jwt_kid = rotation.jwt_kid.clone();
    token.status = rotation.status;
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_and_the_joined_query_names_both_tables() {
        assert_eq!(dollar(UPDATE_TOKEN).matches('$').count(), 11);
        assert!(!dollar(&INSERT_TOKEN).contains('?'));
        assert!(CREDENTIAL_AND_SERVICE.starts_with("SELECT c.id, c.kind,"), "{}", *CREDENTIAL_AND_SERVICE);
        assert!(CREDENTIAL_AND_SERVICE.contains("s.status_list_ttl FROM"));
        assert_eq!(CREDENTIAL_COLUMNS.split(',').count(), CREDENTIAL_COLUMN_COUNT);
    }

    #[test]
    fn a_listing_numbers_its_page_after_its_filters() {
        let filter = TokenFilter { client_id: Some(ClientId(1)), subject: Some("s".into()) };
        let (count, page) = list_tokens_sql(&filter);
        assert!(count.ends_with("subject = ?3"), "{count}");
        assert!(page.ends_with("LIMIT ?4 OFFSET ?5) ORDER BY id DESC"), "{page}");
        let (_, page) = list_tokens_sql(&TokenFilter::default());
        assert!(page.ends_with("LIMIT ?2 OFFSET ?3) ORDER BY id DESC"), "{page}");
        let after = list_tokens_after_sql(&filter);
        assert!(after.ends_with("subject = ?3 AND id < ?4 ORDER BY id DESC LIMIT ?5"), "{after}");
        assert!(!after.contains("OFFSET"), "{after}");
    }
}
