//! The domain operations, async and free of HTTP: what the token service *does*. Route handlers
//! (`http::routes`) decode a request, call one operation of one component of the [`App`], and
//! render its answer; the CLI does the same.
//!
//! The [`App`] holds components, each holding only the storage concerns it uses (as fosite's
//! handlers hold only the storages they need):
//!
//! - `authentication` — credential → caller acting on one service (tenant isolation); the
//!   service a public endpoint names.
//! - `issuance` — the only place a token record is built and its JWT signed: token create
//!   (`issuance/token_create.rs`), the custom-token family (`issuance/custom_token.rs`: generate,
//!   verify, exchange), refresh (`issuance/refresh.rs`), the pipeline (`issuance/pipeline.rs`) and
//!   the RFC 9068 claims (`issuance/jwt.rs`).
//! - `introspection` — the family's decision ladder and RFC 7662.
//! - `token_manage` — list, update, delete and revoke (`token_manage/revocation.rs`: RFC 7009);
//!   the revocations other components ask for (a client's deletion, a user's grants, a key's
//!   revocation) go through it.
//! - `tenancy` — provisioning of organizations, services, clients, credentials and signing keys,
//!   the first start, and the Authlete-shaped objects (`tenancy/authlete.rs`); one error
//!   convention (`TenancyError`).
//! - `maintenance` — readiness, the janitor, finishing upgrades.
//! - `keys` (the only holder of the key store: generation, signing with each key parsed once,
//!   publication; used by issuance, tenancy and the status lists) and `status_list` (Token Status
//!   Lists: an entry per JWT access token for issuance, each list served signed).
//!
//! And what they share: `dpop` (RFC 9449 proofs, single use through the store), `value_format`
//! (the format new token values are made in), `limiter` (the
//! custom-token parallel limit), `metrics`, `error` (`ServiceError`). Every random value comes
//! from the crate's `random` module.

pub mod authentication;
pub mod dpop;
pub mod error;
pub mod events;
pub mod introspection;
pub mod issuance;
pub mod keys;
pub mod limiter;
pub mod maintenance;
pub mod metrics;
pub mod ssf;
pub mod status_list;
pub mod tenancy;
pub mod token_manage;
pub mod value_format;

use std::sync::Arc;

pub use error::{ErrorInfo, ServiceError};

/// The audit of a change `actor` makes to `service` at `now_ms`: the store writes its event from
/// it, keeping issuance events only when the service does (`extension.issuanceEvents`).
pub fn audit(
    actor: &crate::store::Actor,
    service: &crate::store::ServiceRecord,
    now_ms: i64,
) -> crate::store::Audit {
    crate::store::Audit::new(actor.clone(), now_ms).issuance(service.issuance_events)
}

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::{Stores, cached};
use authentication::Authentication;
use dpop::ProofVerifier;
use events::Events;
use introspection::Introspection;
use issuance::Issuance;
use keys::Keys;
use limiter::GenerationLimiter;
use maintenance::Maintenance;
use metrics::Metrics;
use ssf::Ssf;
use status_list::StatusLists;
use tenancy::Tenancy;
use token_manage::TokenManage;
use value_format::ValueFormats;

pub type ServiceResult<T> = Result<T, ServiceError>;

/// What the components are built with besides their storage handles; each keeps the parts it uses.
#[derive(Debug)]
struct Shared {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

/// The token service as the HTTP layer and the CLI hold it: its components, and what they truly
/// share (the configuration, the clock, the metrics and the generation limiter). Cheap to clone:
/// one `Arc` (an `App` is cloned for every request, by axum's state and the middleware, on every
/// core, so each count it holds is a contended atomic). Its parts are its own: the HTTP layer and
/// the CLI reach the domain only through the components' methods.
#[derive(Clone, Debug)]
pub struct App {
    inner: Arc<Components>,
}

#[derive(Debug)]
struct Components {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    /// What `GET /metrics` exports.
    metrics: Arc<Metrics>,
    /// Custom-token generations in flight per credential.
    limiter: Arc<GenerationLimiter>,
    authentication: Authentication,
    issuance: Issuance,
    introspection: Introspection,
    token_manage: TokenManage,
    tenancy: Tenancy,
    maintenance: Maintenance,
    events: Events,
    ssf: Ssf,
    keys: Keys,
    status_lists: StatusLists,
    proofs: ProofVerifier,
    /// Every concern, for tests that check what was written (`test-support` only).
    #[cfg(feature = "test-support")]
    stores: Stores,
}

impl App {
    pub fn new(stores: Stores, config: Config) -> Self {
        Self::with_clock(stores, config, Arc::new(SystemClock))
    }

