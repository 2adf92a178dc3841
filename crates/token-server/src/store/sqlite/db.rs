//! The embedded default store, synchronous half: SQLite in WAL mode with `synchronous=FULL`, so a committed write is
//! on disk before the request that made it is answered.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rand::Rng;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use serde_json::Value;
use token_core::grant::GrantType;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use crate::key_encryption::KeyEncryption;
use crate::store::*;

/// The schema as versioned migrations, applied in order at open (and by `token-server migrate`);
/// `PRAGMA user_version` records the last one applied. Files are never edited once released: a
/// change is a new file.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "0001_initial", include_str!("migrations/0001_initial.sql")),
    (2, "0002_security", include_str!("migrations/0002_security.sql")),
    (3, "0003_first_start", include_str!("migrations/0003_first_start.sql")),
    (4, "0004_purge_index", include_str!("migrations/0004_purge_index.sql")),
    (5, "0005_client_index", include_str!("migrations/0005_client_index.sql")),
];

const KEY_COLUMNS: &str =
    "kid, service_id, alg, private_der, public_jwk, created_at, retired_at, revoked_at, kek_id";

const CREDENTIAL_COLUMNS: &str =
    "id, kind, owner_id, label, created_at, expires_at, revoked_at, last_used_at, hash";

/// The next batch of ended tokens, oldest first, read from the `tokens_ends_at` index.
const PURGE_BATCH: &str = "ends_at < ?1 ORDER BY ends_at, id LIMIT ?2";

/// Expired `jti`s can never be replayed (their tokens fail the exp check): the janitor removes them
/// in bounded batches through the `expires_at` index, never a redemption (an unbounded delete in a
/// writer batch stalls every write behind it).
const PURGE_REDEEMED_JTIS: &str = "DELETE FROM custom_token_uses WHERE jti IN (SELECT jti FROM custom_token_uses WHERE expires_at < ?1 LIMIT ?2)";

/// A new service row (its settings, then `created_at`).
static INSERT_SERVICE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("INSERT INTO services ({SERVICE_COLUMNS}, created_at) VALUES ({})", placeholders(12))
});

const INSERT_CLIENT: &str = "INSERT INTO clients (client_id, service_id, name, alias, entity_id, grant_types) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// A new token row, every column (`token_params` gives the values in `TOKEN_COLUMNS` order).
static INSERT_TOKEN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ({})",
        placeholders(TOKEN_COLUMNS.split(',').count())
    )
});

/// What an update may change of a token (never `revoked_at`).
const UPDATE_TOKEN: &str = "UPDATE tokens SET access_hash = ?1, access_expires_at = ?2, refresh_expires_at = ?3, \
     scopes = ?4, properties = ?5, certificate_thumbprint = ?6, dpop_key_thumbprint = ?7, token_type = ?8, \
     authorization_details = ?9 WHERE token_id = ?10 AND service_id = ?11";

/// A refresh rotation: new values and lifetimes, in place.
const ROTATE_TOKEN: &str = "UPDATE tokens SET access_hash = ?1, refresh_hash = ?2, access_expires_at = ?3, \
     refresh_expires_at = ?4, last_refreshed_at = ?5, jwt_kid = ?6 WHERE token_id = ?7";

/// `?1, ?2, …, ?n`.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// The JWK Set: read from the keys table alone (unauthenticated callers must not make the server
/// scan the tokens table).
fn published_keys_sql() -> String {
    format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys \
         WHERE service_id = ?1 AND revoked_at IS NULL AND (retired_at IS NULL OR published_until > ?2) \
         ORDER BY retired_at IS NOT NULL, created_at DESC"
    )
}

const TOKEN_COLUMNS: &str = "token_id, service_id, access_hash, refresh_hash, client_id, subject, grant_type, \
    scopes, refresh_scopes, created_at, access_expires_at, refresh_expires_at, last_refreshed_at, properties, \
    certificate_thumbprint, dpop_key_thumbprint, token_type, authorization_details, resources, acr, auth_time, \
    session_id, client_identifier, for_external_attachment, jwt_kid, extra, revoked_at";

const SERVICE_COLUMNS: &str = "id, organization_id, name, issuer, supported_scopes, supported_grant_types, \
    access_token_duration, refresh_token_duration, access_token_sign_alg, custom_token_access_ttl, \
    custom_token_refresh_ttl";

/// The writer connection's page cache (KiB): see [`SqliteDb::open_with`].
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Each read-only connection's page cache (KiB; SQLite's default is 2,000). A commit empties it,
/// but between commits a listing reads the same index pages again: counting a client's 100,000
/// tokens reads ~2 MB of index, which must fit to be answered from memory.
const READER_CACHE_KIB: i64 = 8 * 1024;

/// Most read-only connections (WAL lets them read while the writer commits).
const READERS: usize = 4;

/// SQLite store, synchronous half. One writer connection (SQLite allows one writer at a time
/// anyway), driven in transactions of many writes by the group committer of [`super::SqliteStore`];
/// a small pool of read-only connections serves reads concurrently, also while a write commits.
#[derive(Debug)]
pub struct SqliteDb {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Seals private signing keys at rest.
    keys: KeyEncryption,
}

