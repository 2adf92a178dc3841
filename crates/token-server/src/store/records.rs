//! The records the storage interfaces take and give: tenants, credentials, keys, tokens and what
//! their operations answer. Plain values: no backend appears here.

use std::sync::Arc;

use serde_json::Value;
use token_core::grant::GrantType;
use token_core::keys::SignAlg;
use token_core::property::Property;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

// The vocabulary provisioning and the store share lives in token-core, so that the layers above
// the store never name a store type.
pub use token_core::tenancy::{Principal, ServiceSettings};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OrganizationRecord {
    pub id: OrganizationId,
    pub name: String,
    pub created_at: i64,
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

/// Filter of a token listing (its SQL condition: `sql::tokens`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenFilter {
    pub client_id: Option<ClientId>,
    pub subject: Option<String>,
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
    /// Events older than the event log's retention.
    pub events: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.events
            + self.tokens
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

/// What a first start makes ([`OrganizationStore::first_start`](super::OrganizationStore::first_start)). The IDs are chosen before it is
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
        (crate::random::organization_id(), crate::random::service_id())
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

/// What [`SingleUseStore::redeem_custom_token`](super::SingleUseStore::redeem_custom_token) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redemption {
    Redeemed,
    /// The `jti` was redeemed before.
    Replayed,
    /// The subject's custom tokens generated by then were ended.
    SubjectSignedOut,
}

/// What [`SingleUseStore::custom_token_standing`](super::SingleUseStore::custom_token_standing) found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CustomTokenStanding {
    pub redeemed: bool,
    /// The subject's cutoff (ms), if any.
    pub valid_after: Option<i64>,
}

// The event log.

pub use token_core::events::{Actor, ActorKind, Event, EventFilter, EventType, RevokeReason};

/// A stream of the event log: a service's changes, or an organization's own (its services and
/// credentials). Stored as one number: the service's ID, or minus the organization's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventStream {
    Service(ServiceId),
    Organization(OrganizationId),
}

impl EventStream {
    /// The stream's number in the store.
    pub fn key(self) -> i64 {
        match self {
            EventStream::Service(id) => id.get() as i64,
            EventStream::Organization(id) => -(id.get() as i64),
        }
    }
}

/// Who makes a write, and when: the store writes the change's event from it, in the change's
/// transaction (so no change is stored without its event, and no event without its change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    pub actor: Actor,
    /// When the change is made (the event's `at`), milliseconds.
    pub at_ms: i64,
    /// Whether the service keeps issuance events (`extension.issuanceEvents`): when not, the
    /// writes that issue tokens write no event.
    pub issuance_events: bool,
    /// How a revocation of a family came about, when the target does not say it
    /// ([`RevokeTarget::reason`]).
    pub reason: Option<RevokeReason>,
}

impl Audit {
    /// A change by `actor` at `at_ms`, on a service that keeps issuance events.
    pub fn new(actor: Actor, at_ms: i64) -> Self {
        Self { actor, at_ms, issuance_events: true, reason: None }
    }

    /// The same, for a service whose `issuance_events` setting is `on`.
    pub fn issuance(mut self, on: bool) -> Self {
        self.issuance_events = on;
        self
    }

    /// The same, revoking for `reason`.
    pub fn because(mut self, reason: RevokeReason) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The event of type `event_type` this change writes; `None` for an issuance event of a
    /// service that keeps none.
    pub fn event(&self, event_type: EventType) -> Option<Event> {
        (self.issuance_events || !event_type.is_issuance())
            .then(|| Event::new(event_type, self.actor.clone(), self.at_ms))
    }
}

impl RevokeTarget {
    /// How a revocation of this target is recorded, unless the audit says otherwise.
    pub fn reason(&self) -> RevokeReason {
        match self {
            RevokeTarget::AccessHash(_) | RevokeTarget::RefreshHash(_) | RevokeTarget::Family(_) => {
                RevokeReason::ByValue
            }
            RevokeTarget::ClientSubject { .. } => RevokeReason::ByClient,
            RevokeTarget::Subject(_) => RevokeReason::BySubject,
        }
    }
}

/// A Shared Signals stream of a service, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRecord {
    pub stream_id: String,
    pub service_id: ServiceId,
    /// The `iss` of its SETs (`{base}/api/{serviceId}` as the receiver reached the transmitter).
    pub iss: String,
    pub settings: token_core::ssf::StreamSettings,
    pub state: token_core::ssf::StreamState,
    pub reason: Option<String>,
    /// The service's events up to this ID have been turned into SETs (or dropped).
    pub read_through: u64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When a verification was last asked for (0: never).
    pub verified_at: i64,
}

/// A SET waiting for its receiver.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedSet {
    /// Its place in the stream's order.
    pub seq: i64,
    pub jti: String,
    /// The signed SET.
    pub set: String,
    pub created_at: i64,
    /// Failed pushes so far.
    pub attempts: i64,
    /// Not pushed before this (ms).
    pub next_attempt_at: i64,
}
