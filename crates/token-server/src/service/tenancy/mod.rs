//! Tenancy: provisioning of organizations, services (here), clients (`clients`), credentials and
//! the first start (`credentials`) and signing keys (`signing_keys`), on the server's one clock,
//! used by the `admin` CLI, the first-start bootstrap, the HTTP tenancy routes and the tests (the
//! CLI decodes its arguments, makes one call here and prints the result). The HTTP routes speak
//! the Authlete API's objects (`authlete`), mapped onto the same operations, so the CLI and HTTP
//! keep the same rules. One error convention: every operation fails with a [`TenancyError`].
//! Credentials are returned once, here, and only their hashes are stored.

pub mod authlete;
mod clients;
mod credentials;
mod signing_keys;

use std::sync::Arc;

use token_core::grant::GrantType;
use token_core::tenancy::KeyState;
use token_core::{ClientId, OrganizationId, Secret, ServiceId, ValidationError};

use super::Shared;
use super::keys::{self, KeyError, Keys, SignAlg};
use super::token_manage::TokenManage;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::{
    Actor, Audit, ClientRecord, ClientStore, ConflictKind, CredentialRecord, CredentialStore,
    OrganizationRecord, OrganizationStore, REVOKE_BATCH, ServiceRecord, ServiceStore, SigningKeyRecord,
    StoreError, Stores,
};
/// The vocabulary of provisioning, for its callers (the CLI, tests) to name without the store.
pub use token_core::tenancy::{Principal, ServiceSettings};

/// The tenancy component.
#[derive(Debug)]
pub struct Tenancy {
    organizations: Arc<dyn OrganizationStore>,
    services: Arc<dyn ServiceStore>,
    clients: Arc<dyn ClientStore>,
    credentials: Arc<dyn CredentialStore>,
    /// A service's signing keys: made with the service, switched, rotated and revoked here.
    keys: Keys,
    /// Deleting a client, a user's grants and revoking a key end tokens: token management's.
    token_manage: TokenManage,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
}

/// What revoking a key did.
#[derive(Debug)]
pub struct KeyRevocation {
    /// The key that became current, when the revoked key was the current one.
    pub replacement: Option<SigningKeyRecord>,
    /// Live tokens revoked because the key signed their JWT access token or their custom token.
    pub tokens_revoked: u64,
}

/// A signing key as operators see it (the wire type of the key routes and `admin key list`).
pub use token_core::tenancy::SigningKeyInfo as KeySummary;

/// What operators see of `key`: its state and times, and only its public part.
pub fn key_summary(key: &SigningKeyRecord) -> KeySummary {
    let state = match (key.revoked_at, key.retired_at) {
        (Some(_), _) => KeyState::Revoked,
        (None, Some(_)) => KeyState::Retired,
        (None, None) => KeyState::Current,
    };
    KeySummary {
        kid: key.kid.clone(),
        alg: key.alg,
        state,
        created_at: key.created_at,
        retired_at: key.retired_at,
        revoked_at: key.revoked_at,
        public_jwk: key.public_jwk.clone(),
    }
}

/// Errors of provisioning.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// A rule of the API was broken (an Authlete-shaped object, a list range, a subject).
    #[error(transparent)]
    Rule(#[from] ValidationError),
    /// The settings or an argument break a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    #[error("service {0} does not exist")]
    NoService(ServiceId),
    #[error("organization {0} does not exist")]
    NoOrganization(OrganizationId),
    #[error("service {service} has no client '{client}'")]
    NoClient { service: ServiceId, client: String },
    #[error("service {service} has no unrevoked key '{kid}'")]
    NoKey { service: ServiceId, kid: String },
    #[error("no unrevoked credential has the ID {0}")]
    NoCredential(i64),
    /// A client ID or alias is taken.
    #[error("{0}")]
    Taken(ConflictKind),
    /// A service, or an organization's services, made as many signing keys as they may per
    /// [`keys::ROTATION_WINDOW`] (rotations, algorithm switches, replacements, new services).
    #[error("{bound} in the last {w} seconds; retry in {retry_after_secs} s", w = keys::ROTATION_WINDOW.as_secs())]
    KeysTooOften { bound: keys::GenerationBound, retry_after_secs: u64 },
}

