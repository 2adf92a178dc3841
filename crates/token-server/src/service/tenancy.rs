//! Provisioning of organizations, services, clients, credentials and signing keys: `Services`
//! methods on the server's one clock, used by the `admin` CLI, the first-start bootstrap and the
//! tests (the CLI decodes its arguments, makes one call here and prints the result). Credentials are
//! returned once, here, and only their hashes are stored.

use token_core::grant::GrantType;
use token_core::tenancy::KeyState;
use token_core::{ClientId, OrganizationId, Secret, ServiceId};

use super::keys::{self, KeyError, SignAlg};
use super::{Services, random};
use crate::store::{
    ClientRecord, ConflictKind, CredentialRecord, FirstStart, FirstStartCredentials, HandOut,
    OrganizationRecord, REVOKE_BATCH, RevokeTarget, ServiceRecord, SigningKeyRecord, StoreError,
};
/// The vocabulary of provisioning, for its callers (the CLI, tests) to name without the store.
pub use crate::store::{Principal, ServiceSettings};

/// Tokens a key revocation revokes per write (each batch is one short transaction).
pub const KEY_REVOCATION_BATCH: u32 = 500;

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
        Some(a) if a == super::custom_token::CUSTOM_TOKEN_CLIENT_IDENTIFIER => Err(TenancyError::Invalid(
            format!("the client alias '{a}' is reserved (it names the service's custom-token sessions)"),
        )),
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
}

