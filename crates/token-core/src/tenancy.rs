//! Tenancy over HTTP in the Authlete API's shape: services, clients, a user's grants, and (our own
//! paths: Authlete has none) signing keys. Request and response of each endpoint side by side, with
//! their endpoint metadata.
//!
//! Authlete's `Service` and `Client` carry well over a hundred members; we store a few. The rule
//! for the rest ([`unsupported_members`]): a member we do not store is refused by name unless its
//! value says "not used" (`null`, `false`, `""`, `[]`, `{}`), so an object read from Authlete can
//! be sent here as it is, and nothing a caller meant is silently dropped.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ValidationError;
use crate::grant::GrantType;
use crate::ids::{ClientId, OrganizationId, ServiceId};
use crate::keys::SignAlg;
use crate::result_code::Action;

/// The statuses of a client's create and update.
pub const CLIENT_WRITE_ERRORS: crate::api::ErrorStatuses = &[
    ("400", "The request broke a rule; resultCode and resultMessage say which."),
    ("401", "Missing or unknown Bearer credential (WWW-Authenticate: Bearer)."),
    ("403", "The credential may not act on this service."),
    ("404", "No such service or client."),
    ("409", "The client ID or alias is taken in this service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

/// OpenAPI tag of this family.
pub const TAG_TENANCY: &str = "Tenancy";

// ---------------------------------------------------------------- services

crate::api::endpoint! {
    /// `POST /api/service/create` (organization token): a service of the caller's organization.
    pub struct ServiceCreate {
        operation_id: "service_create_api",
        method: Post,
        path: "/api/service/create",
        summary: "Create a service in the Organization Token's organization (with its first signing key).",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: false,
        errors: crate::api::KEY_MAKING_ERRORS,
        request: Service,
        response: Service,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::json_payload!(
    Service,
    ServiceListResponse,
    Client,
    ClientListResponse,
    ClientAuthorizationListResponse,
    ClientAuthorizationDeleteResponse,
    KeyListResponse,
    KeyRotateRequest,
    KeyRotateResponse,
    KeyRevokeResponse,
);

impl crate::api::Payload for ListRange {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Query;
}
crate::api::endpoint! {
    /// `GET /api/service/get/list` (organization token): the organization's services.
    pub struct ServiceList {
        operation_id: "service_get_list_api",
        method: Get,
        path: "/api/service/get/list",
        summary: "List the services of the Organization Token's organization.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: ListRange,
        response: ServiceListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `GET /api/{serviceId}/service/get` (organization token).
    pub struct ServiceGet {
        operation_id: "service_get_api",
        method: Get,
        path: "/api/{serviceId}/service/get",
        summary: "Get a service's settings.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: Service,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `POST /api/{serviceId}/service/update` (organization token): members given change, the others
    /// stay.
    pub struct ServiceUpdate {
        operation_id: "service_update_api",
        method: Post,
        path: "/api/{serviceId}/service/update",
        summary: "Change a service's settings (members absent stay as they are).",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::KEY_MAKING_ERRORS,
        request: Service,
        response: Service,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `DELETE /api/{serviceId}/service/delete` (organization token): the service and everything of
    /// it (tokens, clients, keys, its Service Access Tokens).
    pub struct ServiceDelete {
        operation_id: "service_delete_api",
        method: Delete,
        path: "/api/{serviceId}/service/delete",
        summary: "Delete a service with its tokens, clients, keys and Service Access Tokens.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: crate::api::NoContent,
        error: crate::error_body::ApiErrorBody,
    }
}

/// A scope of a service, as Authlete's `Scope` object (we store its name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// The scope token (RFC 6749 section 3.3).
    pub name: String,
}

/// Our settings that Authlete's `Service` has no member for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceExtension {
    /// Default `accessTokenTTL` of custom tokens' sessions, seconds (1–3600).
    #[serde(rename = "customTokenAccessTokenTTL", default, skip_serializing_if = "Option::is_none")]
    pub custom_token_access_token_ttl: Option<i64>,
    /// Default `refreshTokenTTL` of custom tokens' sessions, seconds (greater than the access TTL).
    #[serde(rename = "customTokenRefreshTokenTTL", default, skip_serializing_if = "Option::is_none")]
    pub custom_token_refresh_token_ttl: Option<i64>,
    /// Token Status Lists for JWT access tokens (draft-ietf-oauth-status-list-17): the `ttl` of
    /// the lists, seconds (1–86400), turns them on; `0` turns them off. Answers carry it only when
    /// lists are on. Needs the server's `public_base_url` (the lists' URIs).
    #[serde(rename = "statusListTTL", default, skip_serializing_if = "Option::is_none")]
    pub status_list_ttl: Option<i64>,
}

/// JWT access tokens of a service: `NONE` (off: opaque tokens only) or the algorithm they are
/// signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AccessTokenSignAlg {
    /// No JWT access tokens.
    #[serde(rename = "NONE")]
    None,
    /// `EdDSA` (Ed25519).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// `ES256` (P-256).
    #[serde(rename = "ES256")]
    Es256,
    /// `RS256` (RSA 2048).
    #[serde(rename = "RS256")]
    Rs256,
}

impl AccessTokenSignAlg {
    /// The signing algorithm, `None` for `NONE`.
    pub fn sign_alg(self) -> Option<SignAlg> {
        match self {
            AccessTokenSignAlg::None => None,
            AccessTokenSignAlg::EdDsa => Some(SignAlg::EdDsa),
            AccessTokenSignAlg::Es256 => Some(SignAlg::Es256),
            AccessTokenSignAlg::Rs256 => Some(SignAlg::Rs256),
        }
    }

    /// The member's value for a service signing with `alg` (`NONE` for none).
    pub fn of(alg: Option<SignAlg>) -> Self {
        match alg {
            None => AccessTokenSignAlg::None,
            Some(SignAlg::EdDsa) => AccessTokenSignAlg::EdDsa,
            Some(SignAlg::Es256) => AccessTokenSignAlg::Es256,
            Some(SignAlg::Rs256) => AccessTokenSignAlg::Rs256,
        }
    }
}

/// A service, as Authlete's `Service` object: the members this server stores. In a request every
/// member is optional (create: absent members take the defaults; update: absent members stay);
/// `apiKey` and `serviceOwnerNumber` are the server's to assign (given, they must match).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The service ID (Authlete's `apiKey`): the `{serviceId}` of every path of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<u64>,
    /// The ID of the organization that owns the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_owner_number: Option<u64>,
    /// The service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The issuer identifier (`iss` of JWT access tokens and custom tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The scopes token create accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_scopes: Option<Vec<Scope>>,
    /// The grant types the service allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_grant_types: Option<Vec<GrantType>>,
    /// Default access token lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_duration: Option<i64>,
    /// Default refresh token lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_duration: Option<i64>,
    /// JWT access tokens: `NONE` or their signing algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_sign_alg: Option<AccessTokenSignAlg>,
    /// Our settings with no Authlete member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ServiceExtension>,
}

/// Members of [`Service`] this server reads.
const SERVICE_MEMBERS: &[&str] = &[
    "apiKey",
    "serviceOwnerNumber",
    "serviceName",
    "issuer",
    "supportedScopes",
    "supportedGrantTypes",
    "accessTokenDuration",
    "refreshTokenDuration",
    "accessTokenSignAlg",
    "extension",
];
const SCOPE_MEMBERS: &[&str] = &["name"];

impl Service {
    /// Reads a request body: refuses members we do not store (by name; see the module's rule),
    /// `jwks` and `apiSecret` with their own reasons, then the members' types and values.
    pub fn from_request(body: Value) -> Result<Service, ValidationError> {
        let Value::Object(map) = &body else {
            return Err(ValidationError::member_invalid("(body)", "a service is a JSON object"));
        };
        if map.get("jwks").is_some_and(|v| !is_unused(v)) {
            return Err(ValidationError::member_invalid(
                "jwks",
                "keys are never taken or given in a service: use /api/{serviceId}/keys/… (private keys stay in the server)",
            ));
        }
        if map.get("apiSecret").is_some_and(|v| !is_unused(v)) {
            return Err(ValidationError::member_invalid(
                "apiSecret",
                "services have no API secret here: callers use Service Access Tokens and Organization Tokens, issued by the CLI",
            ));
        }
        // serde reads a struct from an array too; the document says object.
        if map.get("extension").is_some_and(|e| !e.is_object() && !e.is_null()) {
            return Err(ValidationError::member_invalid("extension", "must be a JSON object"));
        }
        if let Some(Value::Array(scopes)) = map.get("supportedScopes")
            && let Some(i) = scopes.iter().position(|s| !s.is_object())
        {
            return Err(ValidationError::member_invalid(
                &format!("supportedScopes[{i}]"),
                "must be a Scope object ({\"name\": …})",
            ));
        }
        let mut unsupported = unsupported_members(&body, SERVICE_MEMBERS, "");
        if let Some(Value::Array(scopes)) = map.get("supportedScopes") {
            for (i, scope) in scopes.iter().enumerate() {
                unsupported.extend(unsupported_members(
                    scope,
                    SCOPE_MEMBERS,
                    &format!("supportedScopes[{i}]."),
                ));
            }
        }
        refuse_unsupported(unsupported)?;
        let service: Service = typed(body)?;
        for (field, value) in [
            ("accessTokenDuration", service.access_token_duration),
            ("refreshTokenDuration", service.refresh_token_duration),
        ] {
            if value.is_some_and(|v| v <= 0) {
                return Err(ValidationError::member_invalid(field, "must be a positive number of seconds"));
            }
        }
        if let Some(scope) =
            service.supported_scopes.iter().flatten().find(|s| !crate::validate::is_scope_token(&s.name))
        {
            return Err(ValidationError::member_invalid(
                "supportedScopes",
                &format!("'{}' is not a scope token (RFC 6749 section 3.3)", scope.name),
            ));
        }
        Ok(service)
    }
}

/// `start`/`end` of a list (`end` exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(rename_all = "camelCase")]
pub struct ListRange {
    /// Start index (inclusive), default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u32>,
    /// End index (exclusive), default start + 100; at most start + 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u32>,
}

/// Entries a list answers when `end` is not given.
pub const LIST_DEFAULT_PAGE: u32 = 100;
/// The most entries one list answer holds.
pub const LIST_MAX_PAGE: u32 = 1000;

impl ListRange {
    /// The page `[start, end)`, checked: `end ≥ start`, at most [`LIST_MAX_PAGE`] entries.
    pub fn bounds(self) -> Result<(u32, u32), ValidationError> {
        let start = self.start.unwrap_or(0);
        let end = self.end.unwrap_or(start.saturating_add(LIST_DEFAULT_PAGE));
        // The document states both as int32.
        if start > i32::MAX as u32 || end > i32::MAX as u32 {
            return Err(ValidationError::member_invalid("start", "start and end must be at most 2147483647"));
        }
        if end < start || end - start > LIST_MAX_PAGE {
            return Err(ValidationError::member_invalid(
                "end",
                &format!("must be ≥ start and at most start + {LIST_MAX_PAGE}"),
            ));
        }
        Ok((start, end))
    }

    /// The entries of `items` in `[start, end)`.
    pub fn page<T>(self, items: Vec<T>) -> Result<(u32, u32, Vec<T>), ValidationError> {
        let (start, end) = self.bounds()?;
        let page = items.into_iter().skip(start as usize).take((end - start) as usize).collect();
        Ok((start, end, page))
    }
}

/// Answer of the service list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceListResponse {
    /// Start index (inclusive).
    pub start: u32,
    /// End index (exclusive).
    pub end: u32,
    /// How many services the organization has.
    pub total_count: u64,
    /// The services of `[start, end)`.
    pub services: Vec<Service>,
}

// ---------------------------------------------------------------- clients

crate::api::endpoint! {
    /// `POST /api/{serviceId}/client/create`.
    pub struct ClientCreate {
        operation_id: "client_create_api",
        method: Post,
        path: "/api/{serviceId}/client/create",
        summary: "Create a client of the service.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: false,
        errors: CLIENT_WRITE_ERRORS,
        request: Client,
        response: Client,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `GET /api/{serviceId}/client/get/{clientId}` (ID or alias).
    pub struct ClientGet {
        operation_id: "client_get_api",
        method: Get,
        path: "/api/{serviceId}/client/get/{clientId}",
        summary: "Get a client by its ID or alias.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: Client,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `GET /api/{serviceId}/client/get/list`.
    pub struct ClientList {
        operation_id: "client_get_list_api",
        method: Get,
        path: "/api/{serviceId}/client/get/list",
        summary: "List the clients of the service.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: ListRange,
        response: ClientListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `POST /api/{serviceId}/client/update/{clientId}` (ID or alias): members given change.
    pub struct ClientUpdate {
        operation_id: "client_update_api",
        method: Post,
        path: "/api/{serviceId}/client/update/{clientId}",
        summary: "Change a client (members absent stay as they are).",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: CLIENT_WRITE_ERRORS,
        request: Client,
        response: Client,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `DELETE /api/{serviceId}/client/delete/{clientId}` (ID or alias): every token of the client is
    /// revoked with it.
    pub struct ClientDelete {
        operation_id: "client_delete_api",
        method: Delete,
        path: "/api/{serviceId}/client/delete/{clientId}",
        summary: "Delete a client; every token issued to it is revoked.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: crate::api::NoContent,
        error: crate::error_body::ApiErrorBody,
    }
}

/// A client, as Authlete's `Client` object: the members this server stores.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Client {
    /// The client ID (assigned at creation unless given: a client moving from another server keeps
    /// its ID; given at update, it must be the client's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// The alias, usable wherever a client ID is (never a number); `""` at update removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    /// Whether the client has an alias (answers only; a request's value is not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_alias_enabled: Option<bool>,
    /// The client's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The client's OpenID Federation entity ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// The grant types the client may use (create default: `AUTHORIZATION_CODE`, as Authlete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<GrantType>>,
}

const CLIENT_MEMBERS: &[&str] =
    &["clientId", "clientIdAlias", "clientIdAliasEnabled", "clientName", "entityId", "grantTypes"];

/// The longest client name, alias or entity ID.
pub const MAX_CLIENT_TEXT_LEN: usize = 200;

impl Client {
    /// Reads a request body: refuses members we do not store (by name), `clientSecret` with its
    /// own reason, then the members' types and lengths.
    pub fn from_request(body: Value) -> Result<Client, ValidationError> {
        let Value::Object(map) = &body else {
            return Err(ValidationError::member_invalid("(body)", "a client is a JSON object"));
        };
        if map.get("clientSecret").is_some_and(|v| !is_unused(v)) {
            return Err(ValidationError::member_invalid(
                "clientSecret",
                "clients have no secret here: the authorization server authenticates its clients; this server trusts the service's credential",
            ));
        }
        refuse_unsupported(unsupported_members(&body, CLIENT_MEMBERS, ""))?;
        let client: Client = typed(body)?;
        for (field, value) in [
            ("clientName", &client.client_name),
            ("clientIdAlias", &client.client_id_alias),
            ("entityId", &client.entity_id),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > MAX_CLIENT_TEXT_LEN) {
                return Err(ValidationError::member_invalid(
                    field,
                    &format!("is longer than {MAX_CLIENT_TEXT_LEN} characters"),
                ));
            }
        }
        if client.client_id_alias.as_deref().is_some_and(|a| a.parse::<i64>().is_ok()) {
            return Err(ValidationError::member_invalid(
                "clientIdAlias",
                "must not be a number (it would be taken for a client ID)",
            ));
        }
        if client.client_id.is_some_and(|id| id.get() <= 0) {
            return Err(ValidationError::member_invalid("clientId", "must be a positive number"));
        }
        Ok(client)
    }
}

/// Answer of the client list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientListResponse {
    /// Start index (inclusive).
    pub start: u32,
    /// End index (exclusive).
    pub end: u32,
    /// How many clients the service has.
    pub total_count: u64,
    /// The clients of `[start, end)`.
    pub clients: Vec<Client>,
}

// ---------------------------------------------------------------- a user's grants

crate::api::endpoint! {
    /// `GET /api/{serviceId}/client/authorization/get/list/{subject}`.
    pub struct AuthorizationList {
        operation_id: "client_authorization_get_list_api",
        method: Get,
        path: "/api/{serviceId}/client/authorization/get/list/{subject}",
        summary: "List the clients holding live tokens for a subject.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: ListRange,
        response: ClientAuthorizationListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `DELETE /api/{serviceId}/client/authorization/delete/{clientId}/{subject}`.
    pub struct AuthorizationDelete {
        operation_id: "client_authorization_delete_api",
        method: Delete,
        path: "/api/{serviceId}/client/authorization/delete/{clientId}/{subject}",
        summary: "Revoke every live token a client holds for a subject.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: ClientAuthorizationDeleteResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

/// A client in a grant list (Authlete's `ClientLimited`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientLimited {
    /// The client ID.
    pub client_id: ClientId,
    /// The client's name.
    pub client_name: String,
    /// The alias, when the client has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    /// Whether the client has an alias.
    pub client_id_alias_enabled: bool,
}

/// Answer of the grant list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientAuthorizationListResponse {
    /// The subject asked about.
    pub subject: String,
    /// Start index (inclusive).
    pub start: u32,
    /// End index (exclusive).
    pub end: u32,
    /// How many clients hold live tokens for the subject.
    pub total_count: u64,
    /// The clients of `[start, end)`.
    pub clients: Vec<ClientLimited>,
}

/// Answer of the grant delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientAuthorizationDeleteResponse {
    /// `A210001`.
    pub result_code: String,
    /// `[A210001] …`.
    pub result_message: String,
    /// `OK`.
    pub action: Action,
    /// The service ID.
    pub service_api_key: u64,
    /// The client whose tokens were revoked.
    pub client_id: ClientId,
    /// The subject whose tokens were revoked.
    pub subject: String,
    /// How many live tokens were revoked.
    pub count: u64,
}

// ---------------------------------------------------------------- keys (our paths)

crate::api::endpoint! {
    /// `GET /api/{serviceId}/keys/list` (organization token).
    pub struct KeyList {
        operation_id: "keys_list_api",
        method: Get,
        path: "/api/{serviceId}/keys/list",
        summary: "List the service's signing keys (current, retired, revoked; public parts only).",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: KeyListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `POST /api/{serviceId}/keys/rotate` (organization token).
    pub struct KeyRotate {
        operation_id: "keys_rotate_api",
        method: Post,
        path: "/api/{serviceId}/keys/rotate",
        summary: "Make a new signing key current; the previous one stays published while tokens it signed live.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: false,
        errors: crate::api::KEY_MAKING_ERRORS,
        request: KeyRotateRequest,
        response: KeyRotateResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `POST /api/{serviceId}/keys/revoke/{kid}` (organization token).
    pub struct KeyRevoke {
        operation_id: "keys_revoke_api",
        method: Post,
        path: "/api/{serviceId}/keys/revoke/{kid}",
        summary: "Revoke a signing key: unpublished at once, and every live token it signed is revoked.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::KEY_MAKING_ERRORS,
        request: crate::api::NoBody,
        response: KeyRevokeResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

/// Where a signing key is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Signs now.
    Current,
    /// Replaced; published while tokens it signed live.
    Retired,
    /// Unpublished; nothing it signed is accepted.
    Revoked,
}

impl KeyState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Current => "current",
            KeyState::Retired => "retired",
            KeyState::Revoked => "revoked",
        }
    }
}

/// A signing key as operators see it: its state and times (milliseconds), and its public part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyInfo {
    /// The key ID (`kid`).
    pub kid: String,
    /// The algorithm.
    pub alg: SignAlg,
    /// Current, retired or revoked.
    pub state: KeyState,
    /// When it was made.
    pub created_at: i64,
    /// When it stopped signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// The public JWK, as the JWK Set publishes it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_jwk: Value,
}

/// Answer of the key list: newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyListResponse {
    /// Every key of the service, newest first.
    pub keys: Vec<SigningKeyInfo>,
}

/// Request of a key rotation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRotateRequest {
    /// The new key's algorithm; by default that of the service's JWT access tokens, else the
    /// current key's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<SignAlg>,
}

