//! [`cache`]: any backend, with what every authenticated request reads — the credential,
//! the service, the service's current signing key — reused for at most a bound (1 s by default,
//! `tenancy_cache_ms`). Without it each request pays two or three store reads (on SQLite, a read
//! transaction each, with its file locks) before doing its own work.
//!
//! Why this is safe: the bound is the documented delay for a change made **elsewhere** (the
//! operator CLI on the same database, another instance on PostgreSQL) to take effect
//! (`docs/security.md`): a revoked credential, an updated service or a rotated key. Changes made
//! through this store take effect at once (it forgets what they touch). Only hits are kept, so
//! unknown credentials always reach the backend, and the checks themselves (constant-time hash
//! comparison, revocation, expiry against the clock, the tenant rule) run on every request.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use super::*;

/// Most entries of one kind kept; more and the kind starts over (a bound on memory whatever the
/// number of credentials or services).
const MAX_ENTRIES: usize = 10_000;

/// Values read at most `ttl` ago, by key (also the service layer's: the rendered JWK Sets).
#[derive(Debug)]
pub(crate) struct Memo<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    pub(crate) fn new() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        // Entries are plain values: a panic elsewhere cannot leave one half-written.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        let entries = self.lock();
        let (read_at, value) = entries.get(key)?;
        (read_at.elapsed() < ttl).then(|| value.clone())
    }

    /// Keeps `value`, read at `read_at` (taken before the read, so the bound holds from then).
    fn put(&self, key: K, value: V, read_at: Instant) {
        self.put_if(key, value, read_at, || true);
    }

    /// [`Memo::put`] when `still_current` says so, asked under the lock: a value read before a
    /// change that a concurrent [`Memo::forget`] stands for is never kept after it.
    pub(crate) fn put_if(&self, key: K, value: V, read_at: Instant, still_current: impl FnOnce() -> bool) {
        let mut entries = self.lock();
        if !still_current() {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (read_at, value));
    }

    pub(crate) fn forget(&self, key: &K) {
        self.lock().remove(key);
    }

    fn forget_all(&self) {
        self.lock().clear();
    }
}

/// `stores` with services, credentials and current signing keys reused for at most `ttl`: only
/// those three concerns are decorated; the others are `stores`' own handles.
pub fn cache(stores: Stores, ttl: Duration) -> Stores {
    let services = Arc::new(CachedServices { inner: stores.services, ttl, memo: Memo::new() });
    let credentials = Arc::new(CachedCredentials {
        inner: stores.credentials,
        services: Arc::clone(&services),
        memo: Memo::new(),
    });
    let keys = Arc::new(CachedKeys { inner: stores.keys, ttl, memo: Memo::new() });
    let clients = Arc::new(CachedClients { inner: stores.clients, ttl, memo: Memo::new() });
    Stores { services, credentials, keys, clients, ..stores }
}

/// Services, each reused for at most `ttl`.
#[derive(Debug)]
struct CachedServices {
    inner: Arc<dyn ServiceStore>,
    ttl: Duration,
    memo: Memo<ServiceId, ServiceRecord>,
}

#[async_trait::async_trait]
impl ServiceStore for CachedServices {
    fn forget_cached(&self, id: ServiceId) {
        self.memo.forget(&id);
    }

    async fn create_service(
        &self,
        organization: OrganizationId,
        settings: &ServiceSettings,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<ServiceRecord> {
        self.inner.create_service(organization, settings, now_ms, audit).await
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        self.inner.list_services(organization).await
    }

    async fn update_service(
        &self,
        id: ServiceId,
        settings: &ServiceSettings,
        audit: &Audit,
    ) -> StoreResult<bool> {
        let updated = self.inner.update_service(id, settings, audit).await;
        self.memo.forget(&id);
        updated
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        self.cached(id).await
    }

    async fn delete_service_rows(&self, id: ServiceId, at_most: u32) -> StoreResult<u64> {
        self.inner.delete_service_rows(id, at_most).await
    }

    async fn delete_service(&self, id: ServiceId, now_ms: i64, audit: &Audit) -> StoreResult<bool> {
        let deleted = self.inner.delete_service(id, now_ms, audit).await;
        // Its credentials stay cached by hash for the bound, but without the service they act on
        // nothing (the service is no longer found).
        self.memo.forget(&id);
        deleted
    }
}

impl CachedServices {
    /// The service, from the memo when read less than `ttl` ago. Called directly (not through the
    /// trait) by the credentials' cache: no boxed future on the hot path.
    async fn cached(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        if let Some(service) = self.memo.get(&id, self.ttl) {
            return Ok(Some(service));
        }
        let read_at = Instant::now();
        let service = self.inner.service(id).await?;
        if let Some(service) = &service {
            self.memo.put(id, service.clone(), read_at);
        }
        Ok(service)
    }
}

/// Credentials by hash, each reused for at most the services' bound; the service read with a
/// credential comes from (and goes to) the cached services.
#[derive(Debug)]
struct CachedCredentials {
    inner: Arc<dyn CredentialStore>,
    services: Arc<CachedServices>,
    memo: Memo<TokenHash, StoredCredential>,
}

#[async_trait::async_trait]
impl CredentialStore for CachedCredentials {
    async fn create_credential(
        &self,
        principal: Principal,
        hash: &TokenHash,
        label: &str,
        now_ms: i64,
        expires_at: Option<i64>,
        audit: &Audit,
    ) -> StoreResult<CredentialRecord> {
        self.inner.create_credential(principal, hash, label, now_ms, expires_at, audit).await
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        self.inner.list_credentials().await
    }

    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
        if let Some(credential) = self.memo.get(hash, self.services.ttl) {
            let service = match service {
                Some(id) => self.services.cached(id).await?,
                None => None,
            };
            return Ok((Some(credential), service));
        }
        let read_at = Instant::now();
        let (credential, found) = self.inner.credential_and_service(hash, service).await?;
        if let Some(credential) = &credential {
            self.memo.put(hash.clone(), credential.clone(), read_at);
        }
        if let Some(found) = &found {
            self.services.memo.put(found.id, found.clone(), read_at);
        }
        Ok((credential, found))
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64, audit: &Audit) -> StoreResult<bool> {
        let revoked = self.inner.revoke_credential(id, now_ms, audit).await;
        // Kept by hash, not by ID: forget them all (revocations are rare).
        self.memo.forget_all();
        revoked
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.inner.touch_credential(id, now_ms).await
    }
}

