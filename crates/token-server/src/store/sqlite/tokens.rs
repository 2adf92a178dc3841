//! Tokens, their refresh families and custom-token single use on SQLite.

use rusqlite::params;
use token_core::{ServiceId, TokenHash};

use super::{Sqlite, SqliteStore, one, run};
use crate::store::sql::params::TokenRow;
use crate::store::sql::{self, steps};
use crate::store::*;

#[async_trait::async_trait]
impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: &TokenRecord, audit: &Audit) -> StoreResult<()> {
        // The values (JSON included) are made here, off the writer thread.
        let row = TokenRow::of(token)?.into_owned();
        let event = audit.event(EventType::TokenCreated);
        self.write(move |w| run(steps::insert_token(&Sqlite(w.conn), &row, event))).await
    }

    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.read(move |c, _| run(steps::token_by_value(&Sqlite(c), service, ValueKind::Access, &hash))).await
    }

    async fn token_by_id(&self, service: ServiceId, token_id: &str) -> StoreResult<Option<TokenRecord>> {
        let token_id = token_id.to_owned();
        self.read(move |c, _| run(steps::token_by_id(&Sqlite(c), service, &token_id))).await
    }

    async fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.read(move |c, _| run(steps::token_by_value(&Sqlite(c), service, ValueKind::Refresh, &hash)))
            .await
    }

    async fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(ListingVersion, Vec<TokenRecord>)> {
        let filter = filter.clone();
        self.read(move |c, _| run(steps::list_tokens(&Sqlite(c), service, &filter, start, end))).await
    }

    async fn list_tokens_after(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        after: &str,
        limit: u32,
    ) -> StoreResult<Option<(ListingVersion, Vec<TokenRecord>)>> {
        let (filter, after) = (filter.clone(), after.to_owned());
        self.read(move |c, _| run(steps::list_tokens_after(&Sqlite(c), service, &filter, &after, limit)))
            .await
    }

    async fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
        audit: &Audit,
    ) -> StoreResult<Option<TokenRecord>> {
        let (access_hash, changes, audit) = (access_hash.to_owned(), changes.to_owned(), audit.clone());
        self.write(move |w| {
            run(steps::update_token(&Sqlite(w.conn), service, &access_hash, &changes, &audit))
        })
        .await
    }

    /// Three statements in the request's savepoint: the token read, its rotation records, the token.
    async fn delete_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        audit: &Audit,
    ) -> StoreResult<bool> {
        let (access_hash, audit) = (access_hash.to_owned(), audit.clone());
        self.write(move |w| run(steps::delete_token(&Sqlite(w.conn), service, &access_hash, &audit))).await
    }

    async fn revoke_some(
        &self,
        service: ServiceId,
        target: &RevokeTarget,
        now_ms: i64,
        at_most: u32,
        audit: &Audit,
    ) -> StoreResult<u64> {
        let (target, audit) = (target.to_owned(), audit.clone());
        self.write(move |w| {
            run(steps::revoke_some(&Sqlite(w.conn), service, &target, now_ms, at_most, &audit))
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
        audit: &Audit,
    ) -> StoreResult<RefreshOutcome> {
        let (old, rotation, audit) = (old_refresh_hash.to_owned(), rotation.to_owned(), audit.clone());
        self.write(move |w| run(steps::rotate_refresh(&Sqlite(w.conn), service, &old, &rotation, &audit)))
            .await
    }

    async fn rotations_since(
        &self,
        service: ServiceId,
        token_id: &str,
        since_ms: i64,
    ) -> StoreResult<(u32, i64)> {
        let token_id = token_id.to_owned();
        self.read(move |c, _| run(steps::rotations_of_family(&Sqlite(c), service, &token_id, since_ms))).await
    }

    async fn revoke_signed_by(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        batch: u32,
        audit: &Audit,
    ) -> StoreResult<u64> {
        let (kid, audit) = (kid.to_owned(), audit.clone());
        self.write(move |w| {
            run(steps::revoke_signed_by(&Sqlite(w.conn), service, &kid, now_ms, batch, &audit))
        })
        .await
    }

    async fn token_by_rotated_value(
        &self,
        service: ServiceId,
        hash: &TokenHash,
        kind: ValueKind,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.read(move |c, _| {
            let params = params![hash.as_str(), service.get() as i64, kind.as_str()];
            one(c, sql::TOKEN_BY_ROTATED_VALUE.sqlite(), params, sql::token_from_row)
        })
        .await
    }

    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        let (hash, audit) = (refresh_hash.to_owned(), audit.clone());
        self.write(move |w| {
            run(steps::revoke_reused_refresh(&Sqlite(w.conn), service, &hash, now_ms, &audit))
        })
        .await
    }
}

#[async_trait::async_trait]
impl SingleUseStore for SqliteStore {
    async fn use_proof_jti(&self, service: ServiceId, jti: &str, expires_at_ms: i64) -> StoreResult<bool> {
        let jti = jti.to_owned();
        self.write(move |w| {
            let params = params![jti, service.get() as i64, expires_at_ms];
            Ok(w.conn.execute(sql::USE_PROOF_JTI.sqlite(), params)? == 1)
        })
        .await
    }

    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        generated_at_ms: i64,
        token: &TokenRecord,
        audit: &Audit,
    ) -> StoreResult<Redemption> {
        let (jti, audit) = (jti.to_owned(), audit.clone());
        let row = TokenRow::of(token)?.into_owned();
        // One writer at a time: the cutoff read here and `end_custom_tokens` never interleave.
        self.write(move |w| {
            let ex = Sqlite(w.conn);
            run(steps::redeem_custom_token(&ex, &jti, expires_at_ms, generated_at_ms, &row, &audit))
        })
        .await
    }

    async fn custom_token_standing(
        &self,
        service: ServiceId,
        jti: &str,
        subject: &str,
    ) -> StoreResult<CustomTokenStanding> {
        let (jti, subject) = (jti.to_owned(), subject.to_owned());
        self.read(move |c, _| run(steps::custom_token_standing(&Sqlite(c), service, &jti, &subject))).await
    }

    async fn end_custom_tokens(
        &self,
        service: ServiceId,
        subject: &str,
        at_ms: i64,
        audit: &Audit,
    ) -> StoreResult<()> {
        let (subject, audit) = (subject.to_owned(), audit.clone());
        self.write(move |w| run(steps::end_custom_tokens(&Sqlite(w.conn), service, &subject, at_ms, &audit)))
            .await
    }

    async fn custom_tokens_valid_after(&self, service: ServiceId, subject: &str) -> StoreResult<Option<i64>> {
        let (subject, service) = (subject.to_owned(), service.get() as i64);
        self.read(move |c, _| one(c, sql::SUBJECT_CUTOFF.sqlite(), params![service, subject], |r| r.int(0)))
            .await
    }
}
