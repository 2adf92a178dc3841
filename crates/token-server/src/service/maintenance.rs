//! Maintenance: readiness, the janitor (what ended long enough ago is removed, batch by batch)
//! and finishing the upgrades that wait for every instance (`migrate --finish`).

use std::sync::Arc;

use super::metrics::Metrics;
use super::value_format::ValueFormats;
use super::{ServiceResult, Shared};
use crate::clock::Clock;
use crate::store::{Actor, Audit, EventStore, MaintenanceStore, Purged, Stores};

/// Rows a janitor batch deletes at most. Deleting a token costs its writer about what creating
/// one does (every index it is in), so a batch of 25 holds SQLite's writer ~5 ms on a 2-core
/// machine (`cargo xtask bench --janitor-rows 100000`; 100 rows held it 15 ms).
pub const JANITOR_BATCH: u32 = 25;

/// How a janitor run spaces its batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JanitorPacing {
    /// One batch after the other (`token-server janitor`, run by an operator).
    FlatOut,
    /// Inside a serving server: after each batch, pause four times as long as the batch took (at
    /// least `JANITOR_MIN_PAUSE`), so that requests keep at least 80 % of the store's writer.
    Background,
}

/// The shortest pause between two background janitor batches.
pub const JANITOR_MIN_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// What one janitor run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JanitorRun {
    pub purged: Purged,
    pub batches: u64,
    /// The longest batch: the longest that requests waited for the writer because of the janitor.
    pub longest_batch: std::time::Duration,
}

/// The maintenance component: the store's health, statistics and janitor.
#[derive(Debug)]
pub struct Maintenance {
    maintenance: Arc<dyn MaintenanceStore>,
    /// Events older than `event_retention_days` go with the janitor's batches.
    events: Arc<dyn EventStore>,
    event_retention_days: u32,
    /// Forgotten when an upgrade finishes, so that new values take the new format at once.
    values: ValueFormats,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

impl Maintenance {
    pub(super) fn new(stores: &Stores, shared: &Shared, values: ValueFormats) -> Self {
        Self {
            maintenance: Arc::clone(&stores.maintenance),
            events: Arc::clone(&stores.events),
            event_retention_days: shared.config.event_retention_days,
            values,
            clock: Arc::clone(&shared.clock),
            metrics: Arc::clone(&shared.metrics),
        }
    }

    /// Ready to serve: the store answers.
    pub async fn ready(&self) -> ServiceResult<()> {
        Ok(self.maintenance.ping().await?)
    }

    /// Finishes the upgrades waiting for every instance to run this version (`migrate --finish`).
    pub async fn finish_upgrades(&self) -> ServiceResult<bool> {
        let finished = self.maintenance.finish_upgrades(self.clock.now_ms()).await?;
        self.values.forget();
        Ok(finished)
    }

    /// One janitor run: removes, batch by batch, what ended more than `retention_ms` ago (see
    /// `MaintenanceStore::purge_expired`). Safe on several instances at once: every batch is idempotent.
    pub async fn run_janitor(
        &self,
        retention_ms: i64,
        batch: u32,
        pacing: JanitorPacing,
    ) -> ServiceResult<JanitorRun> {
        let now = self.clock.now_ms();
        let before = now.saturating_sub(retention_ms);
        let events_before =
            now.saturating_sub(i64::from(self.event_retention_days).saturating_mul(86_400_000));
        let mut run = JanitorRun::default();
        loop {
            let started = std::time::Instant::now();
            let audit = Audit::new(Actor::janitor(), self.clock.now_ms());
            let mut pass = self.maintenance.purge_expired(before, batch, &audit).await?;
            pass.events = self.events.purge_events(events_before, batch).await?;
            let took = started.elapsed();
            run.batches += 1;
            run.longest_batch = run.longest_batch.max(took);
            run.purged.tokens += pass.tokens;
            run.purged.custom_token_uses += pass.custom_token_uses;
            run.purged.rotated_refresh_tokens += pass.rotated_refresh_tokens;
            run.purged.proof_uses += pass.proof_uses;
            run.purged.status_lists += pass.status_lists;
            run.purged.events += pass.events;
            self.metrics.janitor_rows_removed.inc_by(pass.total());
            if pass.total() == 0 {
                self.metrics.janitor_runs.inc();
                return Ok(run);
            }
            match pacing {
                JanitorPacing::FlatOut => tokio::task::yield_now().await,
                JanitorPacing::Background => tokio::time::sleep((took * 4).max(JANITOR_MIN_PAUSE)).await,
            }
        }
    }
}
