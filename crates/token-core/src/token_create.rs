//! `POST /api/{serviceId}/auth/token/create` (`004_…`): request, response and every rule of the
//! document, as pure functions over the request and a plain description of the service.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::TAG_TOKEN_MANAGEMENT;
use crate::error::ValidationError;
use crate::ids::{ClientId, Subject, TokenId};
use crate::result_code::{Action, ResultCode};
use crate::secret::Secret;
use crate::validate::{absolute_uri_problem, is_base64url_sha256, is_token_value, truncate};

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

/// What a service allows, as the validation needs it (read from the store by the caller).
#[derive(Clone, Debug)]
pub struct ServicePolicy<'a> {
    /// The scopes the service supports.
    pub supported_scopes: &'a [String],
    /// The grant types the service supports.
    pub supported_grant_types: &'a [GrantType],
    /// Default access token lifetime in seconds (used when the request says 0 or nothing).
    pub access_token_duration: i64,
    /// Default refresh token lifetime in seconds.
    pub refresh_token_duration: i64,
}

/// What a client of the service allows.
#[derive(Clone, Debug)]
pub struct ClientPolicy<'a> {
    /// The client's ID.
    pub client_id: ClientId,
    /// The client's alias, if it has one.
    pub alias: Option<&'a str>,
    /// The client's entity ID, if it has one.
    pub entity_id: Option<&'a str>,
    /// The grant types the client may use.
    pub grant_types: &'a [GrantType],
}

/// How long the access token lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessTokenLifetime {
    /// Expires this many seconds after issue.
    Seconds(i64),
    /// `accessTokenPersistent`: never expires; must be revoked or deleted.
    Persistent,
}

/// The key binding of a token (RFC 8705 / RFC 9449), carried as `cnf` in JWTs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// `x5t#S256`
    pub certificate_thumbprint: Option<String>,
    /// `jkt`
    pub dpop_key_thumbprint: Option<String>,
}

/// A request that passed every rule: what the server must issue.
#[derive(Clone, Debug)]
pub struct TokenCreatePlan {
    /// The grant type the token was issued under.
    pub grant_type: GrantType,
    /// The client's ID.
    pub client_id: ClientId,
    /// The resource owner (end user) the token is for.
    pub subject: Option<Subject>,
    /// The scopes.
    pub scopes: Vec<String>,
    /// How long the access token lives.
    pub access_token_lifetime: AccessTokenLifetime,
    /// `None`: no refresh token is created.
    pub refresh_token_lifetime: Option<i64>,
    /// Extra properties of the token (hidden ones are never shown to clients).
    pub properties: Vec<Property>,
    /// What the token is bound to (client certificate, DPoP key).
    pub binding: Binding,
    /// `DPoP` when bound to a DPoP key, else `Bearer`.
    pub token_type: &'static str,
    /// RFC 9396 authorization details.
    pub authorization_details: Option<Value>,
    /// RFC 8707 resource indicators (absolute URIs).
    pub resources: Vec<String>,
    /// Extra claims of the JWT access token.
    pub jwt_at_claims: Map<String, Value>,
    /// The authentication context class reference of the end user's authentication.
    pub acr: Option<String>,
    /// When the end user authenticated, seconds since the epoch.
    pub auth_time: Option<i64>,
    /// The end user's session ID at the authorization server.
    pub session_id: Option<String>,
    /// The client identifier as the request gave it (ID, alias or entity ID).
    pub client_identifier: Option<String>,
    /// Whether the token is for an external attachment (OIDC4IDA).
    pub for_external_attachment: Option<bool>,
    /// The access token value.
    pub access_token: Option<Secret>,
    /// The refresh token value.
    pub refresh_token: Option<Secret>,
}

impl TokenCreatePlan {
    /// `expiresAt` (ms) and `expiresIn` (s) of the access token issued at `now_ms`.
    /// A persistent token answers 0 for both.
    pub fn access_token_expiry(&self, now_ms: i64) -> (i64, i64) {
        match self.access_token_lifetime {
            AccessTokenLifetime::Persistent => (0, 0),
            AccessTokenLifetime::Seconds(secs) => (now_ms.saturating_add(secs * 1000), secs),
        }
    }

