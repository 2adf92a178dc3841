//! The signing keys of a service as operators manage them: list, rotate, revoke. Generation,
//! signing and publication are the `keys` component's.

use token_core::{OrganizationId, ServiceId};

use super::{KeyRevocation, KeySummary, Tenancy, TenancyError, key_summary, no_service};
use crate::service::keys::SignAlg;
use crate::store::{Actor, Audit, SigningKeyRecord};

impl Tenancy {
    /// Every key of `service`, newest first: current, retired and revoked, with their times; public
    /// parts only.
    pub async fn list_keys(&self, service: ServiceId) -> Result<Vec<KeySummary>, TenancyError> {
        self.services.service(service).await?.ok_or_else(|| no_service(service))?;
        let keys = self.keys.all(service).await?;
        Ok(keys.iter().map(key_summary).collect())
    }

    /// Makes a new key current for `service`, of `alg` — by default the algorithm of the service's
    /// JWT access tokens, else the current key's, else EdDSA. The previous key stays published
    /// while it verifies live tokens.
    pub async fn rotate_key(
        &self,
        service: ServiceId,
        alg: Option<SignAlg>,
        actor: &Actor,
    ) -> Result<SigningKeyRecord, TenancyError> {
        let record = self.services.service(service).await?.ok_or_else(|| no_service(service))?;
        let alg = match alg.or(record.access_token_sign_alg) {
            Some(alg) => alg,
            None => self.keys.current(service).await?.map_or(SignAlg::EdDsa, |k| k.alg),
        };
        let _one_at_a_time = self.keys.changing_keys(service).await;
        self.allow_keys(record.organization_id, Some(service))?;
        // A service issuing JWT access tokens takes the new key's algorithm in the key's own
        // transaction (the store's rule), so it never says one while its JWTs carry another.
        let key = self.add_key(service, alg, actor).await?;
        if record.access_token_sign_alg.is_some_and(|current| current != alg) {
            self.services.forget_cached(service);
        }
        Ok(key)
    }

    /// Counts a key generation against its service's and its organization's bounds.
    pub(super) fn allow_keys(
        &self,
        organization: OrganizationId,
        service: Option<ServiceId>,
    ) -> Result<(), TenancyError> {
        self.keys
            .allow_key_generation(organization, service)
            .map_err(|(bound, retry_after_secs)| TenancyError::KeysTooOften { bound, retry_after_secs })
    }

    /// A new current key of `alg` for `service`.
    pub(super) async fn add_key(
        &self,
        service: ServiceId,
        alg: SignAlg,
        actor: &Actor,
    ) -> Result<SigningKeyRecord, TenancyError> {
        let key = self.keys.generate_key(service, alg).await?;
        self.keys.add(&key, &Audit::new(actor.clone(), self.clock.now_ms())).await?;
        Ok(key)
    }

    /// Revokes a (possibly leaked) signing key: it leaves the JWK Set at once, nothing it signed is
    /// accepted at exchange any more, and every live token whose JWT access token or whose custom
    /// token it signed is revoked (in batches of [`KEY_REVOCATION_BATCH`](crate::service::token_manage::KEY_REVOCATION_BATCH), so writers are never held
    /// long): a leaked key let in sessions the thief may hold. When it is the current key, a new key
    /// of the same algorithm becomes current first, so the service keeps signing.
    pub async fn revoke_key(
        &self,
        service: ServiceId,
        kid: &str,
        actor: &Actor,
    ) -> Result<KeyRevocation, TenancyError> {
        let record = self.services.service(service).await?.ok_or_else(|| no_service(service))?;
        // Concurrent revocations of the current key: the first replaces it, the others find it
        // no longer current (and revoked: 404), and make no key.
        let _one_at_a_time = self.keys.changing_keys(service).await;
        let current = self.keys.current(service).await?;
        let replacement = match current {
            Some(current) if current.kid == kid => {
                self.allow_keys(record.organization_id, Some(service))?;
                Some(self.add_key(service, current.alg, actor).await?)
            }
            _ => None,
        };
        let now = self.clock.now_ms();
        let audit = Audit::new(actor.clone(), now);
        if !self.keys.revoke(service, kid, now, &audit).await? {
            return Err(TenancyError::NoKey { service, kid: kid.to_owned() });
        }
        let tokens_revoked = self.token_manage.revoke_signed_by(service, kid, now, &audit).await?;
        Ok(KeyRevocation { replacement, tokens_revoked })
    }
}