/// A client alias must not be a number (it would be mistaken for a client ID), nor the identifier
/// that names a service's custom-token sessions (`custom-token`): a client of that alias would make
/// a grant delete and a management revoke name different things.
fn check_alias(alias: Option<&str>) -> Result<(), TenancyError> {
    match alias {
        Some(a) if a.parse::<i64>().is_ok() => {
            Err(TenancyError::Invalid("a client alias must not be a number".into()))
        }
        Some(a) if a == super::issuance::custom_token::CUSTOM_TOKEN_CLIENT_IDENTIFIER => {
            Err(TenancyError::Invalid(format!(
                "the client alias '{a}' is reserved (it names the service's custom-token sessions)"
            )))
        }
        _ => Ok(()),
    }
}

/// Prefixes make a leaked credential recognisable (and scannable) without revealing anything.
pub const SERVICE_TOKEN_PREFIX: &str = "sat_";
pub const ORGANIZATION_TOKEN_PREFIX: &str = "ort_";

/// A credential just issued: the record, and the secret shown this one time.
#[derive(Debug)]
pub struct IssuedCredential {
    pub record: CredentialRecord,
    pub secret: Secret,
}

/// What the first start creates ([`Tenancy::bootstrap_if_empty`]).
#[derive(Debug)]
pub struct Bootstrap {
    pub organization: OrganizationRecord,
    pub service: ServiceRecord,
    pub client: ClientRecord,
    pub service_token: IssuedCredential,
    pub organization_token: IssuedCredential,
}

/// What provisioning a service takes: its settings, and the algorithm of its first signing key
/// when it issues no JWT access tokens (otherwise the key's algorithm is theirs).
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    pub settings: ServiceSettings,
    pub key_alg: SignAlg,
}

impl Default for ServiceSpec {
    fn default() -> Self {
        Self { settings: ServiceSettings::default(), key_alg: SignAlg::EdDsa }
    }
}

impl From<ServiceSettings> for ServiceSpec {
    fn from(settings: ServiceSettings) -> Self {
        Self { settings, ..Self::default() }
    }
}

/// A client to create: its name, optional alias and entity ID, the grant types it may use, and the
/// ID it already has elsewhere when it moves from another authorization server (its tokens keep
/// their `clientId`); without one a new numeric ID is drawn.
#[derive(Clone, Debug)]
pub struct NewClient {
    pub name: String,
    pub id: Option<ClientId>,
    pub alias: Option<String>,
    pub entity_id: Option<String>,
    pub grant_types: Vec<GrantType>,
}

impl NewClient {
    /// A client named `name` that may use `grant_types`, with a new ID and no alias.
    pub fn new(name: impl Into<String>, grant_types: Vec<GrantType>) -> Self {
        Self { name: name.into(), id: None, alias: None, entity_id: None, grant_types }
    }
}

/// The settings an update changes; what is `None` stays. `no_jwt` turns JWT access tokens off (and
/// wins over `sign_alg`).
#[derive(Clone, Debug, Default)]
pub struct ServicePatch {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub access_token_duration: Option<i64>,
    pub refresh_token_duration: Option<i64>,
    pub sign_alg: Option<SignAlg>,
    pub no_jwt: bool,
    pub custom_token_access_ttl: Option<i64>,
    pub custom_token_refresh_ttl: Option<i64>,
    /// Token Status Lists: their `ttl` in seconds turns them on, `0` turns them off.
    pub status_list_ttl: Option<i64>,
    /// Issuance events in the event log: on or off.
    pub issuance_events: Option<bool>,
}

