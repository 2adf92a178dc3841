//! Persistence: the storage interfaces by concern (async, object safe: the server holds [`Stores`],
//! one `dyn` handle per concern), their records ([`records`]) and errors. No backend type appears
//! here; `sqlite` is the embedded default backend, `postgres` the one for many instances, both
//! written over what `sql` says once; `conformance` is the behaviour every backend must show;
//! `cached` wraps any backend with the short-lived reuse of what authentication reads.
//!
//! Every write that a request acknowledges is committed (and, on SQLite, fsynced) before the
//! method returns, so an answered request survives a crash.

pub mod cached;
/// Compiled for this crate's tests, and for a third-party backend's tests with the `conformance`
/// feature.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod open;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod records;
pub(crate) mod sql;
pub mod sqlite;

use std::sync::Arc;

use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

pub use records::*;

/// One schema migration as `token-server migrate --status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    pub version: u32,
    pub name: &'static str,
    /// `sha256:` and the hex SHA-256 of the migration's text.
    pub checksum: String,
    pub applied: bool,
}

/// The checksum recorded for a migration when it is applied: an applied migration whose text
/// changed since is refused at start (a released migration is never edited).
pub fn migration_checksum(sql: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(sql.as_bytes());
    format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The error of an applied migration whose text is not what was applied.
pub fn changed_migration(name: &str, recorded: &str, now: &str) -> StoreError {
    StoreError::Backend(format!(
        "migration {name} was changed after it was applied (recorded {recorded}, now {now}): a released \
         migration is never edited — restore its text and put the change in a new migration"
    ))
}

/// Which unique value a write collided with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictKind {
    /// An access- or refresh-token value (its hash) is already in use.
    TokenValue,
    TokenId,
    /// The client alias is taken in this service.
    ClientAlias,
    ClientId,
    CredentialHash,
    SigningKey,
    /// A generated organization or service ID.
    Id,
    Other,
}

