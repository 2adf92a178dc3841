//! The embedded default store: SQLite in WAL mode with `synchronous=FULL`, so a committed write is
//! on disk before the request that made it is answered. Reads run on tokio's blocking pool over a
//! few read-only connections (never on an async worker: a listing, a status list or a cold page
//! would stall every request queued behind it there); writes go to one writer thread that commits every write waiting at
//! that moment in one transaction (group commit: one fsync for the batch, a savepoint per write so
//! that one write's failure undoes only its own changes) and answers each only after its batch
//! committed. This module holds the connections and the writer; each concern's statements are in
//! the module of that concern (the same files as the PostgreSQL backend's), the portable ones and
//! the steps both backends share in [`super::sql`], run here through `executor`.

mod credentials;
mod events;
mod executor;
mod keys;
mod maintenance;
mod ssf;
mod status_lists;
mod tenancy;
mod tokens;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::sql;
use super::*;
use crate::key_encryption::KeyEncryption;
use executor::{Sqlite, all, one, run};

/// The schema as versioned migrations, applied in order at open (and by `token-server migrate`);
/// `PRAGMA user_version` records the last one applied. Files are never edited once released: a
/// change is a new file.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "0001_initial", include_str!("migrations/0001_initial.sql")),
    (2, "0002_security", include_str!("migrations/0002_security.sql")),
    (3, "0003_first_start", include_str!("migrations/0003_first_start.sql")),
    (4, "0004_purge_index", include_str!("migrations/0004_purge_index.sql")),
    (5, "0005_client_index", include_str!("migrations/0005_client_index.sql")),
    (6, "0006_revocation_reach", include_str!("migrations/0006_revocation_reach.sql")),
    (7, "0007_holder_and_tenant_values", include_str!("migrations/0007_holder_and_tenant_values.sql")),
    (8, "0008_selector_values", include_str!("migrations/0008_selector_values.sql")),
    (9, "0009_status_lists", include_str!("migrations/0009_status_lists.sql")),
    (10, "0010_status_list_changes", include_str!("migrations/0010_status_list_changes.sql")),
    (11, "0011_listing_by_key", include_str!("migrations/0011_listing_by_key.sql")),
    (12, "0012_per_service_identifiers", include_str!("migrations/0012_per_service_identifiers.sql")),
    (13, "0013_revocation_without_holes", include_str!("migrations/0013_revocation_without_holes.sql")),
    (14, "0014_events", include_str!("migrations/0014_events.sql")),
    (15, "0015_client_live", include_str!("migrations/0015_client_live.sql")),
    (16, "0016_ssf", include_str!("migrations/0016_ssf.sql")),
];

/// The writer connection's page cache (KiB): see [`SqliteDb::open_with`].
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Each read-only connection's page cache (KiB; SQLite's default is 2,000). A commit empties it,
/// but between commits a listing reads the same index pages again: counting a client's 100,000
/// tokens reads ~2 MB of index, which must fit to be answered from memory.
const READER_CACHE_KIB: i64 = 8 * 1024;

/// Most read-only connections (WAL lets them read while the writer commits).
const READERS: usize = 8;

/// The most the page caches of one store hold (bytes): the writer's and every reader's, full. A
/// tenant reading much (deep listings, full status lists) fills them once; they grow no further.
pub const PAGE_CACHES_BYTES: u64 =
    (WRITER_CACHE_KIB as u64 + READERS as u64 * READER_CACHE_KIB as u64) * 1024;

/// The connections: one writer (SQLite allows one writer at a time anyway), driven in
/// transactions of many writes by the group committer of [`SqliteStore`]; a small pool of
/// read-only connections serves reads concurrently, also while a write commits.
#[derive(Debug)]
struct SqliteDb {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Seals private signing keys at rest.
    keys: KeyEncryption,
}

