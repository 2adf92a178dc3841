//! `POST /api/{serviceId}/auth/token/create` (`004_…`): request, response and every rule of the
//! document, as pure functions over the request and a plain description of the service.

#[cfg(feature = "openapi")]
mod documented;
mod plan;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::TAG_TOKEN_MANAGEMENT;
use crate::error::ValidationError;
use crate::ids::{ClientId, Subject, TokenId};
use crate::result_code::{Action, ResultCode};
use crate::secret::Secret;
use crate::validate::{absolute_uri_problem, is_base64url_sha256, is_token_value};

pub use plan::{AccessTokenLifetime, Binding, ClientPolicy, ServicePolicy, TokenCreatePlan};

// The shared vocabulary, re-exported where token create's users have always found it.
use crate::authorization_details::check_authorization_details;
pub use crate::authorization_details::{authorization_details_elements, authorization_details_object};
pub use crate::grant::GrantType;
pub use crate::property::{
    MAX_PROPERTIES, MAX_PROPERTY_KEY_LEN, MAX_PROPERTY_VALUE_LEN, Property, RESERVED_PROPERTY_KEYS,
    check_properties,
};

crate::api::endpoint! {
    /// `POST /api/{serviceId}/auth/token/create`.
    pub struct Create {
        operation_id: "auth_token_create_api",
        method: Post,
        path: "/api/{serviceId}/auth/token/create",
        summary: "Create an access token (and, where the grant allows, a refresh token) out of band.",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Credential,
        idempotent: false,
        errors: crate::api::AUTH_ERRORS,
        request: TokenCreateRequest,
        response: TokenCreateResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::json_payload!(TokenCreateRequest, TokenCreateResponse);

/// The longest token lifetime accepted, in seconds (10 years): keeps `expiresAt` far from overflow.
pub const MAX_TOKEN_DURATION_SECS: i64 = 10 * 365 * 24 * 3600;
/// Cap for free-text fields (acr, sessionId, clientIdentifier).
pub const MAX_TEXT_FIELD_LEN: usize = 256;
/// Cap for `jwtAtClaims` (bytes of the JSON text).
pub const MAX_JWT_AT_CLAIMS_LEN: usize = 8192;
/// Cap for the number of resources / scopes in one request.
pub const MAX_LIST_LEN: usize = 100;

/// Claims of an RFC 9068 access token that `jwtAtClaims` may not redefine.
pub const REGISTERED_AT_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "cnf",
    "auth_time",
    "acr",
    "authorization_details",
    // The Token Status List reference the server writes (draft-ietf-oauth-status-list): a caller's
    // own would point verifiers at a list of its choosing.
    "status",
];

/// The request body. Field names are exactly the document's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TokenCreateRequest {
    /// The grant type the token was issued under.
    pub grant_type: GrantType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client's ID.
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The resource owner (end user) the token is for.
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes.
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Access token lifetime, seconds (0: the service default).
    pub access_token_duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Refresh token lifetime, seconds (0: the service default).
    pub refresh_token_duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Extra properties of the token (hidden ones are never shown to clients).
    pub properties: Option<Vec<Property>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether the client was named by its alias.
    pub client_id_alias_used: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The access token value.
    pub access_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The refresh token value.
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether the access token never expires.
    pub access_token_persistent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The SHA-256 thumbprint of the client certificate the token is bound to (RFC 8705).
    pub certificate_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The JWK thumbprint of the DPoP key the token is bound to (RFC 9449).
    pub dpop_key_thumbprint: Option<String>,
    /// RFC 9396 details: either the array itself or the `{"elements": [...]}` object form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub authorization_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// RFC 8707 resource indicators (absolute URIs).
    pub resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether the token is for an external attachment (OIDC4IDA).
    pub for_external_attachment: Option<bool>,
    /// A JSON object serialised as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_at_claims: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The authentication context class reference of the end user's authentication.
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the end user authenticated, seconds since the epoch.
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether the client was named by its entity ID.
    pub client_entity_id_used: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client identifier as the request gave it (ID, alias or entity ID).
    pub client_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The end user's session ID at the authorization server.
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether the client was identified by its metadata document URL.
    pub metadata_document_used: Option<bool>,
}

impl TokenCreateRequest {
    /// A request with only the required field set.
    pub fn new(grant_type: GrantType) -> Self {
        Self {
            grant_type,
            client_id: None,
            subject: None,
            scopes: None,
            access_token_duration: None,
            refresh_token_duration: None,
            properties: None,
            client_id_alias_used: None,
            access_token: None,
            refresh_token: None,
            access_token_persistent: None,
            certificate_thumbprint: None,
            dpop_key_thumbprint: None,
            authorization_details: None,
            resources: None,
            for_external_attachment: None,
            jwt_at_claims: None,
            acr: None,
            auth_time: None,
            client_entity_id_used: None,
            client_identifier: None,
            session_id: None,
            metadata_document_used: None,
        }
    }

    /// For the client `client_id`.
    pub fn client(mut self, client_id: ClientId) -> Self {
        self.client_id = Some(client_id);
        self
    }

