//! Provisioning of organizations, services, clients, credentials and signing keys — used by the
//! `admin` CLI, the first-start bootstrap and the tests. Credentials are returned once, here, and
//! only their hashes are stored.

use rand::Rng;
use token_core::grant::GrantType;
use token_core::{ClientId, OrganizationId, Secret, ServiceId};

use super::keys::{self, KeyError, SignAlg};
use crate::clock::now_ms;
use crate::store::{
    ClientRecord, ConflictKind, CredentialRecord, OrganizationRecord, Principal, ServiceRecord,
    ServiceSettings, SigningKeyRecord, Store, StoreError,
};

/// Errors of provisioning.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("{0}")]
    Invalid(String),
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

/// What provisioning a service takes: its settings, and the algorithm of its first signing key
/// when it issues no JWT access tokens (otherwise the key's algorithm is theirs). Reads and writes
/// the settings as its own fields.
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

impl std::ops::Deref for ServiceSpec {
    type Target = ServiceSettings;

    fn deref(&self) -> &ServiceSettings {
        &self.settings
    }
}

impl std::ops::DerefMut for ServiceSpec {
    fn deref_mut(&mut self) -> &mut ServiceSettings {
        &mut self.settings
    }
}

pub async fn create_organization(store: &dyn Store, name: &str) -> Result<OrganizationRecord, TenancyError> {
    if name.trim().is_empty() {
        return Err(TenancyError::Invalid("an organization needs a name".into()));
    }
    Ok(store.create_organization(name, now_ms()).await?)
}

pub async fn create_service(
    store: &dyn Store,
    organization: OrganizationId,
    spec: &ServiceSpec,
) -> Result<ServiceRecord, TenancyError> {
    if store.organization(organization).await?.is_none() {
        return Err(TenancyError::Invalid(format!("organization {organization} does not exist")));
    }
    validate_settings(&spec.settings)?;
    let service = store.create_service(organization, &spec.settings, now_ms()).await?;
    rotate_key(store, service.id, spec.access_token_sign_alg.unwrap_or(spec.key_alg)).await?;
    Ok(service)
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
    Ok(())
}

/// Replaces a service's settings after checking them like creation does. Takes effect at the
/// next request (settings are read per request). When JWT access tokens switch to an algorithm
/// the current signing key does not have, a key of that algorithm becomes current; the old one
/// stays published while tokens it signed live.
pub async fn update_service(
    store: &dyn Store,
    service: ServiceId,
    settings: &ServiceSettings,
) -> Result<ServiceRecord, TenancyError> {
    validate_settings(settings)?;
    if !store.update_service(service, settings).await? {
        return Err(TenancyError::Invalid(format!("service {service} does not exist")));
    }
    if let Some(alg) = settings.access_token_sign_alg {
        let current = store.current_signing_key(service).await?;
        if current.is_none_or(|key| key.alg != alg) {
            rotate_key(store, service, alg).await?;
        }
    }
    store
        .service(service)
        .await?
        .ok_or_else(|| TenancyError::Invalid(format!("service {service} does not exist")))
}

/// Deletes a client of `service`; every token issued to it is revoked first (in the same
/// transaction), so nothing it held stays usable.
pub async fn delete_client(
    store: &dyn Store,
    service: ServiceId,
    client: ClientId,
) -> Result<(), TenancyError> {
    if !store.delete_client(service, client, now_ms()).await? {
        return Err(TenancyError::Invalid(format!("service {service} has no client {client}")));
    }
    Ok(())
}

pub async fn create_client(
    store: &dyn Store,
    service: ServiceId,
    name: &str,
    alias: Option<String>,
    entity_id: Option<String>,
    grant_types: Vec<GrantType>,
) -> Result<ClientRecord, TenancyError> {
    check_new_client(store, service, alias.as_deref()).await?;
    // Numeric IDs in the same range as the document's example (26888344961664).
    for _ in 0..5 {
        let id = ClientId(rand::thread_rng().gen_range(10_000_000_000_000..100_000_000_000_000));
        let client = client_record(service, id, name, alias.clone(), entity_id.clone(), grant_types.clone());
        match store.create_client(&client).await {
            Err(StoreError::Conflict(ConflictKind::ClientId)) => {}
            other => return other.map(|()| client).map_err(client_error),
        }
    }
    Err(TenancyError::Invalid("could not allocate a client ID".into()))
}

/// A client with the ID it already has elsewhere (moving clients from another authorization
/// server keeps their tokens' `clientId`).
pub async fn create_client_with_id(
    store: &dyn Store,
    service: ServiceId,
    id: ClientId,
    name: &str,
    alias: Option<String>,
    entity_id: Option<String>,
    grant_types: Vec<GrantType>,
) -> Result<ClientRecord, TenancyError> {
    if id.get() <= 0 {
        return Err(TenancyError::Invalid("a client ID must be a positive number".into()));
    }
    check_new_client(store, service, alias.as_deref()).await?;
    let client = client_record(service, id, name, alias, entity_id, grant_types);
    store.create_client(&client).await.map(|()| client).map_err(client_error)
}

