//! The rest of the token-management family: list, update, delete and revoke. Request and response
//! of each endpoint side by side, with their endpoint metadata.

use serde::{Deserialize, Serialize};

pub use crate::error_body::ApiErrorBody;
use serde_json::Value;

use crate::api::{Auth, Endpoint, Method, TAG_TOKEN_MANAGEMENT};
use crate::ids::{ClientId, TokenId};
use crate::result_code::Action;
use crate::secret::Secret;
use crate::token_create::{GrantType, Property};

// ---------------------------------------------------------------- list

pub const LIST_ENDPOINT: Endpoint = Endpoint {
    operation_id: "auth_token_get_list_api",
    method: Method::Get,
    path: "/api/{serviceId}/auth/token/get/list",
    summary: "List the access tokens of the service (hashes and times, never token values).",
    tag: TAG_TOKEN_MANAGEMENT,
    auth: Auth::Credential,
    request: None,
    response: Some("TokenListResponse"),
};

/// Default `end` of a list request (`start` defaults to 0; `end` is exclusive).
pub const LIST_DEFAULT_END: u32 = 5;
/// The most entries one list answer holds.
pub const LIST_MAX_PAGE: u32 = 1000;

/// Query parameters of the list endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(rename_all = "camelCase")]
pub struct TokenListRequest {
    /// The client ID or its alias: only that client's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_identifier: Option<String>,
    /// Only the tokens of this subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Start index (inclusive), default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u32>,
    /// End index (exclusive), default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u32>,
}

/// One token in a list answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenInfo {
    pub access_token_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_hash: Option<String>,
    pub client_id: ClientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub grant_type: GrantType,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_scopes: Option<Vec<String>>,
    /// Milliseconds since the epoch; 0 when the token never expires.
    pub access_token_expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<i64>,
    pub created_at: i64,
    pub last_refreshed_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<Property>>,
    pub token_id: TokenId,
}

/// Answer of the list endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenListResponse {
    pub start: u32,
    pub end: u32,
    pub total_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub access_tokens: Vec<AccessTokenInfo>,
}

/// The client a list was filtered by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientSummary {
    pub client_id: ClientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

// ---------------------------------------------------------------- update

pub const UPDATE_ENDPOINT: Endpoint = Endpoint {
    operation_id: "auth_token_update_api",
    method: Method::Post,
    path: "/api/{serviceId}/auth/token/update",
    summary: "Update an existing access token: expiry, scopes, properties, bindings, details.",
    tag: TAG_TOKEN_MANAGEMENT,
    auth: Auth::Credential,
    request: Some("TokenUpdateRequest"),
    response: Some("TokenUpdateResponse"),
};

/// Request of the update endpoint. The token is named by its value or by its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenUpdateRequest {
    pub access_token: Secret,
    /// New expiry in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<Property>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_persistent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub authorization_details: Option<Value>,
    /// Ask for a new access token value (the old value stops working).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_value_updated: Option<bool>,
}

impl TokenUpdateRequest {
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
    pub result_code: String,
    pub result_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The access token: the new value when `accessTokenValueUpdated` was set, else the given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<Property>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub authorization_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<TokenId>,
}

// ---------------------------------------------------------------- delete

pub const DELETE_ENDPOINT: Endpoint = Endpoint {
    operation_id: "auth_token_delete_api",
    method: Method::Delete,
    path: "/api/{serviceId}/auth/token/delete/{accessTokenIdentifier}",
    summary: "Delete an access token (by value or hash); answers 204.",
    tag: TAG_TOKEN_MANAGEMENT,
    auth: Auth::Credential,
    request: None,
    response: None,
};

// ---------------------------------------------------------------- revoke

pub const REVOKE_ENDPOINT: Endpoint = Endpoint {
    operation_id: "auth_token_revoke_api",
    method: Method::Post,
    path: "/api/{serviceId}/auth/token/revoke",
    summary: "Revoke a token (by access or refresh token value or hash), or every token of a client's subject.",
    tag: TAG_TOKEN_MANAGEMENT,
    auth: Auth::Credential,
    request: Some("TokenRevokeRequest"),
    response: Some("TokenRevokeResponse"),
};

/// Request of the revoke endpoint: one of the three forms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
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
    pub subject: Option<String>,
}

/// Answer of the revoke endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenRevokeResponse {
    pub result_code: String,
    pub result_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}
