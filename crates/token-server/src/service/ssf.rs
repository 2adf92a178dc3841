//! The Shared Signals transmitter (OpenID SSF 1.0, CAEP 1.0): streams of a service, and their
//! delivery from the event log.
//!
//! A stream reads its service's event log after its `read_through`. The deliverer (one task per
//! instance, [`Ssf::deliver`]) takes a lease on each stream it works on (no two instances send a
//! stream's SETs at once), turns the events the stream delivers into signed SETs and queues them
//! with the new `read_through` in one transaction, then pushes the queue in order (RFC 8935: a SET
//! leaves the queue when the receiver accepted it; a failure holds the stream's queue with an
//! exponential backoff) or leaves it for the receiver to poll (RFC 8936: a SET leaves when it is
//! acknowledged). A restart, or another instance after the lease ends, resumes from the store:
//! nothing is lost, and what is sent twice carries the same `jti`.
//!
//! Pushing is the one place the server makes requests to URLs its tenants choose, so it is
//! fenced ([`ReceiverOrigin`], [`PushResolver`]): the URL's origin must be in
//! `ssf_receiver_allowlist`, a host name is connected to at public addresses only, redirects are
//! not followed, and a slow receiver is cut off after [`PUSH_TIMEOUT`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use token_core::events::EventFilter;
use token_core::ssf::{
    self, PollRequest, PollResponse, StreamConfiguration, StreamQuery, StreamRead, StreamRequest,
    StreamState, StreamStatus, TransmitterMetadata, VerificationRequest,
};
use token_core::{OrganizationId, ServiceId, ValidationError};

use super::error::SsfError;
use super::keys::Keys;
use super::{ServiceResult, Shared};
use crate::clock::Clock;
use crate::store::{EventStore, EventStream, SsfStore, Stores, StreamRecord};

/// A receiver that has not answered a push within this is cut off (the SET is tried again later).
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the deliverer looks for new events: a revocation's SET leaves within about this.
pub const DELIVERY_TICK: Duration = Duration::from_millis(100);
/// How long a stream's lease lasts; renewed when less than half is left.
const LEASE_MS: i64 = 15_000;
/// The longest wait between two pushes of a failing stream.
const MAX_BACKOFF_MS: i64 = 60_000;
/// Events one round turns into SETs per stream, at most.
const EVENTS_PER_ROUND: u32 = 500;
/// SETs one round pushes per stream, at most.
const PUSHES_PER_ROUND: u32 = 50;
/// SETs a stream keeps queued, at most: past it the stream stops reading the event log until its
/// receiver catches up (the events wait there, for the retention period).
const MAX_QUEUED: u64 = 100_000;
/// Streams one round looks at, at most: the next round goes on after the last one, so every stream
/// with work is reached however many there are.
const STREAMS_PER_ROUND: u32 = 200;
/// Streams at work at once on an instance (each in a task of its own).
const STREAMS_AT_ONCE: usize = 64;
/// Of those, streams of one organization (one tenant) at most: receivers that answer slowly take
/// their tenant's places, not the others'.
const STREAMS_AT_ONCE_PER_ORGANIZATION: usize = 8;
/// The longest one task works on a stream: well within its lease, so that no lease runs out
/// while it pushes (the next round goes on).
const LONGEST_WORK: Duration = Duration::from_millis(LEASE_MS as u64 / 3);
/// The longest a poll with `returnImmediately: false` waits for a SET.
const LONGEST_POLL_WAIT: Duration = Duration::from_secs(5);

/// An origin of `ssf_receiver_allowlist`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverOrigin {
    scheme: String,
    host: String,
    port: u16,
    /// The entry names an address (an IP literal, or `localhost`): private and loopback addresses
    /// are allowed for it.
    names_address: bool,
}

