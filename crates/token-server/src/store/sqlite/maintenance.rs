//! Health, commit statistics and the janitor on SQLite.

use rusqlite::params;

use super::{Sqlite, SqliteStore, all, run};
use crate::store::sql::{self, steps};
use crate::store::*;

/// The next batch of ended tokens, oldest first, read from the `tokens_ends_at` index.
pub(super) const PURGE_BATCH: &str = "ends_at < ?1 ORDER BY ends_at, id LIMIT ?2";

#[async_trait::async_trait]
impl MaintenanceStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c, _| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    fn metrics(&self) -> Option<StoreMetrics> {
        Some(self.metrics.clone())
    }

    async fn purge_expired(&self, before_ms: i64, batch: u32, audit: &Audit) -> StoreResult<Purged> {
        let batch = i64::from(batch);
        let audit = audit.clone();
        // One transaction (one fsync) per batch; every statement reads through an index, so a
        // batch costs the same on a table of a thousand rows or of millions.
        self.write(move |w| {
            let rotated_refresh_tokens = w.conn.execute(
                &format!(
                    "DELETE FROM rotated_refresh_tokens WHERE token_id IN \
                     (SELECT token_id FROM tokens WHERE {PURGE_BATCH})"
                ),
                params![before_ms, batch],
            )?;
            let purged = all(
                w.conn,
                &format!(
                    "DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE {PURGE_BATCH}) RETURNING service_id"
                ),
                params![before_ms, batch],
                |r| r.int(0),
            )?;
            let tokens = purged.len();
            let custom_token_uses =
                w.conn.execute(sql::PURGE_REDEEMED_JTIS.sqlite(), params![before_ms, batch])?;
            let proof_uses = w.conn.execute(sql::PURGE_PROOF_JTIS.sqlite(), params![before_ms, batch])?;
            let retired = all(w.conn, sql::RETIRE_STATUS_LISTS.sqlite(), params![before_ms], |r| r.int(0))?;
            let status_lists = retired.len();
            run(steps::record_purged(&Sqlite(w.conn), &purged, &retired, &audit))?;
            if status_lists > 0 {
                w.conn.execute(sql::FORGET_RETIRED_STATUS_BITS.sqlite(), [])?;
                w.conn.execute(sql::FORGET_RETIRED_STATUS_CHANGES.sqlite(), [])?;
            }
            Ok(Purged {
                tokens: tokens as u64,
                custom_token_uses: custom_token_uses as u64,
                rotated_refresh_tokens: rotated_refresh_tokens as u64,
                proof_uses: proof_uses as u64,
                status_lists: status_lists as u64,
                events: 0,
            })
        })
        .await
    }

    async fn selector_values(&self) -> StoreResult<bool> {
        self.read(|c, _| {
            Ok(c.query_row(sql::SELECTOR_VALUES_FINISHED.sqlite(), [], |r| r.get::<_, i64>(0))? > 0)
        })
        .await
    }

    /// The embedded store has one instance: its migration finished the upgrade already.
    async fn finish_upgrades(&self, now_ms: i64) -> StoreResult<bool> {
        self.write(move |w| Ok(w.conn.execute(sql::FINISH_SELECTOR_VALUES.sqlite(), params![now_ms])? > 0))
            .await
    }
}