impl KeyRotateRequest {
    /// Reads a request body: a JSON object (serde would read a struct from an array too).
    pub fn from_request(body: Value) -> Result<KeyRotateRequest, ValidationError> {
        if !body.is_object() {
            return Err(ValidationError::member_invalid(
                "(body)",
                "a key rotation is a JSON object ({} or {\"alg\": …})",
            ));
        }
        typed(body)
    }
}

/// Answer of a key rotation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyRotateResponse {
    /// The key that is now current.
    pub key: SigningKeyInfo,
}

/// Answer of a key revocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyRevokeResponse {
    /// The revoked key's ID.
    pub revoked: String,
    /// The key made current, when the revoked one was current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<SigningKeyInfo>,
    /// Live tokens revoked because the key signed their JWT access token or their custom token.
    pub tokens_revoked: u64,
}

// ---------------------------------------------------------------- the members rule

/// Whether a value says "not used": `null`, `false`, `""`, `[]`, `{}`.
fn is_unused(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(true) | Value::Number(_) => false,
    }
}

/// The members of `object` outside `supported` whose value is used, prefixed with `at`, sorted.
pub fn unsupported_members(object: &Value, supported: &[&str], at: &str) -> Vec<String> {
    let Value::Object(map) = object else { return Vec::new() };
    let mut names: Vec<String> = map
        .iter()
        .filter(|(name, value)| !supported.contains(&name.as_str()) && !is_unused(value))
        .map(|(name, _)| format!("{at}{name}"))
        .collect();
    names.sort();
    names
}