    /// The components over `stores`, each given only the concerns it uses.
    pub fn with_clock(stores: Stores, config: Config, clock: Arc<dyn Clock>) -> Self {
        // What authentication reads is reused for at most `tenancy_cache_ms` (store/cached.rs).
        let stores = match config.tenancy_cache_ms {
            0 => stores,
            ms => cached::cache(stores, std::time::Duration::from_millis(ms)),
        };
        let config = Arc::new(config);
        let limiter = Arc::new(GenerationLimiter::new(config.custom_token_parallel_limit));
        let metrics = Arc::new(Metrics::new());
        if let Some(store_metrics) = stores.maintenance.metrics() {
            store_metrics.register_with(|metric| metrics.register(metric));
        }
        let shared =
            Shared { config: Arc::clone(&config), clock: Arc::clone(&clock), metrics: Arc::clone(&metrics) };
        let values = ValueFormats::new(&stores, &shared);
        let authentication = Authentication::new(&stores, &shared);
        let keys = Keys::new(&stores, &shared);
        let status_lists = StatusLists::new(&stores, &shared, authentication.clone(), keys.clone());
        let proofs = ProofVerifier::new(&stores, &shared);
        let issuance = Issuance::new(
            &stores,
            &shared,
            Arc::clone(&limiter),
            keys.clone(),
            status_lists.clone(),
            proofs.clone(),
            values.clone(),
        );
        let introspection = Introspection::new(&stores, &shared, proofs.clone());
        let token_manage = TokenManage::new(&stores, &shared, values.clone());
        let tenancy = Tenancy::new(&stores, &shared, keys.clone(), token_manage.clone());
        let maintenance = Maintenance::new(&stores, &shared, values);
        let events = Events::new(&stores, &shared);
        let ssf = Ssf::new(&stores, &shared, keys.clone());
        let components = Components {
            config,
            clock,
            metrics,
            limiter,
            authentication,
            issuance,
            introspection,
            token_manage,
            tenancy,
            maintenance,
            events,
            ssf,
            keys,
            status_lists,
            proofs,
            #[cfg(feature = "test-support")]
            stores,
        };
        Self { inner: Arc::new(components) }
    }

    /// Credentials → callers; the services public endpoints name.
    pub fn authentication(&self) -> &Authentication {
        &self.inner.authentication
    }

    /// Token create, the custom-token family, refresh and the pipeline.
    pub fn issuance(&self) -> &Issuance {
        &self.inner.issuance
    }

    /// The family's introspection and RFC 7662.
    pub fn introspection(&self) -> &Introspection {
        &self.inner.introspection
    }

    /// List, update, delete and revoke; RFC 7009.
    pub fn token_manage(&self) -> &TokenManage {
        &self.inner.token_manage
    }

    /// Organizations, services, clients, credentials and signing keys.
    pub fn tenancy(&self) -> &Tenancy {
        &self.inner.tenancy
    }

    /// Readiness, the janitor, upgrades.
    pub fn maintenance(&self) -> &Maintenance {
        &self.inner.maintenance
    }

    /// The event log's readers.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// The services' published JWK Sets.
    /// The Shared Signals transmitter.
    pub fn ssf(&self) -> &Ssf {
        &self.inner.ssf
    }

    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The services' Token Status Lists.
    pub fn status_lists(&self) -> &StatusLists {
        &self.inner.status_lists
    }

    /// DPoP proof checks, each proof's single use recorded in the store (refresh and introspection
    /// check them through it too).
    pub fn proofs(&self) -> &ProofVerifier {
        &self.inner.proofs
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Arc<Config> {
        &self.inner.config
    }

    /// The server's metrics (the connection loop counts into them too).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The Prometheus text of every metric, with the gauges read at this moment.
    pub fn render_metrics(&self) -> String {
        self.inner.metrics.generations_in_flight.set(self.inner.limiter.in_flight_total() as i64);
        self.inner.metrics.render()
    }

    /// The store behind this `App` (its tenancy cache included), for tests that check what was
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
}
