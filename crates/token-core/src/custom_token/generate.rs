//! `generateCustomToken`: its endpoint, input and output, the limits of the document, and every
//! rule of a generation (the [`CustomTokenPlan`] a valid input makes).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::TAG_CUSTOM_TOKENS;
use crate::error::ValidationError;
use crate::secret::Secret;
use crate::validate::truncate;

/// The statuses of generate.
pub const GENERATE_ERRORS: crate::api::ErrorStatuses = &[
    ("400", "The input broke a rule: success is false and error names the field."),
    ("401", "Missing or unknown Bearer credential."),
    ("403", "The credential may not act on this service."),
    ("404", "No such service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("429", "More than the allowed generations are in flight for this credential (Retry-After)."),
    ("500", "Server-side error; details are logged, not returned."),
];

crate::api::json_payload!(GenerateCustomToken, GenerateCustomTokenResponse);

impl crate::api::ErrorFamily for GenerateCustomTokenResponse {
    const FAMILY: crate::api::Family = crate::api::Family::CustomToken;
}

crate::api::endpoint! {
    /// `POST /api/{serviceId}/custom-token/generate`.
    pub struct Generate {
        operation_id: "custom_token_generate",
        method: Post,
        path: "/api/{serviceId}/custom-token/generate",
        summary: "Generate a custom token for an end user (RDK generateCustomToken).",
        tag: TAG_CUSTOM_TOKENS,
        auth: Credential,
        idempotent: false,
        errors: GENERATE_ERRORS,
        request: GenerateCustomToken,
        response: GenerateCustomTokenResponse,
        error: GenerateCustomTokenResponse,
    }
}

/// The document: accessTokenTTL max 3600 seconds.
pub const MAX_ACCESS_TOKEN_TTL: i64 = 3600;
/// Our cap for refreshTokenTTL: one year.
pub const MAX_REFRESH_TOKEN_TTL: i64 = 365 * 24 * 3600;
/// userId / identity: at most 128 characters (as Firebase's uid).
pub const MAX_USER_ID_LEN: usize = 128;
/// Longest identity, in characters.
pub const MAX_IDENTITY_LEN: usize = 128;
/// claims serialised as JSON: at most 1000 bytes (as Firebase's custom claims).
pub const MAX_CLAIMS_BYTES: usize = 1000;
/// How many generations one caller may have in flight at once (the document's limit).
pub const MAX_PARALLEL_GENERATIONS: usize = 10;

/// Claim names the caller's `claims` may not use: registered JWT/OIDC names, and the names this
/// service puts into the tokens itself.
pub const RESERVED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "azp",
    "cnf",
    "c_hash",
    "exp",
    "iat",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "sub",
    "firebase",
    "identity",
    "userId",
    "client_id",
    "scope",
    "anonymous",
];

/// Input of `generateCustomToken`. Note the document's casing of `accessTokenTTL`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GenerateCustomToken {
    /// User's ID to put into the token.
    pub user_id: String,
    /// User's identity (role) to put into the token.
    pub identity: String,
    /// User's metadata to put into the token (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub claims: Option<Value>,
    /// Access token time-to-live in seconds (max 3600).
    #[serde(rename = "accessTokenTTL", default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<i64>,
    /// Refresh token time-to-live in seconds (greater than accessTokenTTL).
    #[serde(rename = "refreshTokenTTL", default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<i64>,
}

impl GenerateCustomToken {
    /// An input for `user_id` with `identity`, the service's default TTLs and no claims.
    pub fn new(user_id: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            identity: identity.into(),
            claims: None,
            access_token_ttl: None,
            refresh_token_ttl: None,
        }
    }

    /// With the application's `claims` (a JSON object).
    pub fn claims(mut self, claims: Value) -> Self {
        self.claims = Some(claims);
        self
    }

    /// With these TTLs, seconds (`refresh` greater than `access`, `access` at most 3600).
    pub fn ttls(mut self, access: i64, refresh: i64) -> Self {
        self.access_token_ttl = Some(access);
        self.refresh_token_ttl = Some(refresh);
        self
    }
}

/// `data` of a successful answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomTokenData {
    /// The custom token (a compact JWS).
    pub custom_token: Secret,
}

/// Output of `generateCustomToken`: `success`, and either `data` or `error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GenerateCustomTokenResponse {
    /// Whether the call succeeded.
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The generated custom token, on success.
    pub data: Option<CustomTokenData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Why the call failed.
    pub error: Option<String>,
}

