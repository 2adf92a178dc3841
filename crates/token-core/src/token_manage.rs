//! The rest of the token-management family: list, update, delete and revoke. Request and response
//! of each endpoint side by side, with their endpoint metadata.

use serde::{Deserialize, Serialize};

pub use crate::error_body::ApiErrorBody;
use serde_json::Value;

use crate::api::TAG_TOKEN_MANAGEMENT;
use crate::ids::{ClientId, TokenId};
use crate::result_code::Action;
use crate::secret::Secret;
use crate::token_create::{GrantType, Property};

// ---------------------------------------------------------------- list

crate::api::endpoint! {
    /// `GET /api/{serviceId}/auth/token/get/list`.
    pub struct List {
        operation_id: "auth_token_get_list_api",
        method: Get,
        path: "/api/{serviceId}/auth/token/get/list",
        summary: "List the access tokens of the service (hashes and times, never token values).",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: TokenListRequest,
        response: TokenListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::json_payload!(
    TokenListResponse,
    TokenUpdateRequest,
    TokenUpdateResponse,
    TokenRevokeRequest,
    TokenRevokeResponse
);

impl crate::api::Payload for TokenListRequest {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Query;
}

/// Default `end` of a list request (`start` defaults to 0; `end` is exclusive).
pub const LIST_DEFAULT_END: u32 = 5;
/// The most entries one list answer holds.
pub const LIST_MAX_PAGE: u32 = 1000;

/// Query parameters of the list endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TokenListRequest {
    /// The client ID or its alias: only that client's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_identifier: Option<String>,
    /// Only the tokens of this subject (printable ASCII, at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(max_length = 100, pattern = "^[\\x20-\\x7E]*$"))]
    pub subject: Option<String>,
    /// Start index (inclusive), default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u32>,
    /// End index (exclusive), default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u32>,
}

impl TokenListRequest {
    /// The page `[start, end)` of every token of the service (`end - start` at most
    /// [`LIST_MAX_PAGE`]).
    pub fn page(start: u32, end: u32) -> Self {
        Self { start: Some(start), end: Some(end), ..Self::default() }
    }

    /// Only the tokens of the client `identifier` (ID or alias).
    pub fn client(mut self, identifier: impl Into<String>) -> Self {
        self.client_identifier = Some(identifier.into());
        self
    }

    /// Only the tokens of `subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
}

/// One token in a list answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenInfo {
    /// The base64url SHA-256 of the access token value.
    pub access_token_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The base64url SHA-256 of the refresh token value.
    pub refresh_token_hash: Option<String>,
    /// The client's ID.
    pub client_id: ClientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The resource owner (end user) the token is for.
    pub subject: Option<String>,
    /// The grant type the token was issued under.
    pub grant_type: GrantType,
    #[serde(default)]
    /// The scopes.
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes of the refresh token, when they differ from the access token's.
    pub refresh_token_scopes: Option<Vec<String>>,
    /// Milliseconds since the epoch; 0 when the token never expires.
    pub access_token_expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the refresh token expires, milliseconds since the epoch.
    pub refresh_token_expires_at: Option<i64>,
    /// When the token was created, milliseconds since the epoch.
    pub created_at: i64,
    /// When the token was last refreshed, milliseconds since the epoch (0: never).
    pub last_refreshed_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Extra properties of the token (hidden ones are never shown to clients).
    pub properties: Option<Vec<Property>>,
    /// The token's stable ID (never its value).
    pub token_id: TokenId,
    /// Where the token stands at the moment of the listing.
    pub state: TokenState,
}

/// Where a listed token stands: `active` while its access token or its refresh token can still be
/// used, `revoked` once revoked (by any path), `expired` when both have ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    /// Its access token, or its refresh token, can still be used.
    Active,
    /// Revoked (by value, client, subject, key, reuse detection or client deletion).
    Revoked,
    /// Both its access token and its refresh token have expired.
    Expired,
}

impl TokenState {
    /// The state of a token revoked at `revoked_at` (if ever) whose access token expires at
    /// `access_expires_at` and refresh token at `refresh_expires_at` (0: never), at `now_ms`.
    pub fn of(
        revoked_at: Option<i64>,
        access_expires_at: i64,
        refresh_expires_at: Option<i64>,
        now_ms: i64,
    ) -> Self {
        let live = |expires_at: i64| expires_at == 0 || expires_at > now_ms;
        if revoked_at.is_some() {
            TokenState::Revoked
        } else if live(access_expires_at) || refresh_expires_at.is_some_and(live) {
            TokenState::Active
        } else {
            TokenState::Expired
        }
    }
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;
    use utoipa::openapi::path::{Parameter, ParameterIn};
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::authorization_details::AuthorizationDetailsSchema;
    use crate::openapi::{Components, Documented, Rules, THUMBPRINT_PATTERN, derived, with_rules};
    use crate::property::MAX_PROPERTIES;

    derived!(TokenListResponse, TokenUpdateResponse, TokenRevokeResponse);

