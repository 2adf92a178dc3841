//! Tokens, their refresh families and custom-token single use on PostgreSQL.

use std::sync::LazyLock;

use deadpool_postgres::GenericClient;
use token_core::{ClientId, ServiceId, TokenHash};

use super::{PostgresStore, all, execute, one, pg, pg_error, sid};
use crate::store::sql::{self, TokenValues, UpdateValues, ValueKey, token_params};
use crate::store::*;

/// The token of service `?2` whose access value hashes to `?1` and its rotation records, in one
/// statement (per [`ValueKey`]).
static DELETE_TOKEN: LazyLock<[String; 2]> = LazyLock::new(|| {
    sql::keyed(
        "WITH gone AS (DELETE FROM tokens WHERE {value} AND service_id = ?2 RETURNING token_id), \
         rotated AS (DELETE FROM rotated_refresh_tokens r USING gone g WHERE r.token_id = g.token_id) \
         SELECT count(*) FROM gone",
        "access_hash",
        1,
    )
});

/// `sql`, a token lookup, with the row locked until the transaction ends.
fn for_update(sql: &str) -> String {
    format!("{sql} FOR UPDATE")
}

/// The PostgreSQL text of a statement kept once per [`ValueKey`] ([`sql::keyed`]).
macro_rules! pg_keyed {
    ($sql:expr, $key:expr) => {
        match $key {
            ValueKey::Selector => pg!($sql[0]),
            ValueKey::Hash => pg!($sql[1]),
        }
    };
}

/// The lookup of a token by the hash of its value of `kind` (`locked`: `FOR UPDATE`).
fn token_by_value_sql(kind: ValueKind, key: ValueKey, locked: bool) -> &'static str {
    match (key, kind, locked) {
        (ValueKey::Selector, _, false) => pg!(sql::TOKEN_BY_SELECTOR),
        (ValueKey::Selector, _, true) => pg!(for_update(&sql::TOKEN_BY_SELECTOR)),
        (ValueKey::Hash, ValueKind::Access, false) => pg!(sql::TOKEN_BY_ACCESS_HASH),
        (ValueKey::Hash, ValueKind::Access, true) => pg!(for_update(&sql::TOKEN_BY_ACCESS_HASH)),
        (ValueKey::Hash, ValueKind::Refresh, false) => pg!(sql::TOKEN_BY_REFRESH_HASH),
        (ValueKey::Hash, ValueKind::Refresh, true) => pg!(for_update(&sql::TOKEN_BY_REFRESH_HASH)),
    }
}

/// The token of `service` whose value of `kind` hashes to `hash` (see [`ValueKey`]), its row
/// locked when `locked`.
async fn token_by_value(
    client: &impl GenericClient,
    service: ServiceId,
    kind: ValueKind,
    hash: &TokenHash,
    locked: bool,
) -> StoreResult<Option<TokenRecord>> {
    let params: super::Params<'_> = &[&hash.as_str(), &sid(service)];
    let statement = token_by_value_sql(kind, ValueKey::of(hash), locked);
    let found = one(client, statement, params, sql::token_from_row).await?;
    Ok(found.filter(|token| sql::holds(token, kind, hash)))
}

async fn insert(client: &impl GenericClient, values: &TokenValues) -> StoreResult<()> {
    let params = token_params!(values => (dyn tokio_postgres::types::ToSql + Sync));
    // The only thing that leaves the row out is the trigger refusing a revoked signing key.
    if execute(client, pg!(sql::INSERT_TOKEN), &params).await? == 0 {
        return Err(StoreError::KeyRevoked);
    }
    Ok(())
}