fn refuse_unsupported(members: Vec<String>) -> Result<(), ValidationError> {
    if members.is_empty() {
        return Ok(());
    }
    // Bounded: a body of thousands of members gets a message of the first few.
    const SHOWN: usize = 10;
    let more = members.len().saturating_sub(SHOWN);
    let mut list: Vec<String> = members.into_iter().take(SHOWN).collect();
    if more > 0 {
        list.push(format!("and {more} more"));
    }
    Err(ValidationError::MembersUnsupported { members: list.join(", ") })
}

/// The supported members as their types, naming the member that does not fit.
fn typed<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let member = e.path().to_string();
        ValidationError::member_invalid(&member, &e.into_inner().to_string())
    })
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;
    use utoipa::openapi::path::{Parameter, ParameterIn};
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::custom_token::{MAX_ACCESS_TOKEN_TTL, MAX_REFRESH_TOKEN_TTL};
    use crate::openapi::{Components, Documented, Rules, SCOPE_TOKEN_PATTERN, derived, unused_members_only};

    derived!(
        ServiceListResponse,
        ClientListResponse,
        ClientAuthorizationListResponse,
        ClientAuthorizationDeleteResponse,
        KeyListResponse,
        KeyRotateResponse,
        KeyRevokeResponse,
    );

    impl Documented for ListRange {
        fn schema(_: &mut Components) -> Option<RefOr<Schema>> {
            None
        }

        fn parameters() -> Vec<Parameter> {
            use utoipa::IntoParams;
            Self::into_params(|| Some(ParameterIn::Query))
        }
    }

    impl Documented for KeyRotateRequest {
        // A key rotation may be sent with no body at all (it reads as `{}`).
        const REQUIRED: bool = false;

        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            Some(components.add::<Self>())
        }
    }

    // Tenancy: the shape rules of the members we store (rules between members, and what the store
    // holds — a taken alias, an unknown client — are in the descriptions).
    impl Documented for Service {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            let reference = components.add::<Self>();
            components.rules::<Self>(service_rules);
            components.rules::<Scope>(|rules| {
                rules.field("name", json!({"pattern": SCOPE_TOKEN_PATTERN}));
                unused_members_only(rules);
            });
            components.rules::<ServiceExtension>(|rules| {
                rules
                    .field("customTokenAccessTokenTTL", json!({"minimum": 1, "maximum": MAX_ACCESS_TOKEN_TTL}))
                    .field("customTokenRefreshTokenTTL", json!({"minimum": 2, "maximum": MAX_REFRESH_TOKEN_TTL, "description": "Default refreshTokenTTL of custom tokens' sessions, seconds: greater than customTokenAccessTokenTTL (or the service's access TTL when that is not given)."}));
            });
            Some(reference)
        }
    }

    fn service_rules(rules: &mut Rules<'_>) {
        for field in ["accessTokenDuration", "refreshTokenDuration"] {
            rules.field(field, json!({"minimum": 1}));
        }
        rules
            .field("serviceName", json!({"pattern": "\\S", "description": "The service's name (not blank)."}))
            .field("supportedGrantTypes", json!({"minItems": 1}))
            // The server's to assign: a request may leave them out (given, they must match).
            .field("apiKey", json!({"readOnly": true}))
            .field("serviceOwnerNumber", json!({"readOnly": true}));
        unused_members_only(rules);
    }

    impl Documented for Client {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            let reference = components.add::<Self>();
            components.rules::<Self>(|rules| {
                for field in ["clientName", "clientIdAlias", "entityId"] {
                    rules.field(field, json!({"maxLength": MAX_CLIENT_TEXT_LEN}));
                }
                rules.field("clientIdAliasEnabled", json!({"readOnly": true}));
                unused_members_only(rules);
            });
            Some(reference)
        }
    }
}

