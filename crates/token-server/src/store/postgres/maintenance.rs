//! Health and the janitor on PostgreSQL.

use super::{JANITOR_LOCK, MIGRATION_LOCK, Pg, PostgresStore, all, execute, pg_error};
use crate::store::sql::{self, steps};
use crate::store::*;

/// One janitor batch of ended tokens, read through the `tokens_ends_at` index, oldest first (rows
/// another instance is deleting are skipped); rotation records go with their token, in the same
/// statement.
const PURGE_BATCH: &str = "WITH doomed AS (SELECT id, token_id FROM tokens WHERE ends_at < $1 \
    ORDER BY ends_at, id LIMIT $2 FOR UPDATE SKIP LOCKED), \
    rotated AS (DELETE FROM rotated_refresh_tokens r USING doomed d WHERE r.token_id = d.token_id RETURNING 1), \
    gone AS (DELETE FROM tokens t USING doomed d WHERE t.id = d.id RETURNING t.service_id) \
    SELECT service_id, (SELECT count(*) FROM rotated) FROM gone";

#[async_trait::async_trait]
impl MaintenanceStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        self.conn().await?.query_one("SELECT 1", &[]).await.map_err(pg_error)?;
        Ok(())
    }

    async fn purge_expired(&self, before_ms: i64, batch: u32, audit: &Audit) -> StoreResult<Purged> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // One instance at a time: another instance holding the lock is doing this batch. The key
        // is the deployment's: the schema's name mixed in, so that deployments (or test runs) in
        // other schemas of the same database never wait for each other.
        let mine: bool = tx
            .query_one(
                "SELECT pg_try_advisory_xact_lock($1 # hashtext(current_schema())::bigint)",
                &[&JANITOR_LOCK],
            )
            .await
            .map_err(pg_error)?
            .get(0);
        if !mine {
            return Ok(Purged::default());
        }
        let batch = i64::from(batch);
        let rows = tx.query(PURGE_BATCH, &[&before_ms, &batch]).await.map_err(pg_error)?;
        let purged: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
        let (tokens, rotated_refresh_tokens) =
            (purged.len() as i64, rows.first().map_or(0, |row| row.get::<_, i64>(1)));
        let custom_token_uses =
            execute(&tx, sql::PURGE_REDEEMED_JTIS.postgres(), &[&before_ms, &batch]).await?;
        let proof_uses = execute(&tx, sql::PURGE_PROOF_JTIS.postgres(), &[&before_ms, &batch]).await?;
        let retired = all(&tx, sql::RETIRE_STATUS_LISTS.postgres(), &[&before_ms], |r| r.int(0)).await?;
        let status_lists = retired.len() as u64;
        steps::record_purged(&Pg(&tx), &purged, &retired, audit).await?;
        if status_lists > 0 {
            execute(&tx, sql::FORGET_RETIRED_STATUS_BITS.postgres(), &[]).await?;
            execute(&tx, sql::FORGET_RETIRED_STATUS_CHANGES.postgres(), &[]).await?;
        }
        tx.commit().await.map_err(pg_error)?;
        Ok(Purged {
            tokens: tokens as u64,
            custom_token_uses,
            rotated_refresh_tokens: rotated_refresh_tokens as u64,
            proof_uses,
            status_lists,
            events: 0,
        })
    }

    async fn selector_values(&self) -> StoreResult<bool> {
        let row = self
            .conn()
            .await?
            .query_one(sql::SELECTOR_VALUES_FINISHED.postgres(), &[])
            .await
            .map_err(pg_error)?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    async fn finish_upgrades(&self, now_ms: i64) -> StoreResult<bool> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // Serialised with migrations (the same advisory lock, released at commit).
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg_error)?;
        tx.batch_execute(
            "ALTER TABLE tokens DROP CONSTRAINT IF EXISTS tokens_access_hash; \
             ALTER TABLE tokens DROP CONSTRAINT IF EXISTS tokens_refresh_hash",
        )
        .await
        .map_err(pg_error)?;
        let finished = execute(&tx, sql::FINISH_SELECTOR_VALUES.postgres(), &[&now_ms]).await? > 0;
        tx.commit().await.map_err(pg_error)?;
        Ok(finished)
    }
}
