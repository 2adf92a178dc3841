//! The exchange endpoint: a custom token (single use) for an access and refresh token pair, and the
//! token pair answer it shares with the refresh endpoint.

use serde::{Deserialize, Serialize};

use crate::api::TAG_CUSTOM_TOKENS;
use crate::secret::Secret;

/// The statuses of the exchange.
pub const EXCHANGE_ERRORS: crate::api::ErrorStatuses = &[
    ("400", "The token is missing, invalid, expired or already used: success is false and error says which."),
    ("404", "No such service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

crate::api::json_payload!(CustomTokenExchangeRequest, TokenPairResponse);

impl crate::api::ErrorFamily for TokenPairResponse {
    const FAMILY: crate::api::Family = crate::api::Family::CustomToken;
}

crate::api::endpoint! {
    /// The exchange endpoint: a custom token for an access and refresh token pair.
    pub struct Exchange {
        operation_id: "custom_token_exchange",
        method: Post,
        path: "/api/{serviceId}/custom-token/exchange",
        summary: "Exchange a custom token (single use) for an access token and a refresh token. No Bearer credential: the custom token is the credential.",
        tag: TAG_CUSTOM_TOKENS,
        auth: Public,
        idempotent: false,
        errors: EXCHANGE_ERRORS,
        request: CustomTokenExchangeRequest,
        response: TokenPairResponse,
        error: TokenPairResponse,
    }
}

/// Body of the exchange endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomTokenExchangeRequest {
    /// The custom token (a compact JWS).
    pub custom_token: Secret,
}

/// Answer of exchange and refresh: `success`, then the token pair (as the end-user SDK of `000_…`
/// expects: accessToken, refreshToken, accessTokenExpiresAt, refreshTokenExpiresAt in ms), or `error`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenPairResponse {
    /// Whether the call succeeded.
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The access token value.
    pub access_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The refresh token value.
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the access token expires, milliseconds since the epoch (0: never).
    pub access_token_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the refresh token expires, milliseconds since the epoch.
    pub refresh_token_expires_at: Option<i64>,
    /// Seconds the access token has left, as token create and RFC 6749 answer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The token type: `Bearer`, or `DPoP` for a DPoP-bound token.
    pub token_type: Option<String>,
    /// RFC 9068 JWT, when the service signs access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_access_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The token's stable ID (never its value).
    pub token_id: Option<crate::TokenId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Why the call failed.
    pub error: Option<String>,
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;

    use super::*;
    use crate::openapi::{Rules, derived, with_rules};

    derived!(TokenPairResponse);

    with_rules!(
        CustomTokenExchangeRequest => |rules: &mut Rules<'_>| {
            rules.field("customToken", json!({"minLength": 1})).set(
                "examples",
                json!([{"customToken": "eyJhbGciOiJFZERTQSIsInR5cCI6ImN1c3RvbS10b2tlbitqd3QifQ.e30.c2ln"}]),
            );
        },
    );
}