    impl Documented for TokenListRequest {
        fn schema(_: &mut Components) -> Option<RefOr<Schema>> {
            None
        }

        fn parameters() -> Vec<Parameter> {
            use utoipa::IntoParams;
            let mut parameters = Self::into_params(|| Some(ParameterIn::Query));
            // Indexes are unsigned 32-bit integers.
            for parameter in &mut parameters {
                if matches!(parameter.name.as_str(), "start" | "end") {
                    parameter.schema =
                        serde_json::from_value(json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}))
                            .ok();
                }
            }
            parameters
        }
    }

    impl Documented for TokenUpdateRequest {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            let reference = components.add::<Self>();
            components.add::<AuthorizationDetailsSchema>();
            components.rules::<Self>(update_rules);
            Some(reference)
        }
    }

    fn update_rules(rules: &mut Rules<'_>) {
        let thumbprint_or_empty = json!({"pattern": format!("^({})?$", &THUMBPRINT_PATTERN[1..THUMBPRINT_PATTERN.len() - 1]), "description": "base64url SHA-256 thumbprint; empty removes the binding."});
        rules
            .field("accessToken", json!({"minLength": 1}))
            .field("accessTokenExpiresAt", json!({"minimum": 0}))
            .field("refreshTokenExpiresAt", json!({"minimum": 0}))
            .field("certificateThumbprint", thumbprint_or_empty.clone())
            .field("dpopKeyThumbprint", thumbprint_or_empty)
            .field("properties", json!({"maxItems": MAX_PROPERTIES}))
            .replace("authorizationDetails", AuthorizationDetailsSchema::nullable_field())
            .set(
                "examples",
                json!([{"accessToken": "VFGsNK-5sXiqterdaR7b5QbRX9VTwVCQB87jbr2_xAI", "scopes": ["history.read"]}]),
            );
    }

    with_rules!(TokenRevokeRequest => |rules: &mut Rules<'_>| {
        // A subject follows token create's rule (revoking by subject records a cutoff for it).
        rules
            .field("subject", json!({"maxLength": crate::ids::SUBJECT_MAX_LEN, "pattern": "^[\\u0020-\\u007e]*$"}))
            // One target at least (`null` is the same as leaving a field out).
            .set("anyOf", json!(
                ["accessTokenIdentifier", "refreshTokenIdentifier", "clientIdentifier", "subject"]
                    .map(|field| json!({"required": [field], "properties": {field: {"type": "string", "minLength": u32::from(field == "subject")}}}))
            ))
            .set("examples", json!([{"clientIdentifier": "26888344961664", "subject": "john"}]));
    });
}

#[cfg(test)]
mod state_tests {
    use super::TokenState;

    #[test]
    fn a_token_is_active_while_either_value_lives() {
        let now = 1_000;
        assert_eq!(TokenState::of(None, 2_000, None, now), TokenState::Active);
        assert_eq!(TokenState::of(None, 0, None, now), TokenState::Active, "persistent");
        assert_eq!(TokenState::of(None, 500, Some(2_000), now), TokenState::Active, "refreshable");
        assert_eq!(TokenState::of(None, 500, Some(0), now), TokenState::Active, "persistent refresh");
        assert_eq!(TokenState::of(None, 500, Some(900), now), TokenState::Expired);
        assert_eq!(TokenState::of(None, 1_000, None, now), TokenState::Expired, "expiry is exclusive");
        assert_eq!(TokenState::of(Some(1), 2_000, Some(3_000), now), TokenState::Revoked);
    }
}

/// Answer of the list endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenListResponse {
    /// Index of the first token of the page.
    pub start: u32,
    /// Index after the last token of the page.
    pub end: u32,
    /// How many tokens match, in all.
    pub total_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client the listing is filtered by, when one was given.
    pub client: Option<ClientSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The resource owner (end user) the token is for.
    pub subject: Option<String>,
    /// The page of tokens, newest first.
    pub access_tokens: Vec<AccessTokenInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// With a `subject`: when every token of the end user was last revoked (ms since the epoch;
    /// Firebase's `tokensValidAfterTime`). Custom tokens generated at or before it are refused at
    /// exchange. Absent when never.
    pub tokens_valid_after_time: Option<i64>,
}

/// The client a list was filtered by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientSummary {
    /// The client's ID.
    pub client_id: ClientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client's alias, when it has one.
    pub client_id_alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client's name.
    pub client_name: Option<String>,
}

// ---------------------------------------------------------------- update

