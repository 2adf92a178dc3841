//! Which backend the configuration names, chosen in one place ([`Config::backend`]), and what
//! differs by backend before a store is open: opening it (which applies pending migrations),
//! listing its migrations, migrating or copying an embedded store without opening it. Every caller
//! (the command line, the tests, the benches) goes through a [`Database`]; no other code reads
//! `config.database` to tell the backends apart.

use std::path::Path;
#[cfg(feature = "postgres")]
use std::time::Duration;

use crate::config::Config;
use crate::key_encryption::KeyEncryption;
use crate::store::{MigrationStatus, StoreError, StoreResult, Stores, sqlite};

/// The backend `config.database` names ([`Config::backend`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database<'a> {
    /// A SQLite file (the embedded default; one server per file).
    Sqlite(&'a Path),
    /// A PostgreSQL URL, as configured (N instances on one database).
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

impl Database<'_> {
    /// Opens an embedded (SQLite) store without a runtime, sealing private keys with `config`'s
    /// key-encryption key and applying pending migrations. A PostgreSQL store needs
    /// [`connect`](Self::connect).
    pub fn open(self, config: &Config) -> StoreResult<Stores> {
        match self {
            Database::Sqlite(path) => {
                Ok(Stores::of(sqlite::SqliteStore::open_with(path, key_encryption(config)?)?))
            }
            Database::Postgres(_) => {
                Err(StoreError::Backend("a postgres:// database needs connect_store (async)".into()))
            }
        }
    }

    /// Opens the store, either backend, sealing private keys with `config`'s key-encryption key
    /// and applying pending migrations (PostgreSQL: under an advisory lock, with `config`'s pool
    /// size and timeouts).
    pub async fn connect(self, config: &Config) -> StoreResult<Stores> {
        match self {
            Database::Sqlite(_) => self.open(config),
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => {
                let options = postgres_options(config, config.database_pool_size);
                Ok(Stores::of(
                    crate::store::postgres::PostgresStore::connect(url, options, key_encryption(config)?)
                        .await?,
                ))
            }
            #[cfg(not(feature = "postgres"))]
            Database::Postgres(_) => Err(no_postgres()),
        }
    }

    /// Every migration of the backend, with its checksum and whether the store has it; applies
    /// nothing and creates nothing (`token-server migrate --status`).
    pub async fn migration_status(self, config: &Config) -> StoreResult<Vec<MigrationStatus>> {
        match self {
            Database::Sqlite(path) => sqlite::SqliteStore::migration_status(path),
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => {
                let options = postgres_options(config, 1);
                crate::store::postgres::PostgresStore::unmigrated(url, None, options, KeyEncryption::none())?
                    .migration_status()
                    .await
            }
            #[cfg(not(feature = "postgres"))]
            Database::Postgres(_) => {
                let _ = config;
                Err(no_postgres())
            }
        }
    }

    /// Applies an embedded store's pending migrations without opening it for service (no
    /// runtime, no key sealing); returns the names of those applied (`token-server migrate`). A
    /// PostgreSQL store is migrated as it connects ([`connect`](Self::connect)).
    pub fn migrate_file(self) -> StoreResult<Vec<&'static str>> {
        match self {
            Database::Sqlite(path) => sqlite::SqliteStore::migrate(path),
            Database::Postgres(_) => {
                Err(StoreError::Backend("a postgres:// database is migrated as it connects".into()))
            }
        }
    }

    /// Writes a consistent copy of an embedded store to `target` (which must not exist), mode
    /// 0600, while it stays in use (`VACUUM INTO`). A PostgreSQL store is copied with its own
    /// tool, `pg_dump` (`token-server backup`).
    pub fn copy_file(self, target: &Path) -> StoreResult<()> {
        match self {
            Database::Sqlite(path) => sqlite::SqliteStore::backup(path, target),
            Database::Postgres(_) => {
                Err(StoreError::Backend("a postgres:// database is copied with pg_dump".into()))
            }
        }
    }
}

/// The configured key-encryption key and the previous ones (to open keys sealed under them).
fn key_encryption(config: &Config) -> StoreResult<KeyEncryption> {
    let previous: Vec<String> =
        config.previous_key_encryption_keys.iter().map(|k| k.secret().to_owned()).collect();
    KeyEncryption::new(config.key_encryption_key.as_ref().map(|k| k.secret()), &previous)
        .map_err(|e| StoreError::driver("key encryption", e))
}

#[cfg(feature = "postgres")]
fn postgres_options(config: &Config, pool_size: usize) -> crate::store::postgres::PostgresOptions {
    crate::store::postgres::PostgresOptions {
        pool_size,
        connect_timeout: Duration::from_secs(config.database_connect_timeout_secs),
        statement_timeout: Duration::from_secs(config.database_statement_timeout_secs),
    }
}

#[cfg(not(feature = "postgres"))]
fn no_postgres() -> StoreError {
    StoreError::Backend("this build has no PostgreSQL support (feature `postgres`)".into())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Database;
    use crate::config::Config;

    #[test]
    fn the_database_setting_names_the_backend() {
        let backend_of = |text: &str| {
            let config = Config { database: text.into(), ..Config::default() };
            match config.backend() {
                Database::Sqlite(path) => format!("sqlite {}", path.display()),
                Database::Postgres(url) => format!("postgres {url}"),
            }
        };
        assert_eq!(backend_of("token-server.sqlite"), "sqlite token-server.sqlite");
        assert_eq!(backend_of("sqlite:/var/lib/t.db"), "sqlite /var/lib/t.db");
        assert_eq!(backend_of("postgres://u@h/db"), "postgres postgres://u@h/db");
        assert_eq!(backend_of("postgresql://u@h/db"), "postgres postgresql://u@h/db");
        let config = Config { database: "sqlite:x".into(), ..Config::default() };
        assert_eq!(config.backend(), Database::Sqlite(Path::new("x")));
    }
}
