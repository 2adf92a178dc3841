//! Token Status Lists (IETF draft-ietf-oauth-status-list-17) for JWT access tokens: each JWT of a
//! service that keeps lists gets an index (reserved from the store in blocks, so instances never
//! share one; gaps are allowed), its `status` claim names it, and a public endpoint serves each
//! list as a signed Status List Token. The bits themselves are the store's: the database sets a
//! token's bit in the transaction that ends it (store/*/migrations, `status_bits`).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;
use token_core::ServiceId;
use token_core::status_list::{self, StatusClaim, StatusListClaim, StatusListReference};

use super::authentication::Authentication;
use super::error::{ManageError, RequestError};
use super::keys::Keys;
use super::metrics::Metrics;
use super::{ServiceError, ServiceResult, Shared};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::{ServiceRecord, StatusEntry, StatusListStore, Stores};

/// Indexes reserved from the store at a time, per service and instance: a refill holds issuing of
/// that instance for one store write, so it is rare (a list has 2^20; a restart leaves at most
/// this many as a gap).
const RESERVE_BLOCK: i64 = 4096;
/// How long a Status List Token stays valid (`exp - iat`): verifiers refetch after `ttl` anyway.
const LIST_TOKEN_LIFETIME_SECS: i64 = 86_400;

/// The status lists component: indexes for new JWT access tokens (issuance holds it for that) and
/// each list served as a signed token. Clones share what they keep.
#[derive(Clone, Debug)]
pub struct StatusLists {
    store: Arc<dyn StatusListStore>,
    /// The list endpoint is public: its service is named as every public endpoint's is.
    authentication: Authentication,
    /// Lists are signed with their service's current key.
    keys: Keys,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    state: Arc<ListState>,
}

/// What an instance keeps: the indexes it reserved and not yet handed out, and rendered lists.
#[derive(Debug)]
struct ListState {
    /// Per service: `(list, next index, end)`.
    blocks: tokio::sync::Mutex<HashMap<ServiceId, (i64, i64, i64)>>,
    /// Per list: its last rendering and the lock one refresh at a time holds.
    slots: Mutex<HashMap<(ServiceId, i64), Arc<ListSlot>>>,
    /// Renders running at once, over every list: a client asking for many large lists gets them
    /// one after another instead of every core (serving a rendered list needs none).
    renders: tokio::sync::Semaphore,
}

impl Default for ListState {
    fn default() -> Self {
        Self {
            blocks: Default::default(),
            slots: Default::default(),
            renders: tokio::sync::Semaphore::new(MAX_RENDERS),
        }
    }
}

/// Lists rendered at once by one instance.
const MAX_RENDERS: usize = 2;
/// Lists an instance keeps rendered (a list of 2^20 entries compresses to at most ~130 KB).
const MAX_SLOTS: usize = 10_000;

/// One list as this instance serves it.
#[derive(Debug, Default)]
struct ListSlot {
    rendered: Mutex<Option<Rendered>>,
    /// Held by the one request that checks the store and, when the bits changed, renders; the
    /// others are served `rendered` meanwhile (or wait for it when there is none yet).
    refresh: Arc<tokio::sync::Mutex<()>>,
}

/// A rendered list: the signed token and what it was made of.
#[derive(Clone, Debug)]
struct Rendered {
    token: StatusListToken,
    /// The compressed bits (`lst`), reused when only the key, the `ttl` or the age changed.
    lst: Arc<str>,
    /// The list's version the bits are of (`StatusListStore::status_list_version`).
    version: i64,
    kid: String,
    signed_at_ms: i64,
    /// When the store was last asked whether the bits changed.
    checked: Instant,
}

/// A Status List Token as served: the JWT, its `ETag` (of that JWT) and its `ttl`.
#[derive(Clone, Debug)]
pub struct StatusListToken {
    pub jwt: String,
    pub etag: String,
    pub ttl_secs: i64,
}

impl ListState {
    fn slot(&self, key: (ServiceId, i64)) -> Arc<ListSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: lists of services that are gone or retired do not pile up.
        if slots.len() >= MAX_SLOTS && !slots.contains_key(&key) {
            slots.clear();
        }
        Arc::clone(slots.entry(key).or_default())
    }

    fn forget(&self, key: (ServiceId, i64)) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
    }
}

