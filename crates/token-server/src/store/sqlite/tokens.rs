//! Tokens, their refresh families and custom-token single use on SQLite.

use rusqlite::{Connection, OptionalExtension, params};
use token_core::{ServiceId, TokenHash};

use super::{SqliteStore, one};
use crate::store::sql::{self, TokenValues, UpdateValues, ValueKey, token_params};
use crate::store::*;

/// The token of `service` whose value of `kind` hashes to `hash` (see [`ValueKey`]).
fn token_by_value(
    conn: &Connection,
    service: ServiceId,
    kind: ValueKind,
    hash: &TokenHash,
) -> StoreResult<Option<TokenRecord>> {
    let params = params![hash.as_str(), service.get() as i64];
    let found = one(conn, sql::token_by_value(kind, ValueKey::of(hash)), params, sql::token_from_row)?;
    Ok(found.filter(|token| sql::holds(token, kind, hash)))
}

fn insert(conn: &Connection, values: &TokenValues) -> StoreResult<()> {
    let stored =
        conn.prepare_cached(&sql::INSERT_TOKEN)?.execute(token_params!(values => dyn rusqlite::ToSql))?;
    // The only thing that leaves the row out is the trigger refusing a revoked signing key.
    if stored == 0 {
        return Err(StoreError::KeyRevoked);
    }
    Ok(())
}

/// Revokes the token whose rotated-away refresh hash is `hash`; `true` when there was one.
fn revoke_family(conn: &Connection, service: i64, hash: &TokenHash, now_ms: i64) -> StoreResult<bool> {
    let family: Option<String> = conn
        .prepare_cached(sql::FAMILY_OF_ROTATED_REFRESH)?
        .query_row(params![hash.as_str(), service], |r| r.get(0))
        .optional()?;
    let Some(token_id) = family else { return Ok(false) };
    conn.execute(sql::REVOKE_FAMILY, params![now_ms, token_id])?;
    Ok(true)
}