impl ReceiverOrigin {
    /// `https://rp.example.com`, `http://127.0.0.1:9000`: scheme, host and port only.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("'{text}' is not an origin ({e})"))?;
        let well_formed = matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.path() == "/"
            && url.query().is_none()
            && url.username().is_empty()
            && !text.ends_with('/');
        if !well_formed {
            return Err(format!("'{text}' is not an origin such as https://rp.example.com"));
        }
        Self::of(&url).ok_or_else(|| format!("'{text}' has no port"))
    }

    fn of(url: &url::Url) -> Option<Self> {
        let host = url.host_str()?.to_ascii_lowercase();
        let names_address =
            matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) || host == "localhost";
        Some(Self {
            scheme: url.scheme().to_owned(),
            host,
            port: url.port_or_known_default()?,
            names_address,
        })
    }
}

/// Whether `ip` is an address a tenant's push must not reach unless the allow-list names it.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
                || v4.octets()[0] == 0
                // IETF protocol assignments, documentation, benchmarking, reserved (240/4).
                || v4.octets()[..3] == [192, 0, 0]
                || v4.octets()[..3] == [192, 0, 2]
                || v4.octets()[..3] == [198, 51, 100]
                || v4.octets()[..3] == [203, 0, 113]
                || v4.octets()[0] == 198 && (v4.octets()[1] & 0xfe) == 18
                || v4.octets()[0] >= 240
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || (v6.segments()[0] & 0xffc0) == 0xfec0
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
                // Forms that carry an IPv4 address: IPv4-compatible (::/96), NAT64 (64:ff9b::/96),
                // 6to4 (2002::/16): internal when the address they carry is.
                || embedded_v4(v6).is_some_and(|v4| is_internal(IpAddr::V4(v4)))
                // Only global unicast (2000::/3) is public at all.
                || (v6.segments()[0] & 0xe000) != 0x2000
        }
    }
}

/// The IPv4 address an IPv6 address carries, for the forms that carry one.
fn embedded_v4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let tail = std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0, _, _] => Some(tail),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, a, b, ..] => Some(std::net::Ipv4Addr::new((a >> 8) as u8, a as u8, (b >> 8) as u8, b as u8)),
        _ => None,
    }
}

/// Resolves push hosts to public addresses only (the allow-list's address entries never reach
/// it: an IP literal is not resolved, and `localhost` is allowed by name).
#[derive(Debug, Default)]
struct PushResolver {
    /// Host names the allow-list names as addresses (`localhost`).
    named: Vec<String>,
}

impl reqwest::dns::Resolve for PushResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let named = self.named.contains(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|a| named || !is_internal(a.ip())).collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address").into();
                return Err(refused);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Delivery metrics, by stream.
#[derive(Clone, Debug)]
struct SsfMetrics {
    queued: IntGaugeVec,
    lag_seconds: IntGaugeVec,
    delivered: IntCounterVec,
    failed: IntCounterVec,
}

impl SsfMetrics {
    fn new(shared: &Shared) -> Self {
        let gauge = |name: &str, help: &str| {
            let metric = IntGaugeVec::new(Opts::new(name, help), &["stream"]).expect("a valid metric");
            shared.metrics.register(Box::new(metric.clone()));
            metric
        };
        let counter = |name: &str, help: &str| {
            let metric = IntCounterVec::new(Opts::new(name, help), &["stream"]).expect("a valid metric");
            shared.metrics.register(Box::new(metric.clone()));
            metric
        };
        Self {
            queued: gauge(
                "ssf_sets_queued",
                "SETs waiting for their receiver, per stream this instance delivers.",
            ),
            lag_seconds: gauge(
                "ssf_lag_seconds",
                "Age of the oldest SET waiting, per stream this instance delivers.",
            ),
            delivered: counter(
                "ssf_sets_delivered_total",
                "SETs a receiver accepted (push) or acknowledged (poll).",
            ),
            failed: counter(
                "ssf_push_failures_total",
                "Pushes that failed (tried again later) or were refused.",
            ),
        }
    }