/// What a new client needs before it is written: its service, and an alias that cannot be
/// mistaken for a numeric client ID.
async fn check_new_client(
    store: &dyn Store,
    service: ServiceId,
    alias: Option<&str>,
) -> Result<(), TenancyError> {
    if store.service(service).await?.is_none() {
        return Err(TenancyError::Invalid(format!("service {service} does not exist")));
    }
    if alias.is_some_and(|a| a.parse::<i64>().is_ok()) {
        return Err(TenancyError::Invalid("a client alias must not be a number".into()));
    }
    Ok(())
}

fn client_record(
    service: ServiceId,
    client_id: ClientId,
    name: &str,
    alias: Option<String>,
    entity_id: Option<String>,
    grant_types: Vec<GrantType>,
) -> ClientRecord {
    ClientRecord { client_id, service_id: service, name: name.to_owned(), alias, entity_id, grant_types }
}

/// A taken alias or ID, said as such (the store names which unique value collided).
fn client_error(e: StoreError) -> TenancyError {
    match e {
        StoreError::Conflict(kind @ (ConflictKind::ClientAlias | ConflictKind::ClientId)) => {
            TenancyError::Invalid(kind.to_string())
        }
        e => e.into(),
    }
}

pub async fn issue_credential(
    store: &dyn Store,
    principal: Principal,
    label: &str,
) -> Result<IssuedCredential, TenancyError> {
    issue_credential_expiring(store, principal, label, None).await
}

/// A credential refused from `expires_at` (milliseconds) on, when given.
pub async fn issue_credential_expiring(
    store: &dyn Store,
    principal: Principal,
    label: &str,
    expires_at: Option<i64>,
) -> Result<IssuedCredential, TenancyError> {
    let prefix = match principal {
        Principal::Service(id) => {
            if store.service(id).await?.is_none() {
                return Err(TenancyError::Invalid(format!("service {id} does not exist")));
            }
            SERVICE_TOKEN_PREFIX
        }
        Principal::Organization(id) => {
            if store.organization(id).await?.is_none() {
                return Err(TenancyError::Invalid(format!("organization {id} does not exist")));
            }
            ORGANIZATION_TOKEN_PREFIX
        }
    };
    // 32 random bytes = 256 bits.
    let secret = Secret::new(format!("{prefix}{}", keys::random_b64(32)));
    let record = store.create_credential(principal, &secret.hash(), label, now_ms(), expires_at).await?;
    Ok(IssuedCredential { record, secret })
}

/// Makes a new key current for `service`; the previous one stays published while it verifies
/// live tokens.
pub async fn rotate_key(
    store: &dyn Store,
    service: ServiceId,
    alg: SignAlg,
) -> Result<SigningKeyRecord, TenancyError> {
    let key = keys::generate(service, alg, now_ms())?;
    store.add_signing_key(&key, keys::RETIRED_KEY_GRACE_MS).await?;
    Ok(key)
}

/// Revokes a (possibly leaked) signing key: it leaves the JWK Set at once and nothing it signed is
/// accepted at exchange any more. When it is the current key, a new key of the same algorithm
/// becomes current first, so the service keeps signing. Returns the new key in that case.
pub async fn revoke_key(
    store: &dyn Store,
    service: ServiceId,
    kid: &str,
) -> Result<Option<SigningKeyRecord>, TenancyError> {
    let current = store.current_signing_key(service).await?;
    let replacement = match current {
        Some(current) if current.kid == kid => Some(rotate_key(store, service, current.alg).await?),
        _ => None,
    };
    if !store.revoke_signing_key(service, kid, now_ms()).await? {
        return Err(TenancyError::Invalid(format!("service {service} has no unrevoked key '{kid}'")));
    }
    Ok(replacement)
}

/// Revokes a credential: its next request gets 401.
pub async fn revoke_credential(store: &dyn Store, id: i64) -> Result<(), TenancyError> {
    if !store.revoke_credential(id, now_ms()).await? {
        return Err(TenancyError::Invalid(format!("no unrevoked credential has the ID {id}")));
    }
    Ok(())
}

/// What the first start creates.
#[derive(Debug)]
pub struct Bootstrap {
    pub organization: OrganizationRecord,
    pub service: ServiceRecord,
    pub client: ClientRecord,
    pub service_token: IssuedCredential,
    pub organization_token: IssuedCredential,
}

/// On an empty store, creates one organization, service, client and the two credentials.
pub async fn bootstrap_if_empty(store: &dyn Store) -> Result<Option<Bootstrap>, TenancyError> {
    // Two instances starting at once on an empty store: only the one that claims the first start
    // provisions.
    if !store.is_empty().await? || !store.claim_first_start(now_ms()).await? {
        return Ok(None);
    }
    let organization = create_organization(store, "default").await?;
    let service = create_service(store, organization.id, &ServiceSpec::default()).await?;
    let client = create_client(
        store,
        service.id,
        "default client",
        Some("default-client".into()),
        None,
        GrantType::ALL.to_vec(),
    )
    .await?;
    let service_token =
        issue_credential(store, Principal::Service(service.id), "bootstrap service token").await?;
    let organization_token =
        issue_credential(store, Principal::Organization(organization.id), "bootstrap organization token")
            .await?;
    Ok(Some(Bootstrap { organization, service, client, service_token, organization_token }))
}