impl std::fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConflictKind::TokenValue => "a token with the same value already exists",
            ConflictKind::TokenId => "the token ID is taken",
            ConflictKind::ClientAlias => "the client alias is taken in this service",
            ConflictKind::ClientId => "the client ID is taken",
            ConflictKind::CredentialHash => "the credential already exists",
            ConflictKind::SigningKey => "the key ID is taken",
            ConflictKind::Id => "the generated ID is taken",
            ConflictKind::Other => "a unique value is taken",
        })
    }
}

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is already taken; nothing was written.
    #[error("conflict: {0}")]
    Conflict(ConflictKind),
    /// A referenced row does not exist.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// A value the backend cannot hold (PostgreSQL: a NUL character in a text, a number out of
    /// its range): nothing was written; the request is at fault, answered 400.
    #[error("a value the store cannot hold: {0}")]
    Unstorable(&'static str),
    /// The token names a signing key that is revoked (by this process or another since the
    /// issuer read it): nothing was written; sign again with the current key.
    #[error("the signing key was revoked")]
    KeyRevoked,
    /// The token names a client that no longer exists (deleted by this process or another since
    /// the issuer read it): nothing was written; answered as an unknown client.
    #[error("the client no longer exists")]
    ClientGone,
    /// The backend failed (I/O, corruption, lock). Logged; never returned to callers verbatim.
    #[error("backend: {0}")]
    Backend(String),
    /// The database driver, its pool or a decoder of stored values failed: what was being done, and
    /// the driver's error kept as the source (for logs and `Error::source` chains). Logged; never
    /// returned to callers verbatim.
    #[error("{context}: {source}")]
    Driver {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// A driver failure while doing `context`, keeping the driver's error as the source.
    pub fn driver(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Driver { context: context.into(), source: Box::new(source) }
    }

    /// The backend cannot serve (as opposed to a conflict or a missing row): answered 503.
    pub fn is_unavailable(&self) -> bool {
        // A key revoked twice while one request signed: try again (the answer says 503).
        matches!(self, StoreError::Backend(_) | StoreError::Driver { .. } | StoreError::KeyRevoked)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The store's commit statistics, kept by the backend and exported with the server's metrics.
#[derive(Clone, Debug)]
pub struct StoreMetrics {
    /// Seconds each commit (of a group-commit batch) took.
    pub commit_duration: prometheus::Histogram,
    /// Writes per committed batch.
    pub batch_size: prometheus::Histogram,
}

impl StoreMetrics {
    pub fn new() -> Self {
        Self {
            commit_duration: prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "token_store_commit_duration_seconds",
                    "Time to run and commit one batch of writes.",
                )
                .buckets(vec![0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]),
            )
            .expect("a valid metric name"),
            batch_size: prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "token_store_batch_writes",
                    "Writes committed together in one transaction.",
                )
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            )
            .expect("a valid metric name"),
        }
    }

    /// Hands each metric to `register` (the server's registry).
    pub fn register_with(&self, mut register: impl FnMut(Box<dyn prometheus::core::Collector>)) {
        register(Box::new(self.commit_duration.clone()));
        register(Box::new(self.batch_size.clone()));
    }
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The persistence interface, split by concern (as fosite's storage interfaces are): each trait is
/// async and object safe, a backend implements all of them ([`Backend`]) and does its own blocking
/// off the runtime, and [`Stores`] holds one handle per concern, so that a decorator (the tenancy
/// cache) replaces only the concerns it changes. Every token method is scoped by the `ServiceId` it
/// is given.
///
/// Organizations, and the first start's bootstrap.
#[async_trait::async_trait]
pub trait OrganizationStore: Send + Sync + std::fmt::Debug {
    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord>;
    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>>;
    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>>;
    /// The first start, all or nothing: claims it (once ever, across processes) and stores
    /// everything of `first` in one transaction, calling `hand_out` with the stored credentials
    /// (it writes them where the operator reads them) before the commit. Interrupted anywhere, a
    /// first start leaves nothing, or everything and what `hand_out` wrote. `None` (nothing
    /// written, `hand_out` not called) when the first start was claimed before.
    async fn first_start(
        &self,
        first: &FirstStart,
        now_ms: i64,
        hand_out: HandOut,
    ) -> StoreResult<Option<FirstStartCredentials>>;
    /// True when no organization exists yet (first start).
    async fn is_empty(&self) -> StoreResult<bool>;
}

/// Services and their settings.
#[async_trait::async_trait]
pub trait ServiceStore: Send + Sync + std::fmt::Debug {
    /// Forgets any copy of service `id` kept in memory (it changed through another concern, e.g.
    /// its algorithm following a new key): the next read goes to the store.
    fn forget_cached(&self, _id: ServiceId) {}

    async fn create_service(
        &self,
        organization: OrganizationId,
        settings: &ServiceSettings,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<ServiceRecord>;
    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>>;
    /// Replaces a service's settings; `false` when the service does not exist.
    async fn update_service(
        &self,
        id: ServiceId,
        settings: &ServiceSettings,
        audit: &Audit,
    ) -> StoreResult<bool>;
    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>>;
    /// Deletes at most `at_most` rows of service `id` from the tables that grow without bound
    /// (tokens, status bits, used values, clients), children first, in one write; returns how many.
    /// [`ServiceStore::delete_service`] after these have run dry is a short transaction.
    async fn delete_service_rows(&self, id: ServiceId, at_most: u32) -> StoreResult<u64>;
    /// Deletes a service with its tokens, single-use records, clients and signing keys, and revokes
    /// its Service Access Tokens (at `now_ms`), in one transaction; `false` when it does not exist.
    async fn delete_service(&self, id: ServiceId, now_ms: i64, audit: &Audit) -> StoreResult<bool>;
}

/// The clients of a service.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync + std::fmt::Debug {
    /// Forgets what a cache in front of the store keeps of the client (an insert found it gone).
    fn forget_cached(&self, _service: ServiceId, _client_id: ClientId) {}
    async fn create_client(&self, client: &ClientRecord, audit: &Audit) -> StoreResult<()>;
    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>>;
    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>>;
    /// By numeric ID (as text) or alias.
    async fn client_by_identifier(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> StoreResult<Option<ClientRecord>>;
    /// Deletes a client after revoking every token issued to it (at `now_ms`); `false` when the
    /// client does not exist.
    async fn delete_client(
        &self,
        service: ServiceId,
        client_id: ClientId,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool>;
    /// Replaces a client's name, alias, entity ID and grant types (found by its service and ID);
    /// `false` when the client does not exist.
    async fn update_client(&self, client: &ClientRecord, audit: &Audit) -> StoreResult<bool>;
    /// The clients of `service` holding a live token of `subject` at `now_ms`, by ID.
    async fn clients_of_subject(
        &self,
        service: ServiceId,
        subject: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<ClientRecord>>;
}

/// Service Access Tokens and Organization Tokens (only their hashes).
#[async_trait::async_trait]
pub trait CredentialStore: Send + Sync + std::fmt::Debug {
    async fn create_credential(
        &self,
        principal: Principal,
        hash: &TokenHash,
        label: &str,
        now_ms: i64,
        expires_at: Option<i64>,
        audit: &Audit,
    ) -> StoreResult<CredentialRecord>;
    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>>;
    /// What authentication needs, in one round trip (it is on every authenticated request): the
    /// credential whose hash is `hash` (the caller compares in constant time and checks revocation
    /// and expiry) and, only when there is one, the service `service`.
    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)>;
    /// Marks a credential revoked; `false` when no such (unrevoked) credential exists.
    async fn revoke_credential(&self, id: i64, now_ms: i64, audit: &Audit) -> StoreResult<bool>;
    /// Records that the credential authenticated a request at `now_ms`.
    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()>;
}

/// The signing keys of services.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// Adds `key` as the current key of its service and retires the previous current key, which
    /// stays published until `grace_ms` from now or until the last live token it signed expires.
    /// A service that issues JWT access tokens takes the key's algorithm in the same transaction.
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64, audit: &Audit) -> StoreResult<()>;
    async fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>>;
    /// Forgets any copy of `service`'s current key kept in memory (the store met a token signed by
    /// a key revoked elsewhere): the next [`KeyStore::current_signing_key`] reads the store.
    fn forget_current_key(&self, _service: ServiceId) {}
    /// Keys to publish at `now_ms`: the current key, and retired keys that still verify live tokens.
    /// Revoked keys never. Reads only the keys table.
    async fn published_signing_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Keys a custom token may be signed with: the current key and keys retired at most
    /// `max_retired_ms` before `now_ms`; revoked keys never.
    async fn verification_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Revokes the key `kid` of `service`: unpublished at once. `false` when there is none.
    async fn revoke_signing_key(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool>;
    /// Every key the service ever had (current, retired, revoked), newest first: for operators.
    async fn all_signing_keys(&self, service: ServiceId) -> StoreResult<Vec<SigningKeyRecord>>;
}

/// Tokens and their refresh families.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// Inserts a token; `Conflict` (and nothing written) when a hash or token ID already exists.
    async fn insert_token(&self, token: &TokenRecord, audit: &Audit) -> StoreResult<()>;
    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>>;
    /// The token of `service` with the ID `token_id` (the event log names tokens by ID).
    async fn token_by_id(&self, service: ServiceId, token_id: &str) -> StoreResult<Option<TokenRecord>>;
    async fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>>;
    /// The listing's version (its count) and the `[start, end)` page, newest first.
    async fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(ListingVersion, Vec<TokenRecord>)>;
    /// Total count and the `limit` tokens that follow the token `after` (a token ID) in the
    /// listing with `filter`, read by key: a deep page costs what the first does. `None` when
    /// `after` is no longer stored (the caller pages by position instead).
    async fn list_tokens_after(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        after: &str,
        limit: u32,
    ) -> StoreResult<Option<(ListingVersion, Vec<TokenRecord>)>>;
    /// Applies `changes` to the token of `service` whose access hash is `access_hash`, in one
    /// write transaction; returns the token as stored afterwards, `None` when there is none.
    /// `Conflict` when the new access hash is taken.
    async fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
        audit: &Audit,
    ) -> StoreResult<Option<TokenRecord>>;
    async fn delete_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        audit: &Audit,
    ) -> StoreResult<bool>;
    /// Marks at most `at_most` tokens of `target` revoked, in one write; returns how many were
    /// active before. A value names one token; a client's or a subject's may be millions, so they
    /// go a bounded batch per write ([`TokenStore::revoke`]), never one write that holds every
    /// other tenant's writes.
    async fn revoke_some(
        &self,
        service: ServiceId,
        target: &RevokeTarget,
        now_ms: i64,
        at_most: u32,
        audit: &Audit,
    ) -> StoreResult<u64>;
    /// Marks every token of `target` revoked, [`REVOKE_BATCH`] per write until none is left; returns
    /// how many were active before (exact: a batch takes only live tokens, so none is counted
    /// twice).
    async fn revoke(
        &self,
        service: ServiceId,
        target: &RevokeTarget,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<u64> {
        let mut revoked = 0;
        loop {
            let batch = self.revoke_some(service, target, now_ms, REVOKE_BATCH, audit).await?;
            revoked += batch;
            if batch < u64::from(REVOKE_BATCH) || !target.is_wide() {
                return Ok(revoked);
            }
        }
    }
    /// Rotates the refresh token `old_refresh_hash` of `service`, atomically: the old value is
    /// remembered so that its reuse revokes the family (the values of the family's last
    /// [`ROTATIONS_KEPT`] rotations are kept, older ones forgotten), unless the family was rotated
    /// `rotation.per_minute` times in the last minute. [`StoreError::KeyRevoked`] (nothing changed)
    /// when `rotation.jwt_kid` was revoked meanwhile.
    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
        audit: &Audit,
    ) -> StoreResult<RefreshOutcome>;
    /// How many times the family `token_id` of `service` was rotated after `since_ms`, and when
    /// the earliest of those was (0 when none); counts at most [`ROTATIONS_KEPT`].
    async fn rotations_since(
        &self,
        service: ServiceId,
        token_id: &str,
        since_ms: i64,
    ) -> StoreResult<(u32, i64)>;
    /// The family of `service` one of whose rotated-away values of `kind` hashes to `hash`, as it
    /// is now (so that a revocation naming an old value reaches the family, RFC 7009 §2.1).
    async fn token_by_rotated_value(
        &self,
        service: ServiceId,
        hash: &TokenHash,
        kind: ValueKind,
    ) -> StoreResult<Option<TokenRecord>>;
    /// Revokes at most `batch` live tokens of `service` whose JWT access token or whose custom
    /// token the key `kid` signed; returns how many (0: none left).
    async fn revoke_signed_by(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        batch: u32,
        audit: &Audit,
    ) -> StoreResult<u64>;
    /// When `refresh_hash` is a rotated-away refresh token of `service`, revokes its family and
    /// returns `true`.
    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool>;
}

