//! The event log: one record per change the server makes, written in the transaction of the
//! change, read back in order through a cursor.
//!
//! `GET /api/{serviceId}/events` (a service's changes: tokens, clients, keys, status lists, the
//! janitor) and `GET /api/events` (an organization's own changes: services and credentials). A
//! record names who acted and what it touched — never a token value, a hash of one, a custom
//! token, a secret or key material: [`Event`] has no member that could hold one.
//!
//! The cursor rule: each stream (a service, or an organization) numbers its events 1, 2, 3, … in
//! the order they become readable, without gaps; a reader that asks for the events after the
//! `next` of its previous answer never misses one and never sees one twice, whichever instance
//! wrote them and in whatever order their transactions committed.

use serde::{Deserialize, Serialize};

use crate::api::Payload;
use crate::error::ValidationError;
use crate::ids::{ClientId, ServiceId};

crate::api::endpoint! {
    /// `GET /api/{serviceId}/events`: the service's events after a cursor.
    pub struct ServiceEvents {
        operation_id: "service_events_api",
        method: Get,
        path: "/api/{serviceId}/events",
        summary: "The service's events after `after`, oldest first (long poll with `wait`).",
        tag: TAG_EVENTS,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: EventsRequest,
        response: EventsPage,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::endpoint! {
    /// `GET /api/events` (organization token): the organization's own events.
    pub struct OrganizationEvents {
        operation_id: "organization_events_api",
        method: Get,
        path: "/api/events",
        summary: "The organization's own events (services, credentials) after `after`, oldest first.",
        tag: TAG_EVENTS,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: EventsRequest,
        response: EventsPage,
        error: crate::error_body::ApiErrorBody,
    }
}

/// Tag of the event log's endpoints.
pub const TAG_EVENTS: &str = "Events";

crate::api::json_payload!(EventsPage);

impl Payload for EventsRequest {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Query;
}

/// Events one answer holds when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most events one answer holds.
pub const MAX_LIMIT: u32 = 1000;
/// The longest `wait`, seconds.
pub const MAX_WAIT_SECS: u32 = 30;
/// Events one request looks at, at most, past its cursor: with a filter that matches few of them,
/// the answer's `next` moves on by this many, so that a request's work is bounded however rare
/// its matches are (stream IDs have no gaps, so this is a range of IDs).
pub const SCAN_WINDOW: u64 = 10_000;
/// The longest `subject` or `tokenId` a filter may name, in characters.
pub const MAX_FILTER_LEN: usize = 1024;

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    /// A token was created (`auth/token/create`). An issuance event.
    #[serde(rename = "token.created")]
    TokenCreated,
    /// A refresh token was rotated: the family has a new access and refresh token. An issuance event.
    #[serde(rename = "token.refreshed")]
    TokenRefreshed,
    /// `auth/token/update` changed a token.
    #[serde(rename = "token.updated")]
    TokenUpdated,
    /// Tokens were revoked; `reason` says how, `count` how many.
    #[serde(rename = "token.revoked")]
    TokenRevoked,
    /// `auth/token/delete` removed a token.
    #[serde(rename = "token.deleted")]
    TokenDeleted,
    /// A custom token was generated. An issuance event.
    #[serde(rename = "custom_token.generated")]
    CustomTokenGenerated,
    /// A custom token was exchanged for a token pair. An issuance event.
    #[serde(rename = "custom_token.exchanged")]
    CustomTokenExchanged,
    /// Every custom token of a subject generated until now was ended ("revoke a user everywhere").
    #[serde(rename = "user.revoked")]
    UserRevoked,
    /// A client was created.
    #[serde(rename = "client.created")]
    ClientCreated,
    /// A client was changed.
    #[serde(rename = "client.updated")]
    ClientUpdated,
    /// A client was deleted (its tokens revoked: `count`).
    #[serde(rename = "client.deleted")]
    ClientDeleted,
    /// A service was created (organization stream).
    #[serde(rename = "service.created")]
    ServiceCreated,
    /// A service's settings changed (organization stream).
    #[serde(rename = "service.updated")]
    ServiceUpdated,
    /// A service was deleted with everything it held (organization stream).
    #[serde(rename = "service.deleted")]
    ServiceDeleted,
    /// A Service Access Token or an Organization Token was created (organization stream).
    #[serde(rename = "credential.created")]
    CredentialCreated,
    /// A credential was revoked (organization stream).
    #[serde(rename = "credential.revoked")]
    CredentialRevoked,
    /// A new signing key became current (`kid`).
    #[serde(rename = "key.rotated")]
    KeyRotated,
    /// A signing key was revoked (`kid`; the tokens it signed are revoked as `token.revoked`).
    #[serde(rename = "key.revoked")]
    KeyRevoked,
    /// The janitor retired status lists whose tokens have all expired (`count`).
    #[serde(rename = "status_list.retired")]
    StatusListRetired,
    /// The janitor removed ended tokens (`count`, one event per batch).
    #[serde(rename = "tokens.purged")]
    TokensPurged,
}

impl EventType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [EventType; 20] = [
        EventType::TokenCreated,
        EventType::TokenRefreshed,
        EventType::TokenUpdated,
        EventType::TokenRevoked,
        EventType::TokenDeleted,
        EventType::CustomTokenGenerated,
        EventType::CustomTokenExchanged,
        EventType::UserRevoked,
        EventType::ClientCreated,
        EventType::ClientUpdated,
        EventType::ClientDeleted,
        EventType::ServiceCreated,
        EventType::ServiceUpdated,
        EventType::ServiceDeleted,
        EventType::CredentialCreated,
        EventType::CredentialRevoked,
        EventType::KeyRotated,
        EventType::KeyRevoked,
        EventType::StatusListRetired,
        EventType::TokensPurged,
    ];

    /// The type's name on the wire (and in the store).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::TokenCreated => "token.created",
            EventType::TokenRefreshed => "token.refreshed",
            EventType::TokenUpdated => "token.updated",
            EventType::TokenRevoked => "token.revoked",
            EventType::TokenDeleted => "token.deleted",
            EventType::CustomTokenGenerated => "custom_token.generated",
            EventType::CustomTokenExchanged => "custom_token.exchanged",
            EventType::UserRevoked => "user.revoked",
            EventType::ClientCreated => "client.created",
            EventType::ClientUpdated => "client.updated",
            EventType::ClientDeleted => "client.deleted",
            EventType::ServiceCreated => "service.created",
            EventType::ServiceUpdated => "service.updated",
            EventType::ServiceDeleted => "service.deleted",
            EventType::CredentialCreated => "credential.created",
            EventType::CredentialRevoked => "credential.revoked",
            EventType::KeyRotated => "key.rotated",
            EventType::KeyRevoked => "key.revoked",
            EventType::StatusListRetired => "status_list.retired",
            EventType::TokensPurged => "tokens.purged",
        }
    }

    /// The type named `name`.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Issuance events are written only while the service's `extension.issuanceEvents` is on (the
    /// default): they are as many as the tokens issued. Every other type is always written.
    pub const fn is_issuance(self) -> bool {
        matches!(
            self,
            EventType::TokenCreated
                | EventType::TokenRefreshed
                | EventType::CustomTokenGenerated
                | EventType::CustomTokenExchanged
        )
    }

    /// Whether the type belongs to an organization's stream (`GET /api/events`) rather than a
    /// service's.
    pub const fn is_organization(self) -> bool {
        matches!(
            self,
            EventType::ServiceCreated
                | EventType::ServiceUpdated
                | EventType::ServiceDeleted
                | EventType::CredentialCreated
                | EventType::CredentialRevoked
        )
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A request authenticated by a Service Access Token (`id`: the credential's ID).
    ServiceCredential,
    /// A request authenticated by an Organization Token (`id`: the credential's ID).
    OrganizationToken,
    /// The `token-server` command line, on the store directly.
    Cli,
    /// The janitor (expired tokens, status lists).
    Janitor,
    /// The end user's app refreshing or exchanging its own tokens (`id`: the credential's ID when
    /// its authorization server called with one).
    Holder,
}

impl ActorKind {
    /// The kind's name on the wire (and in the store).
    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::ServiceCredential => "service_credential",
            ActorKind::OrganizationToken => "organization_token",
            ActorKind::Cli => "cli",
            ActorKind::Janitor => "janitor",
            ActorKind::Holder => "holder",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<ActorKind> {
        [
            ActorKind::ServiceCredential,
            ActorKind::OrganizationToken,
            ActorKind::Cli,
            ActorKind::Janitor,
            ActorKind::Holder,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// Who made a change: its kind and, where there is one, the credential's ID (never the credential).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    /// What acted.
    pub kind: ActorKind,
    /// The ID of the credential it used (as `admin credential list` shows it), when it used one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Actor {
    /// The command line.
    pub fn cli() -> Self {
        Actor { kind: ActorKind::Cli, id: None }
    }

    /// The janitor.
    pub fn janitor() -> Self {
        Actor { kind: ActorKind::Janitor, id: None }
    }

    /// The holder of a token, with the credential of the authorization server that called for it
    /// when there was one.
    pub fn holder(credential_id: Option<i64>) -> Self {
        Actor { kind: ActorKind::Holder, id: credential_id.map(|id| id.to_string()) }
    }
}

/// How tokens were revoked (`reason` of `token.revoked`, and of `client.deleted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// One token, named by its value (revocation endpoint, `auth/token/revoke` with a value).
    ByValue,
    /// The tokens of a client (for a subject, or all of them), or of a deleted client.
    ByClient,
    /// Every token of a subject.
    BySubject,
    /// A rotated-away refresh token was presented again: its family is revoked.
    FamilyReuse,
    /// The signing key that signed them was revoked.
    KeyRevoke,
}

impl RevokeReason {
    /// The reason's name on the wire (and in the store).
    pub const fn as_str(self) -> &'static str {
        match self {
            RevokeReason::ByValue => "by_value",
            RevokeReason::ByClient => "by_client",
            RevokeReason::BySubject => "by_subject",
            RevokeReason::FamilyReuse => "family_reuse",
            RevokeReason::KeyRevoke => "key_revoke",
        }
    }
}

/// One change, as the log keeps it. Only identifiers: who, what kind, and which subject, client,
/// token (its ID), key (its `kid`) or service it touched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Its place in its stream: 1, 2, 3, … without gaps, in the order events become readable.
    pub event_id: u64,
    /// When the change was made, milliseconds since the epoch.
    pub at: i64,
    /// What changed.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Who changed it.
    pub actor: Actor,
    /// The service concerned (always on an organization's stream; on a service's, its own ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    /// The subject (end user) of the tokens concerned, when one subject is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The client concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// The token concerned: its ID (`tokenId`), never its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The signing key concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The credential concerned (`credential.*`): its ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// How many things the change touched (tokens revoked or purged, lists retired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// How tokens were revoked (`token.revoked`, `client.deleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RevokeReason>,
}

