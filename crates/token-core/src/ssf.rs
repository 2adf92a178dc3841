//! Shared Signals (OpenID SSF 1.0 with CAEP 1.0): the transmitter's metadata, its streams'
//! configuration and status, verification, RFC 8936 polling, and which change of the event log
//! becomes which Security Event Token (RFC 8417). Pure: the server stores streams, signs and
//! delivers; the rules are here, property-tested.
//!
//! The wire is the specifications' own: snake_case members (`stream_id`, `events_requested`,
//! `endpoint_url`), and RFC 8936's `maxEvents` / `returnImmediately` / `moreAvailable`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{ErrorStatuses, NoBody, NoContent, Payload};
use crate::events::{ActorKind, Event, EventType, RevokeReason};
use crate::{Secret, ServiceId, ValidationError};

/// SSF 1.0's version string in the metadata.
pub const SPEC_VERSION: &str = "1_0";
/// RFC 8935 push delivery.
pub const DELIVERY_PUSH: &str = "urn:ietf:rfc:8935";
/// RFC 8936 poll delivery.
pub const DELIVERY_POLL: &str = "urn:ietf:rfc:8936";
/// The SSF verification event.
pub const EVENT_VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// CAEP: every session of a subject (or one) was revoked.
pub const EVENT_SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP: a token's claims changed.
pub const EVENT_TOKEN_CLAIMS_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/token-claims-change";
/// The event types a stream may ask for (verification is always delivered when asked for with
/// the verification endpoint).
pub const EVENTS_SUPPORTED: [&str; 2] = [EVENT_SESSION_REVOKED, EVENT_TOKEN_CLAIMS_CHANGE];
/// The SET's JOSE `typ` (RFC 8417 §2.3).
pub const SET_TYP: &str = "secevent+jwt";
/// The media type of a pushed SET (RFC 8935 §2).
pub const SET_MEDIA_TYPE: &str = "application/secevent+jwt";

/// Streams one service may have.
pub const MAX_STREAMS_PER_SERVICE: usize = 10;
/// Longest `endpoint_url`, `aud` entry or `authorization_header`, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Longest `description` or status `reason`, in characters.
pub const MAX_TEXT_LEN: usize = 256;
/// Most `aud` entries.
pub const MAX_AUDIENCES: usize = 8;
/// Most SETs one poll answers (RFC 8936 `maxEvents`; also the default).
pub const MAX_POLL_EVENTS: u32 = 100;
/// Most `ack` and `setErrs` entries of one poll.
pub const MAX_POLL_ACKS: usize = 1000;
/// Longest verification `state`, in characters.
pub const MAX_STATE_LEN: usize = 256;
/// The shortest interval between two verification requests of a stream, seconds
/// (`min_verification_interval`).
pub const MIN_VERIFICATION_INTERVAL_SECS: u64 = 5;

/// Tag of the Shared Signals endpoints.
pub const TAG_SSF: &str = "Shared Signals";

/// The statuses of the stream endpoints.
pub const SSF_ERRORS: ErrorStatuses = &[
    ("400", "The request broke a rule; resultCode and resultMessage say which."),
    ("401", "Missing or unknown Bearer credential (WWW-Authenticate: Bearer)."),
    ("403", "The credential may not act on this service."),
    ("404", "No such service or stream."),
    ("409", "The service has as many streams as it may (A701301)."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("429", "A verification was asked for sooner than min_verification_interval (A702301)."),
    ("500", "Server-side error; details are logged, not returned."),
];

/// The transmitter's metadata (SSF 1.0 §7.1), served at `/.well-known/ssf-configuration` + the
/// issuer's path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransmitterMetadata {
    /// SSF version implemented (`1_0`).
    pub spec_version: String,
    /// `{base}/api/{serviceId}`: the `iss` of every SET of the service.
    pub issuer: String,
    /// The service's JWK Set: the keys its SETs are signed with.
    pub jwks_uri: String,
    /// Push (RFC 8935) and poll (RFC 8936).
    pub delivery_methods_supported: Vec<String>,
    /// Where streams are created, read, updated and deleted.
    pub configuration_endpoint: String,
    /// Where a stream's status is read and set.
    pub status_endpoint: String,
    /// Where a receiver asks for a verification event.
    pub verification_endpoint: String,
    /// How receivers authenticate: a Bearer service credential (RFC 6750).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub authorization_schemes: Vec<Value>,
    /// Every subject is included without being added (no add/remove subject endpoints).
    pub default_subjects: String,
}

