//! The rules that depend on the service and the client: what a service and a client allow
//! (`ServicePolicy`, `ClientPolicy`), and the plan of what the server must issue.

use serde_json::{Map, Value};

use super::{GrantType, Property, TokenCreateRequest, authorization_details_object, parse_jwt_at_claims};
use crate::error::ValidationError;
use crate::ids::{ClientId, Subject};
use crate::secret::Secret;
use crate::validate::truncate;

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
