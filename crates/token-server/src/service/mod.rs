//! The domain operations, async and free of HTTP: what the token service *does*. Route handlers
//! (`http::routes`) decode a request, call one operation here, and render its answer.
//!
//! - `authenticate` — credential → caller acting on one service (tenant isolation).
//! - `issue` — the only place a token record is built and its JWT signed (create, exchange and
//!   refresh all go through it).
//! - `introspect`, `manage`, `revocation` — the token-management family.
//! - `custom_token`, `refresh`, `pipeline` — the custom-token family.
//! - `keys` (generation, signing, publication), `tenancy` (provisioning).

pub mod authenticate;
pub mod authlete;
pub mod custom_token;
pub mod dpop;
pub mod error;
pub mod introspect;
pub mod issue;
pub mod jwt;
pub mod keys;
pub mod limiter;
pub mod manage;
pub mod metrics;
pub mod pipeline;
pub mod random;
pub mod refresh;
pub mod revocation;
pub mod status_list;
pub mod tenancy;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use error::{ErrorInfo, ServiceError};
use token_core::ServiceId;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::{SigningKeyRecord, StoreError, Stores, cached};
use limiter::GenerationLimiter;

pub type ServiceResult<T> = Result<T, ServiceError>;

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
    pub purged: crate::store::Purged,
    pub batches: u64,
    /// The longest batch: the longest that requests waited for the writer because of the janitor.
    pub longest_batch: std::time::Duration,
}

/// A credential's last-used time is written at most this often (milliseconds).
const CREDENTIAL_USE_RESOLUTION_MS: i64 = 60_000;

/// What every operation needs: the store, the configuration, the clock and the per-credential
/// generation limiter. Cheap to clone: one `Arc` (a `Services` is cloned for every request, by
/// axum's state and the middleware, on every core, so each count it holds is a contended atomic).
/// Its parts are its own: the HTTP layer and the CLI reach the domain only through its methods.
#[derive(Clone, Debug)]
pub struct Services {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stores: Stores,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    /// Custom-token generations in flight per credential.
    limiter: GenerationLimiter,
    /// When each credential's last use was written, to write it at most once a minute.
    credential_uses: Mutex<HashMap<i64, i64>>,
    /// What `GET /metrics` exports.
    metrics: Arc<metrics::Metrics>,
    /// Whether new values carry their selector, as last read from the store.
    value_format: ValueFormatState,
    /// Token Status List indexes reserved by this instance, and lists rendered.
    status_lists: status_list::StatusLists,
    /// Key generations in flight, recent rotations, JWK Sets rendered.
    keys: keys::KeyState,
    /// Where listing pages ended, so that the next page is read by key.
    listing_bookmarks: manage::ListingBookmarks,
}

/// How often an instance that issues hashed values asks the store whether the selector format's
/// upgrade was finished (`token-server migrate --finish` on another host): an instance started
/// before it follows within this time.
const VALUE_FORMAT_RECHECK_MS: i64 = 10_000;

/// The value format as last read: once the selector format is on it stays on (an upgrade is never
/// undone), so only an instance still issuing hashed values reads it again.
#[derive(Debug)]
struct ValueFormatState {
    selector: std::sync::atomic::AtomicBool,
    /// When it was read (ms; `i64::MIN`: never).
    checked_at: std::sync::atomic::AtomicI64,
}

impl Services {
    pub fn new(stores: Stores, config: Config) -> Self {
        Self::with_clock(stores, config, Arc::new(SystemClock))
    }