impl TransmitterMetadata {
    /// The metadata of the transmitter whose issuer is `issuer` (`{base}/api/{serviceId}`).
    pub fn of(issuer: &str) -> Self {
        Self {
            spec_version: SPEC_VERSION.into(),
            issuer: issuer.into(),
            jwks_uri: format!("{issuer}/jwks"),
            delivery_methods_supported: vec![DELIVERY_PUSH.into(), DELIVERY_POLL.into()],
            configuration_endpoint: format!("{issuer}/ssf/stream"),
            status_endpoint: format!("{issuer}/ssf/status"),
            verification_endpoint: format!("{issuer}/ssf/verify"),
            authorization_schemes: vec![json!({"spec_urn": "urn:ietf:rfc:6750"})],
            default_subjects: "ALL".into(),
        }
    }
}

/// The transmitter's issuer for `service` behind `base` (scheme, host and any prefix).
pub fn issuer(base: &str, service: ServiceId) -> String {
    format!("{}/api/{service}", base.trim_end_matches('/'))
}

/// How a stream's SETs reach its receiver (SSF 1.0 §8.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// [`DELIVERY_PUSH`] or [`DELIVERY_POLL`].
    pub method: String,
    /// Push: the receiver's URL (must match `ssf_receiver_allowlist`). Poll: given by the
    /// transmitter (the URL to poll), ignored in a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Push: the `Authorization` header value sent with each SET. Never answered back (the
    /// configuration answered leaves it out), never in `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_header: Option<Secret>,
}

/// How a SET names its subject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubjectFormat {
    /// `{format: "opaque", id: subject}` (RFC 9493).
    #[default]
    Opaque,
    /// `{format: "complex", user: {format: "opaque", id}, session: {format: "opaque", id: tokenId}}`
    /// when the event names one token, else as `opaque`.
    Complex,
}

/// What a receiver asks for when it creates or replaces a stream (SSF 1.0 §8.1.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamRequest {
    /// Present on update and replace (PATCH, PUT): the stream acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// How SETs reach the receiver.
    pub delivery: Option<Delivery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The event types the receiver asks for.
    pub events_requested: Option<Vec<String>>,
    /// One audience or several; default: the receiver's push URL, or the issuer for poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub aud: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Free text about the stream.
    pub description: Option<String>,
    /// How SETs name their subject (default `opaque`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<SubjectFormat>,
}

/// A stream's settings, as stored: what a receiver chose, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSettings {
    /// How SETs reach the receiver.
    pub delivery: Delivery,
    /// The event types the receiver asks for.
    pub events_requested: Vec<String>,
    /// The SETs' audience(s).
    pub aud: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Free text about the stream.
    pub description: Option<String>,
    #[serde(default)]
    /// How SETs name their subject.
    pub format: SubjectFormat,
}

/// A stream's configuration as answered (SSF 1.0 §8.1.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamConfiguration {
    /// The stream.
    pub stream_id: String,
    /// The `iss` of the stream's SETs.
    pub iss: String,
    /// One audience as a string, several as an array.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub aud: Value,
    /// How SETs reach the receiver.
    pub delivery: Delivery,
    /// The event types this transmitter can deliver.
    pub events_supported: Vec<String>,
    /// The event types the receiver asks for.
    pub events_requested: Vec<String>,
    /// What is delivered: the requested types this transmitter supports.
    pub events_delivered: Vec<String>,
    /// Seconds between two verification requests, at least.
    pub min_verification_interval: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Free text about the stream.
    pub description: Option<String>,
    /// How SETs name their subject.
    pub format: SubjectFormat,
}

impl StreamConfiguration {
    /// The answer for stream `stream_id` of issuer `iss` with `settings`.
    pub fn of(stream_id: &str, iss: &str, settings: &StreamSettings) -> Self {
        let aud = audience(&settings.aud);
        Self {
            stream_id: stream_id.into(),
            iss: iss.into(),
            aud,
            delivery: Delivery { authorization_header: None, ..settings.delivery.clone() },
            events_supported: EVENTS_SUPPORTED.iter().map(|e| (*e).to_owned()).collect(),
            events_requested: settings.events_requested.clone(),
            events_delivered: settings.delivered(),
            min_verification_interval: MIN_VERIFICATION_INTERVAL_SECS,
            description: settings.description.clone(),
            format: settings.format,
        }
    }
}

impl StreamSettings {
    /// The requested event types this transmitter delivers, in the order requested.
    pub fn delivered(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for requested in &self.events_requested {
            if EVENTS_SUPPORTED.contains(&requested.as_str()) && !out.contains(requested) {
                out.push(requested.clone());
            }
        }
        out
    }

    /// Whether events of `uri` are delivered.
    pub fn delivers(&self, uri: &str) -> bool {
        self.events_requested.iter().any(|e| e == uri) && EVENTS_SUPPORTED.contains(&uri)
    }

    /// Whether SETs are pushed (else polled).
    pub fn is_push(&self) -> bool {
        self.delivery.method == DELIVERY_PUSH
    }
}