/// Creates the database file readable by its owner only (it holds credential hashes and keys)
/// before SQLite opens it; SQLite gives its `-wal` and `-shm` files the same mode.
fn create_private_file(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StoreError::driver(format!("cannot create {}", path.display()), e)),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn open_connection(path: &Path, flags: OpenFlags) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

impl SqliteDb {
    /// Opens (creating if needed) the database file and applies the schema; private keys in plaintext.
    #[cfg(test)]
    pub fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with(path, KeyEncryption::none())
    }

    /// Opens the store with `keys` sealing private signing keys. Keys stored in plaintext or under a
    /// previous key-encryption key are re-encrypted under the current one.
    pub fn open_with(path: &Path, keys: KeyEncryption) -> StoreResult<Self> {
        create_private_file(path)?;
        let mut writer = open_connection(path, OpenFlags::default())?;
        // WAL + FULL: a commit is durable once it returns. foreign_keys for referential integrity.
        let mode: String = writer.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!("could not enable WAL (journal_mode={mode})")));
        }
        writer.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        // The group committer gives each write a savepoint; SQLite journals the pages a savepoint
        // touches that earlier writes of the batch already dirtied, and by default spills that
        // journal to a temporary file past 64 KiB: a file created, written and deleted per batch.
        // In memory it stays (bounded by one batch).
        writer.execute_batch("PRAGMA temp_store=MEMORY;")?;
        // Checkpoints stay SQLite's default (every 1,000 WAL pages, on the writer): larger ones or a
        // background checkpointer showed no gain beyond this machine's noise and a p99 up to 3x
        // longer (the database fsync of a large checkpoint delays the WAL's; docs/performance.md).
        // The writer's page cache survives its own commits (readers' caches are reset by every
        // commit in WAL mode): large enough for the inner pages and hot leaves of the hash
        // indexes of millions of tokens, so an insert rarely reads a page back from the OS.
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        apply_migrations(&mut writer)?;
        reseal_keys(&writer, &keys)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let reader = open_connection(path, flags)?;
            reader.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
            readers.push(Mutex::new(reader));
        }
        Ok(Self { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0), keys })
    }

    /// The writer connection.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-applied write behind (transactions
        // roll back on drop), so a poisoned lock is safe to keep using.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `body` in one write transaction on the writer connection and commits it: one fsync
    /// for everything `body` wrote. The group committer ([`super::SqliteStore`]) passes every
    /// write waiting at that moment, each in its own savepoint ([`Writes::savepoint`]). Nothing is
    /// kept if `body` fails or the commit does (the transaction rolls back on drop).
    pub fn transaction<R>(&self, body: impl FnOnce(&Writes<'_>) -> StoreResult<R>) -> StoreResult<R> {
        let conn = self.conn();
        let tx = rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Immediate)?;
        let out = body(&Writes { conn: &tx, keys: &self.keys })?;
        tx.commit()?;
        Ok(out)
    }

    /// A read-only connection: a free one if any, else the next in turn.
    fn read(&self) -> MutexGuard<'_, Connection> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for offset in 0..self.readers.len() {
            if let Ok(conn) = self.readers[(start + offset) % self.readers.len()].try_lock() {
                return conn;
            }
        }
        // Reading cannot corrupt anything, so a poisoned lock is safe to keep using.
        self.readers[start % self.readers.len()].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(err, message) = &e
            && err.code == rusqlite::ErrorCode::ConstraintViolation
        {
            // "UNIQUE constraint failed: tokens.access_hash": the column says what conflicted.
            let column = message.as_deref().and_then(|m| m.rsplit(": ").next()).unwrap_or("");
            return StoreError::Conflict(match column {
                "tokens.access_hash" | "tokens.refresh_hash" => ConflictKind::TokenValue,
                "tokens.token_id" => ConflictKind::TokenId,
                "clients.service_id, clients.alias" => ConflictKind::ClientAlias,
                "clients.client_id" => ConflictKind::ClientId,
                "credentials.hash" => ConflictKind::CredentialHash,
                "signing_keys.kid" => ConflictKind::SigningKey,
                "organizations.id" | "services.id" => ConflictKind::Id,
                _ => ConflictKind::Other,
            });
        }
        StoreError::driver("sqlite", e)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::driver("stored JSON", e)
    }
}

/// Opens the file and applies pending migrations only.
pub fn migrate_file(path: &Path) -> StoreResult<Vec<&'static str>> {
    create_private_file(path)?;
    let mut conn = open_connection(path, OpenFlags::default())?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")?;
    apply_migrations(&mut conn)
}

/// Applies the migrations not yet applied, each in its own transaction; returns their names.
pub fn apply_migrations(conn: &mut Connection) -> StoreResult<Vec<&'static str>> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql).map_err(|e| StoreError::driver(format!("migration {name}"), e))?;
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))?;
        tx.commit()?;
        applied.push(*name);
    }
    Ok(applied)
}

