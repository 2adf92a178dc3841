//! The tenancy model: a service's settings and who a credential speaks for, the vocabulary
//! provisioning and the store share.

use serde::Serialize;

use crate::grant::GrantType;
use crate::ids::{OrganizationId, ServiceId};
use crate::keys::SignAlg;

/// A service's settings: what provisioning sets and the store keeps (one type for both).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSettings {
    /// The service's name.
    pub name: String,
    /// The issuer its JWTs carry (`iss`).
    pub issuer: String,
    /// The scopes its tokens may carry.
    pub supported_scopes: Vec<String>,
    /// The grant types its tokens may be created for.
    pub supported_grant_types: Vec<GrantType>,
    /// Default access token lifetime, seconds.
    pub access_token_duration: i64,
    /// Default refresh token lifetime, seconds.
    pub refresh_token_duration: i64,
    /// When set, token create also returns an RFC 9068 JWT access token signed with this algorithm.
    pub access_token_sign_alg: Option<SignAlg>,
    /// Default TTLs of custom tokens' access / refresh tokens, seconds.
    pub custom_token_access_ttl: i64,
    /// (the refresh token's)
    pub custom_token_refresh_ttl: i64,
    /// Token Status Lists for JWT access tokens: on when set, with the seconds a verifier may
    /// cache a list (`ttl`).
    pub status_list_ttl: Option<i64>,
    /// Whether issuance events (`token.created`, `token.refreshed`, `custom_token.*`) are written
    /// to the event log; every other event always is.
    pub issuance_events: bool,
}

impl Default for ServiceSettings {
    /// What the first-start bootstrap provisions.
    fn default() -> Self {
        Self {
            name: "default".into(),
            issuer: "https://token-service.local".into(),
            supported_scopes: ["openid", "profile", "email", "offline_access", "read", "write"]
                .map(String::from)
                .to_vec(),
            supported_grant_types: GrantType::ALL.to_vec(),
            access_token_duration: 3600,
            refresh_token_duration: 86_400,
            access_token_sign_alg: None,
            custom_token_access_ttl: 3600,
            custom_token_refresh_ttl: 30 * 86_400,
            status_list_ttl: None,
            issuance_events: true,
        }
    }
}

/// Who a credential speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum Principal {
    /// A Service Access Token: this one service.
    Service(ServiceId),
    /// An Organization Token: every service of this organization.
    Organization(OrganizationId),
}