fn problem(field: &'static str, why: impl Into<String>) -> ValidationError {
    ValidationError::SsfInvalid { member: field.to_owned(), reason: why.into() }
}

/// At most 40 characters of `text`, for a message.
fn excerpt(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A URL this transmitter may push to or name as an audience: absolute `http`/`https`, no
/// credentials in it, bounded.
fn checked_url(field: &'static str, text: &str) -> Result<url::Url, ValidationError> {
    if text.len() > MAX_URL_LEN {
        return Err(problem(field, format!("must be at most {MAX_URL_LEN} bytes")));
    }
    let url = url::Url::parse(text).map_err(|e| problem(field, format!("is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(problem(field, "must be an http or https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(problem(field, "must not carry credentials (use delivery.authorization_header)"));
    }
    if url.fragment().is_some() {
        return Err(problem(field, "must not have a fragment"));
    }
    Ok(url)
}

impl StreamRequest {
    /// The settings a create (or a replace: `current` is `None` either way) or an update
    /// (`current` the stream's settings: members absent keep their value) asks for. `poll_url` is
    /// the URL a polled stream is polled at.
    pub fn settings(
        &self,
        current: Option<&StreamSettings>,
        issuer: &str,
        poll_url: &str,
    ) -> Result<StreamSettings, ValidationError> {
        let delivery = match (&self.delivery, current) {
            (Some(delivery), _) => delivery.clone(),
            (None, Some(current)) => current.delivery.clone(),
            (None, None) => {
                return Err(problem("delivery", "is required (method and, for push, endpoint_url)"));
            }
        };
        let delivery = match delivery.method.as_str() {
            DELIVERY_PUSH => {
                let url = delivery
                    .endpoint_url
                    .as_deref()
                    .ok_or_else(|| problem("delivery.endpoint_url", "is required for push delivery"))?;
                checked_url("delivery.endpoint_url", url)?;
                if let Some(header) = &delivery.authorization_header {
                    let header = header.secret();
                    if header.len() > MAX_URL_LEN || header.chars().any(|c| c.is_control()) {
                        return Err(problem(
                            "delivery.authorization_header",
                            format!("must be at most {MAX_URL_LEN} bytes without control characters"),
                        ));
                    }
                }
                delivery
            }
            DELIVERY_POLL => Delivery {
                method: DELIVERY_POLL.into(),
                endpoint_url: Some(poll_url.to_owned()),
                authorization_header: None,
            },
            other => {
                return Err(problem(
                    "delivery.method",
                    format!("'{}' is not {DELIVERY_PUSH} or {DELIVERY_POLL}", excerpt(other)),
                ));
            }
        };
        let events_requested = match (&self.events_requested, current) {
            (Some(events), _) => events.clone(),
            (None, Some(current)) => current.events_requested.clone(),
            (None, None) => EVENTS_SUPPORTED.iter().map(|e| (*e).to_owned()).collect(),
        };
        if events_requested.len() > 16 || events_requested.iter().any(|e| e.len() > MAX_URL_LEN) {
            return Err(problem("events_requested", "must name at most 16 event types"));
        }
        let aud = match (&self.aud, current) {
            (Some(Value::String(one)), _) => vec![one.clone()],
            (Some(Value::Array(many)), _) => many
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| problem("aud", "must hold strings only"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            (Some(_), _) => return Err(problem("aud", "must be a string or an array of strings")),
            (None, Some(current)) => current.aud.clone(),
            (None, None) => vec![match delivery.method.as_str() {
                DELIVERY_PUSH => delivery.endpoint_url.clone().unwrap_or_default(),
                _ => issuer.to_owned(),
            }],
        };
        if aud.is_empty() || aud.len() > MAX_AUDIENCES {
            return Err(problem("aud", format!("must name 1 to {MAX_AUDIENCES} audiences")));
        }
        for one in &aud {
            if one.is_empty() || one.len() > MAX_URL_LEN || one.chars().any(|c| c.is_control()) {
                return Err(problem(
                    "aud",
                    format!("each must be 1 to {MAX_URL_LEN} bytes, no control characters"),
                ));
            }
        }
        let description = match (&self.description, current) {
            (Some(text), _) => Some(text.clone()),
            (None, Some(current)) => current.description.clone(),
            (None, None) => None,
        };
        if let Some(text) = &description
            && (text.chars().count() > MAX_TEXT_LEN || text.chars().any(|c| c.is_control()))
        {
            return Err(problem(
                "description",
                format!("must be at most {MAX_TEXT_LEN} characters, no control characters"),
            ));
        }
        let format = self.format.or(current.map(|c| c.format)).unwrap_or_default();
        Ok(StreamSettings { delivery, events_requested, aud, description, format })
    }
}

/// A stream's state (SSF 1.0 §8.1.2): enabled streams deliver; paused ones keep their events for
/// later; disabled ones drop them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StreamState {
    #[default]
    /// SETs are delivered.
    Enabled,
    /// SETs are kept, not delivered, until enabled again.
    Paused,
    /// SETs are dropped.
    Disabled,
}

impl StreamState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Enabled => "enabled",
            StreamState::Paused => "paused",
            StreamState::Disabled => "disabled",
        }
    }

    /// From the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "enabled" => Some(StreamState::Enabled),
            "paused" => Some(StreamState::Paused),
            "disabled" => Some(StreamState::Disabled),
            _ => None,
        }
    }
}