/// Every stored private key must open with the configured key-encryption keys; those not sealed
/// under the current one are sealed again (plaintext rows included, once a KEK is configured).
fn reseal_keys(conn: &Connection, keys: &KeyEncryption) -> StoreResult<()> {
    let rows: Vec<(String, Vec<u8>, Option<String>)> = conn
        .prepare("SELECT kid, private_der, kek_id FROM signing_keys")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (kid, stored, kek_id) in rows {
        let plain = keys
            .open(&kid, &stored, kek_id.as_deref())
            .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
        if kek_id.as_deref() != keys.current_id() && keys.is_enabled() {
            let (sealed, id) =
                keys.seal(&kid, &plain).map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
            conn.execute(
                "UPDATE signing_keys SET private_der = ?1, kek_id = ?2 WHERE kid = ?3",
                params![sealed, id, kid],
            )?;
        }
    }
    Ok(())
}

fn random_id(range: std::ops::Range<i64>) -> i64 {
    rand::thread_rng().gen_range(range)
}

fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// A stored token or credential hash (always written by [`TokenHash`], so always well formed).
fn hash_from_sql(text: String) -> rusqlite::Result<TokenHash> {
    TokenHash::from_encoded(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            "malformed stored hash".into(),
        )
    })
}

fn grant_from_sql(text: &str) -> rusqlite::Result<GrantType> {
    GrantType::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown grant type {text}").into(),
        )
    })
}

fn service_from_row(row: &Row<'_>) -> rusqlite::Result<ServiceRecord> {
    let alg: Option<String> = row.get(8)?;
    Ok(ServiceRecord {
        id: ServiceId(row.get::<_, i64>(0)? as u64),
        organization_id: OrganizationId(row.get::<_, i64>(1)? as u64),
        settings: ServiceSettings {
            name: row.get(2)?,
            issuer: row.get(3)?,
            supported_scopes: from_json(&row.get::<_, String>(4)?)?,
            supported_grant_types: from_json(&row.get::<_, String>(5)?)?,
            access_token_duration: row.get(6)?,
            refresh_token_duration: row.get(7)?,
            access_token_sign_alg: alg.and_then(|a| SignAlg::parse(&a)),
            custom_token_access_ttl: row.get(9)?,
            custom_token_refresh_ttl: row.get(10)?,
        },
    })
}

fn client_from_row(row: &Row<'_>) -> rusqlite::Result<ClientRecord> {
    Ok(ClientRecord {
        client_id: ClientId(row.get(0)?),
        service_id: ServiceId(row.get::<_, i64>(1)? as u64),
        name: row.get(2)?,
        alias: row.get(3)?,
        entity_id: row.get(4)?,
        grant_types: from_json(&row.get::<_, String>(5)?)?,
    })
}

/// A row of [`KEY_COLUMNS`]; the private key opened with `keys`.
fn key_from_row(keys: &KeyEncryption, row: &Row<'_>) -> rusqlite::Result<SigningKeyRecord> {
    let alg: String = row.get(2)?;
    let kid: String = row.get(0)?;
    let stored: Vec<u8> = row.get(3)?;
    let kek_id: Option<String> = row.get(8)?;
    let private = keys.open(&kid, &stored, kek_id.as_deref()).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Blob, Box::new(e))
    })?;
    Ok(SigningKeyRecord {
        kid,
        service_id: ServiceId(row.get::<_, i64>(1)? as u64),
        alg: SignAlg::parse(&alg).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, "unknown alg".into())
        })?,
        private_der: PrivateKeyDer(private),
        public_jwk: from_json(&row.get::<_, String>(4)?)?,
        created_at: row.get(5)?,
        retired_at: row.get(6)?,
        revoked_at: row.get(7)?,
    })
}

/// A row of [`CREDENTIAL_COLUMNS`].
fn credential_from_row(r: &Row<'_>) -> rusqlite::Result<StoredCredential> {
    let kind: String = r.get(1)?;
    let owner = r.get::<_, i64>(2)? as u64;
    Ok(StoredCredential {
        record: CredentialRecord {
            id: r.get(0)?,
            principal: if kind == "service" {
                Principal::Service(ServiceId(owner))
            } else {
                Principal::Organization(OrganizationId(owner))
            },
            label: r.get(3)?,
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
            revoked_at: r.get(6)?,
            last_used_at: r.get(7)?,
        },
        hash: hash_from_sql(r.get(8)?)?,
    })
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let opt_json = |i: usize| -> rusqlite::Result<Option<Value>> {
        row.get::<_, Option<String>>(i)?.map(|t| from_json(&t)).transpose()
    };
    Ok(TokenRecord {
        token_id: row.get(0)?,
        service_id: ServiceId(row.get::<_, i64>(1)? as u64),
        access_hash: hash_from_sql(row.get(2)?)?,
        refresh_hash: row.get::<_, Option<String>>(3)?.map(hash_from_sql).transpose()?,
        client_id: ClientId(row.get(4)?),
        subject: row.get(5)?,
        grant_type: grant_from_sql(&row.get::<_, String>(6)?)?,
        scopes: from_json(&row.get::<_, String>(7)?)?,
        refresh_scopes: row.get::<_, Option<String>>(8)?.map(|t| from_json(&t)).transpose()?,
        created_at: row.get(9)?,
        access_expires_at: row.get(10)?,
        refresh_expires_at: row.get(11)?,
        last_refreshed_at: row.get(12)?,
        properties: from_json(&row.get::<_, String>(13)?)?,
        certificate_thumbprint: row.get(14)?,
        dpop_key_thumbprint: row.get(15)?,
        token_type: row.get(16)?,
        authorization_details: opt_json(17)?,
        resources: from_json(&row.get::<_, String>(18)?)?,
        acr: row.get(19)?,
        auth_time: row.get(20)?,
        session_id: row.get(21)?,
        client_identifier: row.get(22)?,
        for_external_attachment: row.get(23)?,
        jwt_kid: row.get(24)?,
        extra: from_json(&row.get::<_, String>(25)?)?,
        revoked_at: row.get(26)?,
    })
}