/// Token Status Lists: indexes for new JWT access tokens, reserved in blocks so that instances
/// never hand out the same one, and the invalid indexes of each list — written by the database
/// itself (triggers) in the transaction that ends a token, so no path that ends one can forget.
#[async_trait::async_trait]
pub trait StatusListStore: Send + Sync + std::fmt::Debug {
    /// Reserves up to `count` consecutive indexes of `service`'s newest list with room (a new list
    /// of `size` indexes when none has any): `(list, first index, how many)`.
    async fn reserve_status_indexes(
        &self,
        service: ServiceId,
        count: i64,
        size: i64,
        now_ms: i64,
    ) -> StoreResult<(i64, i64, i64)>;
    /// A list of `service` that is not retired: its size and version, without reading its bits
    /// (one indexed read of at most 16 rows).
    async fn status_list_version(
        &self,
        service: ServiceId,
        list: i64,
    ) -> StoreResult<Option<StatusListVersion>>;
    /// A list of `service` that is not retired: its size, version and invalid indexes, ascending.
    /// The version is read before the bits, so the bits hold at least what it counts.
    async fn status_list(&self, service: ServiceId, list: i64) -> StoreResult<Option<StoredStatusList>>;
}

/// Single use: custom tokens (their `jti`, recorded with the tokens they are exchanged for) and
/// DPoP proofs (their `jti`). Decided by the database's unique constraint, never by a clock, so it
/// holds across instances whatever their clocks say.
#[async_trait::async_trait]
pub trait SingleUseStore: Send + Sync + std::fmt::Debug {
    /// Records the DPoP proof `jti` of `service`, kept at least until `expires_at_ms`; `false` when
    /// it was already recorded (a replay).
    async fn use_proof_jti(&self, service: ServiceId, jti: &str, expires_at_ms: i64) -> StoreResult<bool>;

