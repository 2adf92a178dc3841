//! Tokens: their insert, lookups by value, updates, rotations, revocations, deletion and listings.

use std::sync::LazyLock;

use token_core::TokenHash;

use super::{Statement, TOKEN_COLUMNS};
use crate::store::{Rotation, TokenFilter, TokenRecord, ValueKind};

/// A new token row, every column ([`TokenRow`](super::params::TokenRow), in
/// [`TOKEN_COLUMNS`] order).
pub static INSERT_TOKEN: Statement = Statement::built(|| insert_tokens(1));

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

/// `statement` with `{value}` replaced by the condition on `column` and placeholder `n`, in
/// `key`'s way.
pub fn keyed_text(statement: &str, column: &str, n: usize, key: ValueKey) -> String {
    statement.replace("{value}", &value_is(column, n, key))
}

/// A statement on a token's value, in each [`ValueKey`]'s way.
#[derive(Debug)]
pub struct Keyed {
    selector: Statement,
    hash: Statement,
}

impl Keyed {
    pub const fn new(selector: fn() -> String, hash: fn() -> String) -> Self {
        Self { selector: Statement::built(selector), hash: Statement::built(hash) }
    }

    /// The statement for a hash of `key`'s kind.
    pub fn get(&self, key: ValueKey) -> &Statement {
        match key {
            ValueKey::Selector => &self.selector,
            ValueKey::Hash => &self.hash,
        }
    }
}

/// A [`Keyed`] statement: `$statement` with `{value}` the condition on `$column` and placeholder
/// `$n`.
macro_rules! keyed {
    ($statement:expr, $column:literal, $n:literal) => {
        Keyed::new(
            || keyed_text($statement, $column, $n, ValueKey::Selector),
            || keyed_text($statement, $column, $n, ValueKey::Hash),
        )
    };
}

/// The token of service `?2` with the ID the selector hash `?1` leads with; the caller compares the
/// whole hash in constant time ([`holds`]).
pub static TOKEN_BY_SELECTOR: Statement = Statement::built(|| {
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_id = substr(?1, 1, {}) AND service_id = ?2",
        token_core::token_value::TOKEN_ID_LEN
    )
});

/// The token of service `?2` with the ID `?1`.
pub static TOKEN_BY_ID: Statement = Statement::built(|| {
    format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_id = ?1 AND service_id = ?2")
});

/// The token of service `?2` whose access value (without a selector) hashes to `?1`.
pub static TOKEN_BY_ACCESS_HASH: Statement = Statement::built(|| {
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {} AND service_id = ?2",
        value_is("access_hash", 1, ValueKey::Hash)
    )
});

/// The token of service `?2` whose refresh value (without a selector) hashes to `?1`.
pub static TOKEN_BY_REFRESH_HASH: Statement = Statement::built(|| {
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {} AND service_id = ?2",
        value_is("refresh_hash", 1, ValueKey::Hash)
    )
});

/// The token's lookup by the hash of its value of `kind` ([`TOKEN_BY_SELECTOR`], then [`holds`];
/// or the hash index).
pub fn token_by_value(kind: ValueKind, key: ValueKey) -> &'static Statement {
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

/// What an update may change of a token (never `revoked_at`;
/// [`token_update`](super::params::token_update)).
pub static UPDATE_TOKEN: Statement = Statement::new(
    "UPDATE tokens SET access_hash = ?1, access_expires_at = ?2, \
    refresh_expires_at = ?3, scopes = ?4, properties = ?5, certificate_thumbprint = ?6, \
    dpop_key_thumbprint = ?7, token_type = ?8, authorization_details = ?9 \
    WHERE token_id = ?10 AND service_id = ?11",
);

/// A refresh rotation of the token `?7` of service `?10`: new values and lifetimes, in place
/// ([`rotation_row`](super::params::rotation_row)).
pub static ROTATE_TOKEN: Statement = Statement::new(
    "UPDATE tokens SET access_hash = ?1, refresh_hash = ?2, \
    access_expires_at = ?3, refresh_expires_at = ?4, last_refreshed_at = ?5, jwt_kid = ?6, \
    status_list = ?8, status_idx = ?9 WHERE token_id = ?7 AND service_id = ?10",
);

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