/// The 27 values of [`TOKEN_COLUMNS`], in order.
fn token_params(t: &TokenRecord) -> StoreResult<Vec<rusqlite::types::Value>> {
    use rusqlite::types::Value as V;
    let text = |s: &Option<String>| s.clone().map(V::Text).unwrap_or(V::Null);
    let int = |i: Option<i64>| i.map(V::Integer).unwrap_or(V::Null);
    Ok(vec![
        V::Text(t.token_id.clone()),
        V::Integer(t.service_id.get() as i64),
        V::Text(t.access_hash.as_str().to_owned()),
        t.refresh_hash.as_ref().map(|h| V::Text(h.as_str().to_owned())).unwrap_or(V::Null),
        V::Integer(t.client_id.get()),
        text(&t.subject),
        V::Text(t.grant_type.as_str().to_owned()),
        V::Text(to_json(&t.scopes)?),
        t.refresh_scopes.as_ref().map(to_json).transpose()?.map(V::Text).unwrap_or(V::Null),
        V::Integer(t.created_at),
        V::Integer(t.access_expires_at),
        int(t.refresh_expires_at),
        V::Integer(t.last_refreshed_at),
        V::Text(to_json(&t.properties)?),
        text(&t.certificate_thumbprint),
        text(&t.dpop_key_thumbprint),
        V::Text(t.token_type.clone()),
        t.authorization_details.as_ref().map(to_json).transpose()?.map(V::Text).unwrap_or(V::Null),
        V::Text(to_json(&t.resources)?),
        text(&t.acr),
        int(t.auth_time),
        text(&t.session_id),
        text(&t.client_identifier),
        int(t.for_external_attachment.map(i64::from)),
        text(&t.jwt_kid),
        V::Text(to_json(&t.extra)?),
        int(t.revoked_at),
    ])
}

/// Revokes the token whose rotated-away refresh hash is `hash`; `true` when there was one.
fn revoke_family(tx: &Connection, service: i64, hash: &TokenHash, now_ms: i64) -> StoreResult<bool> {
    let family: Option<String> = tx
        .query_row(
            "SELECT token_id FROM rotated_refresh_tokens WHERE hash = ?1 AND service_id = ?2",
            params![hash.as_str(), service],
            |r| r.get(0),
        )
        .optional()?;
    let Some(token_id) = family else { return Ok(false) };
    tx.execute(
        "UPDATE tokens SET revoked_at = ?1 WHERE token_id = ?2 AND revoked_at IS NULL",
        params![now_ms, token_id],
    )?;
    Ok(true)
}