/// A stream's status, asked for or set (SSF 1.0 §8.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamStatus {
    /// The stream.
    pub stream_id: String,
    /// Enabled, paused or disabled.
    pub status: StreamState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Why the status was set.
    pub reason: Option<String>,
}

impl StreamStatus {
    /// The rules of a status update.
    pub fn check(&self) -> Result<(), ValidationError> {
        check_stream_id(&self.stream_id)?;
        if let Some(reason) = &self.reason
            && (reason.chars().count() > MAX_TEXT_LEN || reason.chars().any(|c| c.is_control()))
        {
            return Err(problem(
                "reason",
                format!("must be at most {MAX_TEXT_LEN} characters, no control characters"),
            ));
        }
        Ok(())
    }
}

/// `?stream_id=` of a read, a delete or a status read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct StreamQuery {
    /// The stream (a read without it lists the service's streams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// `?stream_id=` of a delete or a status read: required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct StreamIdQuery {
    /// The stream.
    pub stream_id: String,
}

impl Payload for StreamIdQuery {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Query;
}

/// A stream ID as this transmitter makes them: 32 lowercase hex digits.
pub fn check_stream_id(id: &str) -> Result<(), ValidationError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(problem("stream_id", "is not a stream ID of this transmitter (32 hex digits)"))
    }
}

/// A verification request (SSF 1.0 §8.1.4.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationRequest {
    /// The stream.
    pub stream_id: String,
    /// Echoed in the verification event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl VerificationRequest {
    /// The rules of the request.
    pub fn check(&self) -> Result<(), ValidationError> {
        check_stream_id(&self.stream_id)?;
        if let Some(state) = &self.state
            && (state.chars().count() > MAX_STATE_LEN || state.chars().any(|c| c.is_control()))
        {
            return Err(problem(
                "state",
                format!("must be at most {MAX_STATE_LEN} characters, no control characters"),
            ));
        }
        Ok(())
    }
}

/// An RFC 8936 poll: acknowledge what was received, ask for more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PollRequest {
    /// The `jti`s received and processed: not sent again.
    #[serde(default)]
    pub ack: Vec<String>,
    /// SETs the receiver could not process (`jti` → `{err, description}`): not sent again either.
    #[serde(default, rename = "setErrs")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub set_errs: BTreeMap<String, Value>,
    /// At most this many SETs in the answer (0: acknowledge only); default and most
    /// [`MAX_POLL_EVENTS`].
    #[serde(default, rename = "maxEvents", skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u32>,
    /// Answer at once even when nothing is pending (default true; false waits up to a few
    /// seconds for a SET).
    #[serde(default, rename = "returnImmediately", skip_serializing_if = "Option::is_none")]
    pub return_immediately: Option<bool>,
}

impl PollRequest {
    /// The rules of a poll; the number of SETs to answer at most.
    pub fn check(&self) -> Result<u32, ValidationError> {
        if self.ack.len() + self.set_errs.len() > MAX_POLL_ACKS {
            return Err(problem("ack", format!("at most {MAX_POLL_ACKS} acknowledgements per poll")));
        }
        if self.ack.iter().chain(self.set_errs.keys()).any(|jti| jti.len() > 128) {
            return Err(problem("ack", "a jti of this transmitter is at most 128 bytes"));
        }
        let max = self.max_events.unwrap_or(MAX_POLL_EVENTS);
        if max > MAX_POLL_EVENTS {
            return Err(problem("maxEvents", format!("must be at most {MAX_POLL_EVENTS}")));
        }
        Ok(max)
    }

    /// Every `jti` the receiver is done with.
    pub fn done(&self) -> Vec<String> {
        self.ack.iter().chain(self.set_errs.keys()).cloned().collect()
    }
}

/// An RFC 8936 answer: SETs by `jti`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PollResponse {
    /// The SETs by `jti`.
    pub sets: BTreeMap<String, String>,
    #[serde(rename = "moreAvailable")]
    /// Whether more SETs wait.
    pub more_available: bool,
}

/// A stream ID list or one stream (a `GET` of the configuration endpoint answers either).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum StreamRead {
    /// One stream (`?stream_id=` given).
    One(Box<StreamConfiguration>),
    /// Every stream of the service.
    All(Vec<StreamConfiguration>),
}