    /// For the end user `subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// With these scopes.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

/// The response body (success and error alike; error answers carry only the first three fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenCreateResponse {
    /// The result code (`A…`), as in Authlete's API.
    pub result_code: String,
    /// The result code and a message naming the cause: `[code] text`.
    pub result_message: String,
    /// What the caller should do next (always sent).
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The access token value.
    pub access_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client's ID.
    pub client_id: Option<ClientId>,
    /// Milliseconds since the Unix epoch; 0 for a persistent (never-expiring) token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Seconds; 0 for a persistent token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The grant type the token was issued under.
    pub grant_type: Option<GrantType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Extra properties of the token (hidden ones are never shown to clients).
    pub properties: Option<Vec<Property>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The refresh token value.
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes.
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The resource owner (end user) the token is for.
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The token type: `Bearer`, or `DPoP` for a DPoP-bound token.
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The RFC 9068 JWT access token, when the service signs access tokens.
    pub jwt_access_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    /// RFC 9396 authorization details.
    pub authorization_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether the token is for an external attachment (OIDC4IDA).
    pub for_external_attachment: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The token's stable ID (never its value).
    pub token_id: Option<TokenId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The scopes of the refresh token, when they differ from the access token's.
    pub refresh_token_scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The client identifier as the request gave it (ID, alias or entity ID).
    pub client_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The end user's session ID at the authorization server.
    pub session_id: Option<String>,
}

impl TokenCreateResponse {
    /// An error answer: code, message and action only.
    pub fn error(code: ResultCode, detail: impl std::fmt::Display) -> Self {
        Self {
            result_code: code.code.to_owned(),
            result_message: code.message(detail),
            action: code.action,
            ..Self::default()
        }
    }
}

impl TokenCreateRequest {
    /// Rules that need nothing but the request. Cheap; run before any store access.
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.client_id.is_none() {
            return Err(ValidationError::ClientIdMissing);
        }
        match &self.subject {
            Some(subject) => {
                Subject::parse("subject", subject)?;
            }
            None if self.grant_type.requires_subject() => {
                return Err(ValidationError::SubjectRequired { field: "subject" });
            }
            None => {}
        }
        check_duration("accessTokenDuration", self.access_token_duration)?;
        check_duration("refreshTokenDuration", self.refresh_token_duration)?;
        for (field, value) in [
            ("certificateThumbprint", &self.certificate_thumbprint),
            ("dpopKeyThumbprint", &self.dpop_key_thumbprint),
        ] {
            if let Some(value) = value
                && !is_base64url_sha256(value)
            {
                return Err(ValidationError::ThumbprintInvalid { field });
            }
        }
        if let Some(resources) = &self.resources {
            if resources.len() > MAX_LIST_LEN {
                return Err(ValidationError::ResourceInvalid {
                    index: MAX_LIST_LEN,
                    reason: format!("at most {MAX_LIST_LEN} resources are accepted"),
                });
            }
            for (index, resource) in resources.iter().enumerate() {
                if let Some(reason) = absolute_uri_problem(resource) {
                    return Err(ValidationError::ResourceInvalid { index, reason });
                }
            }
        }
        if let Some(value) = self.auth_time
            && value < 0
        {
            return Err(ValidationError::AuthTimeNegative { value });
        }
        for (field, value) in [
            ("acr", &self.acr),
            ("sessionId", &self.session_id),
            ("clientIdentifier", &self.client_identifier),
        ] {
            if let Some(value) = value
                && value.len() > MAX_TEXT_FIELD_LEN
            {
                return Err(ValidationError::FieldTooLong {
                    field,
                    len: value.len(),
                    max: MAX_TEXT_FIELD_LEN,
                });
            }
        }
        for (field, value) in [("accessToken", &self.access_token), ("refreshToken", &self.refresh_token)] {
            if let Some(value) = value
                && !is_token_value(value.secret())
            {
                return Err(ValidationError::TokenValueInvalid { field });
            }
            if let Some(value) = value
                && crate::token_value::is_reserved(value.secret())
            {
                return Err(ValidationError::TokenValueReserved { field });
            }
        }
        if let Some(properties) = &self.properties {
            check_properties(properties)?;
        }
        if let Some(details) = &self.authorization_details {
            check_authorization_details(details)?;
        }
        if let Some(claims) = &self.jwt_at_claims {
            parse_jwt_at_claims(claims)?;
        }
        Ok(())
    }
}

fn check_duration(field: &'static str, value: Option<i64>) -> Result<(), ValidationError> {
    match value {
        Some(value) if value < 0 => Err(ValidationError::DurationNegative { field, value }),
        Some(value) if value > MAX_TOKEN_DURATION_SECS => {
            Err(ValidationError::DurationTooLong { field, value, max: MAX_TOKEN_DURATION_SECS })
        }
        _ => Ok(()),
    }
}

/// `jwtAtClaims`: a JSON object in a string, capped, not redefining [`REGISTERED_AT_CLAIMS`].
pub fn parse_jwt_at_claims(text: &str) -> Result<Map<String, Value>, ValidationError> {
    let invalid = |reason: String| ValidationError::JwtAtClaimsInvalid { reason };
    if text.len() > MAX_JWT_AT_CLAIMS_LEN {
        return Err(invalid(format!("it is longer than {MAX_JWT_AT_CLAIMS_LEN} bytes")));
    }
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(invalid("it must be a JSON object".to_owned())),
        Err(e) => return Err(invalid(format!("it is not JSON ({e})"))),
    };
    if let Some(name) = object.keys().find(|k| REGISTERED_AT_CLAIMS.contains(&k.as_str())) {
        return Err(invalid(format!("it redefines the registered claim '{name}'")));
    }
    // The claims a custom token carries: an access token must never look like one.
    if let Some(name) = object.keys().find(|k| crate::custom_token::CUSTOM_TOKEN_CLAIMS.contains(&k.as_str()))
    {
        return Err(invalid(format!("it uses the custom-token claim name '{name}', which is reserved")));
    }
    Ok(object)
}