impl SqliteDb {
    pub fn ping(&self) -> StoreResult<()> {
        self.read().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        let conn = self.read();
        let mut stmt =
            conn.prepare("SELECT id, name, created_at FROM organizations ORDER BY created_at, id")?;
        let rows = stmt.query_map([], |r| {
            Ok(OrganizationRecord {
                id: OrganizationId(r.get::<_, i64>(0)? as u64),
                name: r.get(1)?,
                created_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        let conn = self.read();
        let mut stmt = conn.prepare_cached("SELECT id, name, created_at FROM organizations WHERE id = ?1")?;
        Ok(stmt
            .query_row(params![id], |r| {
                Ok(OrganizationRecord {
                    id: OrganizationId(r.get::<_, i64>(0)? as u64),
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })
            .optional()?)
    }

    pub fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare(&format!(
            "SELECT {SERVICE_COLUMNS} FROM services WHERE ?1 IS NULL OR organization_id = ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(params![organization.map(|o| o.get() as i64)], service_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        let conn = self.read();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = ?1"))?;
        Ok(stmt.query_row(params![id], service_from_row).optional()?)
    }

    pub fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT client_id, service_id, name, alias, entity_id, grant_types FROM clients WHERE service_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![service.get() as i64], client_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT client_id, service_id, name, alias, entity_id, grant_types FROM clients WHERE client_id = ?1 AND service_id = ?2",
        )?;
        Ok(stmt.query_row(params![client_id.get(), service.get() as i64], client_from_row).optional()?)
    }

    pub fn client_by_identifier(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        if let Ok(id) = identifier.parse::<i64>()
            && let Some(client) = self.client(service, ClientId(id))?
        {
            return Ok(Some(client));
        }
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT client_id, service_id, name, alias, entity_id, grant_types FROM clients WHERE alias = ?1 AND service_id = ?2",
        )?;
        Ok(stmt.query_row(params![identifier, service.get() as i64], client_from_row).optional()?)
    }

    pub fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare(&format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY id"))?;
        let rows = stmt.query_map([], credential_from_row)?;
        Ok(rows.map(|r| r.map(|c| c.record)).collect::<Result<_, _>>()?)
    }

    pub fn credential_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<StoredCredential>> {
        let conn = self.read();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE hash = ?1"))?;
        Ok(stmt.query_row(params![hash.as_str()], credential_from_row).optional()?)
    }

    pub fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys \
             WHERE service_id = ?1 AND retired_at IS NULL AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1"
        ))?;
        Ok(stmt.query_row(params![service.get() as i64], |r| key_from_row(&self.keys, r)).optional()?)
    }

    pub fn published_signing_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&published_keys_sql())?;
        let rows = stmt.query_map(params![service.get() as i64, now_ms], |r| key_from_row(&self.keys, r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn verification_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys \
             WHERE service_id = ?1 AND revoked_at IS NULL AND (retired_at IS NULL OR retired_at >= ?2 - ?3) \
             ORDER BY retired_at IS NOT NULL, created_at DESC"
        ))?;
        let rows = stmt.query_map(params![service.get() as i64, now_ms, max_retired_ms], |r| {
            key_from_row(&self.keys, r)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        self.token_by("access_hash", service, hash)
    }

    pub fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        self.token_by("refresh_hash", service, hash)
    }

    /// The token of `service` whose `column` (a hash column) is `hash`.
    fn token_by(
        &self,
        column: &str,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {column} = ?1 AND service_id = ?2"
        ))?;
        Ok(stmt.query_row(params![hash.as_str(), service.get() as i64], token_from_row).optional()?)
    }

    pub fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(u64, Vec<TokenRecord>)> {
        let conn = self.read();
        let condition = filter.condition(|n| format!("?{n}"));
        let service = service.get() as i64;
        let client = filter.client_id.map(|c| c.get());
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&service];
        if let Some(client) = &client {
            values.push(client);
        }
        if let Some(subject) = &filter.subject {
            values.push(subject);
        }
        let total: i64 = conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM tokens WHERE {condition}"))?
            .query_row(values.as_slice(), |r| r.get(0))?;
        let (limit, offset) = (i64::from(end.saturating_sub(start)), i64::from(start));
        let used = values.len();
        values.extend([&limit as &dyn rusqlite::ToSql, &offset]);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {condition} ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
            used + 1,
            used + 2
        ))?;
        let rows = stmt.query_map(values.as_slice(), token_from_row)?;
        Ok((total as u64, rows.collect::<Result<_, _>>()?))
    }

    pub fn is_empty(&self) -> StoreResult<bool> {
        let count: i64 = self.read().query_row("SELECT COUNT(*) FROM organizations", [], |r| r.get(0))?;
        Ok(count == 0)
    }
}

/// The writer connection inside an open transaction: every write of the store. Each method
/// leaves its changes uncommitted; the caller ([`SqliteDb::transaction`]) commits them, together
/// with every other write waiting at that moment (group commit: one fsync for all).
pub struct Writes<'c> {
    conn: &'c Connection,
    keys: &'c KeyEncryption,
}

