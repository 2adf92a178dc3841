//! Signing keys on PostgreSQL.

use token_core::ServiceId;

use super::{Params, PostgresStore, all, one, sid};
use crate::store::sql::{self, steps};
use crate::store::*;

/// Retires the current key of service `$2` at `$1`. It stays published until the later of the
/// grace period `$3` and the expiry of the last live token it signed (persistent tokens: for
/// ever), fixed now so that serving the JWK Set never scans the tokens table.
pub(super) const RETIRE_CURRENT_KEY: &str = "UPDATE signing_keys SET retired_at = $1, published_until = \
    GREATEST($1::BIGINT + $3::BIGINT, COALESCE((SELECT MAX(CASE WHEN t.access_expires_at = 0 \
    THEN 9223372036854775807 ELSE t.access_expires_at END) FROM tokens t \
    WHERE t.jwt_kid = signing_keys.kid AND t.revoked_at IS NULL), 0)) \
    WHERE service_id = $2 AND retired_at IS NULL";

#[async_trait::async_trait]
impl KeyStore for PostgresStore {
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64, audit: &Audit) -> StoreResult<()> {
        in_transaction!(self, |ex| steps::add_signing_key(ex, key, grace_ms, &self.keys, audit))
    }

    async fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        let (keys, params): (_, Params<'_>) = (&self.keys, &[&sid(service)]);
        one(&self.conn().await?, sql::CURRENT_KEY.postgres(), params, |r| sql::key_from_row(keys, r)).await
    }

    async fn all_signing_keys(&self, service: ServiceId) -> StoreResult<Vec<SigningKeyRecord>> {
        let (keys, params): (_, Params<'_>) = (&self.keys, &[&sid(service)]);
        all(&self.conn().await?, sql::ALL_KEYS_OF_SERVICE.postgres(), params, |r| sql::key_from_row(keys, r))
            .await
    }

    async fn published_signing_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let (keys, params): (_, Params<'_>) = (&self.keys, &[&sid(service), &now_ms]);
        all(&self.conn().await?, sql::PUBLISHED_KEYS.postgres(), params, |r| sql::key_from_row(keys, r)).await
    }

    async fn verification_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let (keys, params): (_, Params<'_>) = (&self.keys, &[&sid(service), &now_ms, &max_retired_ms]);
        all(&self.conn().await?, sql::VERIFICATION_KEYS.postgres(), params, |r| sql::key_from_row(keys, r))
            .await
    }

    async fn revoke_signing_key(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::revoke_signing_key(ex, service, kid, now_ms, audit))
    }
}