/// What a SET says, before it is signed: the event type URI and its body, the subject, the
/// event's ID for `txn`.
#[derive(Clone, Debug, PartialEq)]
pub struct SetContent {
    /// The event type URI.
    pub event_type: &'static str,
    /// The event's members.
    pub body: Value,
    /// The subject identifier (RFC 9493).
    pub sub_id: Value,
    /// The event log's `eventId` (the SET's `txn`).
    pub txn: u64,
}

/// The subject identifier of `subject` (and of the session `token_id` in the complex format).
pub fn subject_identifier(format: SubjectFormat, subject: &str, token_id: Option<&str>) -> Value {
    let user = json!({"format": "opaque", "id": subject});
    match (format, token_id) {
        (SubjectFormat::Complex, Some(session)) => {
            json!({"format": "complex", "user": user, "session": {"format": "opaque", "id": session}})
        }
        _ => user,
    }
}

/// Who initiated a revocation, in CAEP's words.
fn initiating_entity(event: &Event) -> &'static str {
    match (event.reason, event.actor.kind) {
        (Some(RevokeReason::FamilyReuse), _) => "policy",
        (_, ActorKind::Janitor) => "system",
        (_, ActorKind::Holder) => "user",
        _ => "admin",
    }
}

fn reason_text(reason: Option<RevokeReason>, event_type: EventType) -> &'static str {
    match (event_type, reason) {
        (EventType::UserRevoked, _) => "every session of the user was ended",
        (_, Some(RevokeReason::ByValue)) => "a token was revoked",
        (_, Some(RevokeReason::ByClient)) => "the tokens of a client were revoked",
        (_, Some(RevokeReason::BySubject)) => "every token of the user was revoked",
        (_, Some(RevokeReason::FamilyReuse)) => "a refresh token was used twice: its session was ended",
        (_, Some(RevokeReason::KeyRevoke)) => "the signing key of the session's tokens was revoked",
        (_, None) => "tokens were revoked",
    }
}

/// The SET a stream with `settings` delivers for `event`, if any: CAEP `session-revoked` for
/// every revocation that names its subject (`token.revoked` by value, client, subject, reuse or
/// key revocation, and `user.revoked`), `token-claims-change` for a token update (`claims`: what
/// the token holds after it, read by the caller), nothing for the rest or what the stream did
/// not ask for.
pub fn set_content(settings: &StreamSettings, event: &Event, claims: Option<Value>) -> Option<SetContent> {
    let subject = event.subject.as_deref()?;
    let timestamp = event.at.div_euclid(1000);
    let (event_type, body) = match event.event_type {
        EventType::TokenRevoked | EventType::UserRevoked => {
            let body = json!({
                "event_timestamp": timestamp,
                "initiating_entity": initiating_entity(event),
                "reason_admin": {"en": reason_text(event.reason, event.event_type)},
            });
            (EVENT_SESSION_REVOKED, body)
        }
        EventType::TokenUpdated => {
            let body = json!({"event_timestamp": timestamp, "claims": claims.unwrap_or_else(|| json!({}))});
            (EVENT_TOKEN_CLAIMS_CHANGE, body)
        }
        _ => return None,
    };
    if !settings.delivers(event_type) {
        return None;
    }
    let token_id = match event.event_type {
        EventType::UserRevoked => None,
        _ if event.count.unwrap_or(1) > 1 && event.reason != Some(RevokeReason::FamilyReuse) => None,
        _ => event.token_id.as_deref(),
    };
    Some(SetContent {
        event_type,
        body,
        sub_id: subject_identifier(settings.format, subject, token_id),
        txn: event.event_id,
    })
}

/// `aud` as the wire holds it: one audience as a string, several as an array.
fn audience(aud: &[String]) -> Value {
    match aud {
        [one] => Value::String(one.clone()),
        many => Value::from(many.to_vec()),
    }
}

/// The claims of a SET (RFC 8417 §2.2, SSF 1.0 §4): `iss`, `iat` (seconds), `jti`, `aud`, `txn`,
/// `sub_id` and `events` with the one event.
pub fn set_claims(iss: &str, aud: &[String], jti: &str, iat_secs: i64, content: &SetContent) -> Value {
    let aud = audience(aud);
    json!({
        "iss": iss,
        "iat": iat_secs,
        "jti": jti,
        "aud": aud,
        "txn": content.txn.to_string(),
        "sub_id": content.sub_id,
        "events": {content.event_type: content.body},
    })
}