/// Clients by service and ID, each reused for at most `ttl`.
#[derive(Debug)]
struct CachedClients {
    inner: Arc<dyn ClientStore>,
    ttl: Duration,
    memo: Memo<(ServiceId, ClientId), ClientRecord>,
}

#[async_trait::async_trait]
impl ClientStore for CachedClients {
    fn forget_cached(&self, service: ServiceId, client_id: ClientId) {
        self.memo.forget(&(service, client_id));
    }

    async fn create_client(&self, client: &ClientRecord, audit: &Audit) -> StoreResult<()> {
        self.inner.create_client(client, audit).await
    }
    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        self.inner.list_clients(service).await
    }
    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        if let Some(client) = self.memo.get(&(service, client_id), self.ttl) {
            return Ok(Some(client));
        }
        let read_at = Instant::now();
        let client = self.inner.client(service, client_id).await?;
        if let Some(client) = &client {
            self.memo.put((service, client_id), client.clone(), read_at);
        }
        Ok(client)
    }
    async fn client_by_identifier(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        self.inner.client_by_identifier(service, identifier).await
    }
    async fn delete_client(
        &self,
        service: ServiceId,
        client_id: ClientId,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        let deleted = self.inner.delete_client(service, client_id, now_ms, audit).await;
        self.memo.forget(&(service, client_id));
        deleted
    }
    async fn update_client(&self, client: &ClientRecord, audit: &Audit) -> StoreResult<bool> {
        let updated = self.inner.update_client(client, audit).await;
        self.memo.forget(&(client.service_id, client.client_id));
        updated
    }
    async fn clients_of_subject(
        &self,
        service: ServiceId,
        subject: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<ClientRecord>> {
        self.inner.clients_of_subject(service, subject, now_ms).await
    }
}

/// The current signing key of each service, reused for at most `ttl`.
#[derive(Debug)]
struct CachedKeys {
    inner: Arc<dyn KeyStore>,
    ttl: Duration,
    memo: Memo<ServiceId, SigningKeyRecord>,
}

#[async_trait::async_trait]
impl KeyStore for CachedKeys {
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64, audit: &Audit) -> StoreResult<()> {
        let added = self.inner.add_signing_key(key, grace_ms, audit).await;
        self.memo.forget(&key.service_id);
        added
    }

    async fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        if let Some(key) = self.memo.get(&service, self.ttl) {
            return Ok(Some(key));
        }
        let read_at = Instant::now();
        let key = self.inner.current_signing_key(service).await?;
        if let Some(key) = &key {
            self.memo.put(service, key.clone(), read_at);
        }
        Ok(key)
    }

    async fn all_signing_keys(&self, service: ServiceId) -> StoreResult<Vec<SigningKeyRecord>> {
        self.inner.all_signing_keys(service).await
    }

    fn forget_current_key(&self, service: ServiceId) {
        self.memo.forget(&service);
    }

    async fn published_signing_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.inner.published_signing_keys(service, now_ms).await
    }

    async fn verification_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.inner.verification_keys(service, now_ms, max_retired_ms).await
    }

    async fn revoke_signing_key(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        let revoked = self.inner.revoke_signing_key(service, kid, now_ms, audit).await;
        self.memo.forget(&service);
        revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_lives_at_most_the_bound_and_is_forgotten_on_demand() {
        let memo: Memo<u8, &str> = Memo::new();
        let ttl = Duration::from_millis(50);
        memo.put(1, "one", Instant::now());
        assert_eq!(memo.get(&1, ttl), Some("one"));
        memo.put(2, "two", Instant::now() - ttl);
        assert_eq!(memo.get(&2, ttl), None, "read a full bound ago: stale");
        memo.forget(&1);
        assert_eq!(memo.get(&1, ttl), None);
        memo.put(3, "three", Instant::now());
        memo.forget_all();
        assert_eq!(memo.get(&3, ttl), None);
    }

    #[test]
    fn the_number_of_entries_is_bounded() {
        let memo: Memo<usize, usize> = Memo::new();
        for i in 0..MAX_ENTRIES + 5 {
            memo.put(i, i, Instant::now());
        }
        assert!(memo.lock().len() <= MAX_ENTRIES);
    }
}

/// The storage conformance suite on the store as the server composes it: SQLite behind the cache,
/// with the server's default bound (every case must hold through the cache too).
#[cfg(test)]
mod conformance {
    use crate::store::Stores;
    use crate::store::sqlite::SqliteStore;

    async fn open() -> Option<(Stores, tempfile::TempDir)> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let backend = SqliteStore::open(&dir.path().join("conformance.sqlite")).expect("open");
        let ttl = std::time::Duration::from_millis(crate::config::MAX_TENANCY_CACHE_MS);
        Some((super::cache(Stores::of(backend), ttl), dir))
    }

    crate::conformance_suite!(open());
}