/// Remembers a family's rotated-away values: the refresh value `?1` (its reuse revokes the
/// family) and the access value `?5` (a revocation naming it still reaches the family).
pub static REMEMBER_ROTATED_VALUES: Statement = Statement::new(
    "INSERT INTO rotated_refresh_tokens (hash, service_id, \
    token_id, rotated_at, kind) VALUES (?1, ?2, ?3, ?4, 'refresh'), (?5, ?2, ?3, ?4, 'access')",
);

/// At most `?4` live tokens of service `?2` whose JWT access token or custom token the key `?3`
/// signed, revoked at `?1`.
pub static REVOKE_SIGNED_BY: Statement = Statement::new(
    "UPDATE tokens SET revoked_at = ?1 WHERE id IN (SELECT id FROM tokens \
    WHERE service_id = ?2 AND revoked_at IS NULL AND (jwt_kid = ?3 OR custom_token_kid = ?3) LIMIT ?4) \
    RETURNING subject",
);

/// How many times family `?2` of service `?1` was rotated after `?3`, and the earliest of those.
pub static FAMILY_ROTATIONS_SINCE: Statement = Statement::new(
    "SELECT COUNT(*), COALESCE(MIN(rotated_at), 0) \
    FROM rotated_refresh_tokens WHERE token_id = ?2 AND service_id = ?1 AND kind = 'refresh' AND rotated_at > ?3",
);

/// Forgets the rotated-away values of family `?2` of service `?1` older than its last `?3 + 1`
/// rotations.
pub static FORGET_OLD_ROTATED_VALUES: Statement = Statement::new(
    "DELETE FROM rotated_refresh_tokens \
    WHERE token_id = ?2 AND service_id = ?1 AND rotated_at < (SELECT rotated_at FROM rotated_refresh_tokens \
    WHERE token_id = ?2 AND service_id = ?1 AND kind = 'refresh' ORDER BY rotated_at DESC LIMIT 1 OFFSET ?3)",
);

/// The family (token ID) of service `?2` a rotated-away refresh value `?1` belonged to.
pub static FAMILY_OF_ROTATED_REFRESH: Statement = Statement::new(
    "SELECT token_id FROM rotated_refresh_tokens \
    WHERE hash = ?1 AND service_id = ?2 AND kind = 'refresh'",
);

/// The family whose rotated-away value of kind `?3` (`access` or `refresh`) is `?1`, as it is now.
pub static TOKEN_BY_ROTATED_VALUE: Statement = Statement::built(|| {
    format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE service_id = ?2 AND token_id = \
         (SELECT token_id FROM rotated_refresh_tokens WHERE hash = ?1 AND service_id = ?2 AND kind = ?3)"
    )
});

/// Revokes at `?1` the family (token ID `?3`) of service `?2`, if live.
pub static REVOKE_FAMILY: Statement = Statement::new(
    "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND token_id = ?3 AND revoked_at IS NULL \
    RETURNING token_id, subject, client_id",
);

/// Revokes at `?1` the live token of service `?2` whose access value hashes to `?3`.
pub static REVOKE_BY_ACCESS_HASH: Keyed = keyed!(
    "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND {value} AND revoked_at IS NULL \
    RETURNING token_id, subject, client_id",
    "access_hash",
    3
);

/// Revokes at `?1` the live token of service `?2` whose refresh value hashes to `?3`.
pub static REVOKE_BY_REFRESH_HASH: Keyed = keyed!(
    "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND {value} AND revoked_at IS NULL \
    RETURNING token_id, subject, client_id",
    "refresh_hash",
    3
);

/// At most `?5` live tokens of client `?3` of service `?2` (and of subject `?4` when it is not
/// NULL), revoked at `?1`.
pub static REVOKE_BY_CLIENT_SUBJECT: Statement = Statement::new(
    "UPDATE tokens SET revoked_at = ?1 WHERE id IN (SELECT id FROM tokens \
    WHERE service_id = ?2 AND client_id = ?3 AND (CAST(?4 AS TEXT) IS NULL OR subject = ?4) \
    AND revoked_at IS NULL LIMIT ?5) RETURNING subject",
);