impl ServicePatch {
    pub(super) fn apply(self, mut settings: ServiceSettings) -> ServiceSettings {
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
pub(super) fn client_error(e: StoreError) -> TenancyError {
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

impl Services {
    pub async fn create_organization(&self, name: &str) -> Result<OrganizationRecord, TenancyError> {
        if name.trim().is_empty() {
            return Err(TenancyError::Invalid("an organization needs a name".into()));
        }
        Ok(self.inner.stores.organizations.create_organization(name, self.now_ms()).await?)
    }

    pub async fn list_organizations(&self) -> Result<Vec<OrganizationRecord>, TenancyError> {
        Ok(self.inner.stores.organizations.list_organizations().await?)
    }

    /// A service of `organization` with `spec`'s settings and its first signing key.
    pub async fn create_service(
        &self,
        organization: OrganizationId,
        spec: &ServiceSpec,
    ) -> Result<ServiceRecord, TenancyError> {
        if self.inner.stores.organizations.organization(organization).await?.is_none() {
            return Err(TenancyError::NoOrganization(organization));
        }
        validate_settings(&spec.settings)?;
        self.check_status_lists_possible(&spec.settings)?;
        self.allow_keys(organization, None)?;
        let service =
            self.inner.stores.services.create_service(organization, &spec.settings, self.now_ms()).await?;
        self.add_key(service.id, spec.settings.access_token_sign_alg.unwrap_or(spec.key_alg)).await?;
        Ok(service)
    }

    /// Every service, or those of one organization.
    pub async fn list_services(
        &self,
        organization: Option<OrganizationId>,
    ) -> Result<Vec<ServiceRecord>, TenancyError> {
        Ok(self.inner.stores.services.list_services(organization).await?)
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
    ) -> Result<ServiceRecord, TenancyError> {
        let current =
            self.inner.stores.services.service(service).await?.ok_or_else(|| no_service(service))?;
        let settings = patch.apply(current.settings.clone());
        validate_settings(&settings)?;
        self.check_status_lists_possible(&settings)?;
        // A switch of algorithm makes a key: counted (and refused when too many) before anything
        // changes.
        let _one_at_a_time = self.changing_keys(service).await;
        let new_key_alg = match settings.access_token_sign_alg {
            Some(alg) => {
                let signing = self.inner.stores.keys.current_signing_key(service).await?;
                signing.is_none_or(|key| key.alg != alg).then_some(alg)
            }
            None => None,
        };
        if new_key_alg.is_some() {
            self.allow_keys(current.organization_id, Some(service))?;
        }
        if !self.inner.stores.services.update_service(service, &settings).await? {
            return Err(no_service(service));
        }
        if let Some(alg) = new_key_alg {
            self.add_key(service, alg).await?;
        }
        Ok(ServiceRecord { settings, ..current })
    }

    /// Deletes a service with everything of it: tokens, clients, signing keys; its Service Access
    /// Tokens are revoked. Its tokens, status bits, used values and clients go first, a bounded
    /// batch per write ([`REVOKE_BATCH`]: another tenant's writes wait at most one batch), then
    /// what is left and the service in one transaction. Interrupted, the service is still there
    /// with fewer rows (each deleted token is invalid, as the service's end makes it anyway) and
    /// deleting it again finishes.
    pub async fn delete_service(&self, service: ServiceId) -> Result<(), TenancyError> {
        self.inner.stores.services.service(service).await?.ok_or_else(|| no_service(service))?;
        while self.inner.stores.services.delete_service_rows(service, REVOKE_BATCH).await? > 0 {}
        if !self.inner.stores.services.delete_service(service, self.now_ms()).await? {
            return Err(no_service(service));
        }
        Ok(())
    }

    /// Status lists are served at `public_base_url` (their URIs are in the tokens): a service may
    /// keep them only when the server has one.
    fn check_status_lists_possible(&self, settings: &ServiceSettings) -> Result<(), TenancyError> {
        if settings.status_list_ttl.is_some() && self.inner.config.public_base_url.is_none() {
            return Err(TenancyError::Invalid(
                "Token Status Lists need the server's public_base_url (the lists' URIs in the tokens are built from it)".into(),
            ));
        }
        Ok(())
    }

    /// A client of `service`: the service must exist, the alias must not be a number (it would be
    /// mistaken for a client ID), a given ID must be positive and free.
    pub async fn create_client(
        &self,
        service: ServiceId,
        new: NewClient,
    ) -> Result<ClientRecord, TenancyError> {
        if new.id.is_some_and(|id| id.get() <= 0) {
            return Err(TenancyError::Invalid("a client ID must be a positive number".into()));
        }
        if self.inner.stores.services.service(service).await?.is_none() {
            return Err(no_service(service));
        }
        check_alias(new.alias.as_deref())?;
        let record = |client_id| ClientRecord {
            client_id,
            service_id: service,
            name: new.name.clone(),
            alias: new.alias.clone(),
            entity_id: new.entity_id.clone(),
            grant_types: new.grant_types.clone(),
        };
        if let Some(id) = new.id {
            let client = record(id);
            return self
                .inner
                .stores
                .clients
                .create_client(&client)
                .await
                .map(|()| client)
                .map_err(client_error);
        }
        // Numeric IDs in the same range as the document's example (26888344961664).
        for _ in 0..5 {
            let client = record(random::client_id());
            match self.inner.stores.clients.create_client(&client).await {
                Err(StoreError::Conflict(ConflictKind::ClientId)) => {}
                other => return other.map(|()| client).map_err(client_error),
            }
        }
        Err(TenancyError::Invalid("could not allocate a client ID".into()))
    }

    pub async fn list_clients(&self, service: ServiceId) -> Result<Vec<ClientRecord>, TenancyError> {
        Ok(self.inner.stores.clients.list_clients(service).await?)
    }

    /// Replaces the grant types a client may use, checked as at creation (the service exists).
    pub async fn set_client_grant_types(
        &self,
        service: ServiceId,
        client: ClientId,
        grant_types: &[GrantType],
    ) -> Result<(), TenancyError> {
        let mut record = self.client_record(service, &client.to_string()).await?;
        record.grant_types = grant_types.to_vec();
        self.replace_client(record).await.map(|_| ())
    }

    /// The client of `service` that `identifier` names: its numeric ID or its alias (aliases are
    /// never numbers, so the two cannot be confused).
    pub async fn client_record(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> Result<ClientRecord, TenancyError> {
        self.inner.stores.services.service(service).await?.ok_or_else(|| no_service(service))?;
        let client = self.inner.stores.clients.client_by_identifier(service, identifier).await?;
        client.ok_or_else(|| TenancyError::NoClient { service, client: identifier.to_owned() })
    }

    /// Writes `record` over the stored client of the same service and ID (an alias must not be a
    /// number, and must be free).
    pub(super) async fn replace_client(&self, record: ClientRecord) -> Result<ClientRecord, TenancyError> {
        check_alias(record.alias.as_deref())?;
        if !self.inner.stores.clients.update_client(&record).await.map_err(client_error)? {
            return Err(TenancyError::NoClient {
                service: record.service_id,
                client: record.client_id.to_string(),
            });
        }
        Ok(record)
    }

    /// The ID of the client of `service` that `identifier` names (ID or alias).
    pub async fn client_named(&self, service: ServiceId, identifier: &str) -> Result<ClientId, TenancyError> {
        Ok(self.client_record(service, identifier).await?.client_id)
    }

    /// Deletes a client of `service`; every token issued to it is revoked first, a bounded batch
    /// per write, and those issued meanwhile in the write that deletes the client, so nothing it
    /// held stays usable. Interrupted, the client is still there and deleting it again finishes.
    pub async fn delete_client(&self, service: ServiceId, client: ClientId) -> Result<(), TenancyError> {
        if self.inner.stores.clients.client(service, client).await?.is_none() {
            return Err(TenancyError::NoClient { service, client: client.to_string() });
        }
        let everything = RevokeTarget::ClientSubject { client_id: client, subject: None };
        self.inner.stores.tokens.revoke(service, &everything, self.now_ms()).await?;
        if !self.inner.stores.clients.delete_client(service, client, self.now_ms()).await? {
            return Err(TenancyError::NoClient { service, client: client.to_string() });
        }
        Ok(())
    }

    /// A credential of `principal`, refused `expires_in_secs` from now when given. The secret is in
    /// the answer and nowhere else.
    pub async fn issue_credential(
        &self,
        principal: Principal,
        label: &str,
        expires_in_secs: Option<i64>,
    ) -> Result<IssuedCredential, TenancyError> {
        let now = self.now_ms();
        let expires_at = expires_in_secs.map(|secs| now.saturating_add(secs.saturating_mul(1000)));
        self.issue_credential_expiring_at(principal, label, expires_at).await
    }

    /// [`Services::issue_credential`] with the expiry as a time (milliseconds; in the past: refused
    /// from the start).
    pub async fn issue_credential_expiring_at(
        &self,
        principal: Principal,
        label: &str,
        expires_at: Option<i64>,
    ) -> Result<IssuedCredential, TenancyError> {
        let prefix = match principal {
            Principal::Service(id) => {
                if self.inner.stores.services.service(id).await?.is_none() {
                    return Err(no_service(id));
                }
                SERVICE_TOKEN_PREFIX
            }
            Principal::Organization(id) => {
                if self.inner.stores.organizations.organization(id).await?.is_none() {
                    return Err(TenancyError::NoOrganization(id));
                }
                ORGANIZATION_TOKEN_PREFIX
            }
        };
        // 32 random bytes = 256 bits.
        let secret = random::credential_secret(prefix);
        let record = self
            .inner
            .stores
            .credentials
            .create_credential(principal, &secret.hash(), label, self.now_ms(), expires_at)
            .await?;
        Ok(IssuedCredential { record, secret })
    }

    pub async fn list_credentials(&self) -> Result<Vec<CredentialRecord>, TenancyError> {
        Ok(self.inner.stores.credentials.list_credentials().await?)
    }

    /// Revokes a credential: its next request gets 401.
    pub async fn revoke_credential(&self, id: i64) -> Result<(), TenancyError> {
        if !self.inner.stores.credentials.revoke_credential(id, self.now_ms()).await? {
            return Err(TenancyError::NoCredential(id));
        }
        Ok(())
    }

    /// Every key of `service`, newest first: current, retired and revoked, with their times; public
    /// parts only.
    pub async fn list_keys(&self, service: ServiceId) -> Result<Vec<KeySummary>, TenancyError> {
        self.inner.stores.services.service(service).await?.ok_or_else(|| no_service(service))?;
        let keys = self.inner.stores.keys.all_signing_keys(service).await?;
        Ok(keys.iter().map(key_summary).collect())
    }

    /// Makes a new key current for `service`, of `alg` — by default the algorithm of the service's
    /// JWT access tokens, else the current key's, else EdDSA. The previous key stays published
    /// while it verifies live tokens.
    pub async fn rotate_key(
        &self,
        service: ServiceId,
        alg: Option<SignAlg>,
    ) -> Result<SigningKeyRecord, TenancyError> {
        let record = self.inner.stores.services.service(service).await?.ok_or_else(|| no_service(service))?;
        let alg = match alg.or(record.access_token_sign_alg) {
            Some(alg) => alg,
            None => {
                self.inner.stores.keys.current_signing_key(service).await?.map_or(SignAlg::EdDsa, |k| k.alg)
            }
        };
        let _one_at_a_time = self.changing_keys(service).await;
        self.allow_keys(record.organization_id, Some(service))?;
        // A service issuing JWT access tokens takes the new key's algorithm in the key's own
        // transaction (the store's rule), so it never says one while its JWTs carry another.
        let key = self.add_key(service, alg).await?;
        if record.access_token_sign_alg.is_some_and(|current| current != alg) {
            self.inner.stores.services.forget_cached(service);
        }
        Ok(key)
    }

    /// Counts a key generation against its service's and its organization's bounds.
    fn allow_keys(
        &self,
        organization: OrganizationId,
        service: Option<ServiceId>,
    ) -> Result<(), TenancyError> {
        self.allow_key_generation(organization, service)
            .map_err(|(bound, retry_after_secs)| TenancyError::KeysTooOften { bound, retry_after_secs })
    }

    /// A new current key of `alg` for `service`.
    async fn add_key(&self, service: ServiceId, alg: SignAlg) -> Result<SigningKeyRecord, TenancyError> {
        let key = self.generate_key(service, alg).await?;
        self.inner.stores.keys.add_signing_key(&key, keys::RETIRED_KEY_GRACE_MS).await?;
        self.forget_published_keys(service);
        Ok(key)
    }

    /// Revokes a (possibly leaked) signing key: it leaves the JWK Set at once, nothing it signed is
    /// accepted at exchange any more, and every live token whose JWT access token or whose custom
    /// token it signed is revoked (in batches of [`KEY_REVOCATION_BATCH`], so writers are never held
    /// long): a leaked key let in sessions the thief may hold. When it is the current key, a new key
    /// of the same algorithm becomes current first, so the service keeps signing.
    pub async fn revoke_key(&self, service: ServiceId, kid: &str) -> Result<KeyRevocation, TenancyError> {
        let record = self.inner.stores.services.service(service).await?.ok_or_else(|| no_service(service))?;
        // Concurrent revocations of the current key: the first replaces it, the others find it
        // no longer current (and revoked: 404), and make no key.
        let _one_at_a_time = self.changing_keys(service).await;
        let current = self.inner.stores.keys.current_signing_key(service).await?;
        let replacement = match current {
            Some(current) if current.kid == kid => {
                self.allow_keys(record.organization_id, Some(service))?;
                Some(self.add_key(service, current.alg).await?)
            }
            _ => None,
        };
        let now = self.now_ms();
        if !self.inner.stores.keys.revoke_signing_key(service, kid, now).await? {
            return Err(TenancyError::NoKey { service, kid: kid.to_owned() });
        }
        self.forget_published_keys(service);
        let mut tokens_revoked = 0;
        loop {
            let batch =
                self.inner.stores.tokens.revoke_signed_by(service, kid, now, KEY_REVOCATION_BATCH).await?;
            tokens_revoked += batch;
            if batch < u64::from(KEY_REVOCATION_BATCH) {
                break;
            }
        }
        Ok(KeyRevocation { replacement, tokens_revoked })
    }

    /// Whether the store holds no organization yet (a first start would provision).
    pub async fn store_is_empty(&self) -> Result<bool, TenancyError> {
        Ok(self.inner.stores.organizations.is_empty().await?)
    }

    /// On an empty store, creates one organization, service, client and the two credentials, all
    /// or nothing: one transaction, committed only after `hand_out` (which writes the credentials
    /// where the operator reads them, and syncs them) returned. A first start interrupted at any
    /// point leaves an empty store (and, at worst, a credentials file the next start refuses with
    /// a message), never a store without a usable credential. `None` when the store is not empty
    /// or another instance made the first start.
    pub async fn bootstrap_if_empty(
        &self,
        hand_out: impl Fn(&Bootstrap) -> std::io::Result<()> + Send + Sync + 'static,
    ) -> Result<Option<Bootstrap>, TenancyError> {
        if !self.store_is_empty().await? {
            return Ok(None);
        }
        let now = self.now_ms();
        let (organization_id, service_id) = FirstStart::new_ids();
        let spec = ServiceSpec::default();
        validate_settings(&spec.settings)?;
        let key = self
            .generate_key(service_id, spec.settings.access_token_sign_alg.unwrap_or(spec.key_alg))
            .await?;
        let organization =
            OrganizationRecord { id: organization_id, name: "default".into(), created_at: now };
        let service = ServiceRecord { id: service_id, organization_id, settings: spec.settings };
        let client = ClientRecord {
            client_id: random::client_id(),
            service_id,
            name: "default client".into(),
            alias: Some("default-client".into()),
            entity_id: None,
            grant_types: GrantType::ALL.to_vec(),
        };
        let service_secret = random::credential_secret(SERVICE_TOKEN_PREFIX);
        let organization_secret = random::credential_secret(ORGANIZATION_TOKEN_PREFIX);
        let first = FirstStart {
            organization,
            service,
            key,
            client,
            service_credential: (service_secret.hash(), "bootstrap service token".into()),
            organization_credential: (organization_secret.hash(), "bootstrap organization token".into()),
        };
        let bootstrap = {
            let first = first.clone();
            move |credentials: &FirstStartCredentials| Bootstrap {
                organization: first.organization.clone(),
                service: first.service.clone(),
                client: first.client.clone(),
                service_token: IssuedCredential {
                    record: credentials.service.clone(),
                    secret: service_secret.clone(),
                },
                organization_token: IssuedCredential {
                    record: credentials.organization.clone(),
                    secret: organization_secret.clone(),
                },
            }
        };
        let bootstrap = std::sync::Arc::new(bootstrap);
        let handing_out = std::sync::Arc::clone(&bootstrap);
        let hand_out: HandOut = std::sync::Arc::new(move |credentials| hand_out(&handing_out(credentials)));
        let stored = self.inner.stores.organizations.first_start(&first, now, hand_out).await?;
        Ok(stored.map(|credentials| bootstrap(&credentials)))
    }

    /// Whether any credential could still authenticate a request (live, unexpired): a store
    /// without one can be run but not used over HTTP.
    pub async fn has_usable_credential(&self) -> Result<bool, TenancyError> {
        let now = self.now_ms();
        let credentials = self.inner.stores.credentials.list_credentials().await?;
        Ok(credentials.iter().any(|c| c.revoked_at.is_none() && c.expires_at.is_none_or(|at| at > now)))
    }
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