    /// Scopes of the refresh token (the same as the access token's), when one is issued.
    pub fn refresh_token_scopes(&self) -> Option<Vec<String>> {
        self.refresh_token_lifetime.map(|_| self.scopes.clone())
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

    /// Every rule, including those that depend on the service and the client. `client` is the
    /// client with the request's `clientId` in this service, or `None` when there is none.
    pub fn plan(
        &self,
        service: &ServicePolicy<'_>,
        client: Option<&ClientPolicy<'_>>,
    ) -> Result<TokenCreatePlan, ValidationError> {
        self.check()?;
        let client_id = self.client_id.ok_or(ValidationError::ClientIdMissing)?;
        let client = match client {
            Some(client) if client.client_id == client_id => client,
            _ => return Err(ValidationError::ClientUnknown { client_id: client_id.get() }),
        };
        if !service.supported_grant_types.contains(&self.grant_type) {
            return Err(ValidationError::GrantTypeUnsupported { grant_type: self.grant_type.as_str() });
        }
        if !client.grant_types.contains(&self.grant_type) {
            return Err(ValidationError::ClientGrantTypeNotAllowed {
                client_id: client_id.get(),
                grant_type: self.grant_type.as_str(),
            });
        }
        let mut scopes: Vec<String> = Vec::new();
        for scope in self.scopes.iter().flatten() {
            if !service.supported_scopes.iter().any(|s| s == scope) {
                return Err(ValidationError::ScopeUnsupported { scope: truncate(scope) });
            }
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }

        let access_token_lifetime = if self.access_token_persistent == Some(true) {
            AccessTokenLifetime::Persistent
        } else {
            AccessTokenLifetime::Seconds(or_default(
                self.access_token_duration,
                service.access_token_duration,
            ))
        };
        let refresh_allowed = self.grant_type.may_have_refresh_token()
            && service.supported_grant_types.contains(&GrantType::RefreshToken);
        let refresh_token_lifetime =
            refresh_allowed.then(|| or_default(self.refresh_token_duration, service.refresh_token_duration));

        let client_identifier = if let Some(explicit) = &self.client_identifier {
            Some(explicit.clone())
        } else if self.client_entity_id_used == Some(true) && client.entity_id.is_some() {
            client.entity_id.map(str::to_owned)
        } else if self.client_id_alias_used == Some(true) && client.alias.is_some() {
            client.alias.map(str::to_owned)
        } else {
            None
        };

        Ok(TokenCreatePlan {
            grant_type: self.grant_type,
            client_id,
            subject: match &self.subject {
                Some(s) => Some(Subject::parse("subject", s)?),
                None => None,
            },
            scopes,
            access_token_lifetime,
            refresh_token_lifetime,
            properties: self.properties.clone().unwrap_or_default(),
            binding: Binding {
                certificate_thumbprint: self.certificate_thumbprint.clone(),
                dpop_key_thumbprint: self.dpop_key_thumbprint.clone(),
            },
            token_type: if self.dpop_key_thumbprint.is_some() { "DPoP" } else { "Bearer" },
            authorization_details: self.authorization_details.as_ref().and_then(authorization_details_object),
            resources: self.resources.clone().unwrap_or_default(),
            jwt_at_claims: match &self.jwt_at_claims {
                Some(text) => parse_jwt_at_claims(text)?,
                None => Map::new(),
            },
            acr: self.acr.clone(),
            auth_time: self.auth_time,
            session_id: self.session_id.clone(),
            client_identifier,
            for_external_attachment: self.for_external_attachment,
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
        })
    }
}

fn or_default(requested: Option<i64>, default: i64) -> i64 {
    match requested {
        None | Some(0) => default,
        Some(secs) => secs,
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

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::authorization_details::AuthorizationDetailsSchema;
    use crate::openapi::{Components, Documented, Rules, THUMBPRINT_PATTERN, TOKEN_VALUE_PATTERN, derived};

    derived!(TokenCreateResponse);

    impl Documented for TokenCreateRequest {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            let reference = components.add::<Self>();
            components.add::<AuthorizationDetailsSchema>();
            components.rules::<Self>(request_rules);
            components.rules::<Property>(property_rules);
            Some(reference)
        }
    }

    fn request_rules(rules: &mut Rules<'_>) {
        let thumbprint = json!({"pattern": THUMBPRINT_PATTERN, "description": "base64url SHA-256 thumbprint (43 characters)."});
        let token_value = json!({"minLength": 1, "maxLength": 512, "pattern": TOKEN_VALUE_PATTERN});
        rules
            .non_null("clientId")
            .require("clientId")
            .field(
                "subject",
                json!({
                    "minLength": 1,
                    "maxLength": crate::ids::SUBJECT_MAX_LEN,
                    "pattern": "^[\\u0020-\\u007e]*$",
                    "description": "The end user (printable ASCII, at most 100 characters); required by the grant types that act for a user.",
                }),
            );
        for field in ["accessTokenDuration", "refreshTokenDuration"] {
            rules.field(field, json!({"minimum": 0, "maximum": MAX_TOKEN_DURATION_SECS}));
        }
        rules
            .field("certificateThumbprint", thumbprint.clone())
            .field("dpopKeyThumbprint", thumbprint)
            .field("resources", json!({"maxItems": MAX_LIST_LEN}))
            .field("authTime", json!({"minimum": 0}));
        for field in ["acr", "sessionId", "clientIdentifier"] {
            rules.field(field, json!({"maxLength": MAX_TEXT_FIELD_LEN}));
        }
        rules
            .field("accessToken", token_value.clone())
            .field("refreshToken", token_value)
            .field("properties", json!({"maxItems": MAX_PROPERTIES}))
            .field("jwtAtClaims", json!({"maxLength": MAX_JWT_AT_CLAIMS_LEN, "contentMediaType": "application/json"}))
            .replace("authorizationDetails", AuthorizationDetailsSchema::nullable_field())
            .set(
                "examples",
                json!([{"grantType": "AUTHORIZATION_CODE", "clientId": 26_888_344_961_664_i64, "subject": "john", "scopes": ["history.read", "timeline.read"], "jwtAtClaims": "{\"some_key\":\"some_value\"}", "accessTokenDuration": 3600, "refreshTokenDuration": 3600}]),
            )
            // Every grant type but CLIENT_CREDENTIALS acts for a user: it needs `subject`.
            .set("if", json!({"properties": {"grantType": {"const": GrantType::ClientCredentials.as_str()}}}))
            .set("else", json!({"required": ["subject"], "properties": {"subject": {"type": "string"}}}));
    }

    fn property_rules(rules: &mut Rules<'_>) {
        rules
            .field(
                "key",
                json!({
                    "minLength": 1,
                    "maxLength": MAX_PROPERTY_KEY_LEN,
                    "not": {"enum": RESERVED_PROPERTY_KEYS},
                }),
            )
            .field("value", json!({"maxLength": MAX_PROPERTY_VALUE_LEN}));
    }
}
