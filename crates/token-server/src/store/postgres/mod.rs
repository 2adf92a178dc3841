//! The PostgreSQL backend: N stateless server instances on one database. tokio-postgres with a
//! deadpool pool (async end to end, no blocking pool), versioned migrations applied under an
//! advisory lock so that instances starting together never migrate twice. Single use and rotation
//! are decided by row locks and unique constraints in the database, never by in-process state, so
//! they hold across instances. This module holds the pool and the migrations; each concern's
//! statements are in the module of that concern (the same files as the SQLite backend's), the
//! portable ones and the steps both backends share in [`super::sql`], run here through
//! `executor`, prepared once per connection; TLS (libpq's `sslmode` over rustls) is in `tls`.

/// Runs a shared step in a transaction of its own and commits it: `in_transaction!(store, |ex|
/// steps::x(ex, …))`.
macro_rules! in_transaction {
    ($store:expr, |$ex:ident| $step:expr) => {{
        let mut client = $store.conn().await?;
        let tx = client.transaction().await.map_err(super::pg_error)?;
        let done = {
            let $ex = &super::Pg(&tx);
            $step.await?
        };
        tx.commit().await.map_err(super::pg_error)?;
        Ok(done)
    }};
}

mod credentials;
mod events;
mod executor;
mod group_commit;
mod keys;
mod maintenance;
mod shared;
mod status_lists;
mod tenancy;
mod tls;
mod tokens;

pub use tls::{SslMode, TlsSettings, check_url};

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;

use super::sql;
use super::*;
use crate::key_encryption::KeyEncryption;
use executor::{Params, Pg, all, execute, one, sid};

/// The schema, in order; `schema_migrations` records what was applied.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "0001_initial", include_str!("migrations/0001_initial.sql")),
    (2, "0002_first_start", include_str!("migrations/0002_first_start.sql")),
    (3, "0003_purge_index", include_str!("migrations/0003_purge_index.sql")),
    (4, "0004_client_index", include_str!("migrations/0004_client_index.sql")),
    (5, "0005_revocation_reach", include_str!("migrations/0005_revocation_reach.sql")),
    (6, "0006_holder_and_tenant_values", include_str!("migrations/0006_holder_and_tenant_values.sql")),
    (7, "0007_selector_values", include_str!("migrations/0007_selector_values.sql")),
    (8, "0008_status_lists", include_str!("migrations/0008_status_lists.sql")),
    (9, "0009_status_list_changes", include_str!("migrations/0009_status_list_changes.sql")),
    (10, "0010_listing_by_key", include_str!("migrations/0010_listing_by_key.sql")),
    (11, "0011_per_service_identifiers", include_str!("migrations/0011_per_service_identifiers.sql")),
    (12, "0012_revocation_without_holes", include_str!("migrations/0012_revocation_without_holes.sql")),
    (13, "0013_events", include_str!("migrations/0013_events.sql")),
    (14, "0014_client_live", include_str!("migrations/0014_client_live.sql")),
];

/// Advisory-lock key serialising migrations (and the first-start bootstrap) across instances.
pub const MIGRATION_LOCK: i64 = 0x746f_6b65_6e73_7276; // "tokensrv"
/// Advisory-lock key of the janitor: one instance's batch at a time.
pub const JANITOR_LOCK: i64 = 0x6a61_6e69_746f_7221; // "janitor!"

/// Pool size and timeouts.
#[derive(Clone, Copy, Debug)]
pub struct PostgresOptions {
    pub pool_size: usize,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    keys: KeyEncryption,
    /// New tokens, stored in groups (see [`group_commit`]).
    inserts: group_commit::GroupCommit,
    /// Connections shared by concurrent token lookups (see [`shared`]).
    lookups: shared::SharedClients,
    /// Streams this instance is numbering now: one numbering per stream at a time, the other
    /// readers read what is numbered already (see [`events`]).
    numbering: events::Numbering,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("pool", &self.pool.status()).field("keys", &self.keys).finish()
    }
}