    fn forget(&self, stream: &str) {
        let _ = self.queued.remove_label_values(&[stream]);
        let _ = self.lag_seconds.remove_label_values(&[stream]);
        let _ = self.delivered.remove_label_values(&[stream]);
        let _ = self.failed.remove_label_values(&[stream]);
    }
}

/// A stream being worked on, until dropped (its task ended, or panicked).
struct Busy {
    streams: Arc<Mutex<HashSet<String>>>,
    id: String,
    organizations: Arc<Mutex<HashMap<OrganizationId, usize>>>,
    organization: OrganizationId,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.streams.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
        let mut organizations = self.organizations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = organizations.get_mut(&self.organization) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                organizations.remove(&self.organization);
            }
        }
    }
}

/// The transmitter component.
#[derive(Clone, Debug)]
pub struct Ssf {
    store: Arc<dyn SsfStore>,
    events: Arc<dyn EventStore>,
    services: Arc<dyn crate::store::ServiceStore>,
    tokens: Arc<dyn crate::store::TokenStore>,
    keys: Keys,
    clock: Arc<dyn Clock>,
    metrics: SsfMetrics,
    allowlist: Arc<Vec<ReceiverOrigin>>,
    push: reqwest::Client,
    /// This instance, as a lease holder.
    owner: Arc<String>,
    /// Leases held, with their end (ms).
    leases: Arc<Mutex<HashMap<String, i64>>>,
    /// Streams being worked on now: each in a task of its own, so that a receiver that answers
    /// slowly (or not at all, until the timeout) delays its own stream only.
    busy: Arc<Mutex<HashSet<String>>>,
    /// Streams at work per organization now (a tenant's slow receivers hold at most
    /// [`STREAMS_AT_ONCE_PER_ORGANIZATION`] of the instance's places).
    busy_organizations: Arc<Mutex<HashMap<OrganizationId, usize>>>,
    /// Where the next round goes on from (stream ID order; empty: from the start).
    next_after: Arc<Mutex<String>>,
    /// Bounds the streams at work at once.
    at_work: Arc<tokio::sync::Semaphore>,
}

fn random_hex() -> String {
    crate::random::random_hex128()
}

impl Ssf {
    pub(super) fn new(stores: &Stores, shared: &Shared, keys: Keys) -> Self {
        let allowlist: Vec<ReceiverOrigin> = shared
            .config
            .ssf_receiver_allowlist
            .iter()
            .filter_map(|o| ReceiverOrigin::parse(o).ok())
            .collect();
        let named = allowlist.iter().filter(|o| o.names_address).map(|o| o.host.clone()).collect();
        let push = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would reach what the resolver fences off.
            .no_proxy()
            .timeout(PUSH_TIMEOUT)
            .connect_timeout(PUSH_TIMEOUT)
            .dns_resolver(Arc::new(PushResolver { named }))
            .user_agent(concat!("token-server/", env!("CARGO_PKG_VERSION"), " (SSF transmitter)"))
            .build()
            .expect("a TLS backend is built in");
        Self {
            store: Arc::clone(&stores.ssf),
            events: Arc::clone(&stores.events),
            services: Arc::clone(&stores.services),
            tokens: Arc::clone(&stores.tokens),
            keys,
            clock: Arc::clone(&shared.clock),
            metrics: SsfMetrics::new(shared),
            allowlist: Arc::new(allowlist),
            push,
            owner: Arc::new(random_hex()),
            leases: Arc::new(Mutex::new(HashMap::new())),
            busy: Arc::new(Mutex::new(HashSet::new())),
            busy_organizations: Arc::new(Mutex::new(HashMap::new())),
            next_after: Arc::new(Mutex::new(String::new())),
            at_work: Arc::new(tokio::sync::Semaphore::new(STREAMS_AT_ONCE)),
        }
    }