/// The URI of list `list` of `service` under `base` (`public_base_url`).
fn list_uri(base: &str, service: ServiceId, list: i64) -> String {
    format!(
        "{}{}",
        base.trim_end_matches('/'),
        <status_list::Get as token_core::api::Endpoint>::METADATA
            .path_for(service)
            .replace("{listId}", &list.to_string())
    )
}

impl StatusLists {
    pub(super) fn new(stores: &Stores, shared: &Shared, authentication: Authentication, keys: Keys) -> Self {
        Self {
            store: Arc::clone(&stores.status_lists),
            authentication,
            keys,
            config: Arc::clone(&shared.config),
            clock: Arc::clone(&shared.clock),
            metrics: Arc::clone(&shared.metrics),
            state: Default::default(),
        }
    }

    /// A new JWT's entry in `service`'s lists, when it keeps them (`None` otherwise).
    pub(super) async fn entry(&self, service: &ServiceRecord) -> ServiceResult<Option<StatusEntry>> {
        // Without a public base URL there is no URI to put in the claim: no entry either.
        if service.status_list_ttl.is_none() || self.config.public_base_url.is_none() {
            return Ok(None);
        }
        // Held across a refill, so concurrent issuers wait for one reservation instead of each
        // reserving a block and leaving all but one as gaps.
        let mut blocks = self.state.blocks.lock().await;
        let block = match blocks.get_mut(&service.id) {
            Some(block) if block.1 < block.2 => block,
            _ => {
                let (list, first, count) = self
                    .store
                    .reserve_status_indexes(
                        service.id,
                        RESERVE_BLOCK,
                        status_list::LIST_SIZE,
                        self.clock.now_ms(),
                    )
                    .await?;
                blocks.entry(service.id).insert_entry((list, first, first + count)).into_mut()
            }
        };
        let (list, next, _) = block;
        *next += 1;
        Ok(Some(StatusEntry { list: *list, idx: *next - 1 }))
    }

    /// The `status` claim for `entry` (`public_base_url` is required while lists are on).
    pub(super) fn claim(&self, service: ServiceId, entry: StatusEntry) -> Option<StatusClaim> {
        let base = self.config.public_base_url.as_deref()?;
        Some(StatusClaim {
            status_list: StatusListReference {
                idx: entry.idx as u64,
                uri: list_uri(base, service, entry.list),
            },
        })
    }

    /// `GET /api/{serviceId}/statuslists/{listId}`: the list as a Status List Token signed by the
    /// service's current key. Each list is kept rendered: the store is asked whether its bits
    /// changed at most once per `status_list_refresh_ms`, by one request at a time, and the list
    /// is rendered again (off the async workers) only when they did, when the current key or the
    /// `ttl` changed, or when the signature is older than the `ttl`. Other requests are served the
    /// last rendering meanwhile, so a large list costs its readers nothing but a copy.
    pub async fn token(&self, raw_service: &str, raw_list: &str) -> ServiceResult<StatusListToken> {
        let service = self.authentication.public_service(raw_service).await?;
        // Canonical decimal only (no sign, no leading zero): one list, one URL, one cache entry.
        let list: i64 =
            raw_list.parse().ok().filter(|l: &i64| *l > 0 && l.to_string() == raw_list).ok_or_else(|| {
                RequestError::Path(format!(
                    "'{}' is not a status list ID",
                    raw_list.chars().take(32).collect::<String>()
                ))
            })?;
        let Some(base) = self.config.public_base_url.clone() else {
            return Err(ManageError::StatusListUnknown(list).into());
        };
        // Lists switched off for the service: the lists JWTs already name are still served (a
        // verifier must still learn of a revocation) until the janitor retires them, with the
        // default `ttl`; no new JWT gets an entry.
        let ttl_secs = service.status_list_ttl.unwrap_or(status_list::DEFAULT_TTL_SECS);
        let interval = Duration::from_millis(self.config.status_list_refresh_ms);
        let key = (service.id, list);
        let slot = self.state.slot(key);
        loop {
            let current = slot.rendered.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let usable = current.filter(|r| r.token.ttl_secs == ttl_secs);
            if let Some(rendered) = &usable
                && rendered.checked.elapsed() < interval
            {
                return Ok(rendered.token.clone());
            }
            match Arc::clone(&slot.refresh).try_lock_owned() {
                Ok(guard) => {
                    // Spawned: a client that goes away does not waste a render others wait for.
                    let (this, slot) = (self.clone(), Arc::clone(&slot));
                    let refresh = tokio::spawn(async move {
                        let _one_at_a_time = guard;
                        let refreshed = this.refresh_list(service.id, list, ttl_secs, &base, &slot).await;
                        if refreshed.is_err() {
                            this.state.forget(key);
                        }
                        refreshed
                    });
                    return refresh
                        .await
                        .map_err(|e| ServiceError::Internal(format!("status list render: {e}")))?;
                }
                // Another request is refreshing this list: the last rendering meanwhile, or, with
                // none yet, wait for that refresh and look again.
                Err(_) => match usable {
                    Some(rendered) => return Ok(rendered.token),
                    None => drop(slot.refresh.lock().await),
                },
            }
        }
    }

