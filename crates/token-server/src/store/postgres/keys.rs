//! Signing keys on PostgreSQL.

use token_core::ServiceId;

use super::{Params, Pg, PostgresStore, all, execute, one, pg_error, sid};
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
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64) -> StoreResult<()> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        steps::add_signing_key(&Pg(&tx), key, grace_ms, &self.keys).await?;
        tx.commit().await.map_err(pg_error)
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

    async fn revoke_signing_key(&self, service: ServiceId, kid: &str, now_ms: i64) -> StoreResult<bool> {
        let params: Params<'_> = &[&now_ms, &sid(service), &kid];
        Ok(execute(&self.conn().await?, sql::REVOKE_SIGNING_KEY.postgres(), params).await? > 0)
    }
}
