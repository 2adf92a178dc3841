//! Persistence: the storage interfaces by concern (async, object safe: the server holds [`Stores`],
//! one `dyn` handle per concern), their records and errors. No backend type appears here; `sqlite` is the embedded default backend and
//! `conformance` the behaviour every backend must show; `cached` wraps any backend with the
//! short-lived reuse of what authentication reads.
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
pub(crate) mod sql;
pub mod sqlite;

use std::sync::Arc;

use serde_json::Value;
use token_core::grant::GrantType;
use token_core::property::Property;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use token_core::jwks::SignAlg;

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

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OrganizationRecord {
    pub id: OrganizationId,
    pub name: String,
    pub created_at: i64,
}

/// A service's settings: what provisioning sets and the store keeps (one type for both).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSettings {
    pub name: String,
    pub issuer: String,
    pub supported_scopes: Vec<String>,
    pub supported_grant_types: Vec<GrantType>,
    /// Default access token lifetime, seconds.
    pub access_token_duration: i64,
    /// Default refresh token lifetime, seconds.
    pub refresh_token_duration: i64,
    /// When set, token create also returns an RFC 9068 JWT access token signed with this algorithm.
    pub access_token_sign_alg: Option<SignAlg>,
    /// Default TTLs of custom tokens' access / refresh tokens, seconds.
    pub custom_token_access_ttl: i64,
    pub custom_token_refresh_ttl: i64,
    /// Token Status Lists for JWT access tokens: on when set, with the seconds a verifier may
    /// cache a list (`ttl`).
    pub status_list_ttl: Option<i64>,
}

impl Default for ServiceSettings {
    /// What the first-start bootstrap provisions.
    fn default() -> Self {
        Self {
            name: "default".into(),
            issuer: "https://token-service.local".into(),
            supported_scopes: ["openid", "profile", "email", "offline_access", "read", "write"]
                .map(String::from)
                .to_vec(),
            supported_grant_types: GrantType::ALL.to_vec(),
            access_token_duration: 3600,
            refresh_token_duration: 86_400,
            access_token_sign_alg: None,
            custom_token_access_ttl: 3600,
            custom_token_refresh_ttl: 30 * 86_400,
            status_list_ttl: None,
        }
    }
}

/// A stored service: its IDs and its settings (readable as if they were its own fields).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRecord {
    pub id: ServiceId,
    pub organization_id: OrganizationId,
    #[serde(flatten)]
    pub settings: ServiceSettings,
}

impl std::ops::Deref for ServiceRecord {
    type Target = ServiceSettings;

    fn deref(&self) -> &ServiceSettings {
        &self.settings
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientRecord {
    pub client_id: ClientId,
    pub service_id: ServiceId,
    pub name: String,
    pub alias: Option<String>,
    pub entity_id: Option<String>,
    pub grant_types: Vec<GrantType>,
}

/// Who a credential speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum Principal {
    /// A Service Access Token: this one service.
    Service(ServiceId),
    /// An Organization Token: every service of this organization.
    Organization(OrganizationId),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRecord {
    pub id: i64,
    pub principal: Principal,
    pub label: String,
    pub created_at: i64,
    /// Milliseconds; the credential is refused from then on.
    pub expires_at: Option<i64>,
    /// Milliseconds; set by `admin credential revoke`.
    pub revoked_at: Option<i64>,
    /// Milliseconds, to the minute: when it last authenticated a request.
    pub last_used_at: Option<i64>,
}

impl CredentialRecord {
    /// Neither revoked nor expired at `now_ms`.
    pub fn is_usable(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now_ms)
    }
}

/// A stored credential as authentication needs it: its hash (compared in constant time) and record.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCredential {
    pub hash: TokenHash,
    pub record: CredentialRecord,
}

/// A private key (PKCS#8 DER for EdDSA and ES256, PKCS#1 DER for RS256). `Debug` never prints it;
/// the store encrypts it at rest when a key-encryption key is configured.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyDer(pub Vec<u8>);

impl std::fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKeyDer([redacted])")
    }
}

/// A signing key of a service.
#[derive(Clone, Debug)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub service_id: ServiceId,
    pub alg: SignAlg,
    pub private_der: PrivateKeyDer,
    /// The public JWK (RFC 7517), as published.
    pub public_jwk: Value,
    pub created_at: i64,
    /// Set when a newer key replaced this one; it stays published while tokens it signed live.
    pub retired_at: Option<i64>,
    /// Set by `admin key revoke`: unpublished at once, and nothing it signed is accepted any more.
    pub revoked_at: Option<i64>,
}