impl ServicePatch {
    fn apply(self, mut settings: ServiceSettings) -> ServiceSettings {
        if let Some(name) = self.name {
            settings.name = name;
        }
        if let Some(issuer) = self.issuer {
            settings.issuer = issuer;
        }
        if let Some(scopes) = self.scopes {
            settings.supported_scopes = scopes.into_iter().filter(|s| !s.is_empty()).collect();
        }
        if let Some(grant_types) = self.grant_types {
            settings.supported_grant_types = grant_types;
        }
        if let Some(secs) = self.access_token_duration {
            settings.access_token_duration = secs;
        }
        if let Some(secs) = self.refresh_token_duration {
            settings.refresh_token_duration = secs;
        }
        if self.no_jwt {
            settings.access_token_sign_alg = None;
        } else if let Some(alg) = self.sign_alg {
            settings.access_token_sign_alg = Some(alg);
        }
        if let Some(secs) = self.custom_token_access_ttl {
            settings.custom_token_access_ttl = secs;
        }
        if let Some(secs) = self.custom_token_refresh_ttl {
            settings.custom_token_refresh_ttl = secs;
        }
        if let Some(secs) = self.status_list_ttl {
            settings.status_list_ttl = (secs != 0).then_some(secs);
        }
        if let Some(on) = self.issuance_events {
            settings.issuance_events = on;
        }
        settings
    }
}

/// The rules every service's settings keep, at creation and at each update.
fn validate_settings(settings: &ServiceSettings) -> Result<(), TenancyError> {
    if settings.name.trim().is_empty() {
        return Err(TenancyError::Invalid("a service needs a name".into()));
    }
    if settings.access_token_duration <= 0 || settings.refresh_token_duration <= 0 {
        return Err(TenancyError::Invalid("token durations must be positive".into()));
    }
    if settings.supported_grant_types.is_empty() {
        return Err(TenancyError::Invalid("a service needs at least one grant type".into()));
    }
    if let Some(scope) = settings.supported_scopes.iter().find(|s| !token_core::validate::is_scope_token(s)) {
        return Err(TenancyError::Invalid(format!("'{scope}' is not a scope (RFC 6749 scope-token)")));
    }
    let defaults = token_core::custom_token::CustomTokenDefaults {
        access_token_ttl: settings.custom_token_access_ttl,
        refresh_token_ttl: settings.custom_token_refresh_ttl,
    };
    token_core::custom_token::GenerateCustomToken::new("u", "i")
        .plan(defaults)
        .map_err(|e| TenancyError::Invalid(format!("custom-token defaults: {e}")))?;
    url::Url::parse(&settings.issuer).map_err(|e| TenancyError::Invalid(format!("issuer: {e}")))?;
    if let Some(ttl) = settings.status_list_ttl
        && !(1..=token_core::status_list::MAX_TTL_SECS).contains(&ttl)
    {
        return Err(TenancyError::Invalid(format!(
            "statusListTTL must be from 1 to {} seconds (0 turns status lists off)",
            token_core::status_list::MAX_TTL_SECS
        )));
    }
    Ok(())
}

/// A taken alias or ID, said as such (the store names which unique value collided).
fn client_error(e: StoreError) -> TenancyError {
    match e {
        StoreError::Conflict(kind @ (ConflictKind::ClientAlias | ConflictKind::ClientId)) => {
            TenancyError::Taken(kind)
        }
        e => e.into(),
    }
}

fn no_service(service: ServiceId) -> TenancyError {
    TenancyError::NoService(service)
}

impl Tenancy {
    pub(super) fn new(stores: &Stores, shared: &Shared, keys: Keys, token_manage: TokenManage) -> Self {
        Self {
            organizations: Arc::clone(&stores.organizations),
            services: Arc::clone(&stores.services),
            clients: Arc::clone(&stores.clients),
            credentials: Arc::clone(&stores.credentials),
            keys,
            token_manage,
            config: Arc::clone(&shared.config),
            clock: Arc::clone(&shared.clock),
        }
    }

    pub async fn create_organization(&self, name: &str) -> Result<OrganizationRecord, TenancyError> {
        if name.trim().is_empty() {
            return Err(TenancyError::Invalid("an organization needs a name".into()));
        }
        Ok(self.organizations.create_organization(name, self.clock.now_ms()).await?)
    }

    pub async fn list_organizations(&self) -> Result<Vec<OrganizationRecord>, TenancyError> {
        Ok(self.organizations.list_organizations().await?)
    }

