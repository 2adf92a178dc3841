//! Credentials (Service Access Tokens, Organization Tokens) and the first start, which provisions
//! the first organization, service, client and credentials all or nothing.

use token_core::grant::GrantType;

use super::{
    Bootstrap, IssuedCredential, ORGANIZATION_TOKEN_PREFIX, Principal, SERVICE_TOKEN_PREFIX, ServiceSpec,
    Tenancy, TenancyError, no_service, validate_settings,
};
use crate::random;
use crate::store::{
    Actor, Audit, ClientRecord, CredentialRecord, FirstStart, FirstStartCredentials, HandOut,
    OrganizationRecord, ServiceRecord,
};

impl Tenancy {
    /// A credential of `principal`, refused `expires_in_secs` from now when given. The secret is in
    /// the answer and nowhere else.
    pub async fn issue_credential(
        &self,
        principal: Principal,
        label: &str,
        expires_in_secs: Option<i64>,
        actor: &Actor,
    ) -> Result<IssuedCredential, TenancyError> {
        let now = self.clock.now_ms();
        let expires_at = expires_in_secs.map(|secs| now.saturating_add(secs.saturating_mul(1000)));
        self.issue_credential_expiring_at(principal, label, expires_at, actor).await
    }

    /// [`Tenancy::issue_credential`] with the expiry as a time (milliseconds; in the past: refused
    /// from the start).
    pub async fn issue_credential_expiring_at(
        &self,
        principal: Principal,
        label: &str,
        expires_at: Option<i64>,
        actor: &Actor,
    ) -> Result<IssuedCredential, TenancyError> {
        let prefix = match principal {
            Principal::Service(id) => {
                if self.services.service(id).await?.is_none() {
                    return Err(no_service(id));
                }
                SERVICE_TOKEN_PREFIX
            }
            Principal::Organization(id) => {
                if self.organizations.organization(id).await?.is_none() {
                    return Err(TenancyError::NoOrganization(id));
                }
                ORGANIZATION_TOKEN_PREFIX
            }
        };
        let audit = Audit::new(actor.clone(), self.clock.now_ms());
        // 32 random bytes = 256 bits.
        let secret = random::credential_secret(prefix);
        let record = self
            .credentials
            .create_credential(principal, &secret.hash(), label, self.clock.now_ms(), expires_at, &audit)
            .await?;
        Ok(IssuedCredential { record, secret })
    }

    pub async fn list_credentials(&self) -> Result<Vec<CredentialRecord>, TenancyError> {
        Ok(self.credentials.list_credentials().await?)
    }

    /// Revokes a credential: its next request gets 401.
    pub async fn revoke_credential(&self, id: i64, actor: &Actor) -> Result<(), TenancyError> {
        let now = self.clock.now_ms();
        if !self.credentials.revoke_credential(id, now, &Audit::new(actor.clone(), now)).await? {
            return Err(TenancyError::NoCredential(id));
        }
        Ok(())
    }

    /// Whether the store holds no organization yet (a first start would provision).
    pub async fn store_is_empty(&self) -> Result<bool, TenancyError> {
        Ok(self.organizations.is_empty().await?)
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
        let now = self.clock.now_ms();
        let (organization_id, service_id) = FirstStart::new_ids();
        let spec = ServiceSpec::default();
        validate_settings(&spec.settings)?;
        let key = self
            .keys
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
        let stored = self.organizations.first_start(&first, now, hand_out).await?;
        Ok(stored.map(|credentials| bootstrap(&credentials)))
    }

    /// Whether any credential could still authenticate a request (live, unexpired): a store
    /// without one can be run but not used over HTTP.
    pub async fn has_usable_credential(&self) -> Result<bool, TenancyError> {
        let now = self.clock.now_ms();
        let credentials = self.credentials.list_credentials().await?;
        Ok(credentials.iter().any(|c| c.revoked_at.is_none() && c.expires_at.is_none_or(|at| at > now)))
    }
}