    /// Records the custom token's `jti` and inserts the token it was exchanged for, atomically,
    /// unless the `jti` was already redeemed or every custom token of the token's subject
    /// generated at or before `generated_at_ms` was ended ([`SingleUseStore::end_custom_tokens`];
    /// decided in the same transaction, serialised with it, on every instance). Writes nothing
    /// unless [`Redemption::Redeemed`].
    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        generated_at_ms: i64,
        token: &TokenRecord,
        audit: &Audit,
    ) -> StoreResult<Redemption>;

    /// Whether the custom token `jti` was redeemed already, and the cutoff of `subject`: a read,
    /// so that a replay (or a token of a signed-out user) is refused before any work (signing, a
    /// status index, a write); [`SingleUseStore::redeem_custom_token`] still decides.
    async fn custom_token_standing(
        &self,
        service: ServiceId,
        jti: &str,
        subject: &str,
    ) -> StoreResult<CustomTokenStanding>;

    /// Ends every custom token of `subject` generated at or before `at_ms` (Firebase's
    /// `tokensValidAfterTime`): their exchange is refused. A later cutoff replaces an earlier
    /// one, never the reverse. Committed (and any redemption in progress finished) on return.
    async fn end_custom_tokens(
        &self,
        service: ServiceId,
        subject: &str,
        at_ms: i64,
        audit: &Audit,
    ) -> StoreResult<()>;

    /// The cutoff of `subject`, if it has one ([`SingleUseStore::end_custom_tokens`]).
    async fn custom_tokens_valid_after(&self, service: ServiceId, subject: &str) -> StoreResult<Option<i64>>;
}

