//! The embedded default store: SQLite in WAL mode with `synchronous=FULL`, so a committed write is
//! on disk before the request that made it is answered. [`SqliteStore`] is the async face of
//! [`db::SqliteDb`] (the queries): each call runs on tokio's blocking pool, so the backend owns its
//! blocking and callers only `.await`.

mod db;

use std::path::Path;
use std::sync::Arc;

use token_core::grant::GrantType;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

pub use db::MIGRATIONS;
use db::SqliteDb;

use super::*;
use crate::key_encryption::KeyEncryption;

/// SQLite store: one writer connection, a few readers (see [`db::SqliteDb`]).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    db: Arc<SqliteDb>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database, applying pending migrations; keys in plaintext.
    pub fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with(path, KeyEncryption::none())
    }

    /// Opens the store with `keys` sealing private signing keys at rest.
    pub fn open_with(path: &Path, keys: KeyEncryption) -> StoreResult<Self> {
        Ok(Self { db: Arc::new(SqliteDb::open_with(path, keys)?) })
    }

    /// Applies pending migrations to the database at `path` without opening a store; returns the
    /// names of those applied (`token-server migrate`).
    pub fn migrate(path: &Path) -> StoreResult<Vec<&'static str>> {
        db::migrate_file(path)
    }

    async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteDb) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| StoreError::Backend(format!("store task: {e}")))?
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
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

    async fn ping(&self) -> StoreResult<()> {
        self.run(move |db| db.ping()).await
    }

    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        let name = name.to_owned();
        self.run(move |db| db.create_organization(&name, now_ms)).await
    }

    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        self.run(move |db| db.list_organizations()).await
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        self.run(move |db| db.organization(id)).await
    }

    async fn create_service(
        &self,
        organization: OrganizationId,
        settings: &ServiceSettings,
        now_ms: i64,
    ) -> StoreResult<ServiceRecord> {
        let settings = settings.to_owned();
        self.run(move |db| db.create_service(organization, &settings, now_ms)).await
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        self.run(move |db| db.list_services(organization)).await
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        self.run(move |db| db.service(id)).await
    }

    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        let client = client.to_owned();
        self.run(move |db| db.create_client(&client)).await
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
        self.run(move |db| db.set_client_grant_types(service, client_id, &grant_types)).await
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
        self.run(move |db| db.create_credential(principal, &hash, &label, now_ms, expires_at)).await
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        self.run(move |db| db.list_credentials()).await
    }

    async fn credential_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<StoredCredential>> {
        let hash = hash.to_owned();
        self.run(move |db| db.credential_by_hash(&hash)).await
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        self.run(move |db| db.revoke_credential(id, now_ms)).await
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.run(move |db| db.touch_credential(id, now_ms)).await
    }

    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64) -> StoreResult<()> {
        let key = key.to_owned();
        self.run(move |db| db.add_signing_key(&key, grace_ms)).await
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
        self.run(move |db| db.revoke_signing_key(service, &kid, now_ms)).await
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let token = token.to_owned();
        self.run(move |db| db.insert_token(&token)).await
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
        self.run(move |db| db.update_token(service, &access_hash, &changes)).await
    }

    async fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool> {
        let access_hash = access_hash.to_owned();
        self.run(move |db| db.delete_token(service, &access_hash)).await
    }

    async fn revoke(&self, service: ServiceId, target: &RevokeTarget, now_ms: i64) -> StoreResult<u64> {
        let target = target.to_owned();
        self.run(move |db| db.revoke(service, &target, now_ms)).await
    }

    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        token: &TokenRecord,
    ) -> StoreResult<bool> {
        let jti = jti.to_owned();
        let token = token.to_owned();
        self.run(move |db| db.redeem_custom_token(&jti, expires_at_ms, &token)).await
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
    ) -> StoreResult<RefreshOutcome> {
        let old_refresh_hash = old_refresh_hash.to_owned();
        let rotation = rotation.to_owned();
        self.run(move |db| db.rotate_refresh(service, &old_refresh_hash, &rotation)).await
    }

    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let refresh_hash = refresh_hash.to_owned();
        self.run(move |db| db.revoke_reused_refresh(service, &refresh_hash, now_ms)).await
    }

    async fn purge_expired(&self, before_ms: i64, batch: u32) -> StoreResult<Purged> {
        self.run(move |db| db.purge_expired(before_ms, batch)).await
    }

    async fn claim_first_start(&self, now_ms: i64) -> StoreResult<bool> {
        self.run(move |db| db.claim_first_start(now_ms)).await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        self.run(move |db| db.is_empty()).await
    }
}

/// The storage conformance suite on SQLite, each case on a fresh database file.
#[cfg(test)]
mod conformance {
    use std::sync::Arc;

    use super::SqliteStore;
    use crate::store::Store;

    async fn open() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("conformance.sqlite")).expect("open");
        Some((Arc::new(store), dir))
    }

    crate::conformance_suite!(open());
}