/// SQLite store, synchronous half/// Creates the database file readable by its owner only (it holds credential hashes and keys)
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
    /// for everything `body` wrote. The group committer ([`SqliteStore`]) passes every
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
                "tokens.access_hash"
                | "tokens.refresh_hash"
                | "tokens.service_id, tokens.access_hash"
                | "tokens.service_id, tokens.refresh_hash" => ConflictKind::TokenValue,
                "tokens.token_id" => ConflictKind::TokenId,
                "clients.service_id, clients.alias" => ConflictKind::ClientAlias,
                "clients.service_id, clients.client_id" => ConflictKind::ClientId,
                "credentials.hash" => ConflictKind::CredentialHash,
                "signing_keys.kid" => ConflictKind::SigningKey,
                "organizations.id" | "services.id" => ConflictKind::Id,
                _ => ConflictKind::Other,
            });
        }
        StoreError::driver("sqlite", e)
    }
}

/// Opens the file and applies pending migrations only.
pub fn migrate_file(path: &Path) -> StoreResult<Vec<&'static str>> {
    create_private_file(path)?;
    let mut conn = open_connection(path, OpenFlags::default())?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")?;
    apply_migrations(&mut conn)
}

/// The checksum of each applied migration (bookkeeping beside `PRAGMA user_version`, which says
/// how many are applied).
const CHECKSUMS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_checksums \
    (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL)";

/// Applies the migrations not yet applied, each in its own transaction with its checksum; returns
/// their names. An applied migration whose text changed is refused; one applied before checksums
/// were kept gets its checksum recorded.
pub fn apply_migrations(conn: &mut Connection) -> StoreResult<Vec<&'static str>> {
    conn.execute_batch(CHECKSUMS_TABLE)?;
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v <= current) {
        let now = migration_checksum(sql);
        let recorded: Option<String> = conn
            .query_row("SELECT checksum FROM schema_checksums WHERE version = ?1", params![version], |r| {
                r.get(0)
            })
            .optional()?;
        match recorded {
            Some(recorded) if recorded != now => return Err(changed_migration(name, &recorded, &now)),
            Some(_) => {}
            None => {
                conn.execute(
                    "INSERT INTO schema_checksums (version, name, checksum) VALUES (?1, ?2, ?3)",
                    params![version, name, now],
                )?;
            }
        }
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql).map_err(|e| StoreError::driver(format!("migration {name}"), e))?;
        tx.execute(
            "INSERT OR REPLACE INTO schema_checksums (version, name, checksum) VALUES (?1, ?2, ?3)",
            params![version, name, migration_checksum(sql)],
        )?;
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))?;
        tx.commit()?;
        applied.push(*name);
    }
    Ok(applied)
}

/// Every migration with its checksum and whether the database at `path` has it (a missing file has
/// none); changes nothing.
pub fn migration_status(path: &Path) -> StoreResult<Vec<MigrationStatus>> {
    let current: u32 = if path.exists() {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))?
    } else {
        0
    };
    Ok(MIGRATIONS
        .iter()
        .map(|(version, name, sql)| MigrationStatus {
            version: *version,
            name,
            checksum: migration_checksum(sql),
            applied: *version <= current,
        })
        .collect())
}

/// Every stored private key must open with the configured key-encryption keys; those not sealed
/// under the current one are sealed again (plaintext rows included, once a KEK is configured).
fn reseal_keys(conn: &Connection, keys: &KeyEncryption) -> StoreResult<()> {
    let rows: Vec<(String, Vec<u8>, Option<String>)> = conn
        .prepare(sql::ALL_SEALED_KEYS.sqlite())?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (kid, stored, kek_id) in rows {
        let plain = keys
            .open(&kid, &stored, kek_id.as_deref())
            .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
        if kek_id.as_deref() != keys.current_id() && keys.is_enabled() {
            let (sealed, id) =
                keys.seal(&kid, &plain).map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
            conn.execute(sql::RESEAL_KEY.sqlite(), params![sealed, id, kid])?;
        }
    }
    Ok(())
}

/// The writer connection inside an open transaction: every write of the store. Each method
/// leaves its changes uncommitted; the caller ([`SqliteDb::transaction`]) commits them, together
/// with every other write waiting at that moment (group commit: one fsync for all).
struct Writes<'c> {
    pub conn: &'c Connection,
    pub keys: &'c KeyEncryption,
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
}

