//! Tokens, their refresh families and custom-token single use on PostgreSQL.

use token_core::{ServiceId, TokenHash};

use super::{Params, Pg, PostgresStore, execute, one, sid};
use crate::store::sql::params::TokenRow;
use crate::store::sql::{self, steps};
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
    async fn insert_token(&self, token: &TokenRecord, audit: &Audit) -> StoreResult<()> {
        self.inserts.insert(TokenRow::of(token)?.into_owned(), audit.event(EventType::TokenCreated)).await
    }

    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        steps::token_by_value(&Pg(&*self.lookups.get().await?), service, ValueKind::Access, hash).await
    }

    async fn token_by_id(&self, service: ServiceId, token_id: &str) -> StoreResult<Option<TokenRecord>> {
        steps::token_by_id(&Pg(&*self.lookups.get().await?), service, token_id).await
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
        audit: &Audit,
    ) -> StoreResult<Option<TokenRecord>> {
        in_transaction!(self, |ex| steps::update_token(ex, service, access_hash, changes, audit))
    }

    async fn delete_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        audit: &Audit,
    ) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::delete_token(ex, service, access_hash, audit))
    }

    async fn revoke_some(
        &self,
        service: ServiceId,
        target: &RevokeTarget,
        now_ms: i64,
        at_most: u32,
        audit: &Audit,
    ) -> StoreResult<u64> {
        in_transaction!(self, |ex| steps::revoke_some(ex, service, target, now_ms, at_most, audit))
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
        audit: &Audit,
    ) -> StoreResult<RefreshOutcome> {
        in_transaction!(self, |ex| steps::rotate_refresh(ex, service, old_refresh_hash, rotation, audit))
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
        audit: &Audit,
    ) -> StoreResult<u64> {
        in_transaction!(self, |ex| steps::revoke_signed_by(ex, service, kid, now_ms, batch, audit))
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
        audit: &Audit,
    ) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::revoke_reused_refresh(ex, service, refresh_hash, now_ms, audit))
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
        audit: &Audit,
    ) -> StoreResult<Redemption> {
        let row = TokenRow::of(token)?;
        in_transaction!(self, |ex| steps::redeem_custom_token(
            ex,
            jti,
            expires_at_ms,
            generated_at_ms,
            &row,
            audit
        ))
    }

    async fn custom_token_standing(
        &self,
        service: ServiceId,
        jti: &str,
        subject: &str,
    ) -> StoreResult<CustomTokenStanding> {
        steps::custom_token_standing(&Pg(&self.conn().await?), service, jti, subject).await
    }

    async fn end_custom_tokens(
        &self,
        service: ServiceId,
        subject: &str,
        at_ms: i64,
        audit: &Audit,
    ) -> StoreResult<()> {
        in_transaction!(self, |ex| steps::end_custom_tokens(ex, service, subject, at_ms, audit))
    }

    async fn custom_tokens_valid_after(&self, service: ServiceId, subject: &str) -> StoreResult<Option<i64>> {
        let params: Params<'_> = &[&sid(service), &subject];
        one(&self.conn().await?, sql::SUBJECT_CUTOFF.postgres(), params, |r| r.int(0)).await
    }
}
