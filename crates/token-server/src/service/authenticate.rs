//! Bearer authentication. A Service Access Token acts on its one service; an Organization Token on
//! every service of its organization and on no other. Credentials are looked up by their SHA-256,
//! the stored hash is compared in constant time, and expiry applies to the very next request;
//! revocation by another process within `tenancy_cache_ms` (≤ 1 s, `store::cached`).

use subtle::ConstantTimeEq;
use token_core::{OrganizationId, ServiceId, TokenHash};

use super::error::{AuthError, RequestError};
use super::{ServiceResult, Services};
use crate::store::{Principal, ServiceRecord};

/// An authenticated caller acting on one service.
#[derive(Debug)]
pub struct Caller {
    pub principal: Principal,
    pub service: ServiceRecord,
    /// The SHA-256 of the credential used: identifies the caller (e.g. for the parallel limit).
    pub credential: TokenHash,
}

fn truncate(value: &str) -> String {
    value.chars().take(32).collect()
}

fn parse_service_id(raw: &str) -> ServiceResult<ServiceId> {
    raw.parse().map_err(|_| RequestError::ServiceId(truncate(raw)).into())
}

impl Services {
    /// The caller that `credential` (the Bearer value, `None` when absent or malformed) makes of a
    /// request on the service `raw_service` (as written in the path).
    pub async fn authenticate(&self, credential: Option<&str>, raw_service: &str) -> ServiceResult<Caller> {
        // One store round trip: the credential, and the service only for a known credential.
        let (principal, hash, service) = self.credential(credential, raw_service.parse().ok()).await?;
        let service_id = parse_service_id(raw_service)?;
        if let Principal::Service(own) = principal
            && own != service_id
        {
            return Err(AuthError::Forbidden(service_id).into());
        }
        let service = service.ok_or(AuthError::ServiceUnknown(service_id))?;
        if let Principal::Organization(org) = principal
            && service.organization_id != org
        {
            return Err(AuthError::Forbidden(service_id).into());
        }
        Ok(Caller { principal, service, credential: hash })
    }

    /// [`Services::authenticate`] for the routes only an Organization Token may call (services,
    /// keys): a Service Access Token, even of this service, is refused.
    pub async fn authenticate_organization_on(
        &self,
        credential: Option<&str>,
        raw_service: &str,
    ) -> ServiceResult<Caller> {
        let caller = self.authenticate(credential, raw_service).await?;
        match caller.principal {
            Principal::Organization(_) => Ok(caller),
            Principal::Service(_) => Err(AuthError::OrganizationTokenRequired.into()),
        }
    }

    /// The organization an Organization Token acts for, on routes that name no service.
    pub async fn authenticate_organization(&self, credential: Option<&str>) -> ServiceResult<OrganizationId> {
        match self.credential(credential, None).await?.0 {
            Principal::Organization(org) => Ok(org),
            Principal::Service(_) => Err(AuthError::OrganizationTokenRequired.into()),
        }
    }

    /// The principal of a usable credential (its hash compared in constant time), and the service
    /// `service` when one is named and exists.
    async fn credential(
        &self,
        credential: Option<&str>,
        service: Option<ServiceId>,
    ) -> ServiceResult<(Principal, TokenHash, Option<ServiceRecord>)> {
        let credential = credential.ok_or(AuthError::Missing)?;
        let hash = TokenHash::of(credential);
        let (stored, service) = self.inner.stores.credentials.credential_and_service(&hash, service).await?;
        let stored = stored.ok_or(AuthError::Unknown)?;
        if !bool::from(stored.hash.as_str().as_bytes().ct_eq(hash.as_str().as_bytes())) {
            return Err(AuthError::Unknown.into());
        }
        let now = self.now_ms();
        if !stored.record.is_usable(now) {
            return Err(AuthError::Unusable.into());
        }
        self.note_credential_use(stored.record.id, now);
        Ok((stored.record.principal, hash, service))
    }

    /// The service named by a public (credential-less) endpoint's path: end-user endpoints and the
    /// public JWK Set.
    pub async fn public_service(&self, raw: &str) -> ServiceResult<ServiceRecord> {
        let service = parse_service_id(raw)?;
        Ok(self.inner.stores.services.service(service).await?.ok_or(AuthError::ServiceUnknown(service))?)
    }
}