    /// A service of `organization` with `spec`'s settings and its first signing key.
    pub async fn create_service(
        &self,
        organization: OrganizationId,
        spec: &ServiceSpec,
        actor: &Actor,
    ) -> Result<ServiceRecord, TenancyError> {
        if self.organizations.organization(organization).await?.is_none() {
            return Err(TenancyError::NoOrganization(organization));
        }
        validate_settings(&spec.settings)?;
        self.check_status_lists_possible(&spec.settings)?;
        self.allow_keys(organization, None)?;
        let now = self.clock.now_ms();
        let audit = Audit::new(actor.clone(), now);
        let service = self.services.create_service(organization, &spec.settings, now, &audit).await?;
        self.add_key(service.id, spec.settings.access_token_sign_alg.unwrap_or(spec.key_alg), actor).await?;
        Ok(service)
    }

    /// Every service, or those of one organization.
    pub async fn list_services(
        &self,
        organization: Option<OrganizationId>,
    ) -> Result<Vec<ServiceRecord>, TenancyError> {
        Ok(self.services.list_services(organization).await?)
    }

    /// Changes what `patch` names in a service's settings after checking the result like creation
    /// does; a refused update changes nothing. Takes effect at the next request (settings are read
    /// per request). When JWT access tokens switch to an algorithm the current signing key does not
    /// have, a key of that algorithm becomes current; the old one stays published while tokens it
    /// signed live.
    pub async fn update_service(
        &self,
        service: ServiceId,
        patch: ServicePatch,
        actor: &Actor,
    ) -> Result<ServiceRecord, TenancyError> {
        let current = self.services.service(service).await?.ok_or_else(|| no_service(service))?;
        let settings = patch.apply(current.settings.clone());
        validate_settings(&settings)?;
        self.check_status_lists_possible(&settings)?;
        // A switch of algorithm makes a key: counted (and refused when too many) before anything
        // changes.
        let _one_at_a_time = self.keys.changing_keys(service).await;
        let new_key_alg = match settings.access_token_sign_alg {
            Some(alg) => {
                let signing = self.keys.current(service).await?;
                signing.is_none_or(|key| key.alg != alg).then_some(alg)
            }
            None => None,
        };
        if new_key_alg.is_some() {
            self.allow_keys(current.organization_id, Some(service))?;
        }
        let audit = Audit::new(actor.clone(), self.clock.now_ms());
        if !self.services.update_service(service, &settings, &audit).await? {
            return Err(no_service(service));
        }
        if let Some(alg) = new_key_alg {
            self.add_key(service, alg, actor).await?;
        }
        Ok(ServiceRecord { settings, ..current })
    }

    /// Deletes a service with everything of it: tokens, clients, signing keys; its Service Access
    /// Tokens are revoked. Its tokens, status bits, used values and clients go first, a bounded
    /// batch per write ([`REVOKE_BATCH`]: another tenant's writes wait at most one batch), then
    /// what is left and the service in one transaction. Interrupted, the service is still there
    /// with fewer rows (each deleted token is invalid, as the service's end makes it anyway) and
    /// deleting it again finishes.
    pub async fn delete_service(&self, service: ServiceId, actor: &Actor) -> Result<(), TenancyError> {
        self.services.service(service).await?.ok_or_else(|| no_service(service))?;
        while self.services.delete_service_rows(service, REVOKE_BATCH).await? > 0 {}
        let now = self.clock.now_ms();
        if !self.services.delete_service(service, now, &Audit::new(actor.clone(), now)).await? {
            return Err(no_service(service));
        }
        Ok(())
    }

    /// Status lists are served at `public_base_url` (their URIs are in the tokens): a service may
    /// keep them only when the server has one.
    fn check_status_lists_possible(&self, settings: &ServiceSettings) -> Result<(), TenancyError> {
        if settings.status_list_ttl.is_some() && self.config.public_base_url.is_none() {
            return Err(TenancyError::Invalid(
                "Token Status Lists need the server's public_base_url (the lists' URIs in the tokens are built from it)".into(),
            ));
        }
        Ok(())
    }
}
