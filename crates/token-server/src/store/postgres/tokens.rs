//! Tokens, their refresh families and custom-token single use on PostgreSQL.

use token_core::{ServiceId, TokenHash};

use super::{Params, Pg, PostgresStore, execute, one, pg_error, sid};
use crate::store::sql::params::TokenRow;
use crate::store::sql::{self, ValueKey, steps};
use crate::store::*;

/// Locks subject `$2` of service `$1` for a redemption (shared) or a cutoff (exclusive), until the
/// transaction ends (1937072746 is the namespace, "subj"). Two subjects may share a hash: then they
/// wait for each other, nothing more.
pub(super) const LOCK_SUBJECT_SHARED: &str =
    "SELECT pg_advisory_xact_lock_shared(1937072746, hashtext($1::bigint::text || '/' || $2::text))";
pub(super) const LOCK_SUBJECT: &str =
    "SELECT pg_advisory_xact_lock(1937072746, hashtext($1::bigint::text || '/' || $2::text))";

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.inserts.insert(TokenRow::of(token)?.into_owned()).await
    }

    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        steps::token_by_value(&Pg(&*self.lookups.get().await?), service, ValueKind::Access, hash).await
    }

    async fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        steps::token_by_value(&Pg(&*self.lookups.get().await?), service, ValueKind::Refresh, hash).await
    }

    async fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(ListingVersion, Vec<TokenRecord>)> {
        steps::list_tokens(&Pg(&self.conn().await?), service, filter, start, end).await
    }

    async fn list_tokens_after(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        after: &str,
        limit: u32,
    ) -> StoreResult<Option<(ListingVersion, Vec<TokenRecord>)>> {
        steps::list_tokens_after(&Pg(&self.conn().await?), service, filter, after, limit).await
    }

    async fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
    ) -> StoreResult<Option<TokenRecord>> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let updated = steps::update_token(&Pg(&tx), service, access_hash, changes).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(updated)
    }

    /// One statement, the token and its rotation records (a writable `WITH`).
    async fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool> {
        let params: Params<'_> = &[&access_hash.as_str(), &sid(service)];
        let statement = sql::DELETE_TOKEN_AND_ROTATIONS.get(ValueKey::of(access_hash)).postgres();
        let deleted = one(&self.conn().await?, statement, params, |r| r.int(0)).await?;
        Ok(deleted.unwrap_or(0) > 0)
    }

    async fn revoke_some(
        &self,
        service: ServiceId,
        target: &RevokeTarget,
        now_ms: i64,
        at_most: u32,
    ) -> StoreResult<u64> {
        steps::revoke_some(&Pg(&self.conn().await?), service, target, now_ms, at_most).await
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
    ) -> StoreResult<RefreshOutcome> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let outcome = steps::rotate_refresh(&Pg(&tx), service, old_refresh_hash, rotation).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(outcome)
    }

    async fn rotations_since(
        &self,
        service: ServiceId,
        token_id: &str,
        since_ms: i64,
    ) -> StoreResult<(u32, i64)> {
        steps::rotations_of_family(&Pg(&self.conn().await?), service, token_id, since_ms).await
    }

    async fn revoke_signed_by(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        batch: u32,
    ) -> StoreResult<u64> {
        let params: Params<'_> = &[&now_ms, &sid(service), &kid, &i64::from(batch)];
        execute(&self.conn().await?, sql::REVOKE_SIGNED_BY.postgres(), params).await
    }

    async fn token_by_rotated_value(
        &self,
        service: ServiceId,
        hash: &TokenHash,
        kind: ValueKind,
    ) -> StoreResult<Option<TokenRecord>> {
        let params: Params<'_> = &[&hash.as_str(), &sid(service), &kind.as_str()];
        one(&self.conn().await?, sql::TOKEN_BY_ROTATED_VALUE.postgres(), params, sql::token_from_row).await
    }

    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let reused = steps::revoke_reused_refresh(&Pg(&tx), service, refresh_hash, now_ms).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(reused)
    }
}

#[async_trait::async_trait]
impl SingleUseStore for PostgresStore {
    async fn use_proof_jti(&self, service: ServiceId, jti: &str, expires_at_ms: i64) -> StoreResult<bool> {
        let params: Params<'_> = &[&jti, &sid(service), &expires_at_ms];
        Ok(execute(&self.conn().await?, sql::USE_PROOF_JTI.postgres(), params).await? == 1)
    }

    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        generated_at_ms: i64,
        token: &TokenRecord,
    ) -> StoreResult<Redemption> {
        let row = TokenRow::of(token)?;
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let redemption =
            steps::redeem_custom_token(&Pg(&tx), jti, expires_at_ms, generated_at_ms, &row).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(redemption)
    }

    async fn custom_token_standing(
        &self,
        service: ServiceId,
        jti: &str,
        subject: &str,
    ) -> StoreResult<CustomTokenStanding> {
        steps::custom_token_standing(&Pg(&self.conn().await?), service, jti, subject).await
    }

    async fn end_custom_tokens(&self, service: ServiceId, subject: &str, at_ms: i64) -> StoreResult<()> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        steps::end_custom_tokens(&Pg(&tx), service, subject, at_ms).await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn custom_tokens_valid_after(&self, service: ServiceId, subject: &str) -> StoreResult<Option<i64>> {
        let params: Params<'_> = &[&sid(service), &subject];
        one(&self.conn().await?, sql::SUBJECT_CUTOFF.postgres(), params, |r| r.int(0)).await
    }
}
