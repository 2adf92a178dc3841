//! `POST /api/{serviceId}/oauth/token`: the RFC 6749 token endpoint (jwt-bearer with a custom token,
//! RFC 7523, and refresh_token), its form, its answer and its error.

use serde::{Deserialize, Serialize};

use crate::api::TAG_CUSTOM_TOKENS;
use crate::secret::Secret;

/// The statuses of the RFC 6749 token endpoint.
pub const OAUTH_ERRORS: crate::api::ErrorStatuses = &[
    (
        "400",
        "RFC 6749 error: invalid_request, invalid_grant, unsupported_grant_type, or (RFC 9449) invalid_dpop_proof.",
    ),
    (
        "401",
        "RFC 6749 invalid_client: the token needs the service's Bearer credential, or the one given is not valid.",
    ),
    ("404", "No such service (invalid_request)."),
    ("413", "The body is larger than the configured limit (invalid_request)."),
    (
        "429",
        "The token's family was refreshed as often as it may this minute (temporarily_unavailable, Retry-After).",
    ),
    ("500", "Server-side error (server_error); details are logged, not returned."),
];

crate::api::json_payload!(OAuthTokenResponse, OAuthErrorResponse);

impl crate::api::Payload for OAuthTokenRequest {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Form;
}

impl crate::api::ErrorFamily for OAuthErrorResponse {
    const FAMILY: crate::api::Family = crate::api::Family::OAuth;
}

crate::api::endpoint! {
    /// `POST /api/{serviceId}/oauth/token`: the RFC 6749 token endpoint (jwt-bearer and refresh_token).
    pub struct OAuthToken {
        operation_id: "oauth_token",
        method: Post,
        path: "/api/{serviceId}/oauth/token",
        summary: "RFC 6749 token endpoint (form-encoded): grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with assertion=<custom token> (RFC 7523), or grant_type=refresh_token.",
        tag: TAG_CUSTOM_TOKENS,
        auth: Public,
        idempotent: false,
        errors: OAUTH_ERRORS,
        request: OAuthTokenRequest,
        response: OAuthTokenResponse,
        error: OAuthErrorResponse,
    }
}

/// Form parameters of the RFC 6749 token endpoint (`application/x-www-form-urlencoded`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthTokenRequest {
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` or `refresh_token`.
    pub grant_type: String,
    /// The custom token (jwt-bearer grant, RFC 7523).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The refresh token value.
    pub refresh_token: Option<Secret>,
}

/// RFC 6749 section 5.1 answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthTokenResponse {
    /// The access token value.
    pub access_token: Secret,
    /// The token type: `Bearer`, or `DPoP` for a DPoP-bound token.
    pub token_type: String,
    /// Seconds; absent for a token that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// The refresh token value.
    pub refresh_token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes, space-separated.
    pub scope: Option<String>,
}

/// RFC 6749 section 5.2 error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorResponse {
    /// Why the call failed.
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// A human-readable description of the error.
    pub error_description: Option<String>,
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;

    use super::*;
    use crate::openapi::{Rules, derived, with_rules};

    derived!(OAuthTokenResponse, OAuthErrorResponse);

    with_rules!(
        // RFC 6749: one grant, with its own required parameter.
        OAuthTokenRequest => |rules: &mut Rules<'_>| {
            rules.whole(json!({
                "description": "Form parameters of the RFC 6749 token endpoint (application/x-www-form-urlencoded).",
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["grant_type", "assertion"],
                        "properties": {
                            "grant_type": {"const": crate::grant::JWT_BEARER_GRANT},
                            "assertion": {"type": "string", "minLength": 1, "description": "The custom token (RFC 7523)."},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["grant_type", "refresh_token"],
                        "properties": {
                            "grant_type": {"const": "refresh_token"},
                            "refresh_token": {"type": "string", "minLength": 1},
                        },
                    },
                ],
            }));
        },
    );
}