/// Health, statistics and the janitor.
#[async_trait::async_trait]
pub trait MaintenanceStore: Send + Sync + std::fmt::Debug {
    async fn ping(&self) -> StoreResult<()>;

    /// The backend's commit statistics, when it keeps them (SQLite's group committer does).
    fn metrics(&self) -> Option<StoreMetrics> {
        None
    }

    /// One janitor batch: deletes at most `batch` rows of each kind — tokens whose access and
    /// refresh lifetimes both ended before `before_ms` or that were revoked before it (persistent
    /// live tokens never), custom-token `jti`s expired before it, and rotated-refresh records whose
    /// token is gone. Each kind in its own short transaction, so writers are never held long.
    async fn purge_expired(&self, before_ms: i64, batch: u32, audit: &Audit) -> StoreResult<Purged>;

    /// Whether new token values may carry their token's ID (the selector format): the upgrade that
    /// needs every instance to understand them is finished ([`MaintenanceStore::finish_upgrades`]).
    async fn selector_values(&self) -> StoreResult<bool>;

    /// Finishes the upgrades that wait for every instance of this store to run this version: drops
    /// the unique constraints on whole value hashes (partial indexes replace them) and lets new
    /// values carry their selector. `true` when something was left to finish.
    async fn finish_upgrades(&self, now_ms: i64) -> StoreResult<bool>;
}

/// The event log ([`token_core::events`]): every write above records its change here itself, in
/// its own transaction; this concern appends what changes nothing else, reads, and purges.
#[async_trait::async_trait]
pub trait EventStore: Send + Sync + std::fmt::Debug {
    /// Records `event` on `stream` (a change that stores nothing else: a custom token generated).
    async fn append_event(&self, stream: EventStream, event: &Event) -> StoreResult<()>;

    /// The events of `stream` that `filter` asks for (numbered at most
    /// [`token_core::events::SCAN_WINDOW`] after its cursor), by number, and the stream's head (its
    /// newest number) as read before them: every event up to the head is readable and stays so.
    async fn read_events(&self, stream: EventStream, filter: &EventFilter) -> StoreResult<(Vec<Event>, u64)>;

    /// Deletes what is written before `before_ms` among the `batch` oldest events; how many.
    async fn purge_events(&self, before_ms: i64, batch: u32) -> StoreResult<u64>;
}