impl Event {
    /// An event of `event_type` by `actor` at `at`, touching nothing yet (the `with_*` methods
    /// add what it touched); its ID is given when it is stored.
    pub fn new(event_type: EventType, actor: Actor, at: i64) -> Self {
        Event {
            event_id: 0,
            at,
            event_type,
            actor,
            service_id: None,
            subject: None,
            client_id: None,
            token_id: None,
            kid: None,
            credential_id: None,
            count: None,
            reason: None,
        }
    }

    /// Concerns service `service`.
    pub fn service(mut self, service: ServiceId) -> Self {
        self.service_id = Some(service);
        self
    }

    /// Concerns `subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Concerns client `client`.
    pub fn client(mut self, client: ClientId) -> Self {
        self.client_id = Some(client);
        self
    }

    /// Concerns the token whose ID is `token_id`.
    pub fn token(mut self, token_id: impl Into<String>) -> Self {
        self.token_id = Some(token_id.into());
        self
    }

    /// Concerns the signing key `kid`.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Concerns the credential whose ID is `id`.
    pub fn credential(mut self, id: i64) -> Self {
        self.credential_id = Some(id.to_string());
        self
    }

    /// Touched `count` things.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Revoked tokens because of `reason`.
    pub fn reason(mut self, reason: RevokeReason) -> Self {
        self.reason = Some(reason);
        self
    }
}