    /// The metadata of `service`'s transmitter as reached at `base`.
    pub async fn metadata(&self, service: ServiceId, base: &str) -> ServiceResult<TransmitterMetadata> {
        if self.services.service(service).await?.is_none() {
            return Err(super::error::AuthError::ServiceUnknown(service).into());
        }
        Ok(TransmitterMetadata::of(&ssf::issuer(base, service)))
    }

    fn allowed(&self, settings: &ssf::StreamSettings) -> Result<(), SsfError> {
        if !settings.is_push() {
            return Ok(());
        }
        let url = settings.delivery.endpoint_url.as_deref().unwrap_or_default();
        let origin = url::Url::parse(url).ok().and_then(|u| ReceiverOrigin::of(&u));
        match origin {
            Some(origin) if self.allowlist.contains(&origin) => Ok(()),
            _ => {
                let shown =
                    url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
                Err(SsfError::PushNotAllowed(shown))
            }
        }
    }

    async fn head(&self, service: ServiceId) -> ServiceResult<u64> {
        let filter = EventFilter { after: u64::MAX - 1, limit: 1, ..EventFilter::default() };
        Ok(self.events.read_events(EventStream::Service(service), &filter).await?.1)
    }

    /// Creates a stream of `service` as reached at `base`.
    pub async fn create(
        &self,
        service: ServiceId,
        base: &str,
        request: &StreamRequest,
    ) -> ServiceResult<StreamConfiguration> {
        let iss = ssf::issuer(base, service);
        let stream_id = random_hex();
        let settings = request.settings(None, &iss, &format!("{iss}/ssf/poll/{stream_id}"))?;
        self.allowed(&settings)?;
        let now = self.clock.now_ms();
        let record = StreamRecord {
            stream_id: stream_id.clone(),
            service_id: service,
            iss: iss.clone(),
            settings,
            state: StreamState::Enabled,
            reason: None,
            read_through: self.head(service).await?,
            created_at: now,
            updated_at: now,
            verified_at: 0,
        };
        if !self.store.create_stream(&record, ssf::MAX_STREAMS_PER_SERVICE).await? {
            return Err(SsfError::Limit(ssf::MAX_STREAMS_PER_SERVICE).into());
        }
        Ok(StreamConfiguration::of(&stream_id, &iss, &record.settings))
    }

    async fn found(&self, service: ServiceId, stream_id: Option<&str>) -> ServiceResult<StreamRecord> {
        let id = stream_id.ok_or_else(|| ValidationError::SsfInvalid {
            member: "stream_id".into(),
            reason: "is required".into(),
        })?;
        ssf::check_stream_id(id)?;
        self.store.stream(service, id).await?.ok_or_else(|| SsfError::NoStream(id.to_owned()).into())
    }

    /// One stream, or every stream of the service.
    pub async fn read(&self, service: ServiceId, query: &StreamQuery) -> ServiceResult<StreamRead> {
        if query.stream_id.is_some() {
            let stream = self.found(service, query.stream_id.as_deref()).await?;
            let one = StreamConfiguration::of(&stream.stream_id, &stream.iss, &stream.settings);
            return Ok(StreamRead::One(Box::new(one)));
        }
        let all = self.store.streams(service).await?;
        Ok(StreamRead::All(
            all.iter().map(|s| StreamConfiguration::of(&s.stream_id, &s.iss, &s.settings)).collect(),
        ))
    }

    /// Updates (`replace`: replaces) the stream the request names.
    pub async fn update(
        &self,
        service: ServiceId,
        request: &StreamRequest,
        replace: bool,
    ) -> ServiceResult<StreamConfiguration> {
        let mut stream = self.found(service, request.stream_id.as_deref()).await?;
        let poll_url = format!("{}/ssf/poll/{}", stream.iss, stream.stream_id);
        let current = (!replace).then_some(&stream.settings);
        let mut settings = request.settings(current, &stream.iss, &poll_url)?;
        if !replace && request.delivery.is_none() {
            settings.delivery = stream.settings.delivery.clone();
        }
        self.allowed(&settings)?;
        stream.settings = settings;
        stream.updated_at = self.clock.now_ms();
        if !self.store.update_stream(&stream).await? {
            return Err(SsfError::NoStream(stream.stream_id).into());
        }
        Ok(StreamConfiguration::of(&stream.stream_id, &stream.iss, &stream.settings))
    }