/// The Shared Signals transmitter's streams and the SETs each has queued (`sql::ssf`).
#[async_trait::async_trait]
pub trait SsfStore: Send + Sync + std::fmt::Debug {
    /// Stores a new stream unless its service has `at_most` already (`false`).
    async fn create_stream(&self, stream: &StreamRecord, at_most: usize) -> StoreResult<bool>;
    async fn stream(&self, service: ServiceId, stream_id: &str) -> StoreResult<Option<StreamRecord>>;
    async fn streams(&self, service: ServiceId) -> StoreResult<Vec<StreamRecord>>;
    /// Streams with work that no other instance holds the lease of now, after `after` in ID
    /// order (at most `at_most`).
    async fn deliverable_streams(
        &self,
        owner: &str,
        now_ms: i64,
        after: &str,
        at_most: u32,
    ) -> StoreResult<Vec<StreamRecord>>;
    /// Replaces settings, state and reason (found by service and ID); a disabled stream's queue is
    /// dropped. `false`: no such stream.
    async fn update_stream(&self, stream: &StreamRecord) -> StoreResult<bool>;
    async fn delete_stream(&self, service: ServiceId, stream_id: &str) -> StoreResult<bool>;
    /// Takes or renews the stream's delivery lease for `owner` until `until_ms`.
    async fn take_lease(&self, stream_id: &str, owner: &str, now_ms: i64, until_ms: i64)
    -> StoreResult<bool>;
    /// Queues SETs and moves `read_through` from `from` to `to`, in one transaction, if the stream
    /// is still at `from` under `owner`'s lease.
    async fn enqueue_sets(
        &self,
        stream_id: &str,
        owner: &str,
        from: u64,
        to: u64,
        sets: &[(String, String)],
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Queues a verification SET unless one was queued after `not_after` (`false`);
    /// `Conflict` (nothing queued) when the stream has `max_queued` SETs waiting.
    async fn queue_verification(
        &self,
        service: ServiceId,
        stream_id: &str,
        set: &(String, String),
        now_ms: i64,
        not_after: i64,
        max_queued: u64,
    ) -> StoreResult<bool>;
    /// The oldest queued SETs of the stream, in order.
    async fn queued_sets(&self, stream_id: &str, at_most: u32) -> StoreResult<Vec<QueuedSet>>;
    /// Removes the SETs with these `jti`s (delivered, or acknowledged); how many were queued.
    async fn dequeue_sets(&self, stream_id: &str, jtis: &[String]) -> StoreResult<u64>;
    /// Counts a failed delivery of SET `seq` and holds it until `at_ms`.
    async fn retry_set_later(&self, stream_id: &str, seq: i64, at_ms: i64) -> StoreResult<()>;
    /// How many SETs the stream has queued, and when the oldest was queued.
    async fn queue_size(&self, stream_id: &str) -> StoreResult<(u64, Option<i64>)>;
}

/// A complete backend: every concern. Implemented for every type that implements them all.
pub trait Backend:
    OrganizationStore
    + ServiceStore
    + ClientStore
    + CredentialStore
    + KeyStore
    + TokenStore
    + SingleUseStore
    + StatusListStore
    + MaintenanceStore
    + EventStore
    + SsfStore
    + 'static
{
}

impl<B> Backend for B where
    B: OrganizationStore
        + ServiceStore
        + ClientStore
        + CredentialStore
        + KeyStore
        + TokenStore
        + SingleUseStore
        + StatusListStore
        + MaintenanceStore
        + EventStore
        + SsfStore
        + 'static
{
}

/// The store as the service layer holds it: one handle per concern. Built from one backend by
/// [`Stores::of`]; a decorator replaces the handles of the concerns it decorates
/// ([`cached::cache`]).
#[derive(Clone, Debug)]
pub struct Stores {
    pub organizations: Arc<dyn OrganizationStore>,
    pub services: Arc<dyn ServiceStore>,
    pub clients: Arc<dyn ClientStore>,
    pub credentials: Arc<dyn CredentialStore>,
    pub keys: Arc<dyn KeyStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub single_use: Arc<dyn SingleUseStore>,
    pub status_lists: Arc<dyn StatusListStore>,
    pub maintenance: Arc<dyn MaintenanceStore>,
    pub events: Arc<dyn EventStore>,
    pub ssf: Arc<dyn SsfStore>,
}

impl Stores {
    /// Every concern served by `backend`.
    pub fn of<B: Backend>(backend: B) -> Self {
        let backend = Arc::new(backend);
        Self {
            organizations: backend.clone(),
            services: backend.clone(),
            clients: backend.clone(),
            credentials: backend.clone(),
            keys: backend.clone(),
            tokens: backend.clone(),
            single_use: backend.clone(),
            status_lists: backend.clone(),
            maintenance: backend.clone(),
            events: backend.clone(),
            ssf: backend,
        }
    }
}