fn pg_error(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error()
        && *db.code() == SqlState::UNIQUE_VIOLATION
    {
        return StoreError::Conflict(match db.constraint().unwrap_or("") {
            "tokens_access_hash" | "tokens_refresh_hash" | "tokens_access_value" | "tokens_refresh_value" => {
                ConflictKind::TokenValue
            }
            "tokens_token_id" => ConflictKind::TokenId,
            "clients_service_alias" => ConflictKind::ClientAlias,
            "clients_pkey" => ConflictKind::ClientId,
            "credentials_hash" => ConflictKind::CredentialHash,
            "signing_keys_pkey" => ConflictKind::SigningKey,
            "organizations_pkey" | "services_pkey" => ConflictKind::Id,
            _ => ConflictKind::Other,
        });
    }
    // Data exceptions (class 22) are the request's values, not the database's state.
    if let Some(db) = e.as_db_error()
        && db.code().code().starts_with("22")
    {
        return StoreError::Unstorable(match db.code().code() {
            "22021" | "22P05" => "a text holds a NUL character",
            _ => "a value is out of the range the store holds",
        });
    }
    // Never the connection string: the server's message, or the client error.
    let context = match e.as_db_error() {
        Some(db) => format!("postgres ({})", db.code().code()),
        None => "postgres".to_owned(),
    };
    StoreError::driver(context, e)
}

/// Whether `e` is PostgreSQL giving up a transaction that may simply be run again: chosen as a
/// deadlock's victim (`40P01`) or a serialization failure (`40001`).
fn is_transient(e: &StoreError) -> bool {
    let StoreError::Driver { source, .. } = e else { return false };
    source
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(|e| e.as_db_error())
        .is_some_and(|db| matches!(db.code().code(), "40P01" | "40001"))
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    let cause = match &e {
        deadpool_postgres::PoolError::Backend(pg) => connection_cause(pg),
        deadpool_postgres::PoolError::Timeout(_) => Some(
            "timed out connecting to PostgreSQL (nothing answered within database_connect_timeout_secs)"
                .to_owned(),
        ),
        _ => None,
    };
    // Otherwise the deepest cause, not the pool's "Error occurred while creating a new object".
    let cause = cause.unwrap_or_else(|| {
        let mut deepest: &dyn std::error::Error = &e;
        while let Some(inner) = deepest.source() {
            deepest = inner;
        }
        format!("cannot use a PostgreSQL connection: {deepest}")
    });
    StoreError::driver(cause, e)
}

/// What an operator should read when a connection cannot be made: the cause, in words, instead
/// of the driver's "db error" (which stays the error's source, for the log).
fn connection_cause(e: &tokio_postgres::Error) -> Option<String> {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let message = db.message();
        return Some(if *code == SqlState::INVALID_CATALOG_NAME {
            format!("the database does not exist ({message})")
        } else if *code == SqlState::INVALID_PASSWORD {
            format!("authentication failed: wrong user or password ({message})")
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && (message.contains("no encryption") || message.contains("SSL off"))
        {
            format!("the server requires TLS for this connection: add ?sslmode=require ({message})")
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            format!("the server refused the login (pg_hba.conf): {message}")
        } else {
            return None;
        });
    }
    let text = e.to_string();
    let innermost = {
        let mut innermost = text.clone();
        let mut source = std::error::Error::source(e);
        while let Some(error) = source {
            innermost = error.to_string();
            source = error.source();
        }
        innermost
    };
    if text.contains("TLS handshake") {
        return Some(format!("the TLS handshake failed: {innermost} (check sslmode and sslrootcert)"));
    }
    if text.contains("does not support TLS") {
        return Some("the server does not support TLS, which sslmode requires".to_owned());
    }
    let mut source = std::error::Error::source(e);
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Some(match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused: no PostgreSQL listens at that host and port".to_owned()
                }
                std::io::ErrorKind::TimedOut => "timed out connecting to PostgreSQL".to_owned(),
                _ => format!("cannot reach PostgreSQL: {io}"),
            });
        }
        source = error.source();
    }
    text.contains("timeout").then(|| "timed out connecting to PostgreSQL".to_owned())
}