#[async_trait::async_trait]
impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let values = TokenValues::of(token)?;
        self.write(move |w| insert(w.conn, &values)).await
    }

    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.read(move |c, _| token_by_value(c, service, ValueKind::Access, &hash)).await
    }

    async fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.read(move |c, _| token_by_value(c, service, ValueKind::Refresh, &hash)).await
    }

    async fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(ListingVersion, Vec<TokenRecord>)> {
        let (service, filter) = (service.get() as i64, filter.clone());
        let (limit, offset) = (i64::from(end.saturating_sub(start)), i64::from(start));
        self.read(move |conn, _| {
            let (count_sql, page_sql) = sql::list_tokens_sql(&filter);
            listing(conn, service, &filter, &count_sql, &page_sql, [limit, offset])
        })
        .await
    }

    async fn list_tokens_after(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        after: &str,
        limit: u32,
    ) -> StoreResult<Option<(ListingVersion, Vec<TokenRecord>)>> {
        let (service, filter) = (service.get() as i64, filter.clone());
        let (after, limit) = (after.to_owned(), i64::from(limit));
        self.read(move |conn, _| {
            let Some(row) = one(conn, sql::TOKEN_ROW_ID, params![after, service], |r| r.int(0))? else {
                return Ok(None);
            };
            let (count_sql, _) = sql::list_tokens_sql(&filter);
            let page_sql = sql::list_tokens_after_sql(&filter);
            listing(conn, service, &filter, &count_sql, &page_sql, [row, limit]).map(Some)
        })
        .await
    }

    async fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
    ) -> StoreResult<Option<TokenRecord>> {
        let access_hash = access_hash.to_owned();
        let changes = changes.to_owned();
        self.write(move |w| {
            let Some(mut token) = token_by_value(w.conn, service, ValueKind::Access, &access_hash)? else {
                return Ok(None);
            };
            changes.apply(&mut token);
            // Only what an update may change; `revoked_at` is never written here, and the write
            // is in the transaction that read the row, so no revocation can commit in between.
            let v = UpdateValues::of(&token)?;
            w.conn.execute(
                sql::UPDATE_TOKEN,
                params![
                    v.access_hash,
                    v.access_expires_at,
                    v.refresh_expires_at,
                    v.scopes,
                    v.properties,
                    v.certificate_thumbprint,
                    v.dpop_key_thumbprint,
                    v.token_type,
                    v.authorization_details,
                    v.token_id,
                    v.service_id
                ],
            )?;
            Ok(Some(token))
        })
        .await
    }

    async fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool> {
        let access_hash = access_hash.to_owned();
        self.write(move |w| {
            let params = params![access_hash.as_str(), service.get() as i64];
            let key = ValueKey::of(&access_hash) as usize;
            w.conn.execute(&sql::DELETE_ROTATIONS_OF_TOKEN[key], params)?;
            Ok(w.conn.execute(&sql::DELETE_TOKEN[key], params)? > 0)
        })
        .await
    }

    async fn revoke_some(
        &self,
        service: ServiceId,
        target: &RevokeTarget,
        now_ms: i64,
        at_most: u32,
    ) -> StoreResult<u64> {
        let target = target.to_owned();
        let (service, at_most) = (service.get() as i64, i64::from(at_most));
        self.write(move |w| {
            let changed = match &target {
                RevokeTarget::AccessHash(hash) => w.conn.execute(
                    &sql::REVOKE_BY_ACCESS_HASH[ValueKey::of(hash) as usize],
                    params![now_ms, service, hash.as_str()],
                )?,
                RevokeTarget::RefreshHash(hash) => w.conn.execute(
                    &sql::REVOKE_BY_REFRESH_HASH[ValueKey::of(hash) as usize],
                    params![now_ms, service, hash.as_str()],
                )?,
                RevokeTarget::ClientSubject { client_id, subject } => w.conn.execute(
                    sql::REVOKE_BY_CLIENT_SUBJECT,
                    params![now_ms, service, client_id.get(), subject, at_most],
                )?,
                RevokeTarget::Subject(subject) => {
                    w.conn.execute(sql::REVOKE_BY_SUBJECT, params![now_ms, service, subject, at_most])?
                }
                RevokeTarget::Family(token_id) => {
                    w.conn.execute(sql::REVOKE_FAMILY_OF_SERVICE, params![now_ms, service, token_id])?
                }
            };
            Ok(changed as u64)
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
    ) -> StoreResult<RefreshOutcome> {
        let old = old_refresh_hash.to_owned();
        let rotation = rotation.to_owned();
        self.write(move |w| {
            let found = token_by_value(w.conn, service, ValueKind::Refresh, &old)?;
            let service = service.get() as i64;
            let Some(token) = found else {
                // A concurrent refresh rotated it first: that is reuse too.
                let reused = revoke_family(w.conn, service, &old, rotation.now_ms)?;
                return Ok(if reused { RefreshOutcome::Reused } else { RefreshOutcome::Invalid });
            };
            if !token.is_refreshable(rotation.now_ms) {
                return Ok(RefreshOutcome::Invalid);
            }
            let since = rotation.now_ms - ROTATION_RATE_WINDOW_MS;
            let (count, earliest) =
                one(w.conn, sql::FAMILY_ROTATIONS_SINCE, params![service, token.token_id, since], |r| {
                    Ok((r.int(0)?, r.int(1)?))
                })?
                .unwrap_or((0, 0));
            if count >= i64::from(rotation.per_minute) {
                return Ok(RefreshOutcome::TooFrequent { retry_after_ms: earliest - since });
            }
            w.conn.execute(
                sql::REMEMBER_ROTATED_VALUES,
                params![old.as_str(), service, token.token_id, rotation.now_ms, token.access_hash.as_str()],
            )?;
            let rotated = w.conn.execute(
                sql::ROTATE_TOKEN,
                params![
                    rotation.new_access_hash.as_str(),
                    rotation.new_refresh_hash.as_str(),
                    rotation.access_expires_at,
                    rotation.refresh_expires_at,
                    rotation.now_ms,
                    rotation.jwt_kid,
                    token.token_id,
                    rotation.status.map(|s| s.list),
                    rotation.status.map(|s| s.idx)
                ],
            )?;
            // Left unchanged only by the trigger refusing a revoked signing key (the savepoint
            // undoes the remembered values).
            if rotated == 0 {
                return Err(StoreError::KeyRevoked);
            }
            let kept = i64::from(ROTATIONS_KEPT) - 1;
            w.conn.execute(sql::FORGET_OLD_ROTATED_VALUES, params![service, token.token_id, kept])?;
            Ok(RefreshOutcome::Rotated(Box::new(sql::rotated(token, &rotation))))
        })
        .await
    }

    async fn rotations_since(
        &self,
        service: ServiceId,
        token_id: &str,
        since_ms: i64,
    ) -> StoreResult<(u32, i64)> {
        let (token_id, service) = (token_id.to_owned(), service.get() as i64);
        self.read(move |c, _| {
            let found = one(c, sql::FAMILY_ROTATIONS_SINCE, params![service, token_id, since_ms], |r| {
                Ok((r.int(0)?, r.int(1)?))
            })?;
            let (count, earliest) = found.unwrap_or((0, 0));
            Ok((u32::try_from(count).unwrap_or(u32::MAX), earliest))
        })
        .await
    }

    async fn revoke_signed_by(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        batch: u32,
    ) -> StoreResult<u64> {
        let (kid, service) = (kid.to_owned(), service.get() as i64);
        self.write(move |w| {
            let params = params![now_ms, service, kid, i64::from(batch)];
            Ok(w.conn.execute(sql::REVOKE_SIGNED_BY, params)? as u64)
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
            one(c, &sql::TOKEN_BY_ROTATED_VALUE, params, sql::token_from_row)
        })
        .await
    }

    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let hash = refresh_hash.to_owned();
        self.write(move |w| revoke_family(w.conn, service.get() as i64, &hash, now_ms)).await
    }
}