    pub async fn delete(&self, service: ServiceId, query: &StreamQuery) -> ServiceResult<()> {
        let stream = self.found(service, query.stream_id.as_deref()).await?;
        if !self.store.delete_stream(service, &stream.stream_id).await? {
            return Err(SsfError::NoStream(stream.stream_id).into());
        }
        self.metrics.forget(&stream.stream_id);
        Ok(())
    }

    pub async fn status(&self, service: ServiceId, query: &StreamQuery) -> ServiceResult<StreamStatus> {
        let stream = self.found(service, query.stream_id.as_deref()).await?;
        Ok(StreamStatus { stream_id: stream.stream_id, status: stream.state, reason: stream.reason })
    }

    /// Enables, pauses or disables a stream (a disabled stream's queue is dropped).
    pub async fn set_status(
        &self,
        service: ServiceId,
        request: &StreamStatus,
    ) -> ServiceResult<StreamStatus> {
        request.check()?;
        let mut stream = self.found(service, Some(&request.stream_id)).await?;
        stream.state = request.status;
        stream.reason = request.reason.clone();
        stream.updated_at = self.clock.now_ms();
        if !self.store.update_stream(&stream).await? {
            return Err(SsfError::NoStream(stream.stream_id).into());
        }
        Ok(StreamStatus { stream_id: stream.stream_id, status: stream.state, reason: stream.reason })
    }