/// Query of the events endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EventsRequest {
    /// The cursor: answer the events after this `eventId` (the `next` of the previous answer;
    /// 0 or absent: from the oldest kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// At most this many events (1–1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only events of this type (e.g. `token.revoked`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Only events concerning this subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Only events concerning this client (its numeric ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<u64>,
    /// Only events concerning this token (its `tokenId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Seconds (0–30) to hold the request until an event arrives when there is none yet (long
    /// poll); the answer comes at once when there are events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<u32>,
}

impl EventsRequest {
    /// Events after `after` (0: from the oldest kept).
    pub fn after(after: u64) -> Self {
        EventsRequest { after: Some(after), ..Default::default() }
    }

    /// Checks the query: what the store reads, and how long to wait for it.
    pub fn validate(&self) -> Result<(EventFilter, std::time::Duration), ValidationError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ValidationError::member_invalid("limit", "must be between 1 and 1000"));
        }
        let wait = self.wait.unwrap_or(0);
        if wait > MAX_WAIT_SECS {
            return Err(ValidationError::member_invalid("wait", "must be between 0 and 30 (seconds)"));
        }
        let event_type = match self.event_type.as_deref() {
            None => None,
            Some(name) => Some(EventType::parse(name).ok_or_else(|| {
                ValidationError::member_invalid(
                    "type",
                    "must be one of the event types (docs/api.md, \"Events\")",
                )
            })?),
        };
        for (name, value) in [("subject", &self.subject), ("tokenId", &self.token_id)] {
            let bad = |v: &String| v.is_empty() || v.chars().count() > MAX_FILTER_LEN || v.contains('\0');
            if value.as_ref().is_some_and(bad) {
                return Err(ValidationError::member_invalid(
                    name,
                    "must be 1 to 1024 characters, without NUL",
                ));
            }
        }
        let client_id = match self.client_id {
            None => None,
            Some(id) => Some(ClientId(
                i64::try_from(id)
                    .map_err(|_| ValidationError::member_invalid("clientId", "is out of range"))?,
            )),
        };
        let after = self.after.unwrap_or(0);
        if i64::try_from(after).is_err() {
            return Err(ValidationError::member_invalid("after", "is out of range"));
        }
        let filter = EventFilter {
            after,
            limit,
            event_type,
            subject: self.subject.clone(),
            client_id,
            token_id: self.token_id.clone(),
        };
        Ok((filter, std::time::Duration::from_secs(u64::from(wait))))
    }
}