/// Revokes the token whose rotated-away refresh hash is `hash`; `true` when there was one.
async fn revoke_family(
    client: &impl GenericClient,
    service: i64,
    hash: &TokenHash,
    now_ms: i64,
) -> StoreResult<bool> {
    let params: super::Params<'_> = &[&hash.as_str(), &service];
    let family = one(client, pg!(sql::FAMILY_OF_ROTATED_REFRESH), params, |r| r.text(0)).await?;
    let Some(token_id) = family else { return Ok(false) };
    execute(client, pg!(sql::REVOKE_FAMILY), &[&now_ms, &token_id]).await?;
    Ok(true)
}

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.inserts.insert(TokenValues::of(token)?).await
    }

    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        token_by_value(&*self.lookups.get().await?, service, ValueKind::Access, hash, false).await
    }

    async fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        token_by_value(&*self.lookups.get().await?, service, ValueKind::Refresh, hash, false).await
    }

    async fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(ListingVersion, Vec<TokenRecord>)> {
        let (count_sql, page_sql) = sql::list_tokens_sql(filter);
        let (limit, offset) = (i64::from(end.saturating_sub(start)), i64::from(start));
        listing(&self.conn().await?, sid(service), filter, &count_sql, &page_sql, [limit, offset]).await
    }

    async fn list_tokens_after(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        after: &str,
        limit: u32,
    ) -> StoreResult<Option<(ListingVersion, Vec<TokenRecord>)>> {
        let client = self.conn().await?;
        let service = sid(service);
        let Some(row) = one(&client, pg!(sql::TOKEN_ROW_ID), &[&after, &service], |r| r.int(0)).await? else {
            return Ok(None);
        };
        let (count_sql, _) = sql::list_tokens_sql(filter);
        let page_sql = sql::list_tokens_after_sql(filter);
        listing(&client, service, filter, &count_sql, &page_sql, [row, i64::from(limit)]).await.map(Some)
    }

    async fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
    ) -> StoreResult<Option<TokenRecord>> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let Some(mut token) = token_by_value(&tx, service, ValueKind::Access, access_hash, true).await?
        else {
            return Ok(None);
        };
        changes.apply(&mut token);
        // Only what an update may change; never `revoked_at` (the row is locked, so no revocation
        // commits in between and none is undone).
        let v = UpdateValues::of(&token)?;
        execute(
            &tx,
            pg!(sql::UPDATE_TOKEN),
            &[
                &v.access_hash,
                &v.access_expires_at,
                &v.refresh_expires_at,
                &v.scopes,
                &v.properties,
                &v.certificate_thumbprint,
                &v.dpop_key_thumbprint,
                &v.token_type,
                &v.authorization_details,
                &v.token_id,
                &v.service_id,
            ],
        )
        .await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Some(token))
    }

    async fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool> {
        let params: super::Params<'_> = &[&access_hash.as_str(), &sid(service)];
        let statement = pg_keyed!(DELETE_TOKEN, ValueKey::of(access_hash));
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
        let client = self.conn().await?;
        let (service, at_most) = (sid(service), i64::from(at_most));
        match target {
            RevokeTarget::AccessHash(hash) => {
                let statement = pg_keyed!(sql::REVOKE_BY_ACCESS_HASH, ValueKey::of(hash));
                execute(&client, statement, &[&now_ms, &service, &hash.as_str()]).await
            }
            RevokeTarget::RefreshHash(hash) => {
                let statement = pg_keyed!(sql::REVOKE_BY_REFRESH_HASH, ValueKey::of(hash));
                execute(&client, statement, &[&now_ms, &service, &hash.as_str()]).await
            }
            RevokeTarget::ClientSubject { client_id, subject } => {
                let params: super::Params<'_> = &[&now_ms, &service, &client_id.get(), subject, &at_most];
                execute(&client, pg!(sql::REVOKE_BY_CLIENT_SUBJECT), params).await
            }
            RevokeTarget::Subject(subject) => {
                execute(&client, pg!(sql::REVOKE_BY_SUBJECT), &[&now_ms, &service, subject, &at_most]).await
            }
            RevokeTarget::Family(token_id) => {
                execute(&client, pg!(sql::REVOKE_FAMILY_OF_SERVICE), &[&now_ms, &service, token_id]).await
            }
        }
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
    ) -> StoreResult<RefreshOutcome> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // The row lock makes concurrent rotations (from any instance) single-winner: the others
        // find the value rotated away, which is reuse.
        let found = token_by_value(&tx, service, ValueKind::Refresh, old_refresh_hash, true).await?;
        let Some(token) = found else {
            let reused = revoke_family(&tx, sid(service), old_refresh_hash, rotation.now_ms).await?;
            tx.commit().await.map_err(pg_error)?;
            return Ok(if reused { RefreshOutcome::Reused } else { RefreshOutcome::Invalid });
        };
        if !token.is_refreshable(rotation.now_ms) {
            return Ok(RefreshOutcome::Invalid);
        }
        // Under the row lock: concurrent rotations of the family count one after the other.
        let since = rotation.now_ms - ROTATION_RATE_WINDOW_MS;
        let params: super::Params<'_> = &[&sid(service), &token.token_id, &since];
        let (count, earliest) =
            one(&tx, pg!(sql::FAMILY_ROTATIONS_SINCE), params, |r| Ok((r.int(0)?, r.int(1)?)))
                .await?
                .unwrap_or((0, 0));
        if count >= i64::from(rotation.per_minute) {
            return Ok(RefreshOutcome::TooFrequent { retry_after_ms: earliest - since });
        }
        execute(
            &tx,
            pg!(sql::REMEMBER_ROTATED_VALUES),
            &[
                &old_refresh_hash.as_str(),
                &sid(service),
                &token.token_id,
                &rotation.now_ms,
                &token.access_hash.as_str(),
            ],
        )
        .await?;
        let rotated = execute(
            &tx,
            pg!(sql::ROTATE_TOKEN),
            &[
                &rotation.new_access_hash.as_str(),
                &rotation.new_refresh_hash.as_str(),
                &rotation.access_expires_at,
                &rotation.refresh_expires_at,
                &rotation.now_ms,
                &rotation.jwt_kid,
                &token.token_id,
                &rotation.status.map(|s| s.list),
                &rotation.status.map(|s| s.idx),
            ],
        )
        .await?;
        // Left unchanged only by the trigger refusing a revoked signing key (rolled back on drop).
        if rotated == 0 {
            return Err(StoreError::KeyRevoked);
        }
        let kept = i64::from(ROTATIONS_KEPT) - 1;
        execute(&tx, pg!(sql::FORGET_OLD_ROTATED_VALUES), &[&sid(service), &token.token_id, &kept]).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(RefreshOutcome::Rotated(Box::new(sql::rotated(token, rotation))))
    }

    async fn rotations_since(
        &self,
        service: ServiceId,
        token_id: &str,
        since_ms: i64,
    ) -> StoreResult<(u32, i64)> {
        let params: super::Params<'_> = &[&sid(service), &token_id, &since_ms];
        let found = one(&self.conn().await?, pg!(sql::FAMILY_ROTATIONS_SINCE), params, |r| {
            Ok((r.int(0)?, r.int(1)?))
        })
        .await?;
        let (count, earliest) = found.unwrap_or((0, 0));
        Ok((u32::try_from(count).unwrap_or(u32::MAX), earliest))
    }

    async fn revoke_signed_by(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        batch: u32,
    ) -> StoreResult<u64> {
        let params: super::Params<'_> = &[&now_ms, &sid(service), &kid, &i64::from(batch)];
        execute(&self.conn().await?, pg!(sql::REVOKE_SIGNED_BY), params).await
    }

    async fn token_by_rotated_value(
        &self,
        service: ServiceId,
        hash: &TokenHash,
        kind: ValueKind,
    ) -> StoreResult<Option<TokenRecord>> {
        let params: super::Params<'_> = &[&hash.as_str(), &sid(service), &kind.as_str()];
        one(&self.conn().await?, pg!(sql::TOKEN_BY_ROTATED_VALUE), params, sql::token_from_row).await
    }

    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let reused = revoke_family(&tx, sid(service), refresh_hash, now_ms).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(reused)
    }
}