impl Writes<'_> {
    /// Runs one request's write in a savepoint of the batch's transaction: if it fails, its own
    /// changes are undone and the others' kept. The outer `Err` means the savepoint itself could
    /// not be managed (an I/O error): the whole transaction must be abandoned.
    pub fn savepoint<T>(
        &self,
        work: impl FnOnce(&Self) -> StoreResult<T>,
    ) -> Result<StoreResult<T>, rusqlite::Error> {
        self.conn.execute_batch("SAVEPOINT request")?;
        // A panicking write is one failed request, not a lost batch or a dead writer thread.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(self)))
            .unwrap_or_else(|_| Err(StoreError::Backend("a write panicked".into())));
        if result.is_err() {
            self.conn.execute_batch("ROLLBACK TO request")?;
        }
        self.conn.execute_batch("RELEASE request")?;
        Ok(result)
    }

    pub fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        let conn = self.conn;
        let id = random_id(1_000..1_000_000_000);
        conn.execute(
            "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)",
            params![id, name, now_ms],
        )?;
        Ok(OrganizationRecord { id: OrganizationId(id as u64), name: name.to_owned(), created_at: now_ms })
    }

    pub fn create_service(
        &self,
        organization: OrganizationId,
        new: &ServiceSettings,
        now_ms: i64,
    ) -> StoreResult<ServiceRecord> {
        let conn = self.conn;
        let id = random_id(100_000_000..10_000_000_000);
        conn.execute(
            &INSERT_SERVICE,
            params![
                id,
                organization.get() as i64,
                new.name,
                new.issuer,
                to_json(&new.supported_scopes)?,
                to_json(&new.supported_grant_types)?,
                new.access_token_duration,
                new.refresh_token_duration,
                new.access_token_sign_alg.map(SignAlg::as_str),
                new.custom_token_access_ttl,
                new.custom_token_refresh_ttl,
                now_ms
            ],
        )?;
        Ok(ServiceRecord { id: ServiceId(id as u64), organization_id: organization, settings: new.clone() })
    }

    pub fn update_service(&self, id: ServiceId, new: &ServiceSettings) -> StoreResult<bool> {
        let changed = self.conn.execute(
            "UPDATE services SET name = ?2, issuer = ?3, supported_scopes = ?4, supported_grant_types = ?5, \
             access_token_duration = ?6, refresh_token_duration = ?7, access_token_sign_alg = ?8, \
             custom_token_access_ttl = ?9, custom_token_refresh_ttl = ?10 WHERE id = ?1",
            params![
                id.get() as i64,
                new.name,
                new.issuer,
                to_json(&new.supported_scopes)?,
                to_json(&new.supported_grant_types)?,
                new.access_token_duration,
                new.refresh_token_duration,
                new.access_token_sign_alg.map(SignAlg::as_str),
                new.custom_token_access_ttl,
                new.custom_token_refresh_ttl
            ],
        )?;
        Ok(changed > 0)
    }

    pub fn delete_client(&self, service: ServiceId, client_id: ClientId, now_ms: i64) -> StoreResult<bool> {
        let service = service.get() as i64;
        let deleted = self.conn.execute(
            "DELETE FROM clients WHERE service_id = ?1 AND client_id = ?2",
            params![service, client_id.get()],
        )?;
        // Only a client of this service has tokens to revoke (the savepoint makes both one write).
        if deleted > 0 {
            self.conn.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND client_id = ?3 AND revoked_at IS NULL",
                params![now_ms, service, client_id.get()],
            )?;
        }
        Ok(deleted > 0)
    }

    pub fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        self.conn.execute(
            INSERT_CLIENT,
            params![
                client.client_id.get(),
                client.service_id.get() as i64,
                client.name,
                client.alias,
                client.entity_id,
                to_json(&client.grant_types)?
            ],
        )?;
        Ok(())
    }

    pub fn create_credential(
        &self,
        principal: Principal,
        hash: &TokenHash,
        label: &str,
        now_ms: i64,
        expires_at: Option<i64>,
    ) -> StoreResult<CredentialRecord> {
        let (kind, owner) = match principal {
            Principal::Service(id) => ("service", id.get() as i64),
            Principal::Organization(id) => ("organization", id.get() as i64),
        };
        let conn = self.conn;
        conn.execute(
            "INSERT INTO credentials (kind, owner_id, hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind, owner, hash.as_str(), label, now_ms, expires_at],
        )?;
        Ok(CredentialRecord {
            id: conn.last_insert_rowid(),
            principal,
            label: label.to_owned(),
            created_at: now_ms,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        })
    }

    pub fn revoke_credential(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        let changed = self.conn.execute(
            "UPDATE credentials SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![now_ms, id],
        )?;
        Ok(changed > 0)
    }

    pub fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.conn.execute("UPDATE credentials SET last_used_at = ?1 WHERE id = ?2", params![now_ms, id])?;
        Ok(())
    }

    pub fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64) -> StoreResult<()> {
        let tx = self.conn;
        // The retiring key stays published until the later of the grace period and the expiry of
        // the last live token it signed (persistent tokens: for ever), fixed now so that serving
        // the JWK Set never scans the tokens table.
        tx.execute(
            "UPDATE signing_keys SET retired_at = ?1, published_until = MAX(?1 + ?3, COALESCE(( \
                SELECT MAX(CASE WHEN t.access_expires_at = 0 THEN 9223372036854775807 ELSE t.access_expires_at END) \
                FROM tokens t WHERE t.jwt_kid = signing_keys.kid AND t.revoked_at IS NULL), 0)) \
             WHERE service_id = ?2 AND retired_at IS NULL",
            params![key.created_at, key.service_id.get() as i64, grace_ms],
        )?;
        let (sealed, kek_id) = self
            .keys
            .seal(&key.kid, &key.private_der.0)
            .map_err(|e| StoreError::driver(format!("signing key {}", key.kid), e))?;
        tx.execute(
            "INSERT INTO signing_keys (kid, service_id, alg, private_der, public_jwk, created_at, retired_at, kek_id) \
             VALUES (?1,?2,?3,?4,?5,?6,NULL,?7)",
            params![key.kid, key.service_id.get() as i64, key.alg.as_str(), sealed, to_json(&key.public_jwk)?, key.created_at, kek_id],
        )?;
        Ok(())
    }

    pub fn revoke_signing_key(&self, service: ServiceId, kid: &str, now_ms: i64) -> StoreResult<bool> {
        let changed = self.conn.execute(
            "UPDATE signing_keys SET revoked_at = ?1, retired_at = COALESCE(retired_at, ?1) \
             WHERE service_id = ?2 AND kid = ?3 AND revoked_at IS NULL",
            params![now_ms, service.get() as i64, kid],
        )?;
        Ok(changed > 0)
    }

    pub fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let conn = self.conn;
        let mut stmt = conn.prepare_cached(&INSERT_TOKEN)?;
        stmt.execute(rusqlite::params_from_iter(token_params(token)?))?;
        Ok(())
    }

    pub fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
    ) -> StoreResult<Option<TokenRecord>> {
        let tx = self.conn;
        let service = service.get() as i64;
        let Some(mut token) = tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE access_hash = ?1 AND service_id = ?2"
            ))?
            .query_row(params![access_hash.as_str(), service], token_from_row)
            .optional()?
        else {
            return Ok(None);
        };
        changes.apply(&mut token);
        // Only what an update may change; `revoked_at` is never written here, and the write is in
        // the transaction that read the row, so no revocation can commit in between.
        let written = tx.execute(
            UPDATE_TOKEN,
            params![
                token.access_hash.as_str(),
                token.access_expires_at,
                token.refresh_expires_at,
                to_json(&token.scopes)?,
                to_json(&token.properties)?,
                token.certificate_thumbprint,
                token.dpop_key_thumbprint,
                token.token_type,
                token.authorization_details.as_ref().map(to_json).transpose()?,
                token.token_id,
                service
            ],
        );
        match written {
            Ok(_) => {}
            Err(e) => {
                return Err(StoreError::from(e));
            }
        }
        Ok(Some(token))
    }

    pub fn set_client_grant_types(
        &self,
        service: ServiceId,
        client_id: ClientId,
        grant_types: &[GrantType],
    ) -> StoreResult<bool> {
        let changed = self.conn.execute(
            "UPDATE clients SET grant_types = ?1 WHERE client_id = ?2 AND service_id = ?3",
            params![to_json(&grant_types)?, client_id.get(), service.get() as i64],
        )?;
        Ok(changed > 0)
    }

    pub fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool> {
        let tx = self.conn;
        let params = params![access_hash.as_str(), service.get() as i64];
        tx.execute(
            "DELETE FROM rotated_refresh_tokens WHERE token_id IN \
             (SELECT token_id FROM tokens WHERE access_hash = ?1 AND service_id = ?2)",
            params,
        )?;
        let changed = tx.execute("DELETE FROM tokens WHERE access_hash = ?1 AND service_id = ?2", params)?;
        Ok(changed > 0)
    }

    pub fn revoke(&self, service: ServiceId, target: &RevokeTarget, now_ms: i64) -> StoreResult<u64> {
        let conn = self.conn;
        let service = service.get() as i64;
        let changed = match target {
            RevokeTarget::AccessHash(hash) => conn.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND access_hash = ?3 AND revoked_at IS NULL",
                params![now_ms, service, hash.as_str()],
            )?,
            RevokeTarget::RefreshHash(hash) => conn.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND refresh_hash = ?3 AND revoked_at IS NULL",
                params![now_ms, service, hash.as_str()],
            )?,
            RevokeTarget::ClientSubject { client_id, subject } => conn.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE service_id = ?2 AND client_id = ?3 \
                 AND (?4 IS NULL OR subject = ?4) AND revoked_at IS NULL",
                params![now_ms, service, client_id.get(), subject],
            )?,
        };
        Ok(changed as u64)
    }

    pub fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        token: &TokenRecord,
    ) -> StoreResult<bool> {
        let tx = self.conn;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO custom_token_uses (jti, service_id, token_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![jti, token.service_id.get() as i64, token.token_id, expires_at_ms],
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        tx.prepare_cached(&INSERT_TOKEN)?.execute(rusqlite::params_from_iter(token_params(token)?))?;
        Ok(true)
    }

    pub fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
    ) -> StoreResult<RefreshOutcome> {
        let tx = self.conn;
        let service = service.get() as i64;
        let current = tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE refresh_hash = ?1 AND service_id = ?2"
            ))?
            .query_row(params![old_refresh_hash.as_str(), service], token_from_row)
            .optional()?;
        let Some(mut token) = current else {
            // A concurrent refresh rotated it first: that is reuse too.
            let reused = revoke_family(tx, service, old_refresh_hash, rotation.now_ms)?;
            return Ok(if reused { RefreshOutcome::Reused } else { RefreshOutcome::Invalid });
        };
        if !token.is_refreshable(rotation.now_ms) {
            return Ok(RefreshOutcome::Invalid);
        }
        tx.execute(
            "INSERT INTO rotated_refresh_tokens (hash, service_id, token_id, rotated_at) VALUES (?1, ?2, ?3, ?4)",
            params![old_refresh_hash.as_str(), service, token.token_id, rotation.now_ms],
        )?;
        tx.execute(
            ROTATE_TOKEN,
            params![
                rotation.new_access_hash.as_str(),
                rotation.new_refresh_hash.as_str(),
                rotation.access_expires_at,
                rotation.refresh_expires_at,
                rotation.now_ms,
                rotation.jwt_kid,
                token.token_id
            ],
        )?;
        token.access_hash = rotation.new_access_hash.clone();
        token.refresh_hash = Some(rotation.new_refresh_hash.clone());
        token.access_expires_at = rotation.access_expires_at;
        token.refresh_expires_at = Some(rotation.refresh_expires_at);
        token.last_refreshed_at = rotation.now_ms;
        token.jwt_kid = rotation.jwt_kid.clone();
        Ok(RefreshOutcome::Rotated(Box::new(token)))
    }

    pub fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let tx = self.conn;
        let reused = revoke_family(tx, service.get() as i64, refresh_hash, now_ms)?;
        Ok(reused)
    }

    pub fn purge_expired(&self, before_ms: i64, batch: u32) -> StoreResult<Purged> {
        let batch = i64::from(batch);
        // One transaction (one fsync) per batch; every statement reads through an index, so a
        // batch costs the same on a table of a thousand rows or of millions.
        let tx = self.conn;
        let rotated_refresh_tokens = tx.execute(
            &format!("DELETE FROM rotated_refresh_tokens WHERE token_id IN (SELECT token_id FROM tokens WHERE {PURGE_BATCH})"),
            params![before_ms, batch],
        )?;
        let tokens = tx.execute(
            &format!("DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE {PURGE_BATCH})"),
            params![before_ms, batch],
        )?;
        let custom_token_uses = tx.execute(PURGE_REDEEMED_JTIS, params![before_ms, batch])?;
        Ok(Purged {
            tokens: tokens as u64,
            custom_token_uses: custom_token_uses as u64,
            rotated_refresh_tokens: rotated_refresh_tokens as u64,
        })
    }

    pub fn claim_first_start(&self, now_ms: i64) -> StoreResult<bool> {
        let inserted = self
            .conn
            .execute("INSERT OR IGNORE INTO first_start (id, claimed_at) VALUES (1, ?1)", params![now_ms])?;
        Ok(inserted == 1)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn driver_errors_keep_their_source_and_read_as_unavailable() {
        let e = StoreError::from(rusqlite::Error::InvalidQuery);
        let source = std::error::Error::source(&e).expect("the driver's error is kept");
        assert!(source.downcast_ref::<rusqlite::Error>().is_some(), "{source:?}");
        assert!(e.to_string().starts_with("sqlite: "), "{e}");
        assert!(e.is_unavailable());
        assert!(!StoreError::Conflict(crate::store::ConflictKind::TokenValue).is_unavailable());
    }

    use super::*;

    fn query_plan(store: &SqliteDb, sql: &str) -> String {
        let conn = store.read();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(params![1, 2], |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn jti_prune_uses_its_index_and_the_jwk_set_never_reads_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteDb::open(&dir.path().join("p.sqlite")).unwrap();
        let prune = query_plan(&store, PURGE_REDEEMED_JTIS);
        assert!(prune.contains("custom_token_uses_expires"), "{prune}");
        let jwks = query_plan(&store, &published_keys_sql());
        assert!(!jwks.contains("tokens"), "{jwks}");
        assert!(jwks.contains("signing_keys"), "{jwks}");
    }

    #[test]
    fn a_subject_or_client_listing_reads_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteDb::open(&dir.path().join("p.sqlite")).unwrap();
        let subject = TokenFilter { client_id: None, subject: Some("s".into()) };
        let condition = subject.condition(|n| format!("?{n}"));
        let plan = query_plan(&store, &format!("SELECT COUNT(*) FROM tokens WHERE {condition}"));
        assert!(plan.contains("tokens_service_subject"), "{plan}");
        let page =
            query_plan(&store, &format!("SELECT id FROM tokens WHERE {condition} ORDER BY id DESC LIMIT 10"));
        assert!(page.contains("tokens_service_subject") && !page.contains("TEMP B-TREE"), "{page}");
        let client = TokenFilter { client_id: Some(ClientId(1)), subject: None };
        let condition = client.condition(|n| format!("?{n}"));
        let plan = query_plan(&store, &format!("SELECT COUNT(*) FROM tokens WHERE {condition}"));
        assert!(plan.contains("tokens_service_client"), "{plan}");
        let page =
            query_plan(&store, &format!("SELECT id FROM tokens WHERE {condition} ORDER BY id DESC LIMIT 10"));
        assert!(page.contains("tokens_service_client") && !page.contains("TEMP B-TREE"), "{page}");
        let both = TokenFilter { client_id: Some(ClientId(1)), subject: Some("s".into()) };
        // query_plan binds two parameters.
        let condition = both.condition(|n| format!("?{}", n.min(2)));
        let page =
            query_plan(&store, &format!("SELECT id FROM tokens WHERE {condition} ORDER BY id DESC LIMIT 10"));
        assert!(page.contains("tokens_service_subject") && !page.contains("TEMP B-TREE"), "{page}");
    }

    #[test]
    fn a_purge_batch_reads_the_ends_at_index_and_never_scans_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteDb::open(&dir.path().join("p.sqlite")).unwrap();
        let batch = query_plan(&store, &format!("SELECT id FROM tokens WHERE {PURGE_BATCH}"));
        assert!(
            batch.contains("USING INDEX tokens_ends_at")
                || batch.contains("USING COVERING INDEX tokens_ends_at"),
            "{batch}"
        );
        assert!(!batch.contains("SCAN tokens"), "{batch}");
        let rotated = query_plan(
            &store,
            &format!(
                "SELECT hash FROM rotated_refresh_tokens WHERE token_id IN (SELECT token_id FROM tokens WHERE {PURGE_BATCH})"
            ),
        );
        assert!(rotated.contains("rotated_refresh_tokens_token"), "{rotated}");
        assert!(!rotated.contains("SCAN rotated_refresh_tokens"), "{rotated}");
    }
}