/// Most writes committed in one transaction: bounds how long one batch holds the writer.
const MAX_BATCH: usize = 256;

/// Answers one write's caller once its batch's fate is known: `None` when the batch committed,
/// else why it did not.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// One request's write, run by the writer thread inside the batch's transaction. Returns its
/// answer and whether the transaction is still usable (a savepoint that cannot be rolled back
/// means it is not).
type Job = Box<dyn FnOnce(&Writes<'_>) -> (Answer, bool) + Send>;

/// SQLite store: the writer thread's queue and a few read-only connections (see [`SqliteDb`]).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    db: Arc<SqliteDb>,
    writes: mpsc::Sender<Job>,
    metrics: StoreMetrics,
}

impl SqliteStore {
    /// Opens (creating if needed) the database, applying pending migrations; keys in plaintext.
    pub fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with(path, KeyEncryption::none())
    }

    /// Opens the store with `keys` sealing private signing keys at rest, and starts its writer
    /// thread (it ends when the last clone of the store is dropped).
    pub fn open_with(path: &Path, keys: KeyEncryption) -> StoreResult<Self> {
        let db = Arc::new(SqliteDb::open_with(path, keys)?);
        let (writes, queue) = mpsc::channel();
        let writer = Arc::clone(&db);
        let metrics = StoreMetrics::new();
        let recorded = metrics.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || commit_writes(&writer, &queue, &recorded))
            .map_err(|e| StoreError::driver("cannot start the writer thread", e))?;
        Ok(Self { db, writes, metrics })
    }

    /// Writes a consistent copy of the database at `path` to `target` (which must not exist),
    /// readable by its owner only, while the database stays in use: `VACUUM INTO` copies in one
    /// read transaction (a stepwise backup restarts on every write and may never finish under
    /// load), and writers go on meanwhile (WAL).
    pub fn backup(path: &Path, target: &Path) -> StoreResult<()> {
        if !path.exists() {
            return Err(StoreError::Backend(format!("{} does not exist", path.display())));
        }
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(target)
                .map_err(|e| StoreError::driver(format!("cannot create {}", target.display()), e))?;
        }
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let target_text =
            target.to_str().ok_or_else(|| StoreError::Backend("the backup path is not UTF-8".into()))?;
        let copied = conn.execute("VACUUM INTO ?1", params![target_text]);
        if let Err(e) = copied {
            let _ = std::fs::remove_file(target);
            return Err(StoreError::driver("VACUUM INTO", e));
        }
        Ok(())
    }

    /// The migrations and which of them the database at `path` has (`migrate --status`).
    pub fn migration_status(path: &Path) -> StoreResult<Vec<MigrationStatus>> {
        migration_status(path)
    }

    /// Applies pending migrations to the database at `path` without opening a store; returns the
    /// names of those applied (`token-server migrate`).
    pub fn migrate(path: &Path) -> StoreResult<Vec<&'static str>> {
        migrate_file(path)
    }

    /// Runs a read on a read-only connection on tokio's blocking pool, never on an async worker:
    /// most reads are an indexed lookup of microseconds, but a page cache miss waits for the disk
    /// and a listing or a status list reads many rows, and a worker stuck in either stalls every
    /// request queued on it (`/healthz` included). `work` gets the connection and the key sealer.
    async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &KeyEncryption) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db.read(), &db.keys))
            .await
            .map_err(|e| StoreError::Backend(format!("a read did not finish: {e}")))?
    }

    /// Queues `work` for the writer thread; resolves once the batch it joined has committed.
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Writes<'_>) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |writes| {
            let (result, usable) = match writes.savepoint(work) {
                Ok(result) => (result, true),
                Err(e) => (Err(StoreError::from(e)), false),
            };
            let answer: Answer = Box::new(move |failed| {
                let _ = reply.send(match (failed, result) {
                    // A write that failed on its own wrote nothing: its own error says more.
                    (Some(why), Ok(_)) => Err(StoreError::Backend(format!("not committed: {why}"))),
                    (_, result) => result,
                });
            });
            (answer, usable)
        });
        self.writes.send(job).map_err(|_| StoreError::Backend("the writer thread has stopped".into()))?;
        answered.await.map_err(|_| StoreError::Backend("the writer thread dropped a write".into()))?
    }
}