#[async_trait::async_trait]
impl SingleUseStore for SqliteStore {
    async fn use_proof_jti(&self, service: ServiceId, jti: &str, expires_at_ms: i64) -> StoreResult<bool> {
        let jti = jti.to_owned();
        self.write(move |w| {
            let params = params![jti, service.get() as i64, expires_at_ms];
            Ok(w.conn.execute(sql::USE_PROOF_JTI, params)? == 1)
        })
        .await
    }

    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        generated_at_ms: i64,
        token: &TokenRecord,
    ) -> StoreResult<Redemption> {
        let jti = jti.to_owned();
        let values = TokenValues::of(token)?;
        self.write(move |w| {
            // One writer at a time: the cutoff read here and `end_custom_tokens` never interleave.
            let subject = values.subject.clone().unwrap_or_default();
            let cutoff = one(w.conn, sql::SUBJECT_CUTOFF, params![values.service_id, subject], |r| r.int(0))?;
            if cutoff.is_some_and(|cutoff| generated_at_ms <= cutoff) {
                return Ok(Redemption::SubjectSignedOut);
            }
            let params = params![jti, values.service_id, values.token_id, expires_at_ms];
            if w.conn.execute(sql::REDEEM_JTI, params)? == 0 {
                return Ok(Redemption::Replayed);
            }
            insert(w.conn, &values)?;
            Ok(Redemption::Redeemed)
        })
        .await
    }

    async fn custom_token_standing(
        &self,
        service: ServiceId,
        jti: &str,
        subject: &str,
    ) -> StoreResult<CustomTokenStanding> {
        let (jti, subject, service) = (jti.to_owned(), subject.to_owned(), service.get() as i64);
        self.read(move |c, _| {
            let standing = one(c, sql::CUSTOM_TOKEN_STANDING, params![jti, service, subject], |r| {
                Ok(CustomTokenStanding { redeemed: r.int(0)? > 0, valid_after: r.opt_int(1)? })
            })?;
            Ok(standing.unwrap_or_default())
        })
        .await
    }

    async fn end_custom_tokens(&self, service: ServiceId, subject: &str, at_ms: i64) -> StoreResult<()> {
        let (subject, service) = (subject.to_owned(), service.get() as i64);
        self.write(move |w| {
            w.conn.execute(sql::END_CUSTOM_TOKENS, params![service, subject, at_ms])?;
            Ok(())
        })
        .await
    }

    async fn custom_tokens_valid_after(&self, service: ServiceId, subject: &str) -> StoreResult<Option<i64>> {
        let (subject, service) = (subject.to_owned(), service.get() as i64);
        self.read(move |c, _| one(c, sql::SUBJECT_CUTOFF, params![service, subject], |r| r.int(0))).await
    }
}

/// A listing's version (`count_sql`) and one page (`page_sql`), both with `filter`'s values, the
/// page's then followed by `tail` (limit and offset, or the row to follow and the limit).
fn listing(
    conn: &Connection,
    service: i64,
    filter: &TokenFilter,
    count_sql: &str,
    page_sql: &str,
    tail: [i64; 2],
) -> StoreResult<(ListingVersion, Vec<TokenRecord>)> {
    let client = filter.client_id.map(|c| c.get());
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&service];
    if let Some(client) = &client {
        values.push(client);
    }
    if let Some(subject) = &filter.subject {
        values.push(subject);
    }
    let version = conn.prepare_cached(count_sql)?.query_row(values.as_slice(), |r| {
        Ok(ListingVersion { total: r.get::<_, i64>(0)? as u64, newest_row: r.get(1)? })
    })?;
    values.extend(tail.iter().map(|v| v as &dyn rusqlite::ToSql));
    let page = super::all(conn, page_sql, values.as_slice(), sql::token_from_row)?;
    Ok((version, page))
}
