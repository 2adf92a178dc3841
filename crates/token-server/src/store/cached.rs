//! [`CachedStore`]: any backend, with what every authenticated request reads — the credential,
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

use token_core::grant::GrantType;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use super::*;

/// Most entries of one kind kept; more and the kind starts over (a bound on memory whatever the
/// number of credentials or services).
const MAX_ENTRIES: usize = 10_000;

/// Values read at most `ttl` ago, by key.
#[derive(Debug)]
struct Memo<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    fn new() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        // Entries are plain values: a panic elsewhere cannot leave one half-written.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        let entries = self.lock();
        let (read_at, value) = entries.get(key)?;
        (read_at.elapsed() < ttl).then(|| value.clone())
    }

    /// Keeps `value`, read at `read_at` (taken before the read, so the bound holds from then).
    fn put(&self, key: K, value: V, read_at: Instant) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (read_at, value));
    }

    fn forget(&self, key: &K) {
        self.lock().remove(key);
    }

    fn forget_all(&self) {
        self.lock().clear();
    }
}

/// A [`Store`] that reuses credentials, services and current signing keys for at most `ttl`.
#[derive(Debug)]
pub struct CachedStore {
    inner: Arc<dyn Store>,
    ttl: Duration,
    credentials: Memo<TokenHash, StoredCredential>,
    services: Memo<ServiceId, ServiceRecord>,
    signing_keys: Memo<ServiceId, SigningKeyRecord>,
}

impl CachedStore {
    pub fn new(inner: Arc<dyn Store>, ttl: Duration) -> Self {
        Self { inner, ttl, credentials: Memo::new(), services: Memo::new(), signing_keys: Memo::new() }
    }

    async fn cached_service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        if let Some(service) = self.services.get(&id, self.ttl) {
            return Ok(Some(service));
        }
        let read_at = Instant::now();
        let service = self.inner.service(id).await?;
        if let Some(service) = &service {
            self.services.put(id, service.clone(), read_at);
        }
        Ok(service)
    }
}

#[async_trait::async_trait]
impl Store for CachedStore {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    fn metrics(&self) -> Option<StoreMetrics> {
        self.inner.metrics()
    }

    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        self.inner.create_organization(name, now_ms).await
    }

    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        self.inner.list_organizations().await
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        self.inner.organization(id).await
    }

    async fn create_service(
        &self,
        organization: OrganizationId,
        settings: &ServiceSettings,
        now_ms: i64,
    ) -> StoreResult<ServiceRecord> {
        self.inner.create_service(organization, settings, now_ms).await
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        self.inner.list_services(organization).await
    }

    async fn update_service(&self, id: ServiceId, settings: &ServiceSettings) -> StoreResult<bool> {
        let updated = self.inner.update_service(id, settings).await;
        self.services.forget(&id);
        updated
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        self.cached_service(id).await
    }

    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        self.inner.create_client(client).await
    }

    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        self.inner.list_clients(service).await
    }

    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        self.inner.client(service, client_id).await
    }

    async fn client_by_identifier(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        self.inner.client_by_identifier(service, identifier).await
    }

    async fn delete_client(&self, service: ServiceId, client_id: ClientId, now_ms: i64) -> StoreResult<bool> {
        self.inner.delete_client(service, client_id, now_ms).await
    }

    async fn set_client_grant_types(
        &self,
        service: ServiceId,
        client_id: ClientId,
        grant_types: &[GrantType],
    ) -> StoreResult<bool> {
        self.inner.set_client_grant_types(service, client_id, grant_types).await
    }

    async fn create_credential(
        &self,
        principal: Principal,
        hash: &TokenHash,
        label: &str,
        now_ms: i64,
        expires_at: Option<i64>,
    ) -> StoreResult<CredentialRecord> {
        self.inner.create_credential(principal, hash, label, now_ms, expires_at).await
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        self.inner.list_credentials().await
    }

    async fn credential_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<StoredCredential>> {
        self.inner.credential_by_hash(hash).await
    }

    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
        if let Some(credential) = self.credentials.get(hash, self.ttl) {
            let service = match service {
                Some(id) => self.cached_service(id).await?,
                None => None,
            };
            return Ok((Some(credential), service));
        }
        let read_at = Instant::now();
        let (credential, found) = self.inner.credential_and_service(hash, service).await?;
        if let Some(credential) = &credential {
            self.credentials.put(hash.clone(), credential.clone(), read_at);
        }
        if let Some(found) = &found {
            self.services.put(found.id, found.clone(), read_at);
        }
        Ok((credential, found))
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        let revoked = self.inner.revoke_credential(id, now_ms).await;
        // Kept by hash, not by ID: forget them all (revocations are rare).
        self.credentials.forget_all();
        revoked
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.inner.touch_credential(id, now_ms).await
    }

    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64) -> StoreResult<()> {
        let added = self.inner.add_signing_key(key, grace_ms).await;
        self.signing_keys.forget(&key.service_id);
        added
    }

    async fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        if let Some(key) = self.signing_keys.get(&service, self.ttl) {
            return Ok(Some(key));
        }
        let read_at = Instant::now();
        let key = self.inner.current_signing_key(service).await?;
        if let Some(key) = &key {
            self.signing_keys.put(service, key.clone(), read_at);
        }
        Ok(key)
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

    async fn revoke_signing_key(&self, service: ServiceId, kid: &str, now_ms: i64) -> StoreResult<bool> {
        let revoked = self.inner.revoke_signing_key(service, kid, now_ms).await;
        self.signing_keys.forget(&service);
        revoked
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.inner.insert_token(token).await
    }

    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        self.inner.token_by_access_hash(service, hash).await
    }

    async fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        self.inner.token_by_refresh_hash(service, hash).await
    }

    async fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(u64, Vec<TokenRecord>)> {
        self.inner.list_tokens(service, filter, start, end).await
    }

    async fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
    ) -> StoreResult<Option<TokenRecord>> {
        self.inner.update_token(service, access_hash, changes).await
    }

    async fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool> {
        self.inner.delete_token(service, access_hash).await
    }

    async fn revoke(&self, service: ServiceId, target: &RevokeTarget, now_ms: i64) -> StoreResult<u64> {
        self.inner.revoke(service, target, now_ms).await
    }

    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        token: &TokenRecord,
    ) -> StoreResult<bool> {
        self.inner.redeem_custom_token(jti, expires_at_ms, token).await
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
    ) -> StoreResult<RefreshOutcome> {
        self.inner.rotate_refresh(service, old_refresh_hash, rotation).await
    }

    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
    ) -> StoreResult<bool> {
        self.inner.revoke_reused_refresh(service, refresh_hash, now_ms).await
    }

    async fn purge_expired(&self, before_ms: i64, batch: u32) -> StoreResult<Purged> {
        self.inner.purge_expired(before_ms, batch).await
    }

    async fn claim_first_start(&self, now_ms: i64) -> StoreResult<bool> {
        self.inner.claim_first_start(now_ms).await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        self.inner.is_empty().await
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
    use std::sync::Arc;

    use super::CachedStore;
    use crate::store::Store;
    use crate::store::sqlite::SqliteStore;

    async fn open() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let backend = SqliteStore::open(&dir.path().join("conformance.sqlite")).expect("open");
        let ttl = std::time::Duration::from_millis(crate::config::MAX_TENANCY_CACHE_MS);
        Some((Arc::new(CachedStore::new(Arc::new(backend), ttl)), dir))
    }

    crate::conformance_suite!(open());
}