    /// Asks the store for the list's version and renders it again when it (or the key, the
    /// `ttl`, the signature's age) changed; the caller holds the slot's refresh lock.
    async fn refresh_list(
        &self,
        service: ServiceId,
        list: i64,
        ttl_secs: i64,
        base: &str,
        slot: &ListSlot,
    ) -> ServiceResult<StatusListToken> {
        let previous = slot.rendered.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let version = self
            .store
            .status_list_version(service, list)
            .await?
            .ok_or(ManageError::StatusListUnknown(list))?;
        let key_record = self.keys.signing_key(service).await?;
        let now_ms = self.clock.now_ms();
        let resign_after_ms = ttl_secs.clamp(1, 3600) * 1000;
        let checked = Instant::now();
        let mut rendered = match previous {
            Some(previous)
                if previous.version == version.version
                    && previous.kid == key_record.kid
                    && previous.token.ttl_secs == ttl_secs
                    && (0..resign_after_ms).contains(&(now_ms - previous.signed_at_ms)) =>
            {
                Rendered { checked, ..previous }
            }
            previous => {
                let (lst, version) = match previous.filter(|p| p.version == version.version) {
                    Some(previous) => (previous.lst, previous.version),
                    None => self.render_bits(service, list).await?,
                };
                let claims = json!({
                    "sub": list_uri(base, service, list),
                    "iat": now_ms / 1000,
                    "exp": now_ms / 1000 + LIST_TOKEN_LIFETIME_SECS,
                    "ttl": ttl_secs,
                    "status_list": StatusListClaim { bits: status_list::BITS, lst: lst.to_string() },
                });
                let kid = key_record.kid.clone();
                // RS256 takes milliseconds: not on an async worker.
                let keys = self.keys.clone();
                let jwt =
                    tokio::task::spawn_blocking(move || keys.sign(&key_record, status_list::TYP, &claims))
                        .await
                        .map_err(|e| ServiceError::Internal(format!("status list signing: {e}")))??;
                // Of the token served, not of its bits alone: a re-signed token (new `exp`, or a
                // new key) is a new representation, so a cache revalidating gets it, never a 304
                // that keeps a token about to expire.
                let etag = format!(
                    "\"{}\"",
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(sha2::Sha256::digest(jwt.as_bytes()))[..22]
                );
                let token = StatusListToken { jwt, etag, ttl_secs };
                Rendered { token, lst, version, kid, signed_at_ms: now_ms, checked }
            }
        };
        rendered.checked = checked;
        let token = rendered.token.clone();
        *slot.rendered.lock().unwrap_or_else(|p| p.into_inner()) = Some(rendered);
        Ok(token)
    }

    /// Reads the list's bits and compresses them (`lst`) off the async workers, at most
    /// [`MAX_RENDERS`] lists at once: `(lst, the version the bits are of)`.
    async fn render_bits(&self, service: ServiceId, list: i64) -> ServiceResult<(Arc<str>, i64)> {
        let _permit = self
            .state
            .renders
            .acquire()
            .await
            .map_err(|e| ServiceError::Internal(format!("status list render: {e}")))?;
        let stored =
            self.store.status_list(service, list).await?.ok_or(ManageError::StatusListUnknown(list))?;
        let version = stored.version;
        self.metrics.status_list_renders.inc();
        let lst = tokio::task::spawn_blocking(move || {
            let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            zlib.write_all(&stored.bits).and_then(|()| zlib.flush())?;
            let compressed = zlib.finish()?;
            Ok::<_, std::io::Error>(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&compressed))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("status list render: {e}")))?
        .map_err(|e| ServiceError::Internal(format!("zlib: {e}")))?;
        Ok((Arc::from(lst), version))
    }
}