crate::api::endpoint! {
    /// `POST /api/{serviceId}/auth/token/update`.
    pub struct Update {
        operation_id: "auth_token_update_api",
        method: Post,
        path: "/api/{serviceId}/auth/token/update",
        summary: "Update an existing access token: expiry, scopes, properties, bindings, details.",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: false,
        errors: crate::api::AUTH_ERRORS,
        request: TokenUpdateRequest,
        response: TokenUpdateResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

/// Request of the update endpoint. The token is named by its value or by its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TokenUpdateRequest {
    /// The access token value.
    pub access_token: Secret,
    /// New expiry in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes.
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Extra properties of the token (hidden ones are never shown to clients).
    pub properties: Option<Vec<Property>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the refresh token expires, milliseconds since the epoch.
    pub refresh_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether the access token never expires.
    pub access_token_persistent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The SHA-256 thumbprint of the client certificate the token is bound to (RFC 8705).
    pub certificate_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The JWK thumbprint of the DPoP key the token is bound to (RFC 9449).
    pub dpop_key_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    /// RFC 9396 authorization details.
    pub authorization_details: Option<Value>,
    /// Ask for a new access token value (the old value stops working).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_value_updated: Option<bool>,
}

impl TokenUpdateRequest {
    /// An update of `access_token` that changes nothing yet.
    pub fn new(access_token: Secret) -> Self {
        Self {
            access_token,
            access_token_expires_at: None,
            scopes: None,
            properties: None,
            refresh_token_expires_at: None,
            access_token_persistent: None,
            certificate_thumbprint: None,
            dpop_key_thumbprint: None,
            authorization_details: None,
            access_token_value_updated: None,
        }
    }
}

/// Answer of the update endpoint (action OK, BAD_REQUEST, NOT_FOUND, FORBIDDEN, INTERNAL_SERVER_ERROR).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenUpdateResponse {
    /// The result code (`A…`), as in Authlete's API.
    pub result_code: String,
    /// The result code and a message naming the cause: `[code] text`.
    pub result_message: String,
    /// What the caller should do next (always sent).
    pub action: Action,
    /// The access token: the new value when `accessTokenValueUpdated` was set, else the given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the access token expires, milliseconds since the epoch (0: never).
    pub access_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the refresh token expires, milliseconds since the epoch.
    pub refresh_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes.
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Extra properties of the token (hidden ones are never shown to clients).
    pub properties: Option<Vec<Property>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    /// RFC 9396 authorization details.
    pub authorization_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The token type: `Bearer`, or `DPoP` for a DPoP-bound token.
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The token's stable ID (never its value).
    pub token_id: Option<TokenId>,
}

// ---------------------------------------------------------------- delete

crate::api::endpoint! {
    /// `DELETE /api/{serviceId}/auth/token/delete/{accessTokenIdentifier}`.
    pub struct Delete {
        operation_id: "auth_token_delete_api",
        method: Delete,
        path: "/api/{serviceId}/auth/token/delete/{accessTokenIdentifier}",
        summary: "Delete an access token (by value or hash); answers 204.",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: crate::api::NoContent,
        error: crate::error_body::ApiErrorBody,
    }
}

// ---------------------------------------------------------------- revoke

crate::api::endpoint! {
    /// `POST /api/{serviceId}/auth/token/revoke`.
    pub struct Revoke {
        operation_id: "auth_token_revoke_api",
        method: Post,
        path: "/api/{serviceId}/auth/token/revoke",
        summary: "Revoke a token (by access or refresh token value or hash), or every token of a client's subject.",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: TokenRevokeRequest,
        response: TokenRevokeResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

/// Request of the revoke endpoint: one of the three forms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TokenRevokeRequest {
    /// An access token value or its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_identifier: Option<Secret>,
    /// A refresh token value or its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_identifier: Option<Secret>,
    /// With `subject`: every token of that subject for this client (ID or alias). Alone: every
    /// token of the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The resource owner (end user) the token is for. Alone: every token of that subject in the
    /// service, of every client (custom-token sessions included).
    pub subject: Option<String>,
}

impl TokenRevokeRequest {
    /// Revokes every token of `subject` in the service, of every client: the end user is signed
    /// out everywhere (Firebase's `revokeRefreshTokens(uid)`).
    pub fn subject(subject: impl Into<String>) -> Self {
        Self { subject: Some(subject.into()), ..Self::default() }
    }

    /// Revokes the token whose access token is `identifier` (its value or hash).
    pub fn access_token(identifier: impl Into<String>) -> Self {
        Self { access_token_identifier: Some(Secret::new(identifier)), ..Self::default() }
    }

    /// Revokes the token whose refresh token is `identifier` (its value or hash).
    pub fn refresh_token(identifier: impl Into<String>) -> Self {
        Self { refresh_token_identifier: Some(Secret::new(identifier)), ..Self::default() }
    }

    /// Revokes every token of the client `identifier` (ID or alias), or only those of `subject`.
    pub fn client(identifier: impl Into<String>, subject: Option<String>) -> Self {
        Self { client_identifier: Some(identifier.into()), subject, ..Self::default() }
    }
}

/// Answer of the revoke endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenRevokeResponse {
    /// The result code (`A…`), as in Authlete's API.
    pub result_code: String,
    /// The result code and a message naming the cause: `[code] text`.
    pub result_message: String,
    /// What the caller should do next (always sent).
    pub action: Action,
    /// How many live tokens were revoked (always sent).
    pub count: u64,
}
