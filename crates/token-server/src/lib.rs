//! # token-server
//!
//! The token service over HTTP (axum + tokio) on a durable embedded SQLite store, in three layers:
//! `http` (routes, extractors, wire rendering) → `service` (the domain operations) → `store` (the
//! async storage interface and its backends). The binary (`src/main.rs`) adds the command line.

pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod key_encryption;
pub mod random;
pub mod service;
pub mod store;
pub mod telemetry;

use std::path::Path;

pub use config::Config;
pub use http::router;
pub use http::serve::serve;
pub use service::{App, keys, tenancy};

/// Which backend `config.database` names.
#[derive(Debug)]
pub enum Database<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
}

impl Config {
    /// `postgres://…` / `postgresql://…` → PostgreSQL; `sqlite:PATH` or a bare path → SQLite.
    pub fn backend(&self) -> Database<'_> {
        let text = self.database.to_str().unwrap_or_default();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Database::Postgres(text)
        } else {
            Database::Sqlite(text.strip_prefix("sqlite:").map(Path::new).unwrap_or(&self.database))
        }
    }
}

fn key_encryption(config: &Config) -> Result<key_encryption::KeyEncryption, store::StoreError> {
    let previous: Vec<String> =
        config.previous_key_encryption_keys.iter().map(|k| k.secret().to_owned()).collect();
    let keys =
        key_encryption::KeyEncryption::new(config.key_encryption_key.as_ref().map(|k| k.secret()), &previous)
            .map_err(|e| store::StoreError::driver("key encryption", e))?;
    Ok(keys)
}

/// Opens the embedded store named by the configuration (SQLite only; see [`connect_store`]).
pub fn open_store(config: &Config) -> Result<store::Stores, store::StoreError> {
    match config.backend() {
        Database::Sqlite(path) => {
            Ok(store::Stores::of(store::sqlite::SqliteStore::open_with(path, key_encryption(config)?)?))
        }
        Database::Postgres(_) => {
            Err(store::StoreError::Backend("a postgres:// database needs connect_store (async)".into()))
        }
    }
}

/// Opens the store named by the configuration, either backend, sealing private keys with the
/// configured key-encryption key and applying pending migrations.
pub async fn connect_store(config: &Config) -> Result<store::Stores, store::StoreError> {
    match config.backend() {
        Database::Sqlite(_) => open_store(config),
        #[cfg(feature = "postgres")]
        Database::Postgres(url) => {
            let options = store::postgres::PostgresOptions {
                pool_size: config.database_pool_size,
                connect_timeout: std::time::Duration::from_secs(config.database_connect_timeout_secs),
                statement_timeout: std::time::Duration::from_secs(config.database_statement_timeout_secs),
            };
            Ok(store::Stores::of(
                store::postgres::PostgresStore::connect(url, options, key_encryption(config)?).await?,
            ))
        }
        #[cfg(not(feature = "postgres"))]
        Database::Postgres(_) => Err(store::StoreError::Backend(
            "this build has no PostgreSQL support (feature `postgres`)".into(),
        )),
    }
}

/// Every migration of the configured store's backend, with its checksum and whether the store has
/// it; applies nothing (`token-server migrate --status`).
pub async fn migration_status(config: &Config) -> Result<Vec<store::MigrationStatus>, store::StoreError> {
    match config.backend() {
        Database::Sqlite(path) => store::sqlite::SqliteStore::migration_status(path),
        #[cfg(feature = "postgres")]
        Database::Postgres(url) => {
            let options = store::postgres::PostgresOptions {
                pool_size: 1,
                connect_timeout: std::time::Duration::from_secs(config.database_connect_timeout_secs),
                statement_timeout: std::time::Duration::from_secs(config.database_statement_timeout_secs),
            };
            let keys = key_encryption::KeyEncryption::none();
            store::postgres::PostgresStore::unmigrated(url, None, options, keys)?.migration_status().await
        }
        #[cfg(not(feature = "postgres"))]
        Database::Postgres(_) => Err(store::StoreError::Backend(
            "this build has no PostgreSQL support (feature `postgres`)".into(),
        )),
    }
}
