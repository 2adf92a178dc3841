//! The embedded default store: SQLite in WAL mode with `synchronous=FULL`, so a committed write is
//! on disk before the request that made it is answered. [`SqliteStore`] is the async face of
//! [`db::SqliteDb`] (the queries): reads run in place over a few read-only connections (an
//! indexed lookup on a local file takes microseconds, less than a hop to tokio's blocking pool
//! and back); writes go to one writer thread that commits every write waiting at that moment in
//! one transaction (group commit: one fsync for the batch, a savepoint per write so that one
//! write's failure undoes only its own changes) and answers each only after its batch committed.

mod db;

use std::path::Path;
use std::sync::{Arc, mpsc};

use token_core::grant::GrantType;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

pub use db::MIGRATIONS;
use db::{SqliteDb, Writes};

use super::*;
use crate::key_encryption::KeyEncryption;

/// Most writes committed in one transaction: bounds how long one batch holds the writer.
const MAX_BATCH: usize = 256;

/// Answers one write's caller once its batch's fate is known: `None` when the batch committed,
/// else why it did not.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// One request's write, run by the writer thread inside the batch's transaction. Returns its
/// answer and whether the transaction is still usable (a savepoint that cannot be rolled back
/// means it is not).
type Job = Box<dyn FnOnce(&Writes<'_>) -> (Answer, bool) + Send>;

/// SQLite store: the writer thread's queue and a few read-only connections (see [`db::SqliteDb`]).
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

    /// Applies pending migrations to the database at `path` without opening a store; returns the
    /// names of those applied (`token-server migrate`).
    pub fn migrate(path: &Path) -> StoreResult<Vec<&'static str>> {
        db::migrate_file(path)
    }

    /// Runs a read in place (see the module doc).
    async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&SqliteDb) -> StoreResult<T>,
    {
        work(&self.db)
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

#[async_trait::async_trait]
impl OrganizationStore for SqliteStore {
    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        let name = name.to_owned();
        self.write(move |w| w.create_organization(&name, now_ms)).await
    }

    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        self.run(move |db| db.list_organizations()).await
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        self.run(move |db| db.organization(id)).await
    }

    async fn claim_first_start(&self, now_ms: i64) -> StoreResult<bool> {
        self.write(move |w| w.claim_first_start(now_ms)).await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        self.run(move |db| db.is_empty()).await
    }
}

#[async_trait::async_trait]
impl ServiceStore for SqliteStore {
    async fn create_service(
        &self,
        organization: OrganizationId,
        settings: &ServiceSettings,
        now_ms: i64,
    ) -> StoreResult<ServiceRecord> {
        let settings = settings.to_owned();
        self.write(move |w| w.create_service(organization, &settings, now_ms)).await
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        self.run(move |db| db.list_services(organization)).await
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        self.run(move |db| db.service(id)).await
    }

    async fn update_service(&self, id: ServiceId, settings: &ServiceSettings) -> StoreResult<bool> {
        let settings = settings.to_owned();
        self.write(move |w| w.update_service(id, &settings)).await
    }
}

#[async_trait::async_trait]
impl ClientStore for SqliteStore {
    async fn delete_client(&self, service: ServiceId, client_id: ClientId, now_ms: i64) -> StoreResult<bool> {
        self.write(move |w| w.delete_client(service, client_id, now_ms)).await
    }

    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        let client = client.to_owned();
        self.write(move |w| w.create_client(&client)).await
    }

    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        self.run(move |db| db.list_clients(service)).await
    }

    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        self.run(move |db| db.client(service, client_id)).await
    }

    async fn client_by_identifier(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        let identifier = identifier.to_owned();
        self.run(move |db| db.client_by_identifier(service, &identifier)).await
    }

    async fn set_client_grant_types(
        &self,
        service: ServiceId,
        client_id: ClientId,
        grant_types: &[GrantType],
    ) -> StoreResult<bool> {
        let grant_types = grant_types.to_owned();
        self.write(move |w| w.set_client_grant_types(service, client_id, &grant_types)).await
    }
}