/// What a token carries beyond its columns (stored as one JSON document, under these names).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TokenExtra {
    /// The end user's identity (tokens from custom tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The application's claims (tokens from custom tokens; possibly empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<serde_json::Map<String, Value>>,
    /// Lifetimes as issued, seconds (0 = persistent), so that a refresh keeps them.
    #[serde(rename = "accessTokenTtl", default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<i64>,
    #[serde(rename = "refreshTokenTtl", default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<i64>,
    /// Extra claims of the JWT access token (`jwtAtClaims` of token create).
    #[serde(rename = "jwtAtClaims", default, skip_serializing_if = "Option::is_none")]
    pub jwt_at_claims: Option<serde_json::Map<String, Value>>,
}

/// One issued access token (and its refresh token, if any). Token values are never stored: only
/// their hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenRecord {
    pub token_id: String,
    pub service_id: ServiceId,
    pub access_hash: TokenHash,
    pub refresh_hash: Option<TokenHash>,
    pub client_id: ClientId,
    pub subject: Option<String>,
    pub grant_type: GrantType,
    pub scopes: Vec<String>,
    pub refresh_scopes: Option<Vec<String>>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds; 0 = never expires.
    pub access_expires_at: i64,
    pub refresh_expires_at: Option<i64>,
    pub last_refreshed_at: i64,
    pub properties: Vec<Property>,
    pub certificate_thumbprint: Option<String>,
    pub dpop_key_thumbprint: Option<String>,
    pub token_type: String,
    pub authorization_details: Option<Value>,
    pub resources: Vec<String>,
    pub acr: Option<String>,
    pub auth_time: Option<i64>,
    pub session_id: Option<String>,
    pub client_identifier: Option<String>,
    pub for_external_attachment: Option<bool>,
    /// `kid` of the key that signed the JWT access token, if one was issued.
    pub jwt_kid: Option<String>,
    /// `kid` of the key that signed the custom token this session was exchanged from: revoking
    /// that key revokes the session.
    pub custom_token_kid: Option<String>,
    /// What the token carries beyond its columns.
    pub extra: TokenExtra,
    pub revoked_at: Option<i64>,
    /// The JWT access token's entry in a Token Status List, when the service keeps lists.
    pub status: Option<StatusEntry>,
}

/// A JWT access token's place in its service's Token Status Lists: list `list`, index `idx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StatusEntry {
    pub list: i64,
    pub idx: i64,
}

impl TokenRecord {
    /// The one constructor of a token as issued: `token_id` for `client_id` of `service_id` under
    /// `grant_type`, created at `now_ms`, its access value's hash, live until `access_expires_at`
    /// (0: never). What a grant adds — subject, scopes, a refresh token, bindings, properties,
    /// details — starts empty, for the issuer to set with struct update syntax.
    pub fn issued(
        token_id: String,
        service_id: ServiceId,
        client_id: ClientId,
        grant_type: GrantType,
        access_hash: TokenHash,
        now_ms: i64,
        access_expires_at: i64,
    ) -> Self {
        Self {
            token_id,
            service_id,
            access_hash,
            refresh_hash: None,
            client_id,
            subject: None,
            grant_type,
            scopes: Vec::new(),
            refresh_scopes: None,
            created_at: now_ms,
            access_expires_at,
            refresh_expires_at: None,
            last_refreshed_at: 0,
            properties: Vec::new(),
            certificate_thumbprint: None,
            dpop_key_thumbprint: None,
            token_type: "Bearer".into(),
            authorization_details: None,
            resources: Vec::new(),
            acr: None,
            auth_time: None,
            session_id: None,
            client_identifier: None,
            for_external_attachment: None,
            jwt_kid: None,
            custom_token_kid: None,
            extra: TokenExtra::default(),
            revoked_at: None,
            status: None,
        }
    }

    /// Active: not revoked and not expired at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && (self.access_expires_at == 0 || self.access_expires_at > now_ms)
    }

    pub fn is_refreshable(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none()
            && self.refresh_hash.is_some()
            && self.refresh_expires_at.is_some_and(|at| at > now_ms)
    }
}

/// Filter of a token listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenFilter {
    pub client_id: Option<ClientId>,
    pub subject: Option<String>,
}