// ---------------------------------------------------------------- the tenancy model

/// A service's settings: what provisioning sets and the store keeps (one type for both).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSettings {
    /// The service's name.
    pub name: String,
    /// The issuer its JWTs carry (`iss`).
    pub issuer: String,
    /// The scopes its tokens may carry.
    pub supported_scopes: Vec<String>,
    /// The grant types its tokens may be created for.
    pub supported_grant_types: Vec<GrantType>,
    /// Default access token lifetime, seconds.
    pub access_token_duration: i64,
    /// Default refresh token lifetime, seconds.
    pub refresh_token_duration: i64,
    /// When set, token create also returns an RFC 9068 JWT access token signed with this algorithm.
    pub access_token_sign_alg: Option<SignAlg>,
    /// Default TTLs of custom tokens' access / refresh tokens, seconds.
    pub custom_token_access_ttl: i64,
    /// (the refresh token's)
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

/// Who a credential speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum Principal {
    /// A Service Access Token: this one service.
    Service(ServiceId),
    /// An Organization Token: every service of this organization.
    Organization(OrganizationId),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unused_members_pass_and_used_ones_are_named() {
        let body = json!({"serviceName": "s", "pkceRequired": false, "tosUri": "", "metadata": [],
                          "parRequired": true, "idTokenDuration": 300});
        let err = Service::from_request(body).unwrap_err();
        assert_eq!(
            err.to_string(),
            "These members are not supported by this server (nothing was changed): idTokenDuration, parRequired."
        );
        assert!(Service::from_request(json!({"serviceName": "s", "pkceRequired": false})).is_ok());
    }

    #[test]
    fn scope_members_and_keys_are_refused_by_name() {
        let err = Service::from_request(json!({"supportedScopes": [{"name": "a", "description": "d"}]}))
            .unwrap_err();
        assert!(err.to_string().contains("supportedScopes[0].description"), "{err}");
        let err = Service::from_request(json!({"jwks": "{\"keys\":[]}"})).unwrap_err();
        assert!(err.to_string().contains("keys/"), "{err}");
        let err = Service::from_request(json!({"accessTokenSignAlg": "HS256"})).unwrap_err();
        assert!(err.to_string().contains("accessTokenSignAlg"), "{err}");
        let err = Service::from_request(json!({"supportedScopes": [{"name": "a b"}]})).unwrap_err();
        assert!(err.to_string().contains("scope token"), "{err}");
        let err = Service::from_request(json!({"extension": [null, null]})).unwrap_err();
        assert!(err.to_string().contains("extension"), "arrays are not objects: {err}");
        let err = Service::from_request(json!({"supportedScopes": [["read"]]})).unwrap_err();
        assert!(err.to_string().contains("supportedScopes[0]"), "{err}");
    }

    #[test]
    fn client_rules() {
        assert!(Client::from_request(json!({"clientName": "c", "clientSecret": ""})).is_ok());
        assert!(Client::from_request(json!({"clientSecret": "s"})).is_err());
        assert!(Client::from_request(json!({"clientIdAlias": "42"})).is_err());
        assert!(Client::from_request(json!({"clientId": 0})).is_err());
        assert!(Client::from_request(json!({"redirectUris": ["https://a"]})).is_err());
        assert!(Client::from_request(json!([])).is_err());
    }

    #[test]
    fn list_ranges() {
        assert_eq!(ListRange::default().bounds().unwrap(), (0, LIST_DEFAULT_PAGE));
        assert!(ListRange { start: Some(5), end: Some(4) }.bounds().is_err());
        assert!(ListRange { start: Some(0), end: Some(LIST_MAX_PAGE + 1) }.bounds().is_err());
        let (_, _, page) = ListRange { start: Some(1), end: Some(3) }.page(vec![1, 2, 3, 4]).unwrap();
        assert_eq!(page, vec![2, 3]);
    }
}