#[async_trait::async_trait]
impl CredentialStore for SqliteStore {
    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
        let hash = hash.to_owned();
        self.run(move |db| {
            let credential = db.credential_by_hash(&hash)?;
            let service = match (&credential, service) {
                (Some(_), Some(id)) => db.service(id)?,
                _ => None,
            };
            Ok((credential, service))
        })
        .await
    }

    async fn create_credential(
        &self,
        principal: Principal,
        hash: &TokenHash,
        label: &str,
        now_ms: i64,
        expires_at: Option<i64>,
    ) -> StoreResult<CredentialRecord> {
        let hash = hash.to_owned();
        let label = label.to_owned();
        self.write(move |w| w.create_credential(principal, &hash, &label, now_ms, expires_at)).await
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        self.run(move |db| db.list_credentials()).await
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        self.write(move |w| w.revoke_credential(id, now_ms)).await
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.write(move |w| w.touch_credential(id, now_ms)).await
    }
}

#[async_trait::async_trait]
impl KeyStore for SqliteStore {
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |w| w.add_signing_key(&key, grace_ms)).await
    }

    async fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        self.run(move |db| db.current_signing_key(service)).await
    }

    async fn published_signing_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.run(move |db| db.published_signing_keys(service, now_ms)).await
    }

    async fn verification_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.run(move |db| db.verification_keys(service, now_ms, max_retired_ms)).await
    }

    async fn revoke_signing_key(&self, service: ServiceId, kid: &str, now_ms: i64) -> StoreResult<bool> {
        let kid = kid.to_owned();
        self.write(move |w| w.revoke_signing_key(service, &kid, now_ms)).await
    }
}

#[async_trait::async_trait]
impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let token = token.to_owned();
        self.write(move |w| w.insert_token(&token)).await
    }

    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.run(move |db| db.token_by_access_hash(service, &hash)).await
    }

    async fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.run(move |db| db.token_by_refresh_hash(service, &hash)).await
    }

    async fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(u64, Vec<TokenRecord>)> {
        let filter = filter.to_owned();
        self.run(move |db| db.list_tokens(service, &filter, start, end)).await
    }

    async fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
    ) -> StoreResult<Option<TokenRecord>> {
        let access_hash = access_hash.to_owned();
        let changes = changes.to_owned();
        self.write(move |w| w.update_token(service, &access_hash, &changes)).await
    }

    async fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool> {
        let access_hash = access_hash.to_owned();
        self.write(move |w| w.delete_token(service, &access_hash)).await
    }

    async fn revoke(&self, service: ServiceId, target: &RevokeTarget, now_ms: i64) -> StoreResult<u64> {
        let target = target.to_owned();
        self.write(move |w| w.revoke(service, &target, now_ms)).await
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
    ) -> StoreResult<RefreshOutcome> {
        let old_refresh_hash = old_refresh_hash.to_owned();
        let rotation = rotation.to_owned();
        self.write(move |w| w.rotate_refresh(service, &old_refresh_hash, &rotation)).await
    }

    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let refresh_hash = refresh_hash.to_owned();
        self.write(move |w| w.revoke_reused_refresh(service, &refresh_hash, now_ms)).await
    }
}

#[async_trait::async_trait]
impl CustomTokenStore for SqliteStore {
    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        token: &TokenRecord,
    ) -> StoreResult<bool> {
        let jti = jti.to_owned();
        let token = token.to_owned();
        self.write(move |w| w.redeem_custom_token(&jti, expires_at_ms, &token)).await
    }
}

#[async_trait::async_trait]
impl MaintenanceStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.run(move |db| db.ping()).await
    }

    fn metrics(&self) -> Option<StoreMetrics> {
        Some(self.metrics.clone())
    }

    async fn purge_expired(&self, before_ms: i64, batch: u32) -> StoreResult<Purged> {
        self.write(move |w| w.purge_expired(before_ms, batch)).await
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