    /// Queues a verification event on the stream (at most one per `min_verification_interval`).
    pub async fn verify(&self, service: ServiceId, request: &VerificationRequest) -> ServiceResult<()> {
        request.check()?;
        let stream = self.found(service, Some(&request.stream_id)).await?;
        let now = self.clock.now_ms();
        let jti = random_hex();
        let claims = ssf::verification_claims(
            &stream.iss,
            &stream.settings.aud,
            &jti,
            now.div_euclid(1000),
            &stream.stream_id,
            request.state.as_deref(),
        );
        let set = self.sign(service, &claims).await?;
        let interval_ms = ssf::MIN_VERIFICATION_INTERVAL_SECS as i64 * 1000;
        let not_after = now - interval_ms;
        let set = (jti, set);
        let queued =
            self.store.queue_verification(service, &stream.stream_id, &set, now, not_after, MAX_QUEUED).await;
        match queued {
            Ok(true) => {}
            Ok(false) => return Err(SsfError::VerifyTooSoon(ssf::MIN_VERIFICATION_INTERVAL_SECS).into()),
            Err(crate::store::StoreError::Conflict(_)) => return Err(SsfError::QueueFull(MAX_QUEUED).into()),
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// RFC 8936: removes what the receiver is done with, answers what waits.
    pub async fn poll(
        &self,
        service: ServiceId,
        stream_id: &str,
        request: &PollRequest,
    ) -> ServiceResult<PollResponse> {
        let max = request.check()?;
        let stream = self.found(service, Some(stream_id)).await?;
        if stream.settings.is_push() {
            return Err(SsfError::NotPolled(stream.stream_id).into());
        }
        let done = request.done();
        if !done.is_empty() {
            let removed = self.store.dequeue_sets(&stream.stream_id, &done).await?;
            self.metrics.delivered.with_label_values(&[&stream.stream_id]).inc_by(removed);
            let (size, oldest) = self.store.queue_size(&stream.stream_id).await?;
            let now = self.clock.now_ms();
            self.metrics.queued.with_label_values(&[&stream.stream_id]).set(size as i64);
            self.metrics
                .lag_seconds
                .with_label_values(&[&stream.stream_id])
                .set(oldest.map_or(0, |at| (now - at).max(0) / 1000));
        }
        if max == 0 || stream.state != StreamState::Enabled {
            return Ok(PollResponse::default());
        }
        let deadline = tokio::time::Instant::now()
            + if request.return_immediately.unwrap_or(true) { Duration::ZERO } else { LONGEST_POLL_WAIT };
        loop {
            let queued = self.store.queued_sets(&stream.stream_id, max + 1).await?;
            if !queued.is_empty() || tokio::time::Instant::now() >= deadline {
                let more_available = queued.len() > max as usize;
                let sets: BTreeMap<String, String> =
                    queued.into_iter().take(max as usize).map(|q| (q.jti, q.set)).collect();
                return Ok(PollResponse { sets, more_available });
            }
            tokio::time::sleep(DELIVERY_TICK).await;
        }
    }

    async fn sign(&self, service: ServiceId, claims: &serde_json::Value) -> ServiceResult<String> {
        let key = self.keys.signing_key(service).await?;
        Ok(self.keys.sign(&key, ssf::SET_TYP, claims)?)
    }

    /// The deliverer: until the process ends, every [`DELIVERY_TICK`], each stream this instance
    /// holds (or can take) the lease of is read forward and, for push, delivered — each stream in
    /// a task of its own, one at a time per stream, so that one receiver's slowness is its own.
    pub async fn deliver(self) {
        loop {
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "shared signals delivery round failed; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            tokio::time::sleep(DELIVERY_TICK).await;
        }
    }

    async fn round(&self) -> ServiceResult<()> {
        let now = self.clock.now_ms();
        let after = self.next_after.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let streams = self.store.deliverable_streams(&self.owner, now, &after, STREAMS_PER_ROUND).await?;
        // The next round goes on after these, or starts over when these were the last.
        *self.next_after.lock().unwrap_or_else(|e| e.into_inner()) = match streams.last() {
            Some(last) if streams.len() as u32 == STREAMS_PER_ROUND => last.stream_id.clone(),
            _ => String::new(),
        };
        let mut given: Option<String> = None;
        for stream in streams {
            if self.busy.lock().unwrap_or_else(|e| e.into_inner()).contains(&stream.stream_id) {
                continue;
            }
            // The tenant's share first: a tenant at its share waits, the others go on.
            let Some(service) = self.services.service(stream.service_id).await? else { continue };
            let organization = service.organization_id;
            let at_work =
                self.busy_organizations.lock().unwrap_or_else(|e| e.into_inner()).get(&organization).copied();
            if at_work.unwrap_or(0) >= STREAMS_AT_ONCE_PER_ORGANIZATION {
                continue;
            }
            let Ok(permit) = Arc::clone(&self.at_work).try_acquire_owned() else {
                // As many at work as may be: the next round goes on after the last stream given
                // a place (not from the start, which would favour the lowest IDs).
                *self.next_after.lock().unwrap_or_else(|e| e.into_inner()) = given.unwrap_or(after);
                break;
            };
            if !self.hold(&stream.stream_id, now).await? {
                continue;
            }
            self.busy.lock().unwrap_or_else(|e| e.into_inner()).insert(stream.stream_id.clone());
            *self
                .busy_organizations
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(organization)
                .or_default() += 1;
            given = Some(stream.stream_id.clone());
            let busy = Busy {
                streams: Arc::clone(&self.busy),
                id: stream.stream_id.clone(),
                organizations: Arc::clone(&self.busy_organizations),
                organization,
            };
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.pump(&stream).await {
                    tracing::warn!(stream = %stream.stream_id, error = %e, "shared signals stream not delivered this round");
                }
                drop((busy, permit));
            });
        }
        Ok(())
    }