impl TokenFilter {
    /// The WHERE condition of a listing with only the filters given, one SQL text per shape, so
    /// that each reads its index (an `(?2 IS NULL OR client_id = ?2)` form keeps SQLite from using
    /// any: counting one subject's tokens scanned the whole service). Placeholder 1 is the service,
    /// then the client ID and the subject when given; `mark(n)` writes placeholder `n`.
    pub(crate) fn condition(&self, mark: fn(usize) -> String) -> String {
        let mut condition = format!("service_id = {}", mark(1));
        let mut used = 1;
        if self.client_id.is_some() {
            used += 1;
            // With a subject too, the unary `+` keeps SQLite (which has no statistics) on the
            // subject's index, far narrower than the client's.
            let column = if self.subject.is_some() { "+client_id" } else { "client_id" };
            condition.push_str(&format!(" AND {column} = {}", mark(used)));
        }
        if self.subject.is_some() {
            used += 1;
            condition.push_str(&format!(" AND subject = {}", mark(used)));
        }
        condition
    }
}

/// What a token listing with one filter holds, cheaply: its count and its newest row. Positions
/// in the listing are unchanged while both are: a token added gets a row newer than any, and one
/// removed lowers the count unless another is added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListingVersion {
    pub total: u64,
    pub newest_row: i64,
}

/// Which of a token's two values (`as_str` is how a rotated-away value's kind is stored).
pub use token_core::token_value::ValueKind;

/// Which tokens a revocation names.
#[derive(Clone, Debug)]
pub enum RevokeTarget {
    AccessHash(TokenHash),
    RefreshHash(TokenHash),
    /// Every token of the client (and, when given, only of that subject).
    ClientSubject {
        client_id: ClientId,
        subject: Option<String>,
    },
    /// Every token of the subject, of every client.
    Subject(String),
    /// One family by its token ID, whatever its values are now: a revocation that found the family
    /// through a value it had before is not undone by a refresh that rotates the values meanwhile.
    Family(String),
}

impl RevokeTarget {
    /// Whether the target may name many tokens (revoked in batches), not one value's.
    pub fn is_wide(&self) -> bool {
        matches!(self, Self::ClientSubject { .. } | Self::Subject(_))
    }
}

/// Most tokens revoked, or rows deleted, by one write of a wide revocation or a deletion: about
/// 10 ms of SQLite's single writer, so another tenant's write waits at most that long behind one.
pub const REVOKE_BATCH: u32 = 500;

/// What an update changes; `None` leaves a field as it is. Applied by the store inside one write
/// transaction, so a revocation that commits meanwhile is never undone (`revoked_at` is not
/// something an update can write).
#[derive(Clone, Debug, Default)]
pub struct TokenChanges {
    pub access_expires_at: Option<i64>,
    pub refresh_expires_at: Option<i64>,
    pub scopes: Option<Vec<String>>,
    pub properties: Option<Vec<Property>>,
    /// `Some(None)` removes the binding.
    pub certificate_thumbprint: Option<Option<String>>,
    pub dpop_key_thumbprint: Option<Option<String>>,
    pub authorization_details: Option<Option<Value>>,
    /// A new access-token hash (the value was regenerated).
    pub new_access_hash: Option<TokenHash>,
}

impl TokenChanges {
    /// The token after the changes.
    pub fn apply(&self, token: &mut TokenRecord) {
        if let Some(at) = self.access_expires_at {
            token.access_expires_at = at;
        }
        if let Some(at) = self.refresh_expires_at
            && token.refresh_hash.is_some()
        {
            token.refresh_expires_at = Some(at);
        }
        if let Some(scopes) = &self.scopes {
            token.scopes = scopes.clone();
        }
        if let Some(properties) = &self.properties {
            token.properties = properties.clone();
        }
        if let Some(thumb) = &self.certificate_thumbprint {
            token.certificate_thumbprint = thumb.clone();
        }
        if let Some(thumb) = &self.dpop_key_thumbprint {
            token.dpop_key_thumbprint = thumb.clone();
            token.token_type = if thumb.is_some() { "DPoP" } else { "Bearer" }.to_owned();
        }
        if let Some(details) = &self.authorization_details {
            token.authorization_details = details.clone();
        }
        if let Some(hash) = &self.new_access_hash {
            token.access_hash = hash.clone();
        }
    }
}

/// Rows a janitor pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Purged {
    pub tokens: u64,
    pub custom_token_uses: u64,
    pub rotated_refresh_tokens: u64,
    pub proof_uses: u64,
    /// Token Status Lists retired: full, and every token they list ended before the cut-off.
    pub status_lists: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.tokens
            + self.custom_token_uses
            + self.rotated_refresh_tokens
            + self.proof_uses
            + self.status_lists
    }
}

