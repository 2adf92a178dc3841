//! Bearer authentication. A Service Access Token acts on its one service; an Organization Token on
//! every service of its organization and on no other. Credentials are looked up by their SHA-256,
//! the stored hash is compared in constant time, and expiry applies to the very next request;
//! revocation by another process within `tenancy_cache_ms` (≤ 1 s, `store::cached`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use subtle::ConstantTimeEq;
use token_core::{OrganizationId, ServiceId, TokenHash};

use super::error::{AuthError, RequestError};
use super::{ServiceResult, Shared};
use crate::clock::Clock;
use crate::store::{Actor, ActorKind, CredentialStore, Principal, ServiceRecord, ServiceStore, Stores};

/// A credential's last-used time is written at most this often (milliseconds).
const CREDENTIAL_USE_RESOLUTION_MS: i64 = 60_000;

/// The authentication component: credentials, and the services they act on. Clones share what
/// they hold (the status lists' public endpoint names its service the way every public one does).
#[derive(Clone, Debug)]
pub struct Authentication {
    credentials: Arc<dyn CredentialStore>,
    services: Arc<dyn ServiceStore>,
    clock: Arc<dyn Clock>,
    /// When each credential's last use was written, to write it at most once a minute.
    credential_uses: Arc<Mutex<HashMap<i64, i64>>>,
}

/// An authenticated caller acting on one service.
#[derive(Debug)]
pub struct Caller {
    pub principal: Principal,
    pub service: ServiceRecord,
    /// The SHA-256 of the credential used: identifies the caller (e.g. for the parallel limit).
    pub credential: TokenHash,
    /// The credential's ID (as `admin credential list` shows it): who the event log says acted.
    pub credential_id: i64,
}

impl Caller {
    /// Who this caller is in the event log: its kind of credential and the credential's ID.
    pub fn actor(&self) -> Actor {
        actor_of(self.principal, self.credential_id)
    }
}

/// The event log's actor for a credential of `principal` whose ID is `id`.
pub fn actor_of(principal: Principal, id: i64) -> Actor {
    let kind = match principal {
        Principal::Service(_) => ActorKind::ServiceCredential,
        Principal::Organization(_) => ActorKind::OrganizationToken,
    };
    Actor { kind, id: Some(id.to_string()) }
}

fn truncate(value: &str) -> String {
    value.chars().take(32).collect()
}

fn parse_service_id(raw: &str) -> ServiceResult<ServiceId> {
    raw.parse().map_err(|_| RequestError::ServiceId(truncate(raw)).into())
}

impl Authentication {
    pub(super) fn new(stores: &Stores, shared: &Shared) -> Self {
        Self {
            credentials: Arc::clone(&stores.credentials),
            services: Arc::clone(&stores.services),
            clock: Arc::clone(&shared.clock),
            credential_uses: Default::default(),
        }
    }

    /// The caller that `credential` (the Bearer value, `None` when absent or malformed) makes of a
    /// request on the service `raw_service` (as written in the path).
    pub async fn authenticate(&self, credential: Option<&str>, raw_service: &str) -> ServiceResult<Caller> {
        // One store round trip: the credential, and the service only for a known credential.
        let (principal, hash, service, credential_id) =
            self.credential(credential, raw_service.parse().ok()).await?;
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
        Ok(Caller { principal, service, credential: hash, credential_id })
    }

    /// [`Authentication::authenticate`] for the routes only an Organization Token may call (services,
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
    pub async fn authenticate_organization(
        &self,
        credential: Option<&str>,
    ) -> ServiceResult<(OrganizationId, Actor)> {
        match self.credential(credential, None).await? {
            (Principal::Organization(org), _, _, id) => Ok((org, actor_of(Principal::Organization(org), id))),
            (Principal::Service(_), ..) => Err(AuthError::OrganizationTokenRequired.into()),
        }
    }

    /// The principal of a usable credential (its hash compared in constant time), and the service
    /// `service` when one is named and exists.
    async fn credential(
        &self,
        credential: Option<&str>,
        service: Option<ServiceId>,
    ) -> ServiceResult<(Principal, TokenHash, Option<ServiceRecord>, i64)> {
        let credential = credential.ok_or(AuthError::Missing)?;
        let hash = TokenHash::of(credential);
        let (stored, service) = self.credentials.credential_and_service(&hash, service).await?;
        let stored = stored.ok_or(AuthError::Unknown)?;
        if !bool::from(stored.hash.as_str().as_bytes().ct_eq(hash.as_str().as_bytes())) {
            return Err(AuthError::Unknown.into());
        }
        let now = self.clock.now_ms();
        if !stored.record.is_usable(now) {
            return Err(AuthError::Unusable.into());
        }
        self.note_credential_use(stored.record.id, now);
        Ok((stored.record.principal, hash, service, stored.record.id))
    }

    /// The service named by a public (credential-less) endpoint's path: end-user endpoints and the
    /// public JWK Set.
    pub async fn public_service(&self, raw: &str) -> ServiceResult<ServiceRecord> {
        let service = parse_service_id(raw)?;
        Ok(self.services.service(service).await?.ok_or(AuthError::ServiceUnknown(service))?)
    }

    /// The service `id`, if it exists.
    pub async fn service(&self, id: ServiceId) -> ServiceResult<Option<ServiceRecord>> {
        Ok(self.services.service(id).await?)
    }

    /// Records that credential `id` was used at `now_ms`: written in the background, at most once
    /// a minute per credential, so authentication adds no write to a request.
    fn note_credential_use(&self, id: i64, now_ms: i64) {
        {
            let mut uses = self.credential_uses.lock().unwrap_or_else(|p| p.into_inner());
            match uses.get(&id) {
                Some(last) if now_ms - last < CREDENTIAL_USE_RESOLUTION_MS => return,
                _ => {
                    uses.insert(id, now_ms);
                }
            }
        }
        let credentials = Arc::clone(&self.credentials);
        tokio::spawn(async move {
            if let Err(e) = credentials.touch_credential(id, now_ms).await {
                tracing::warn!(error = %e, credential = id, "could not record the credential's last use");
            }
        });
    }
}