/// What a reader asks the store for: the events after `after` matching every filter given, at
/// most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// The cursor.
    pub after: u64,
    /// At most this many.
    pub limit: u32,
    /// Only this type.
    pub event_type: Option<EventType>,
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this client.
    pub client_id: Option<ClientId>,
    /// Only this token.
    pub token_id: Option<String>,
}

impl EventFilter {
    /// Whether `event` passes the filters (the store applies them too; this is the one
    /// definition its tests compare with).
    pub fn matches(&self, event: &Event) -> bool {
        event.event_id > self.after
            && self.event_type.is_none_or(|t| t == event.event_type)
            && self.subject.as_ref().is_none_or(|s| event.subject.as_ref() == Some(s))
            && self.client_id.is_none_or(|c| event.client_id == Some(c))
            && self.token_id.as_ref().is_none_or(|t| event.token_id.as_ref() == Some(t))
    }

    /// The cursor of the answer that read the range up to `head` (the newest event of the stream
    /// when it was read) and found `events`: the last one's ID when the answer is full (more may
    /// follow), else the end of what was looked at, so that a filter matching nothing still moves
    /// on.
    pub fn next(&self, events: &[Event], head: u64) -> u64 {
        let looked_at = head.min(self.after.saturating_add(SCAN_WINDOW));
        match events.last() {
            Some(last) if events.len() as u64 >= u64::from(self.limit) => last.event_id,
            Some(last) => last.event_id.max(looked_at),
            None => self.after.max(looked_at),
        }
    }
}

/// Answer (HTTP 200): the events after the cursor, oldest first, and the cursor to ask with next.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// Ask with `after` = this next time (equal to the request's `after` when there was nothing
    /// new).
    pub next: u64,
}

#[cfg(feature = "openapi")]
mod documented {
    use utoipa::openapi::path::{Parameter, ParameterIn};
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::openapi::{Components, Documented, derived};

    derived!(EventsPage);

    impl Documented for EventsRequest {
        fn schema(_: &mut Components) -> Option<RefOr<Schema>> {
            None
        }

