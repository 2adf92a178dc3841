//! Signing keys on PostgreSQL.

use token_core::ServiceId;

use super::{PostgresStore, all, execute, one, pg, pg_error, sid};
use crate::store::sql::{self, to_json};
use crate::store::*;

/// Retires the current key of service `$2` at `$1`. It stays published until the later of the
/// grace period `$3` and the expiry of the last live token it signed (persistent tokens: for
/// ever), fixed now so that serving the JWK Set never scans the tokens table.
const RETIRE_CURRENT_KEY: &str = "UPDATE signing_keys SET retired_at = $1, published_until = \
    GREATEST($1::BIGINT + $3::BIGINT, COALESCE((SELECT MAX(CASE WHEN t.access_expires_at = 0 \
    THEN 9223372036854775807 ELSE t.access_expires_at END) FROM tokens t \
    WHERE t.jwt_kid = signing_keys.kid AND t.revoked_at IS NULL), 0)) \
    WHERE service_id = $2 AND retired_at IS NULL";

/// Inserts `key`, its private part sealed with `store`'s key-encryption key.
pub(super) async fn insert_signing_key(
    store: &PostgresStore,
    client: &impl deadpool_postgres::GenericClient,
    key: &SigningKeyRecord,
) -> StoreResult<()> {
    let (sealed, kek_id) = store
        .keys
        .seal(&key.kid, &key.private_der.0)
        .map_err(|e| StoreError::driver(format!("signing key {}", key.kid), e))?;
    let public_jwk = to_json(&key.public_jwk)?;
    let params: super::Params<'_> =
        &[&key.kid, &sid(key.service_id), &key.alg.as_str(), &sealed, &public_jwk, &key.created_at, &kek_id];
    execute(client, pg!(sql::INSERT_SIGNING_KEY), params).await?;
    Ok(())
}

#[async_trait::async_trait]
impl KeyStore for PostgresStore {
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64) -> StoreResult<()> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let service = sid(key.service_id);
        // Rotations of one service, from any instance, one at a time.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&service]).await.map_err(pg_error)?;
        execute(&tx, RETIRE_CURRENT_KEY, &[&key.created_at, &service, &grace_ms]).await?;
        insert_signing_key(self, &tx, key).await?;
        execute(&tx, pg!(sql::SERVICE_FOLLOWS_KEY_ALG), &[&key.alg.as_str(), &service]).await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        let keys = &self.keys;
        one(&self.conn().await?, pg!(sql::CURRENT_KEY), &[&sid(service)], |r| sql::key_from_row(keys, r))
            .await
    }

    async fn all_signing_keys(&self, service: ServiceId) -> StoreResult<Vec<SigningKeyRecord>> {
        let (keys, params): (_, super::Params<'_>) = (&self.keys, &[&sid(service)]);
        all(&self.conn().await?, pg!(sql::ALL_KEYS_OF_SERVICE), params, |r| sql::key_from_row(keys, r)).await
    }

    async fn published_signing_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let (keys, params): (_, super::Params<'_>) = (&self.keys, &[&sid(service), &now_ms]);
        all(&self.conn().await?, pg!(sql::PUBLISHED_KEYS), params, |r| sql::key_from_row(keys, r)).await
    }

    async fn verification_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let (keys, params): (_, super::Params<'_>) = (&self.keys, &[&sid(service), &now_ms, &max_retired_ms]);
        all(&self.conn().await?, pg!(sql::VERIFICATION_KEYS), params, |r| sql::key_from_row(keys, r)).await
    }

    async fn revoke_signing_key(&self, service: ServiceId, kid: &str, now_ms: i64) -> StoreResult<bool> {
        let params: super::Params<'_> = &[&now_ms, &sid(service), &kid];
        Ok(execute(&self.conn().await?, pg!(sql::REVOKE_SIGNING_KEY), params).await? > 0)
    }
}