#[async_trait::async_trait]
impl SingleUseStore for PostgresStore {
    async fn use_proof_jti(&self, service: ServiceId, jti: &str, expires_at_ms: i64) -> StoreResult<bool> {
        let params: super::Params<'_> = &[&jti, &sid(service), &expires_at_ms];
        Ok(execute(&self.conn().await?, pg!(sql::USE_PROOF_JTI), params).await? == 1)
    }

    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        generated_at_ms: i64,
        token: &TokenRecord,
    ) -> StoreResult<Redemption> {
        let values = TokenValues::of(token)?;
        let subject = values.subject.clone().unwrap_or_default();
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // Shared with other redemptions of the subject, exclusive with `end_custom_tokens`: a
        // cutoff committed first is read here; one set meanwhile waits for this commit, and the
        // revocation that follows it then finds the token.
        execute(&tx, LOCK_SUBJECT_SHARED, &[&values.service_id, &subject]).await?;
        let params: super::Params<'_> = &[&values.service_id, &subject];
        let cutoff = one(&tx, pg!(sql::SUBJECT_CUTOFF), params, |r| r.int(0)).await?;
        if cutoff.is_some_and(|cutoff| generated_at_ms <= cutoff) {
            return Ok(Redemption::SubjectSignedOut);
        }
        // Concurrent redemptions of one jti (from any instance) wait on the primary key; the
        // loser inserts nothing. Expired jtis are left to the janitor (bounded batches).
        let params: super::Params<'_> = &[&jti, &values.service_id, &values.token_id, &expires_at_ms];
        if execute(&tx, pg!(sql::REDEEM_JTI), params).await? == 0 {
            return Ok(Redemption::Replayed);
        }
        insert(&tx, &values).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Redemption::Redeemed)
    }

    async fn custom_token_standing(
        &self,
        service: ServiceId,
        jti: &str,
        subject: &str,
    ) -> StoreResult<CustomTokenStanding> {
        let params: super::Params<'_> = &[&jti, &sid(service), &subject];
        let standing = one(&self.conn().await?, pg!(sql::CUSTOM_TOKEN_STANDING), params, |r| {
            Ok(CustomTokenStanding { redeemed: r.int(0)? > 0, valid_after: r.opt_int(1)? })
        })
        .await?;
        Ok(standing.unwrap_or_default())
    }

    async fn end_custom_tokens(&self, service: ServiceId, subject: &str, at_ms: i64) -> StoreResult<()> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        execute(&tx, LOCK_SUBJECT, &[&sid(service), &subject]).await?;
        execute(&tx, pg!(sql::END_CUSTOM_TOKENS), &[&sid(service), &subject, &at_ms]).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(())
    }

    async fn custom_tokens_valid_after(&self, service: ServiceId, subject: &str) -> StoreResult<Option<i64>> {
        let params: super::Params<'_> = &[&sid(service), &subject];
        one(&self.conn().await?, pg!(sql::SUBJECT_CUTOFF), params, |r| r.int(0)).await
    }
}