/// The writer thread: takes the first waiting write and every other one queued behind it (up to
/// [`MAX_BATCH`]), runs them in one transaction, commits, then answers each. Under load, writes
/// queue while a batch commits, so the next batch is larger: one fsync serves many requests.
fn commit_writes(db: &SqliteDb, queue: &mpsc::Receiver<Job>, metrics: &StoreMetrics) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut answers = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        metrics.batch_size.observe(batch.len() as f64);
        let outcome = db.transaction(|writes| {
            for job in batch.drain(..) {
                let (answer, usable) = job(writes);
                answers.push(answer);
                if !usable {
                    return Err(StoreError::Backend("a savepoint could not be rolled back".into()));
                }
            }
            Ok(())
        });
        metrics.commit_duration.observe(started.elapsed().as_secs_f64());
        // Jobs not run (after an unusable savepoint) are dropped: their callers get an error.
        batch.clear();
        let failed = outcome.err().map(|e| {
            tracing::error!(error = %e, writes = answers.len(), "a batch of writes was not committed");
            e.to_string()
        });
        for answer in answers.drain(..) {
            answer(failed.as_deref());
        }
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
        let prune = query_plan(&store, sql::PURGE_REDEEMED_JTIS.sqlite());
        assert!(prune.contains("custom_token_uses_expires"), "{prune}");
        let jwks = query_plan(&store, sql::PUBLISHED_KEYS.sqlite());
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
        // A service's whole listing, by key: a range of (service_id, id), no sort, no table scan.
        let all = TokenFilter::default().condition(|n| format!("?{n}"));
        let page = query_plan(
            &store,
            &format!("SELECT id FROM tokens WHERE {all} AND id < ?2 ORDER BY id DESC LIMIT 10"),
        );
        assert!(page.contains("tokens_service ") && !page.contains("TEMP B-TREE"), "{page}");
        let client = TokenFilter { client_id: Some(token_core::ClientId(1)), subject: None };
        let condition = client.condition(|n| format!("?{n}"));
        let plan = query_plan(&store, &format!("SELECT COUNT(*) FROM tokens WHERE {condition}"));
        assert!(plan.contains("tokens_service_client"), "{plan}");
        let page =
            query_plan(&store, &format!("SELECT id FROM tokens WHERE {condition} ORDER BY id DESC LIMIT 10"));
        assert!(page.contains("tokens_service_client") && !page.contains("TEMP B-TREE"), "{page}");
        let both = TokenFilter { client_id: Some(token_core::ClientId(1)), subject: Some("s".into()) };
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
        let batch = query_plan(&store, &format!("SELECT id FROM tokens WHERE {}", maintenance::PURGE_BATCH));
        assert!(
            batch.contains("USING INDEX tokens_ends_at")
                || batch.contains("USING COVERING INDEX tokens_ends_at"),
            "{batch}"
        );
        assert!(!batch.contains("SCAN tokens"), "{batch}");
        let rotated = query_plan(
            &store,
            &format!(
                "SELECT hash FROM rotated_refresh_tokens WHERE token_id IN (SELECT token_id FROM tokens WHERE {})",
                maintenance::PURGE_BATCH
            ),
        );
        assert!(rotated.contains("rotated_refresh_tokens_family"), "{rotated}");
        assert!(!rotated.contains("SCAN rotated_refresh_tokens"), "{rotated}");
    }
}

/// The storage conformance suite on SQLite, each case on a fresh database file.
#[cfg(test)]
mod conformance {
    use super::SqliteStore;
    use crate::store::Stores;

    async fn open() -> Option<(Stores, tempfile::TempDir)> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("conformance.sqlite")).expect("open");
        Some((Stores::of(store), dir))
    }

    crate::conformance_suite!(open());
}
