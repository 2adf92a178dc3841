//! The refresh endpoint of the custom-token family: a refresh token for a new access token and a
//! rotated refresh token.

use serde::{Deserialize, Serialize};

use super::TokenPairResponse;
use crate::api::TAG_CUSTOM_TOKENS;
use crate::secret::Secret;

/// The statuses of the refresh endpoint.
pub const REFRESH_ERRORS: crate::api::ErrorStatuses = &[
    (
        "400",
        "The token is missing, invalid, expired or reused, or its DPoP proof or certificate is missing or wrong: success is false and error says which.",
    ),
    (
        "401",
        "The token needs the service's Bearer credential (only custom-token sessions and DPoP-bound tokens refresh without), or the credential given is not valid.",
    ),
    ("403", "The credential given is not one of this service."),
    ("404", "No such service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("429", "The token's family was refreshed as often as it may this minute (A001209, Retry-After)."),
    ("500", "Server-side error; details are logged, not returned."),
];

crate::api::json_payload!(RefreshRequest);

crate::api::endpoint! {
    /// The refresh endpoint of the custom-token family.
    pub struct Refresh {
        operation_id: "auth_token_refresh",
        method: Post,
        path: "/api/{serviceId}/auth/token/refresh",
        summary: "Use a refresh token: a new access token and a rotated refresh token. Reusing a rotated refresh token revokes its family. Without a credential only custom-token sessions and DPoP-bound tokens (with a DPoP proof) refresh; with the service's Bearer credential, any token of the service.",
        tag: TAG_CUSTOM_TOKENS,
        auth: Public,
        idempotent: false,
        errors: REFRESH_ERRORS,
        request: RefreshRequest,
        response: TokenPairResponse,
        error: TokenPairResponse,
    }
}

/// Body of the refresh endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RefreshRequest {
    /// The refresh token value.
    pub refresh_token: Secret,
    /// For a certificate-bound token refreshed by the service's authorization server (with its
    /// Bearer credential): the client certificate (PEM) whose `x5t#S256` the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
}

impl RefreshRequest {
    /// A refresh of `refresh_token`.
    pub fn new(refresh_token: Secret) -> Self {
        Self { refresh_token, client_certificate: None }
    }
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;

    use super::*;
    use crate::openapi::{Rules, with_rules};

    with_rules!(
        RefreshRequest => |rules: &mut Rules<'_>| {
            rules
                .field("refreshToken", json!({"minLength": 1}))
                .set("examples", json!([{"refreshToken": "NuNmoNWbc4zQOLsPpcCLzdfaIy7KpFYzuOFJLOAnsxw"}]));
        },
    );
}