/// An error and every cause under it, one line (tokio-postgres says only "invalid connection
/// string" and keeps the parameter it refused in the cause).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    text
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`), applies pending migrations under the advisory lock and
    /// re-seals private keys not sealed under the current key-encryption key.
    pub async fn connect(url: &str, options: PostgresOptions, keys: KeyEncryption) -> StoreResult<Self> {
        Self::connect_with_search_path(url, None, options, keys).await
    }

    /// As [`connect`](Self::connect), with every connection's `search_path` set to `schema` (tests
    /// use one schema each, so parallel runs never collide).
    pub async fn connect_with_search_path(
        url: &str,
        schema: Option<&str>,
        options: PostgresOptions,
        keys: KeyEncryption,
    ) -> StoreResult<Self> {
        let store = Self::unmigrated(url, schema, options, keys)?;
        store.migrate().await?;
        store.reseal_keys().await?;
        Ok(store)
    }

    /// The pool alone: no connection is made yet, no migration applied (`migrate --status`).
    pub fn unmigrated(
        url: &str,
        schema: Option<&str>,
        options: PostgresOptions,
        keys: KeyEncryption,
    ) -> StoreResult<Self> {
        let (url, tls) = TlsSettings::split(url)?;
        let mut pg = tokio_postgres::Config::from_str(&url).map_err(|e| {
            StoreError::Backend(format!("the database URL is not valid: {}", with_causes(&e)))
        })?;
        pg.ssl_mode(tls.driver_mode());
        pg.connect_timeout(options.connect_timeout);
        // Keep what the URL's own `options` says (e.g. a search_path), then add ours.
        let mut settings = pg.get_options().map(|o| format!("{o} ")).unwrap_or_default();
        settings.push_str(&format!("-c statement_timeout={}", options.statement_timeout.as_millis()));
        if let Some(schema) = schema {
            settings.push_str(&format!(" -c search_path={schema}"));
        }
        pg.options(&settings);
        let manager = Manager::from_config(
            pg,
            tls.connector()?,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::driver("postgres pool", e))?;
        Ok(Self {
            inserts: group_commit::GroupCommit::new(pool.clone()),
            lookups: shared::SharedClients::new(pool.clone(), options.pool_size.max(1)),
            numbering: events::Numbering::default(),
            pool,
            keys,
        })
    }

    async fn conn(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Applies pending migrations, at most one instance at a time; returns their names.
    pub async fn migrate(&self) -> StoreResult<Vec<&'static str>> {
        let mut client = self.conn().await?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg_error)?;
        let outcome = async {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL); \
                     ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT",
                )
                .await
                .map_err(pg_error)?;
            let rows = client
                .query("SELECT version, checksum FROM schema_migrations ORDER BY version", &[])
                .await
                .map_err(pg_error)?;
            let mut current = 0;
            for row in &rows {
                let (version, recorded): (i32, Option<String>) = (row.get(0), row.get(1));
                current = current.max(version);
                let Some((_, name, sql)) = MIGRATIONS.iter().find(|(v, _, _)| *v == version) else { continue };
                let now = migration_checksum(sql);
                match recorded {
                    Some(recorded) if recorded != now => return Err(changed_migration(name, &recorded, &now)),
                    Some(_) => {}
                    // Applied before checksums were kept: recorded now.
                    None => {
                        client
                            .execute("UPDATE schema_migrations SET checksum = $2 WHERE version = $1", &[&version, &now])
                            .await
                            .map_err(pg_error)?;
                    }
                }
            }
            let mut applied = Vec::new();
            for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
                let tx = client.transaction().await.map_err(pg_error)?;
                tx.batch_execute(sql).await.map_err(|e| StoreError::driver(format!("migration {name}"), e))?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    &[version, name, &migration_checksum(sql)],
                )
                .await
                .map_err(pg_error)?;
                tx.commit().await.map_err(pg_error)?;
                applied.push(*name);
            }
            Ok(applied)
        }
        .await;
        let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
        let applied = outcome?;
        // A database this run created from nothing was never used by an earlier version: nothing
        // waits for other instances to understand the selector format.
        if applied.first() == Some(&MIGRATIONS[0].1) {
            self.finish_upgrades(crate::clock::now_ms()).await?;
        }
        Ok(applied)
    }

    /// Every migration with its checksum and whether this database has it; changes nothing.
    pub async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        let client = self.conn().await?;
        let exists: bool = client
            .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
            .await
            .map_err(pg_error)?
            .get(0);
        let applied: Vec<i32> = if exists {
            let rows = client.query("SELECT version FROM schema_migrations", &[]).await.map_err(pg_error)?;
            rows.iter().map(|r| r.get(0)).collect()
        } else {
            Vec::new()
        };
        Ok(MIGRATIONS
            .iter()
            .map(|(version, name, sql)| MigrationStatus {
                version: *version as u32,
                name,
                checksum: migration_checksum(sql),
                applied: applied.contains(version),
            })
            .collect())
    }

    async fn reseal_keys(&self) -> StoreResult<()> {
        let client = self.conn().await?;
        let rows = client.query(sql::ALL_SEALED_KEYS.postgres(), &[]).await.map_err(pg_error)?;
        for row in rows {
            let (kid, stored, kek_id): (String, Vec<u8>, Option<String>) =
                (row.get(0), row.get(1), row.get(2));
            let plain = self
                .keys
                .open(&kid, &stored, kek_id.as_deref())
                .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
            if self.keys.is_enabled() && kek_id.as_deref() != self.keys.current_id() {
                let (sealed, id) = self
                    .keys
                    .seal(&kid, &plain)
                    .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
                execute(&client, sql::RESEAL_KEY.postgres(), &[&sealed, &id, &kid]).await?;
            }
        }
        Ok(())
    }
}

/// The storage conformance suite on PostgreSQL (127.0.0.1:5432, database `test`, or
/// `TOKEN_SERVER_TEST_POSTGRES`), each case in a schema of its own, dropped afterwards. Without a
/// reachable PostgreSQL the cases are skipped with a message, except in CI (`CI=true`), where that
/// is a failure.
#[cfg(test)]
mod conformance {
    use super::{PostgresOptions, PostgresStore};
    use crate::key_encryption::KeyEncryption;
    use crate::store::Stores;

    fn url() -> String {
        std::env::var("TOKEN_SERVER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// Drops the test's schema when the test ends.
    pub struct Schema(String);

    impl Drop for Schema {
        fn drop(&mut self) {
            let (url, schema) = (url(), self.0.clone());
            // A fresh thread with its own runtime: drop cannot await.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(async {
                    let (client, connection) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await.ok()?;
                    tokio::spawn(connection);
                    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.ok()
                })
            })
            .join();
        }
    }

    async fn open() -> Option<(Stores, Schema)> {
        let url = url();
        let connected = tokio_postgres::connect(&url, tokio_postgres::NoTls).await;
        let (client, connection) = match connected {
            Ok(pair) => pair,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("PostgreSQL is required in CI ({url}): {e}")
            }
            Err(e) => {
                eprintln!("skipped: no PostgreSQL at {url} ({e}); set TOKEN_SERVER_TEST_POSTGRES");
                return None;
            }
        };
        tokio::spawn(connection);
        let schema = format!("conformance_{:016x}", rand::random::<u64>());
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
        let store = PostgresStore::connect_with_search_path(
            &url,
            Some(&schema),
            PostgresOptions { pool_size: 8, ..PostgresOptions::default() },
            KeyEncryption::none(),
        )
        .await
        .expect("connect");
        Some((Stores::of(store), Schema(schema)))
    }

    crate::conformance_suite!(open());
}