    pub fn with_clock(stores: Stores, config: Config, clock: Arc<dyn Clock>) -> Self {
        // What authentication reads is reused for at most `tenancy_cache_ms` (store/cached.rs).
        let stores = match config.tenancy_cache_ms {
            0 => stores,
            ms => cached::cache(stores, std::time::Duration::from_millis(ms)),
        };
        let limiter = GenerationLimiter::new(config.custom_token_parallel_limit);
        let metrics = Arc::new(metrics::Metrics::new());
        if let Some(store_metrics) = stores.maintenance.metrics() {
            store_metrics.register_with(|metric| metrics.register(metric));
        }
        let inner = Inner {
            stores,
            config: Arc::new(config),
            clock,
            limiter,
            credential_uses: Default::default(),
            metrics,
            value_format: ValueFormatState { selector: false.into(), checked_at: i64::MIN.into() },
            status_lists: Default::default(),
            keys: Default::default(),
            listing_bookmarks: Default::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The format new token values are made in: with their token's ID once the store says every
    /// instance understands it (read again at most every ten seconds until then).
    pub async fn value_format(&self) -> ServiceResult<random::ValueFormat> {
        use std::sync::atomic::Ordering::Relaxed;
        let state = &self.inner.value_format;
        if !state.selector.load(Relaxed) {
            let now = self.now_ms();
            let checked_at = state.checked_at.load(Relaxed);
            if checked_at == i64::MIN || now.saturating_sub(checked_at) >= VALUE_FORMAT_RECHECK_MS {
                state.checked_at.store(now, Relaxed);
                if self.inner.stores.maintenance.selector_values().await? {
                    state.selector.store(true, Relaxed);
                }
            }
        }
        Ok(if state.selector.load(Relaxed) {
            random::ValueFormat::Selector
        } else {
            random::ValueFormat::Hashed
        })
    }

    /// Finishes the upgrades waiting for every instance to run this version (`migrate --finish`).
    pub async fn finish_upgrades(&self) -> ServiceResult<bool> {
        let finished = self.inner.stores.maintenance.finish_upgrades(self.now_ms()).await?;
        self.inner.value_format.checked_at.store(i64::MIN, std::sync::atomic::Ordering::Relaxed);
        Ok(finished)
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Arc<Config> {
        &self.inner.config
    }

    /// The server's metrics (the connection loop counts into them too).
    pub fn metrics(&self) -> &Arc<metrics::Metrics> {
        &self.inner.metrics
    }

    /// The Prometheus text of every metric, with the gauges read at this moment.
    pub fn render_metrics(&self) -> String {
        self.inner.metrics.generations_in_flight.set(self.inner.limiter.in_flight_total() as i64);
        self.inner.metrics.render()
    }

    /// A custom-token generation slot of `credential` (at most `custom_token_parallel_limit` at
    /// once), held until the permit is dropped; `TooMany` (429) when they are all taken.
    pub fn reserve_generation(&self, credential: &str) -> ServiceResult<tokio::sync::OwnedSemaphorePermit> {
        self.inner.limiter.try_acquire(credential).ok_or_else(|| ServiceError::TooMany {
            message: format!(
                "At most {} custom tokens may be generated in parallel per credential; retry shortly.",
                self.inner.limiter.limit()
            ),
            retry_after_secs: 1,
        })
    }

    /// The service `id`, if it exists.
    pub async fn service(&self, id: ServiceId) -> ServiceResult<Option<crate::store::ServiceRecord>> {
        Ok(self.inner.stores.services.service(id).await?)
    }

    /// The store behind this `Services` (its tenancy cache included), for tests that check what was
    /// written. Not part of the API: built with the `test-support` feature only.
    #[cfg(feature = "test-support")]
    pub fn store(&self) -> &Stores {
        &self.inner.stores
    }

    /// The generation limiter, for tests that watch slots. Built with `test-support` only.
    #[cfg(feature = "test-support")]
    pub fn limiter(&self) -> &GenerationLimiter {
        &self.inner.limiter
    }

    /// One janitor run: removes, batch by batch, what ended more than `retention_ms` ago (see
    /// `MaintenanceStore::purge_expired`). Safe on several instances at once: every batch is idempotent.
    pub async fn run_janitor(
        &self,
        retention_ms: i64,
        batch: u32,
        pacing: JanitorPacing,
    ) -> ServiceResult<JanitorRun> {
        let before = self.now_ms().saturating_sub(retention_ms);
        let mut run = JanitorRun::default();
        loop {
            let started = std::time::Instant::now();
            let pass = self.inner.stores.maintenance.purge_expired(before, batch).await?;
            let took = started.elapsed();
            run.batches += 1;
            run.longest_batch = run.longest_batch.max(took);
            run.purged.tokens += pass.tokens;
            run.purged.custom_token_uses += pass.custom_token_uses;
            run.purged.rotated_refresh_tokens += pass.rotated_refresh_tokens;
            run.purged.proof_uses += pass.proof_uses;
            run.purged.status_lists += pass.status_lists;
            self.inner.metrics.janitor_rows_removed.inc_by(pass.total());
            if pass.total() == 0 {
                self.inner.metrics.janitor_runs.inc();
                return Ok(run);
            }
            match pacing {
                JanitorPacing::FlatOut => tokio::task::yield_now().await,
                JanitorPacing::Background => tokio::time::sleep((took * 4).max(JANITOR_MIN_PAUSE)).await,
            }
        }
    }

    /// Ready to serve: the store answers.
    pub async fn ready(&self) -> ServiceResult<()> {
        Ok(self.inner.stores.maintenance.ping().await?)
    }

    /// Whether to sign and store again after the store refused a token with `error`: true, once
    /// (`first_try`), when the key it was signed with was revoked meanwhile — by another instance
    /// or the CLI, while this process still held the key — after forgetting the key, so that the
    /// next attempt signs with the one that replaced it. No token signed by a revoked key is ever
    /// stored; issuers see a revocation elsewhere at once instead of a cache lifetime later.
    pub(super) fn sign_again(&self, service: ServiceId, error: &StoreError, first_try: bool) -> bool {
        if first_try && matches!(error, StoreError::KeyRevoked) {
            self.inner.stores.keys.forget_current_key(service);
            return true;
        }
        false
    }

    /// The service's current signing key.
    pub async fn signing_key(&self, service: ServiceId) -> ServiceResult<SigningKeyRecord> {
        self.inner
            .stores
            .keys
            .current_signing_key(service)
            .await?
            .ok_or_else(|| ServiceError::Internal(format!("service {service} has no signing key")))
    }

    /// Records that credential `id` was used at `now_ms`: written in the background, at most once
    /// a minute per credential, so authentication adds no write to a request.
    pub fn note_credential_use(&self, id: i64, now_ms: i64) {
        {
            let mut uses = self.inner.credential_uses.lock().unwrap_or_else(|p| p.into_inner());
            match uses.get(&id) {
                Some(last) if now_ms - last < CREDENTIAL_USE_RESOLUTION_MS => return,
                _ => {
                    uses.insert(id, now_ms);
                }
            }
        }
        let credentials = Arc::clone(&self.inner.stores.credentials);
        tokio::spawn(async move {
            if let Err(e) = credentials.touch_credential(id, now_ms).await {
                tracing::warn!(error = %e, credential = id, "could not record the credential's last use");
            }
        });
    }
}