/// At most `?4` live tokens of subject `?3` of service `?2`, of every client, revoked at `?1`.
pub static REVOKE_BY_SUBJECT: Statement = Statement::new(
    "UPDATE tokens SET revoked_at = ?1 WHERE id IN (SELECT id FROM tokens \
    WHERE service_id = ?2 AND subject = ?3 AND revoked_at IS NULL LIMIT ?4)",
);

// Deleting a token: the token of service `?2` whose access value hashes to `?1`, and its rotation
// records, in two statements ([`DELETE_ROTATIONS_OF_TOKEN`], then [`DELETE_TOKEN`]) of the
// transaction that read (and locked) the token for its event.

/// The rotation records of the token of service `?2` whose access value hashes to `?1` (before
/// the token is deleted).
pub static DELETE_ROTATIONS_OF_TOKEN: Keyed = keyed!(
    "DELETE FROM rotated_refresh_tokens WHERE token_id IN \
     (SELECT token_id FROM tokens WHERE {value} AND service_id = ?2)",
    "access_hash",
    1
);

/// The token of service `?2` whose access value hashes to `?1`.
pub static DELETE_TOKEN: Keyed =
    keyed!("DELETE FROM tokens WHERE {value} AND service_id = ?2", "access_hash", 1);

// Listings.

impl TokenFilter {
    /// The WHERE condition of a listing with only the filters given, one SQL text per shape, so
    /// that each reads its index (an `(?2 IS NULL OR client_id = ?2)` form keeps SQLite from using
    /// any: counting one subject's tokens scanned the whole service). Placeholder 1 is the service,
    /// then the client ID and the subject when given; `mark(n)` writes placeholder `n`.
    pub(crate) fn condition(&self, mark: fn(usize) -> String) -> String {
        let mut condition = format!("service_id = {}", mark(1));
        let mut used = 1;
        if self.client_id.is_some() {
            used += 1;
            // With a subject too, the unary `+` keeps SQLite (which has no statistics) on the
            // subject's index, far narrower than the client's.
            let column = if self.subject.is_some() { "+client_id" } else { "client_id" };
            condition.push_str(&format!(" AND {column} = {}", mark(used)));
        }
        if self.subject.is_some() {
            used += 1;
            condition.push_str(&format!(" AND subject = {}", mark(used)));
        }
        condition
    }
}

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

/// The statements of a token listing of one shape (which filters are given): its version
/// ([`list_tokens_sql`]'s count), a page by position and a page by key.
#[derive(Debug)]
pub struct TokenListing {
    pub count: Statement,
    pub page: Statement,
    pub page_after: Statement,
}

/// The listing of each shape, indexed by [`token_listing`]: made once, not per call.
static TOKEN_LISTINGS: LazyLock<[TokenListing; 4]> = LazyLock::new(|| {
    [(false, false), (true, false), (false, true), (true, true)].map(|(client, subject)| {
        let shape = TokenFilter {
            client_id: client.then_some(token_core::ClientId(0)),
            subject: subject.then(String::new),
        };
        let (count, page) = list_tokens_sql(&shape);
        TokenListing {
            count: Statement::owned(count),
            page: Statement::owned(page),
            page_after: Statement::owned(list_tokens_after_sql(&shape)),
        }
    })
});

/// The statements of a listing with `filter`'s shape.
pub fn token_listing(filter: &TokenFilter) -> &'static TokenListing {
    &TOKEN_LISTINGS[usize::from(filter.client_id.is_some()) + 2 * usize::from(filter.subject.is_some())]
}

/// The row `id` of the token `?1` of service `?2` (where a listing by key continues).
pub static TOKEN_ROW_ID: Statement =
    Statement::new("SELECT id FROM tokens WHERE token_id = ?1 AND service_id = ?2");
