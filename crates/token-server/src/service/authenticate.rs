//! Bearer authentication. A Service Access Token acts on its one service; an Organization Token on
//! every service of its organization and on no other. Credentials are looked up by their SHA-256,
//! the stored hash is compared in constant time, and expiry applies to the very next request;
//! revocation by another process within `tenancy_cache_ms` (≤ 1 s, `store::cached`).

use subtle::ConstantTimeEq;
use token_core::{ResultCode, ServiceId, TokenHash};

use super::{ServiceError, ServiceResult, Services};
use crate::store::{Principal, ServiceRecord};

/// An authenticated caller acting on one service.
#[derive(Debug)]
pub struct Caller {
    pub principal: Principal,
    pub service: ServiceRecord,
    /// The SHA-256 of the credential used: identifies the caller (e.g. for the parallel limit).
    pub credential: TokenHash,
}

fn invalid_credential(message: &str) -> ServiceError {
    ServiceError::rule(ResultCode::CREDENTIAL_INVALID, message)
}

fn forbidden(service: ServiceId) -> ServiceError {
    ServiceError::rule(
        ResultCode::CREDENTIAL_FORBIDDEN,
        format!("The credential may not act on the service {service}."),
    )
}

fn truncate(value: &str) -> String {
    value.chars().take(32).collect()
}

fn parse_service_id(raw: &str) -> ServiceResult<ServiceId> {
    raw.parse().map_err(|_| {
        ServiceError::rule(
            ResultCode::PATH_INVALID,
            format!("The service ID '{}' in the path is not a canonical decimal number.", truncate(raw)),
        )
    })
}

impl Services {
    /// The caller that `credential` (the Bearer value, `None` when absent or malformed) makes of a
    /// request on the service `raw_service` (as written in the path).
    pub async fn authenticate(&self, credential: Option<&str>, raw_service: &str) -> ServiceResult<Caller> {
        let credential = credential.ok_or_else(|| {
            ServiceError::rule(
                ResultCode::AUTHORIZATION_MISSING,
                "The request needs 'Authorization: Bearer <Service Access Token or Organization Token>'.",
            )
        })?;
        let hash = TokenHash::of(credential);
        let not_valid = "The Bearer credential is not a valid Service Access Token or Organization Token.";
        // One store round trip: the credential, and the service only for a known credential.
        let service_id = raw_service.parse::<ServiceId>().ok();
        let (stored, service) = self.stores.credentials.credential_and_service(&hash, service_id).await?;
        let stored = stored.ok_or_else(|| invalid_credential(not_valid))?;
        if !bool::from(stored.hash.as_str().as_bytes().ct_eq(hash.as_str().as_bytes())) {
            return Err(invalid_credential(not_valid));
        }
        let now = self.now_ms();
        if !stored.record.is_usable(now) {
            return Err(invalid_credential("The Bearer credential was revoked or has expired."));
        }
        self.note_credential_use(stored.record.id, now);
        let principal = stored.record.principal;
        let service_id = parse_service_id(raw_service)?;
        if let Principal::Service(own) = principal
            && own != service_id
        {
            return Err(forbidden(service_id));
        }
        let service = service.ok_or_else(|| {
            ServiceError::rule(ResultCode::SERVICE_UNKNOWN, format!("No service has the ID {service_id}."))
        })?;
        if let Principal::Organization(org) = principal
            && service.organization_id != org
        {
            return Err(forbidden(service_id));
        }
        Ok(Caller { principal, service, credential: hash })
    }

    /// The service named by a public (credential-less) endpoint's path: end-user endpoints and the
    /// public JWK Set.
    pub async fn public_service(&self, raw: &str) -> ServiceResult<ServiceRecord> {
        let service = parse_service_id(raw)?;
        self.stores.services.service(service).await?.ok_or_else(|| {
            ServiceError::rule(ResultCode::SERVICE_UNKNOWN, format!("No service has the ID {service}."))
        })
    }
}
