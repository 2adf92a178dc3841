//! The grant types of the token-management API (`004_…`): the vocabulary shared by token create,
//! listing, introspection and the server's policies.

use serde::{Deserialize, Serialize};

/// RFC 7523's `grant_type`: a JWT (here a custom token) as the authorization grant. Named once,
/// here: the token endpoint, the SDK and the OpenAPI document use this constant.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The 10 grant types of the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GrantType {
    /// `AUTHORIZATION_CODE` (RFC 6749 §4.1).
    AuthorizationCode,
    /// `IMPLICIT` (RFC 6749 §4.2).
    Implicit,
    /// `PASSWORD` (RFC 6749 §4.3).
    Password,
    /// `CLIENT_CREDENTIALS` (RFC 6749 §4.4).
    ClientCredentials,
    /// `REFRESH_TOKEN` (RFC 6749 §6).
    RefreshToken,
    /// `CIBA` (OpenID Connect CIBA).
    Ciba,
    /// `DEVICE_CODE` (RFC 8628).
    DeviceCode,
    /// `TOKEN_EXCHANGE` (RFC 8693).
    TokenExchange,
    /// `JWT_BEARER` (RFC 7523).
    JwtBearer,
    /// `PRE_AUTHORIZED_CODE` (OpenID for Verifiable Credential Issuance).
    PreAuthorizedCode,
}

impl GrantType {
    /// Every grant type, in the documents' order.
    pub const ALL: [GrantType; 10] = [
        GrantType::AuthorizationCode,
        GrantType::Implicit,
        GrantType::Password,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
        GrantType::Ciba,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
        GrantType::JwtBearer,
        GrantType::PreAuthorizedCode,
    ];

    /// The wire name, e.g. `AUTHORIZATION_CODE`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "AUTHORIZATION_CODE",
            GrantType::Implicit => "IMPLICIT",
            GrantType::Password => "PASSWORD",
            GrantType::ClientCredentials => "CLIENT_CREDENTIALS",
            GrantType::RefreshToken => "REFRESH_TOKEN",
            GrantType::Ciba => "CIBA",
            GrantType::DeviceCode => "DEVICE_CODE",
            GrantType::TokenExchange => "TOKEN_EXCHANGE",
            GrantType::JwtBearer => "JWT_BEARER",
            GrantType::PreAuthorizedCode => "PRE_AUTHORIZED_CODE",
        }
    }

    /// The OAuth `grant_type` value, used in messages as the document does.
    pub fn oauth_name(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Implicit => "implicit",
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
            GrantType::Ciba => "urn:openid:params:grant-type:ciba",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            GrantType::JwtBearer => JWT_BEARER_GRANT,
            GrantType::PreAuthorizedCode => "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        }
    }

    /// The grant type whose wire name is `name`.
    pub fn parse(name: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == name)
    }

    /// The document: no refresh token for IMPLICIT or CLIENT_CREDENTIALS.
    pub fn may_have_refresh_token(self) -> bool {
        !matches!(self, GrantType::Implicit | GrantType::ClientCredentials)
    }

    /// The document: subject is required unless the grant type is CLIENT_CREDENTIALS.
    pub fn requires_subject(self) -> bool {
        self != GrantType::ClientCredentials
    }
}