impl GenerateCustomTokenResponse {
    /// A success carrying the custom token.
    pub fn ok(custom_token: Secret) -> Self {
        Self { success: true, data: Some(CustomTokenData { custom_token }), error: None }
    }

    /// A failure and why.
    pub fn failed(error: impl Into<String>) -> Self {
        Self { success: false, data: None, error: Some(error.into()) }
    }
}

/// The service's default TTLs, used for whichever TTL the caller leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomTokenDefaults {
    /// Access token lifetime, seconds.
    pub access_token_ttl: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_ttl: i64,
}

/// A generation request that passed every rule.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomTokenPlan {
    /// The end user's ID.
    pub user_id: String,
    /// The end user's identity (role).
    pub identity: String,
    /// The application's claims (a JSON object).
    pub claims: Map<String, Value>,
    /// Access token lifetime, seconds.
    pub access_token_ttl: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_ttl: i64,
}

impl GenerateCustomToken {
    /// Every rule of `generateCustomToken`; the TTLs are resolved against `defaults`.
    pub fn plan(&self, defaults: CustomTokenDefaults) -> Result<CustomTokenPlan, ValidationError> {
        check_name(&self.user_id, MAX_USER_ID_LEN)
            .map_err(|problem| ValidationError::UserIdInvalid { problem })?;
        check_name(&self.identity, MAX_IDENTITY_LEN)
            .map_err(|problem| ValidationError::IdentityInvalid { problem })?;

        let access = self.access_token_ttl.unwrap_or(defaults.access_token_ttl);
        if !(1..=MAX_ACCESS_TOKEN_TTL).contains(&access) {
            return Err(ValidationError::AccessTokenTtlOutOfRange { value: access });
        }
        let refresh = self.refresh_token_ttl.unwrap_or(defaults.refresh_token_ttl);
        if refresh <= access {
            return Err(ValidationError::RefreshTokenTtlNotGreater { access, refresh });
        }
        if refresh > MAX_REFRESH_TOKEN_TTL {
            return Err(ValidationError::RefreshTokenTtlTooLong {
                value: refresh,
                max: MAX_REFRESH_TOKEN_TTL,
            });
        }

        let claims = match &self.claims {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(claims)) => claims.clone(),
            Some(_) => return Err(ValidationError::ClaimsNotObject),
        };
        if let Some(name) = claims.keys().find(|k| RESERVED_CLAIMS.contains(&k.as_str())) {
            return Err(ValidationError::ClaimsReserved { name: truncate(name) });
        }
        let size = serde_json::to_string(&claims).map(|s| s.len()).unwrap_or(usize::MAX);
        if size > MAX_CLAIMS_BYTES {
            return Err(ValidationError::ClaimsTooLarge { size, max: MAX_CLAIMS_BYTES });
        }

        Ok(CustomTokenPlan {
            user_id: self.user_id.clone(),
            identity: self.identity.clone(),
            claims,
            access_token_ttl: access,
            refresh_token_ttl: refresh,
        })
    }
}

fn check_name(value: &str, max: usize) -> Result<(), &'static str> {
    if value.trim().is_empty() {
        Err("is required and must not be empty or blank")
    } else if value.chars().count() > max {
        Err("is longer than 128 characters")
    } else if value.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(())
    }
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;

    use super::*;
    use crate::openapi::{NAME_PATTERN, Rules, derived, with_rules};

    derived!(GenerateCustomTokenResponse);

    with_rules!(
        GenerateCustomToken => |rules: &mut Rules<'_>| {
            let name = |max: usize| json!({"minLength": 1, "maxLength": max, "pattern": NAME_PATTERN});
            rules
                .field("userId", name(MAX_USER_ID_LEN))
                .field("identity", name(MAX_IDENTITY_LEN))
                .field("claims", json!({
                    "type": ["object", "null"],
                    "propertyNames": {"not": {"enum": RESERVED_CLAIMS}},
                    "description": format!("The end user's metadata: a JSON object of at most {MAX_CLAIMS_BYTES} bytes; registered JWT names are reserved."),
                }))
                .field("accessTokenTTL", json!({"minimum": 1, "maximum": MAX_ACCESS_TOKEN_TTL}))
                .field("refreshTokenTTL", json!({
                    "minimum": 2,
                    "maximum": MAX_REFRESH_TOKEN_TTL,
                    "description": "Refresh token time-to-live in seconds: greater than accessTokenTTL (or the service's default when that is not given).",
                }))
                .set("examples", json!([{"userId": "user01", "identity": "enduser", "claims": {"name": "John Doe"}, "accessTokenTTL": 3600, "refreshTokenTTL": 2_592_000}]));
        },
    );
}