    /// Takes or keeps the stream's lease.
    async fn hold(&self, stream_id: &str, now: i64) -> ServiceResult<bool> {
        let until = self.leases.lock().unwrap_or_else(|e| e.into_inner()).get(stream_id).copied();
        if until.is_some_and(|until| until - now > LEASE_MS / 2) {
            return Ok(true);
        }
        let held = self.store.take_lease(stream_id, &self.owner, now, now + LEASE_MS).await?;
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        if held {
            leases.insert(stream_id.to_owned(), now + LEASE_MS);
        } else {
            leases.remove(stream_id);
        }
        Ok(held)
    }

    async fn pump(&self, stream: &StreamRecord) -> ServiceResult<()> {
        let now = self.clock.now_ms();
        let (size, oldest) = self.store.queue_size(&stream.stream_id).await?;
        if size < MAX_QUEUED {
            let filter =
                EventFilter { after: stream.read_through, limit: EVENTS_PER_ROUND, ..EventFilter::default() };
            let (events, head) =
                self.events.read_events(EventStream::Service(stream.service_id), &filter).await?;
            let next = filter.next(&events, head);
            if next != stream.read_through {
                let mut sets = Vec::new();
                if stream.state != StreamState::Disabled {
                    for event in &events {
                        let claims = self.claims_now(stream, event).await?;
                        if let Some(content) = ssf::set_content(&stream.settings, event, claims) {
                            let jti = ssf::event_jti(&stream.stream_id, event.event_id);
                            let claims = ssf::set_claims(
                                &stream.iss,
                                &stream.settings.aud,
                                &jti,
                                now.div_euclid(1000),
                                &content,
                            );
                            sets.push((jti, self.sign(stream.service_id, &claims).await?));
                        }
                    }
                }
                self.store
                    .enqueue_sets(&stream.stream_id, &self.owner, stream.read_through, next, &sets, now)
                    .await?;
            }
        }
        let _ = (size, oldest);
        if stream.state == StreamState::Enabled && stream.settings.is_push() {
            self.push_queue(stream).await?;
        }
        // What waits now (after this round's queueing and pushing): a stream with no more work
        // is not looked at again until it has some, so its gauges say where it was left.
        let (size, oldest) = self.store.queue_size(&stream.stream_id).await?;
        let label = [stream.stream_id.as_str()];
        self.metrics.queued.with_label_values(&label).set(size as i64);
        let now = self.clock.now_ms();
        self.metrics
            .lag_seconds
            .with_label_values(&label)
            .set(oldest.map_or(0, |at| (now - at).max(0) / 1000));
        Ok(())
    }

    /// For a token update the stream delivers `token-claims-change` for: the claims the update can
    /// change, as the token holds them now (`scope`, `exp`, the properties it shows); `None` for
    /// any other event, or a token gone since.
    async fn claims_now(
        &self,
        stream: &StreamRecord,
        event: &token_core::events::Event,
    ) -> ServiceResult<Option<serde_json::Value>> {
        let wanted = event.event_type == token_core::events::EventType::TokenUpdated
            && stream.settings.delivers(ssf::EVENT_TOKEN_CLAIMS_CHANGE);
        let Some(token_id) = event.token_id.as_deref().filter(|_| wanted) else { return Ok(None) };
        let Some(token) = self.tokens.token_by_id(stream.service_id, token_id).await? else {
            return Ok(None);
        };
        let mut claims = serde_json::json!({"scope": token.scopes.join(" ")});
        if token.access_expires_at > 0 {
            claims["exp"] = serde_json::json!(token.access_expires_at.div_euclid(1000));
        }
        for property in token.properties.iter().filter(|p| !p.hidden) {
            if claims.get(&property.key).is_none() {
                claims[&property.key] = serde_json::json!(property.value);
            }
        }
        Ok(Some(claims))
    }