/// Locks subject `$2` of service `$1` for a redemption (shared) or a cutoff (exclusive), until the
/// transaction ends (1937072746 is the namespace, "subj"). Two subjects may share a hash: then they
/// wait for each other, nothing more.
const LOCK_SUBJECT_SHARED: &str =
    "SELECT pg_advisory_xact_lock_shared(1937072746, hashtext($1::bigint::text || '/' || $2::text))";
const LOCK_SUBJECT: &str =
    "SELECT pg_advisory_xact_lock(1937072746, hashtext($1::bigint::text || '/' || $2::text))";

/// A listing's version (`count_sql`) and one page (`page_sql`), both with `filter`'s values, the
/// page's then followed by `tail` (limit and offset, or the row to follow and the limit).
async fn listing(
    client: &impl GenericClient,
    service: i64,
    filter: &TokenFilter,
    count_sql: &str,
    page_sql: &str,
    tail: [i64; 2],
) -> StoreResult<(ListingVersion, Vec<TokenRecord>)> {
    let client_id = filter.client_id.map(ClientId::get);
    let mut values: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&service];
    if let Some(client_id) = &client_id {
        values.push(client_id);
    }
    if let Some(subject) = &filter.subject {
        values.push(subject);
    }
    let version = one(client, &sql::dollar(count_sql), &values, |r| {
        Ok(ListingVersion { total: r.int(0)? as u64, newest_row: r.int(1)? })
    })
    .await?
    .unwrap_or_default();
    values.extend(tail.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)));
    let page = all(client, &sql::dollar(page_sql), &values, sql::token_from_row).await?;
    Ok((version, page))
}
