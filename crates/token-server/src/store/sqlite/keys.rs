//! Signing keys on SQLite.

use rusqlite::params;
use token_core::ServiceId;

use super::{Sqlite, SqliteStore, all, one, run};
use crate::store::sql::{self, steps};
use crate::store::*;

/// Retires the current key of service `?2` at `?1`. It stays published until the later of the
/// grace period `?3` and the expiry of the last live token it signed (persistent tokens: for
/// ever), fixed now so that serving the JWK Set never scans the tokens table.
pub(super) const RETIRE_CURRENT_KEY: &str = "UPDATE signing_keys SET retired_at = ?1, published_until = \
    MAX(?1 + ?3, COALESCE((SELECT MAX(CASE WHEN t.access_expires_at = 0 THEN 9223372036854775807 \
    ELSE t.access_expires_at END) FROM tokens t WHERE t.jwt_kid = signing_keys.kid \
    AND t.revoked_at IS NULL), 0)) WHERE service_id = ?2 AND retired_at IS NULL";

#[async_trait::async_trait]
impl KeyStore for SqliteStore {
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64, audit: &Audit) -> StoreResult<()> {
        let (key, audit) = (key.clone(), audit.clone());
        self.write(move |w| run(steps::add_signing_key(&Sqlite(w.conn), &key, grace_ms, w.keys, &audit)))
            .await
    }

    async fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        self.read(move |c, keys| {
            one(c, sql::CURRENT_KEY.sqlite(), params![service.get() as i64], |r| sql::key_from_row(keys, r))
        })
        .await
    }

    async fn published_signing_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.read(move |c, keys| {
            let params = params![service.get() as i64, now_ms];
            all(c, sql::PUBLISHED_KEYS.sqlite(), params, |r| sql::key_from_row(keys, r))
        })
        .await
    }

    async fn verification_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.read(move |c, keys| {
            let params = params![service.get() as i64, now_ms, max_retired_ms];
            all(c, sql::VERIFICATION_KEYS.sqlite(), params, |r| sql::key_from_row(keys, r))
        })
        .await
    }

    async fn all_signing_keys(&self, service: ServiceId) -> StoreResult<Vec<SigningKeyRecord>> {
        self.read(move |c, keys| {
            let params = params![service.get() as i64];
            all(c, sql::ALL_KEYS_OF_SERVICE.sqlite(), params, |r| sql::key_from_row(keys, r))
        })
        .await
    }

    async fn revoke_signing_key(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        let (kid, audit) = (kid.to_owned(), audit.clone());
        self.write(move |w| run(steps::revoke_signing_key(&Sqlite(w.conn), service, &kid, now_ms, &audit)))
            .await
    }
}
