//! Custom tokens (`000_…`): `generateCustomToken` input and output, and its rules.
//!
//! A custom token is what an application back-end hands its end user; the end user exchanges it
//! for an access + refresh token pair whose lifetimes are the TTLs given here.

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

/// The statuses of the exchange.
pub const EXCHANGE_ERRORS: crate::api::ErrorStatuses = &[
    ("400", "The token is missing, invalid, expired or already used: success is false and error says which."),
    ("404", "No such service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

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

/// A pipeline's body: an array of [`PipelineOperation`]s, or the RDK's object keyed by operation
/// name (`{"generateCustomToken": [...], "createToken": [...]}`). Each input is read by its
/// operation, so the body is kept as JSON here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PipelineRequest(pub Value);

/// A pipeline's answer: one result per operation, in the request's form (array or keyed object),
/// each a [`GenerateCustomTokenResponse`] or a `TokenCreateResponse` (or its error body).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PipelineResponse(pub Value);

crate::api::json_payload!(
    GenerateCustomToken,
    GenerateCustomTokenResponse,
    PipelineRequest,
    PipelineResponse,
    CustomTokenExchangeRequest,
    RefreshRequest,
    TokenPairResponse,
    OAuthTokenResponse,
    OAuthErrorResponse,
);

impl crate::api::Payload for OAuthTokenRequest {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Form;
}

impl crate::api::ErrorFamily for GenerateCustomTokenResponse {
    const FAMILY: crate::api::Family = crate::api::Family::CustomToken;
}

impl crate::api::ErrorFamily for TokenPairResponse {
    const FAMILY: crate::api::Family = crate::api::Family::CustomToken;
}

impl crate::api::ErrorFamily for OAuthErrorResponse {
    const FAMILY: crate::api::Family = crate::api::Family::OAuth;
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

crate::api::endpoint! {
    /// `POST /api/{serviceId}/pipeline`.
    pub struct Pipeline {
        operation_id: "pipeline",
        method: Post,
        path: "/api/{serviceId}/pipeline",
        summary: "Run a batch of generateCustomToken / createToken operations in one round trip (RDK pipeline().send()).",
        tag: TAG_CUSTOM_TOKENS,
        auth: Credential,
        idempotent: false,
        errors: crate::api::AUTH_ERRORS,
        request: PipelineRequest,
        response: PipelineResponse,
        error: crate::error_body::ApiErrorBody,
    }
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

/// How long a custom token may wait to be exchanged, seconds.
pub const CUSTOM_TOKEN_LIFETIME_SECS: i64 = 300;
/// `typ` of the custom token's JWS header. Its own media type (RFC 8725 section 3.11): access
/// tokens are signed with the same key (`typ: at+jwt`), so exchange accepts only this value.
pub const CUSTOM_TOKEN_TYP: &str = "custom-token+jwt";
/// Claims only a custom token carries (reserved in an access token's `jwtAtClaims`).
pub const CUSTOM_TOKEN_CLAIMS: &[&str] = &["identity", "claims", "accessTokenTTL", "refreshTokenTTL"];
/// Clock skew tolerated when a custom token is verified, seconds.
pub const CUSTOM_TOKEN_LEEWAY_SECS: i64 = 5;

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

/// The claims of a custom token (a compact JWS signed with the service's current key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomTokenClaims {
    /// The service's issuer.
    pub iss: String,
    /// The userId.
    pub sub: String,
    /// The exchange endpoint of the service (see [`exchange_audience`]).
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Unique; recorded at exchange so the token is single use.
    pub jti: String,
    /// The end user's identity (role).
    pub identity: String,
    /// The caller's claims, under their own claim (absent when empty).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    #[serde(rename = "accessTokenTTL")]
    /// Access token lifetime, seconds.
    pub access_token_ttl: i64,
    #[serde(rename = "refreshTokenTTL")]
    /// Refresh token lifetime, seconds.
    pub refresh_token_ttl: i64,
}

impl CustomTokenClaims {
    /// When the token was generated, in milliseconds: the `jti` leads with that time (11 hex
    /// digits, as token IDs do) and is signed with the rest; when it does not agree with `iat`
    /// (a token generated by another implementation), the start of `iat`'s second. A per-user
    /// cutoff compares with this, so a token generated in the same second as a revocation but
    /// after it is not refused.
    pub fn generated_at_ms(&self) -> i64 {
        let second = self.iat.saturating_mul(1000);
        self.jti
            .get(..11)
            .and_then(|hex| i64::from_str_radix(hex, 16).ok())
            .filter(|ms| (second..second.saturating_add(1000)).contains(ms))
            .unwrap_or(second)
    }

    /// The rules of `generateCustomToken` again, on a verified token at exchange: a valid signature
    /// does not make the content valid (a key may have signed something else), and the lifetimes
    /// become expiry dates, so they must be in range before any arithmetic.
    pub fn check(&self) -> Result<CustomTokenPlan, ValidationError> {
        let lifetime = self.exp.checked_sub(self.iat);
        if !lifetime.is_some_and(|l| (0..=CUSTOM_TOKEN_LIFETIME_SECS).contains(&l)) {
            return Err(ValidationError::CustomTokenLifetimeInvalid { max: CUSTOM_TOKEN_LIFETIME_SECS });
        }
        let input = GenerateCustomToken {
            user_id: self.sub.clone(),
            identity: self.identity.clone(),
            claims: Some(Value::Object(self.claims.clone())),
            access_token_ttl: Some(self.access_token_ttl),
            refresh_token_ttl: Some(self.refresh_token_ttl),
        };
        input.plan(CustomTokenDefaults {
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
        })
    }
}

/// `aud` of a custom token: the exchange endpoint of the service under its issuer.
pub fn exchange_audience(issuer: &str, service: crate::ServiceId) -> String {
    format!(
        "{}{}",
        issuer.trim_end_matches('/'),
        <Exchange as crate::api::Endpoint>::METADATA.path_for(service)
    )
}

impl CustomTokenPlan {
    /// The claims to sign, issued at `now` (seconds) with the unique `jti`.
    pub fn claims(
        &self,
        issuer: &str,
        service: crate::ServiceId,
        now: i64,
        jti: String,
    ) -> CustomTokenClaims {
        CustomTokenClaims {
            iss: issuer.to_owned(),
            sub: self.user_id.clone(),
            aud: exchange_audience(issuer, service),
            iat: now,
            exp: now + CUSTOM_TOKEN_LIFETIME_SECS,
            jti,
            identity: self.identity.clone(),
            claims: self.claims.clone(),
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
        }
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

/// One operation of a pipeline, as sent: `{"op": "...", "input": {...}}`. Inputs are kept as JSON
/// so that one malformed input fails only its own operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineOperation {
    /// `generateCustomToken` or `createToken`.
    pub op: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    /// The operation's input, as the operation alone takes it.
    pub input: Value,
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

/// Pipeline operation names.
pub const OP_GENERATE_CUSTOM_TOKEN: &str = "generateCustomToken";
/// The pipeline operation that creates a token.
pub const OP_CREATE_TOKEN: &str = "createToken";

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
    use utoipa::ToSchema as _;
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::openapi::{Components, Documented, NAME_PATTERN, Rules, derived, with_rules};

    derived!(GenerateCustomTokenResponse, TokenPairResponse, OAuthTokenResponse, OAuthErrorResponse);

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
        CustomTokenExchangeRequest => |rules: &mut Rules<'_>| {
            rules.field("customToken", json!({"minLength": 1})).set(
                "examples",
                json!([{"customToken": "eyJhbGciOiJFZERTQSIsInR5cCI6ImN1c3RvbS10b2tlbitqd3QifQ.e30.c2ln"}]),
            );
        },
        RefreshRequest => |rules: &mut Rules<'_>| {
            rules
                .field("refreshToken", json!({"minLength": 1}))
                .set("examples", json!([{"refreshToken": "NuNmoNWbc4zQOLsPpcCLzdfaIy7KpFYzuOFJLOAnsxw"}]));
        },
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

    fn inline(schema: serde_json::Value) -> RefOr<Schema> {
        serde_json::from_value(schema).unwrap_or_else(|e| panic!("pipeline schema: {e}"))
    }

    /// An array of operations, or the RDK's object keyed by operation. Each input is checked by
    /// its operation, and a failing one fails alone, in its own result.
    impl Documented for PipelineRequest {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            components.add::<PipelineOperation>();
            components.rules::<PipelineOperation>(|rules| {
                rules.field("op", json!({"enum": [OP_GENERATE_CUSTOM_TOKEN, OP_CREATE_TOKEN]}));
                rules.replace("input", json!({"type": "object"}));
            });
            let operation = format!("#/components/schemas/{}", PipelineOperation::name());
            Some(inline(json!({"oneOf": [
                {"type": "array", "items": {"$ref": operation}},
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        OP_GENERATE_CUSTOM_TOKEN: {"type": "array", "items": {"type": "object"}},
                        OP_CREATE_TOKEN: {"type": "array", "items": {"type": "object"}},
                    },
                },
            ]})))
        }
    }

    impl Documented for PipelineResponse {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            components.add::<GenerateCustomTokenResponse>();
            components.add::<crate::token_create::TokenCreateResponse>();
            let reference = |name: std::borrow::Cow<'static, str>| format!("#/components/schemas/{name}");
            let generated = reference(GenerateCustomTokenResponse::name());
            let created = reference(crate::token_create::TokenCreateResponse::name());
            let results = |item: &str| json!({"type": "array", "items": {"$ref": item}});
            Some(inline(json!({"oneOf": [
                {"type": "array", "items": {"anyOf": [{"$ref": generated}, {"$ref": created}]}},
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        OP_GENERATE_CUSTOM_TOKEN: results(&generated),
                        OP_CREATE_TOKEN: results(&created),
                    },
                },
            ]})))
        }
    }
}