        fn parameters() -> Vec<Parameter> {
            use utoipa::IntoParams;
            let mut parameters = Self::into_params(|| Some(ParameterIn::Query));
            // The bounds the query's rules enforce, from their constants.
            for parameter in &mut parameters {
                let bounds = match parameter.name.as_str() {
                    "limit" => Some((1, i64::from(MAX_LIMIT))),
                    "wait" => Some((0, i64::from(MAX_WAIT_SECS))),
                    "after" | "clientId" => Some((0, i64::MAX)),
                    _ => None,
                };
                if let Some((minimum, maximum)) = bounds {
                    parameter.schema = serde_json::from_value(
                        serde_json::json!({"type": "integer", "minimum": minimum, "maximum": maximum}),
                    )
                    .ok();
                }
                if matches!(parameter.name.as_str(), "subject" | "tokenId") {
                    parameter.schema = serde_json::from_value(serde_json::json!({
                        "type": "string", "minLength": 1, "maxLength": MAX_FILTER_LEN, "pattern": "^[^\\u0000]*$"
                    }))
                    .ok();
                }
                if parameter.name == "type" {
                    let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                    parameter.schema =
                        serde_json::from_value(serde_json::json!({"type": "string", "enum": names})).ok();
                }
            }
            parameters
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_type_has_one_name_and_parses_back() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
        let names: std::collections::HashSet<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), EventType::ALL.len());
        assert_eq!(EventType::parse("token.nope"), None);
    }

    #[test]
    fn the_query_is_bounded() {
        let bad = |request: EventsRequest, member: &str| {
            let err = request.validate().unwrap_err().to_string();
            assert!(err.contains(member), "{err}");
        };
        bad(EventsRequest { limit: Some(0), ..Default::default() }, "limit");
        bad(EventsRequest { limit: Some(1001), ..Default::default() }, "limit");
        bad(EventsRequest { wait: Some(31), ..Default::default() }, "wait");
        bad(EventsRequest { event_type: Some("token".into()), ..Default::default() }, "type");
        bad(EventsRequest { subject: Some(String::new()), ..Default::default() }, "subject");
        bad(EventsRequest { token_id: Some("x".repeat(1025)), ..Default::default() }, "tokenId");
        bad(EventsRequest { subject: Some("a\0b".into()), ..Default::default() }, "subject");
        // Characters, as the document's maxLength counts them.
        let wide = EventsRequest { subject: Some("é".repeat(1024)), ..Default::default() };
        assert!(wide.validate().is_ok());
        bad(EventsRequest { after: Some(u64::MAX), ..Default::default() }, "after");
        bad(EventsRequest { client_id: Some(u64::MAX), ..Default::default() }, "clientId");
        let (filter, wait) =
            EventsRequest { wait: Some(30), limit: Some(1000), ..Default::default() }.validate().unwrap();
        assert_eq!((filter.limit, wait.as_secs()), (1000, 30));
    }

    #[test]
    fn an_event_serialises_only_what_it_touched() {
        let event =
            Event::new(EventType::TokenRevoked, Actor::janitor(), 5).count(3).reason(RevokeReason::BySubject);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"eventId": 0, "at": 5, "type": "token.revoked",
                "actor": {"kind": "janitor"}, "count": 3, "reason": "by_subject"})
        );
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    }

    fn event(id: u64) -> Event {
        let mut e = Event::new(EventType::TokenCreated, Actor::cli(), 0);
        e.event_id = id;
        e
    }

    proptest! {
        /// A reader that follows `next` over a growing stream sees every matching event once, in
        /// order, whatever the filter, page size and head it meets each time.
        #[test]
        fn following_next_sees_every_match_once(
            kinds in proptest::collection::vec(0u8..3, 0..300),
            limit in 1u32..20,
            heads in proptest::collection::vec(0u64..300, 1..40),
        ) {
            let stream: Vec<Event> = kinds.iter().enumerate().map(|(i, k)| {
                let mut e = event(i as u64 + 1);
                if *k == 0 { e.subject = Some("alice".into()); }
                e
            }).collect();
            let mut filter = EventFilter { limit, subject: Some("alice".into()), ..Default::default() };
            let mut seen = Vec::new();
            let mut heads = heads.clone();
            heads.sort();
            heads.push(stream.len() as u64);
            for head in heads.iter().copied().chain(std::iter::repeat_n(stream.len() as u64, 400)) {
                let head = head.min(stream.len() as u64).max(filter.after);
                let window_end = head.min(filter.after + SCAN_WINDOW);
                let page: Vec<Event> = stream.iter()
                    .filter(|e| e.event_id <= window_end && filter.matches(e))
                    .take(limit as usize).cloned().collect();
                let next = filter.next(&page, head);
                prop_assert!(next >= filter.after);
                seen.extend(page.into_iter().map(|e| e.event_id));
                filter.after = next;
            }
            let expected: Vec<u64> = stream.iter().filter(|e| e.subject.is_some()).map(|e| e.event_id).collect();
            prop_assert_eq!(seen, expected);
        }
    }
}
