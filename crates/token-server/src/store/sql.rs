//! What the two SQL backends share, written once: the column lists, every statement that reads the
//! same in both dialects (by concern, as the backends are), each record's parameters
//! ([`params`]), the row codecs ([`rows`]) and the steps of the writes made of several statements
//! ([`steps`], over an [`Executor`] each backend implements). Statements are written with
//! SQLite's `?N` placeholders; PostgreSQL's text (`$N`) is rewritten from it once per process
//! ([`Statement`]). What stays in a backend is its dialect only: row locks and `SKIP LOCKED`,
//! advisory locks, multi-statement `WITH … RETURNING`, `MAX`/`GREATEST`, a client's insertion
//! order (`rowid`/`seq`), how it binds a value and reads a column, SQLite's group-commit writer.
//!
//! Both schemas keep the same columns under the same names: integers as 64-bit integers, JSON
//! values as text exactly as serialised, hashes as their text encoding.

mod credentials;
mod events;
mod keys;
mod maintenance;
pub mod params;
pub mod rows;
mod single_use;
pub mod ssf;
mod status_lists;
pub mod steps;
mod tenancy;
mod tokens;

use std::sync::OnceLock;

pub use credentials::*;
pub use events::*;
pub use keys::*;
pub use maintenance::*;
pub use params::SqlValue;
pub use rows::*;
pub use single_use::*;
pub use status_lists::*;
pub use steps::Executor;
pub use tenancy::*;
pub use tokens::*;

pub const ORGANIZATION_COLUMNS: &str = "id, name, created_at";

pub const SERVICE_COLUMNS: &str = "id, organization_id, name, issuer, supported_scopes, \
    supported_grant_types, access_token_duration, refresh_token_duration, access_token_sign_alg, \
    custom_token_access_ttl, custom_token_refresh_ttl, status_list_ttl, issuance_events";

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

/// A statement both SQL backends run, written once with SQLite's `?N` placeholders. PostgreSQL's
/// text (`$N`) is rewritten from it at first use and kept, as is a text put together from the
/// column lists: each costs its making once per process, never once per call (and both drivers
/// then prepare it once per connection).
#[derive(Debug)]
pub struct Statement {
    source: Source,
    /// The text a [`Source::Built`] statement was put together into.
    built: OnceLock<String>,
    postgres: OnceLock<String>,
    postgres_for_update: OnceLock<String>,
}

#[derive(Debug)]
enum Source {
    Literal(&'static str),
    /// Put together at first use (from the column lists).
    Built(fn() -> String),
    /// Put together by the caller (a listing's shape).
    Owned(String),
}

impl Statement {
    pub const fn new(text: &'static str) -> Self {
        Self::of(Source::Literal(text))
    }

    /// A statement whose text `build` puts together, at first use.
    pub const fn built(build: fn() -> String) -> Self {
        Self::of(Source::Built(build))
    }

    /// A statement of a text made at run time (kept by its maker, e.g. in a `LazyLock`).
    pub fn owned(text: String) -> Self {
        Self::of(Source::Owned(text))
    }

    const fn of(source: Source) -> Self {
        Self {
            source,
            built: OnceLock::new(),
            postgres: OnceLock::new(),
            postgres_for_update: OnceLock::new(),
        }
    }

    /// The text as written: SQLite's.
    pub fn sqlite(&self) -> &str {
        match &self.source {
            Source::Literal(text) => text,
            Source::Built(build) => self.built.get_or_init(build),
            Source::Owned(text) => text,
        }
    }

    /// PostgreSQL's text: the placeholders written `$N`.
    pub fn postgres(&self) -> &str {
        self.postgres.get_or_init(|| dollar(self.sqlite()))
    }

    /// PostgreSQL's text of a query whose rows stay locked until the transaction ends (`FOR
    /// UPDATE`): a read that the transaction's next write depends on. (SQLite's one writer holds
    /// every row of the database already.)
    pub fn postgres_for_update(&self) -> &str {
        self.postgres_for_update.get_or_init(|| format!("{} FOR UPDATE", self.postgres()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TokenFilter;
    use token_core::ClientId;

    #[test]
    fn placeholders_become_dollars_and_the_joined_query_names_both_tables() {
        assert_eq!(UPDATE_TOKEN.postgres().matches('$').count(), 11);
        assert!(!INSERT_TOKEN.postgres().contains('?'));
        let joined = CREDENTIAL_AND_SERVICE.sqlite();
        assert!(joined.starts_with("SELECT c.id, c.kind,"), "{joined}");
        assert!(joined.contains("s.issuance_events FROM"));
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