/// The claims of a verification SET (SSF 1.0 §8.1.4.1): the stream as its subject, `state` echoed.
pub fn verification_claims(
    iss: &str,
    aud: &[String],
    jti: &str,
    iat_secs: i64,
    stream_id: &str,
    state: Option<&str>,
) -> Value {
    let aud = audience(aud);
    let body = match state {
        Some(state) => json!({"state": state}),
        None => json!({}),
    };
    json!({
        "iss": iss,
        "iat": iat_secs,
        "jti": jti,
        "aud": aud,
        "sub_id": {"format": "opaque", "id": stream_id},
        "events": {EVENT_VERIFICATION: body},
    })
}

/// The `jti` of the SET a stream sends for event `event_id`: the same whoever builds it, so a
/// receiver dedupes what is sent again after a crash.
pub fn event_jti(stream_id: &str, event_id: u64) -> String {
    format!("{stream_id}-{event_id}")
}

crate::api::json_payload!(
    TransmitterMetadata,
    StreamRequest,
    StreamConfiguration,
    StreamStatus,
    VerificationRequest,
    PollRequest,
    PollResponse,
    StreamRead
);

impl Payload for StreamQuery {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Query;
}

crate::api::endpoint! {
    /// `GET /.well-known/ssf-configuration/api/{serviceId}`: the transmitter's metadata.
    pub struct SsfConfiguration {
        operation_id: "ssf_configuration",
        method: Get,
        path: "/.well-known/ssf-configuration/api/{serviceId}",
        summary: "The Shared Signals transmitter metadata of the service (SSF 1.0 §7).",
        tag: TAG_SSF,
        auth: Public,
        idempotent: true,
        errors: &[("404", "No such service.")],
        request: NoBody,
        response: TransmitterMetadata,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `POST /api/{serviceId}/ssf/stream`: creates a stream.
    pub struct StreamCreate {
        operation_id: "ssf_stream_create",
        method: Post,
        path: "/api/{serviceId}/ssf/stream",
        summary: "Creates an event stream (SSF 1.0 §8.1.1.1): push to an allowed URL, or poll.",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: false,
        errors: SSF_ERRORS,
        request: StreamRequest,
        response: StreamConfiguration,
        error: crate::error_body::ApiErrorBody,
        success: 201,
    }
}

crate::api::endpoint! {
    /// `GET /api/{serviceId}/ssf/stream[?stream_id=]`: one stream, or all of the service's.
    pub struct StreamGet {
        operation_id: "ssf_stream_get",
        method: Get,
        path: "/api/{serviceId}/ssf/stream",
        summary: "Reads a stream's configuration, or lists the service's streams (SSF 1.0 §8.1.1.2).",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: true,
        errors: SSF_ERRORS,
        request: StreamQuery,
        response: StreamRead,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `PATCH /api/{serviceId}/ssf/stream`: changes the members given.
    pub struct StreamUpdate {
        operation_id: "ssf_stream_update",
        method: Patch,
        path: "/api/{serviceId}/ssf/stream",
        summary: "Updates a stream: the members given (SSF 1.0 §8.1.1.3).",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: true,
        errors: SSF_ERRORS,
        request: StreamRequest,
        response: StreamConfiguration,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `PUT /api/{serviceId}/ssf/stream`: replaces a stream's configuration.
    pub struct StreamReplace {
        operation_id: "ssf_stream_replace",
        method: Put,
        path: "/api/{serviceId}/ssf/stream",
        summary: "Replaces a stream's configuration (SSF 1.0 §8.1.1.4).",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: true,
        errors: SSF_ERRORS,
        request: StreamRequest,
        response: StreamConfiguration,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `DELETE /api/{serviceId}/ssf/stream?stream_id=`: deletes a stream and what it had queued.
    pub struct StreamDelete {
        operation_id: "ssf_stream_delete",
        method: Delete,
        path: "/api/{serviceId}/ssf/stream",
        summary: "Deletes a stream (SSF 1.0 §8.1.1.5).",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: true,
        errors: SSF_ERRORS,
        request: StreamIdQuery,
        response: NoContent,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `GET /api/{serviceId}/ssf/status?stream_id=`: a stream's status.
    pub struct StreamStatusGet {
        operation_id: "ssf_status_get",
        method: Get,
        path: "/api/{serviceId}/ssf/status",
        summary: "Reads a stream's status (SSF 1.0 §8.1.2.1).",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: true,
        errors: SSF_ERRORS,
        request: StreamIdQuery,
        response: StreamStatus,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `POST /api/{serviceId}/ssf/status`: enables, pauses or disables a stream.
    pub struct StreamStatusUpdate {
        operation_id: "ssf_status_update",
        method: Post,
        path: "/api/{serviceId}/ssf/status",
        summary: "Sets a stream's status: enabled, paused (events kept) or disabled (events dropped) (SSF 1.0 §8.1.2.2).",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: true,
        errors: SSF_ERRORS,
        request: StreamStatus,
        response: StreamStatus,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `POST /api/{serviceId}/ssf/verify`: asks for a verification event.
    pub struct StreamVerify {
        operation_id: "ssf_verify",
        method: Post,
        path: "/api/{serviceId}/ssf/verify",
        summary: "Asks the transmitter to send a verification event on the stream (SSF 1.0 §8.1.4.2).",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: false,
        errors: SSF_ERRORS,
        request: VerificationRequest,
        response: NoContent,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `POST /api/{serviceId}/ssf/poll/{streamId}`: RFC 8936 polling of a poll stream.
    pub struct StreamPoll {
        operation_id: "ssf_poll",
        method: Post,
        path: "/api/{serviceId}/ssf/poll/{streamId}",
        summary: "Polls a stream's SETs and acknowledges those received (RFC 8936).",
        tag: TAG_SSF,
        auth: Credential,
        idempotent: false,
        errors: SSF_ERRORS,
        request: PollRequest,
        response: PollResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

#[cfg(feature = "openapi")]
mod documented {
    use utoipa::openapi::path::{Parameter, ParameterIn};
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::openapi::{Components, Documented, derived};

    use crate::openapi::{Rules, with_rules};

    derived!(TransmitterMetadata, StreamRequest, StreamConfiguration, PollRequest, PollResponse, StreamRead);

    /// A member's text: bounded, no control characters.
    fn text(max: usize) -> serde_json::Value {
        serde_json::json!({"maxLength": max, "pattern": "^[^\\u0000-\\u001f\\u007f]*$"})
    }

    with_rules!(
        StreamStatus => |rules: &mut Rules<'_>| {
            rules.field("stream_id", serde_json::json!({"pattern": "^[0-9a-f]{32}$"})).field("reason", text(MAX_TEXT_LEN));
        },
        VerificationRequest => |rules: &mut Rules<'_>| {
            rules.field("stream_id", serde_json::json!({"pattern": "^[0-9a-f]{32}$"})).field("state", text(MAX_STATE_LEN));
        }
    );

    impl Documented for StreamIdQuery {
        fn schema(_: &mut Components) -> Option<RefOr<Schema>> {
            None
        }

        fn parameters() -> Vec<Parameter> {
            use utoipa::IntoParams;
            let mut parameters = Self::into_params(|| Some(ParameterIn::Query));
            for parameter in &mut parameters {
                parameter.schema = serde_json::from_value(
                    serde_json::json!({"type": "string", "pattern": "^[0-9a-f]{32}$"}),
                )
                .ok();
            }
            parameters
        }
    }

    impl Documented for StreamQuery {
        fn schema(_: &mut Components) -> Option<RefOr<Schema>> {
            None
        }

        fn parameters() -> Vec<Parameter> {
            use utoipa::IntoParams;
            let mut parameters = Self::into_params(|| Some(ParameterIn::Query));
            for parameter in &mut parameters {
                parameter.schema = serde_json::from_value(
                    serde_json::json!({"type": "string", "pattern": "^[0-9a-f]{32}$"}),
                )
                .ok();
            }
            parameters
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Actor, EventType};
    use proptest::prelude::*;

    fn push(url: &str) -> StreamRequest {
        StreamRequest {
            delivery: Some(Delivery {
                method: DELIVERY_PUSH.into(),
                endpoint_url: Some(url.into()),
                authorization_header: None,
            }),
            ..StreamRequest::default()
        }
    }

    #[test]
    fn a_push_stream_needs_an_http_url_and_defaults_its_audience_to_it() {
        let settings =
            push("https://rp.example/ssf").settings(None, "https://t/api/1", "https://t/poll").unwrap();
        assert_eq!(settings.aud, vec!["https://rp.example/ssf"]);
        assert_eq!(settings.delivered(), EVENTS_SUPPORTED.map(str::to_owned).to_vec());
        for bad in ["ftp://x/y", "not a url", "https://user:pw@rp.example/", "https://rp.example/#f"] {
            assert!(push(bad).settings(None, "i", "p").is_err(), "{bad}");
        }
        let no_url = StreamRequest {
            delivery: Some(Delivery { method: DELIVERY_PUSH.into(), ..Delivery::default() }),
            ..StreamRequest::default()
        };
        assert!(no_url.settings(None, "i", "p").is_err());
        assert!(StreamRequest::default().settings(None, "i", "p").is_err(), "delivery is required");
    }

    #[test]
    fn a_poll_stream_is_polled_where_the_transmitter_says() {
        let request = StreamRequest {
            delivery: Some(Delivery {
                method: DELIVERY_POLL.into(),
                endpoint_url: Some("https://evil/".into()),
                authorization_header: Some(Secret::new("x")),
            }),
            ..StreamRequest::default()
        };
        let settings = request.settings(None, "https://t/api/1", "https://t/api/1/ssf/poll/abc").unwrap();
        assert_eq!(settings.delivery.endpoint_url.as_deref(), Some("https://t/api/1/ssf/poll/abc"));
        assert_eq!(settings.delivery.authorization_header, None);
        assert_eq!(settings.aud, vec!["https://t/api/1"]);
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        let current = push("https://rp.example/ssf").settings(None, "i", "p").unwrap();
        let update = StreamRequest { description: Some("d".into()), ..StreamRequest::default() };
        let updated = update.settings(Some(&current), "i", "p").unwrap();
        assert_eq!(updated.delivery, current.delivery);
        assert_eq!(updated.description.as_deref(), Some("d"));
    }

    fn event(event_type: EventType, reason: Option<RevokeReason>) -> Event {
        let mut event = Event::new(event_type, Actor::cli(), 1_700_000_000_123);
        event.event_id = 42;
        event.subject = Some("alice".into());
        event.token_id = Some("tok".into());
        event.reason = reason;
        event
    }

    #[test]
    fn every_revocation_of_a_subject_is_a_session_revoked() {
        let settings = push("https://rp/").settings(None, "i", "p").unwrap();
        for reason in [
            RevokeReason::ByValue,
            RevokeReason::ByClient,
            RevokeReason::BySubject,
            RevokeReason::FamilyReuse,
            RevokeReason::KeyRevoke,
        ] {
            let content =
                set_content(&settings, &event(EventType::TokenRevoked, Some(reason)), None).unwrap();
            assert_eq!(content.event_type, EVENT_SESSION_REVOKED);
            assert_eq!(content.txn, 42);
            assert_eq!(content.body["event_timestamp"], 1_700_000_000);
            assert_eq!(content.sub_id, json!({"format": "opaque", "id": "alice"}));
        }
        let user = set_content(&settings, &event(EventType::UserRevoked, None), None).unwrap();
        assert_eq!(user.event_type, EVENT_SESSION_REVOKED);
        let claims =
            set_content(&settings, &event(EventType::TokenUpdated, None), Some(json!({"scope": "a"})))
                .unwrap();
        assert_eq!(
            (claims.event_type, &claims.body["claims"]),
            (EVENT_TOKEN_CLAIMS_CHANGE, &json!({"scope": "a"}))
        );
        for quiet in [
            EventType::TokenCreated,
            EventType::TokenRefreshed,
            EventType::KeyRotated,
            EventType::ClientCreated,
        ] {
            assert!(set_content(&settings, &event(quiet, None), None).is_none(), "{quiet:?}");
        }
        let mut no_subject = event(EventType::TokenRevoked, Some(RevokeReason::KeyRevoke));
        no_subject.subject = None;
        assert!(set_content(&settings, &no_subject, None).is_none());
    }

    #[test]
    fn the_complex_format_names_the_session_when_one_token_is_concerned() {
        let mut request = push("https://rp/");
        request.format = Some(SubjectFormat::Complex);
        request.events_requested = Some(vec![EVENT_SESSION_REVOKED.into()]);
        let settings = request.settings(None, "i", "p").unwrap();
        let content =
            set_content(&settings, &event(EventType::TokenRevoked, Some(RevokeReason::ByValue)), None)
                .unwrap();
        assert_eq!(content.sub_id["session"], json!({"format": "opaque", "id": "tok"}));
        assert_eq!(content.sub_id["user"], json!({"format": "opaque", "id": "alice"}));
        assert!(
            set_content(&settings, &event(EventType::TokenUpdated, None), None).is_none(),
            "not requested"
        );
    }

    proptest! {
        #[test]
        fn stream_ids_are_32_hex_digits(id in ".{0,40}") {
            let ok = id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            prop_assert_eq!(check_stream_id(&id).is_ok(), ok);
        }

        #[test]
        fn polls_are_bounded(acks in 0usize..1100, max in proptest::option::of(0u32..200)) {
            let request = PollRequest { ack: (0..acks).map(|i| i.to_string()).collect(), max_events: max, ..PollRequest::default() };
            let checked = request.check();
            prop_assert_eq!(checked.is_ok(), acks <= MAX_POLL_ACKS && max.unwrap_or(0) <= MAX_POLL_EVENTS);
        }

        #[test]
        fn delivered_types_are_requested_and_supported(requested in proptest::collection::vec(prop_oneof![Just(EVENT_SESSION_REVOKED.to_owned()), Just(EVENT_TOKEN_CLAIMS_CHANGE.to_owned()), ".{0,20}"], 0..6)) {
            let settings = StreamSettings { events_requested: requested.clone(), ..StreamSettings::default() };
            for delivered in settings.delivered() {
                prop_assert!(requested.contains(&delivered) && EVENTS_SUPPORTED.contains(&delivered.as_str()));
            }
        }
    }
}