    /// Pushes the stream's queue in order; stops at the first SET not accepted.
    async fn push_queue(&self, stream: &StreamRecord) -> ServiceResult<()> {
        let Some(url) = stream.settings.delivery.endpoint_url.as_deref() else { return Ok(()) };
        // The allow-list may have changed since the stream was made (a restart with another one).
        if self.allowed(&stream.settings).is_err() {
            return Ok(());
        }
        let label = [stream.stream_id.as_str()];
        let started = tokio::time::Instant::now();
        for queued in self.store.queued_sets(&stream.stream_id, PUSHES_PER_ROUND).await? {
            let now = self.clock.now_ms();
            if queued.next_attempt_at > now || started.elapsed() > LONGEST_WORK {
                return Ok(());
            }
            // Still ours, and still as it was: a stream deleted, disabled, paused or sent elsewhere
            // since this task read it is not pushed to again.
            if !self.hold(&stream.stream_id, now).await? {
                return Ok(());
            }
            match self.store.stream(stream.service_id, &stream.stream_id).await? {
                Some(current)
                    if current.state == StreamState::Enabled && current.settings == stream.settings => {}
                _ => return Ok(()),
            }
            let mut request = self
                .push
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, ssf::SET_MEDIA_TYPE)
                .header(reqwest::header::ACCEPT, "application/json")
                .body(queued.set.clone());
            if let Some(header) = &stream.settings.delivery.authorization_header {
                request = request.header(reqwest::header::AUTHORIZATION, header.secret());
            }
            let outcome = request.send().await;
            let status = outcome.as_ref().map(|r| r.status().as_u16());
            match status {
                Ok(200..=299) => {
                    let removed =
                        self.store.dequeue_sets(&stream.stream_id, std::slice::from_ref(&queued.jti)).await?;
                    self.metrics.delivered.with_label_values(&label).inc();
                    if removed == 0 {
                        // Gone meanwhile (the stream deleted or disabled): nothing more to push.
                        return Ok(());
                    }
                }
                // RFC 8935 §2.3: the receiver read the SET and refuses it; sending it again
                // would be refused again.
                Ok(400..=499) if !matches!(status, Ok(408 | 429)) => {
                    tracing::warn!(stream = %stream.stream_id, status = ?status, "a receiver refused a SET; dropped");
                    self.store.dequeue_sets(&stream.stream_id, std::slice::from_ref(&queued.jti)).await?;
                    self.metrics.failed.with_label_values(&label).inc();
                }
                _ => {
                    let backoff = (500i64 << queued.attempts.clamp(0, 10)).min(MAX_BACKOFF_MS);
                    self.store.retry_set_later(&stream.stream_id, queued.seq, now + backoff).await?;
                    self.metrics.failed.with_label_values(&label).inc();
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_entries_are_origins_and_name_addresses_only_as_literals() {
        let local = ReceiverOrigin::parse("http://127.0.0.1:9000").unwrap();
        assert!(local.names_address);
        assert!(ReceiverOrigin::parse("http://localhost:9000").unwrap().names_address);
        let public = ReceiverOrigin::parse("https://rp.example.com").unwrap();
        assert!(!public.names_address);
        assert_eq!(public.port, 443);
        for bad in [
            "https://rp.example.com/",
            "https://rp.example.com/path",
            "ftp://x",
            "rp.example.com",
            "https://u@rp.example.com",
        ] {
            assert!(ReceiverOrigin::parse(bad).is_err(), "{bad}");
        }
    }

    /// A host name that resolves to an internal address is not connected to, unless the
    /// allow-list names it (`localhost` resolves to loopback on every machine the tests run on).
    #[tokio::test]
    async fn the_push_resolver_answers_public_addresses_only() {
        use reqwest::dns::Resolve;
        let name = |host: &str| host.parse::<reqwest::dns::Name>().unwrap();
        let fenced = PushResolver::default();
        assert!(fenced.resolve(name("localhost")).await.is_err(), "loopback refused");
        let named = PushResolver { named: vec!["localhost".into()] };
        let found: Vec<SocketAddr> = named.resolve(name("localhost")).await.unwrap().collect();
        assert!(!found.is_empty() && found.iter().all(|a| a.ip().is_loopback()), "{found:?}");
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "fec0::1",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.2.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