/// What happened to a refresh attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum RefreshOutcome {
    /// The token was rotated; this is its new state.
    Rotated(Box<TokenRecord>),
    /// The refresh token was already rotated away: the family (the token row) is now revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
    /// The family was rotated [`Rotation::per_minute`] times in the last minute already: nothing
    /// changed; the oldest of those rotations leaves the window in `retry_after_ms`.
    TooFrequent { retry_after_ms: i64 },
}

/// Rotations of one family whose rotated-away values are kept (refresh and access value each): a
/// reuse of a value older than that is refused as unknown instead of revoking the family, and a
/// revocation naming it reaches nothing. Bounds the rows one session can add however long it
/// lives; also the most [`Rotation::per_minute`] can count.
pub const ROTATIONS_KEPT: u32 = 64;

/// The window of [`Rotation::per_minute`].
pub const ROTATION_RATE_WINDOW_MS: i64 = 60_000;

/// New values for a refresh rotation.
#[derive(Clone, Debug)]
pub struct Rotation {
    pub new_access_hash: TokenHash,
    pub new_refresh_hash: TokenHash,
    pub access_expires_at: i64,
    pub refresh_expires_at: i64,
    pub jwt_kid: Option<String>,
    /// The new JWT access token's status entry (the old one's bit is set by the store).
    pub status: Option<StatusEntry>,
    pub now_ms: i64,
    /// Most rotations of the family in any [`ROTATION_RATE_WINDOW_MS`] (at most
    /// [`ROTATIONS_KEPT`]); beyond, [`RefreshOutcome::TooFrequent`].
    pub per_minute: u32,
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
    ) -> StoreResult<ServiceRecord>;
    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>>;
    /// Replaces a service's settings; `false` when the service does not exist.
    async fn update_service(&self, id: ServiceId, settings: &ServiceSettings) -> StoreResult<bool>;
    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>>;
    /// Deletes at most `at_most` rows of service `id` from the tables that grow without bound
    /// (tokens, status bits, used values, clients), children first, in one write; returns how many.
    /// [`ServiceStore::delete_service`] after these have run dry is a short transaction.
    async fn delete_service_rows(&self, id: ServiceId, at_most: u32) -> StoreResult<u64>;
    /// Deletes a service with its tokens, single-use records, clients and signing keys, and revokes
    /// its Service Access Tokens (at `now_ms`), in one transaction; `false` when it does not exist.
    async fn delete_service(&self, id: ServiceId, now_ms: i64) -> StoreResult<bool>;
}

/// The clients of a service.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync + std::fmt::Debug {
    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()>;
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
    async fn delete_client(&self, service: ServiceId, client_id: ClientId, now_ms: i64) -> StoreResult<bool>;
    /// Replaces a client's name, alias, entity ID and grant types (found by its service and ID);
    /// `false` when the client does not exist.
    async fn update_client(&self, client: &ClientRecord) -> StoreResult<bool>;
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
    async fn revoke_credential(&self, id: i64, now_ms: i64) -> StoreResult<bool>;
    /// Records that the credential authenticated a request at `now_ms`.
    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()>;
}

/// The signing keys of services.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// Adds `key` as the current key of its service and retires the previous current key, which
    /// stays published until `grace_ms` from now or until the last live token it signed expires.
    /// A service that issues JWT access tokens takes the key's algorithm in the same transaction.
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64) -> StoreResult<()>;
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
    async fn revoke_signing_key(&self, service: ServiceId, kid: &str, now_ms: i64) -> StoreResult<bool>;
    /// Every key the service ever had (current, retired, revoked), newest first: for operators.
    async fn all_signing_keys(&self, service: ServiceId) -> StoreResult<Vec<SigningKeyRecord>>;
}

/// Tokens and their refresh families.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// Inserts a token; `Conflict` (and nothing written) when a hash or token ID already exists.
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>>;
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
    ) -> StoreResult<Option<TokenRecord>>;
    async fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool>;
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
    ) -> StoreResult<u64>;
    /// Marks every token of `target` revoked, [`REVOKE_BATCH`] per write until none is left; returns
    /// how many were active before (exact: a batch takes only live tokens, so none is counted
    /// twice).
    async fn revoke(&self, service: ServiceId, target: &RevokeTarget, now_ms: i64) -> StoreResult<u64> {
        let mut revoked = 0;
        loop {
            let batch = self.revoke_some(service, target, now_ms, REVOKE_BATCH).await?;
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
    ) -> StoreResult<u64>;
    /// When `refresh_hash` is a rotated-away refresh token of `service`, revokes its family and
    /// returns `true`.
    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
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

/// A list's size and how many bits it gained so far: a new version means new bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusListVersion {
    pub size: i64,
    pub version: i64,
}

/// A Token Status List as stored: how many indexes it has, which are invalid (one bit per index,
/// as the draft encodes it: 128 KiB for a full list, built as the rows are read, never a vector of
/// a million indexes), and the version those bits are (at least) of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredStatusList {
    pub size: i64,
    pub version: i64,
    pub bits: Vec<u8>,
}

impl StoredStatusList {
    /// An empty list of `size` entries, whose bits are set by [`StoredStatusList::set`].
    pub fn new(size: i64, version: i64) -> Self {
        Self { size, version, bits: vec![0; (size.max(0) as u64).div_ceil(8) as usize] }
    }

    /// Marks entry `idx` invalid (one outside the list is ignored).
    pub fn set(&mut self, idx: i64) {
        if (0..self.size).contains(&idx) {
            self.bits[(idx / 8) as usize] |= 1 << (idx % 8);
        }
    }

    /// The invalid entries, ascending.
    pub fn invalid(&self) -> Vec<i64> {
        (0..self.size).filter(|idx| self.bits[(idx / 8) as usize] >> (idx % 8) & 1 == 1).collect()
    }
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
    async fn end_custom_tokens(&self, service: ServiceId, subject: &str, at_ms: i64) -> StoreResult<()>;

    /// The cutoff of `subject`, if it has one ([`SingleUseStore::end_custom_tokens`]).
    async fn custom_tokens_valid_after(&self, service: ServiceId, subject: &str) -> StoreResult<Option<i64>>;
}

/// What a first start makes ([`OrganizationStore::first_start`]). The IDs are chosen before it is
/// stored ([`FirstStart::new_ids`]), so that what is handed out can name them.
#[derive(Clone, Debug)]
pub struct FirstStart {
    pub organization: OrganizationRecord,
    pub service: ServiceRecord,
    /// The service's first signing key.
    pub key: SigningKeyRecord,
    pub client: ClientRecord,
    /// The Service Access Token's hash and label.
    pub service_credential: (TokenHash, String),
    /// The Organization Token's hash and label.
    pub organization_credential: (TokenHash, String),
}

impl FirstStart {
    /// IDs for the first organization and service, as the store chooses them for any other.
    pub fn new_ids() -> (OrganizationId, ServiceId) {
        (OrganizationId(sql::random_organization_id() as u64), ServiceId(sql::random_service_id() as u64))
    }
}

/// The credentials a first start stored (their IDs are the database's).
#[derive(Clone, Debug)]
pub struct FirstStartCredentials {
    pub service: CredentialRecord,
    pub organization: CredentialRecord,
}

/// Hands the first-start credentials out (writes and syncs the file the operator reads), inside the
/// first start's transaction: an error rolls it back.
pub type HandOut = Arc<dyn Fn(&FirstStartCredentials) -> std::io::Result<()> + Send + Sync>;

/// What [`SingleUseStore::redeem_custom_token`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redemption {
    Redeemed,
    /// The `jti` was redeemed before.
    Replayed,
    /// The subject's custom tokens generated by then were ended.
    SubjectSignedOut,
}

/// What [`SingleUseStore::custom_token_standing`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CustomTokenStanding {
    pub redeemed: bool,
    /// The subject's cutoff (ms), if any.
    pub valid_after: Option<i64>,
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
    async fn purge_expired(&self, before_ms: i64, batch: u32) -> StoreResult<Purged>;

    /// Whether new token values may carry their token's ID (the selector format): the upgrade that
    /// needs every instance to understand them is finished ([`MaintenanceStore::finish_upgrades`]).
    async fn selector_values(&self) -> StoreResult<bool>;

    /// Finishes the upgrades that wait for every instance of this store to run this version: drops
    /// the unique constraints on whole value hashes (partial indexes replace them) and lets new
    /// values carry their selector. `true` when something was left to finish.
    async fn finish_upgrades(&self, now_ms: i64) -> StoreResult<bool>;
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
            maintenance: backend,
        }
    }
}
