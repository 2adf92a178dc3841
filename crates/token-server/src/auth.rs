//! Bearer authentication. A Service Access Token acts on its one service; an Organization Token on
//! every service of its organization and on no other. Credentials are looked up by their SHA-256
//! and the stored hash is compared in constant time.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;
use token_core::{ResultCode, ServiceId, TokenHash};

use crate::app::AppState;
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::store::{Principal, ServiceRecord};

/// An authenticated caller acting on the service named in the path.
#[derive(Debug)]
pub struct ServiceCaller {
    pub principal: Principal,
    pub service: ServiceRecord,
    /// The SHA-256 of the credential used: identifies the caller (e.g. for the parallel limit).
    pub credential: TokenHash,
}

/// The token of an `Authorization: Bearer <token>` header, if the header has that form.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    token_core::bearer::parse_bearer(parts.headers.get(AUTHORIZATION)?.to_str().ok()?)
}

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::rule(
                ResultCode::AUTHORIZATION_MISSING,
                "The request needs 'Authorization: Bearer <Service Access Token or Organization Token>'.",
            )
        })?;
        let hash = TokenHash::of(token);

        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::rule(ResultCode::PATH_INVALID, format!("The path is not valid: {e}.")))?;
        let raw_service = params.get("serviceId").map(String::as_str).unwrap_or("");

        let service_id = raw_service.parse::<ServiceId>().ok();

        // One store round trip: the credential, and the service only for a known credential.
        let lookup = hash.clone();
        let (stored, service) = state
            .db(move |store| {
                let stored = store.credential_by_hash(lookup.as_str())?;
                let service = match (&stored, service_id) {
                    (Some(_), Some(id)) => store.service(id)?,
                    _ => None,
                };
                Ok((stored, service))
            })
            .await?;
        let Some(stored) = stored else {
            return Err(invalid_credential());
        };
        if !bool::from(stored.hash.as_bytes().ct_eq(hash.as_str().as_bytes())) {
            return Err(invalid_credential());
        }
        // Credentials are not cached: a revocation or an expiry applies to the very next request.
        let now = now_ms();
        if !stored.record.is_usable(now) {
            return Err(ApiError::rule(
                ResultCode::CREDENTIAL_INVALID,
                "The Bearer credential was revoked or has expired.",
            ));
        }
        state.note_credential_use(stored.record.id, now);
        let principal = stored.record.principal;
        let service_id = service_id.ok_or_else(|| {
            ApiError::rule(
                ResultCode::PATH_INVALID,
                format!(
                    "The service ID '{}' in the path is not a canonical decimal number.",
                    truncate(raw_service)
                ),
            )
        })?;
        if let Principal::Service(own) = principal
            && own != service_id
        {
            return Err(forbidden(service_id));
        }
        let service = service.ok_or_else(|| {
            ApiError::rule(ResultCode::SERVICE_UNKNOWN, format!("No service has the ID {service_id}."))
        })?;
        if let Principal::Organization(org) = principal
            && service.organization_id != org
        {
            return Err(forbidden(service_id));
        }
        Ok(ServiceCaller { principal, service, credential: hash })
    }
}

fn invalid_credential() -> ApiError {
    ApiError::rule(
        ResultCode::CREDENTIAL_INVALID,
        "The Bearer credential is not a valid Service Access Token or Organization Token.",
    )
}

fn forbidden(service: ServiceId) -> ApiError {
    ApiError::rule(
        ResultCode::CREDENTIAL_FORBIDDEN,
        format!("The credential may not act on the service {service}."),
    )
}

fn truncate(value: &str) -> String {
    value.chars().take(32).collect()
}

/// The service named by a public (credential-less) endpoint's path: end-user endpoints and the
/// public JWK Set.
pub async fn public_service(state: &AppState, raw: &str) -> Result<ServiceRecord, ApiError> {
    let service: ServiceId = raw.parse().map_err(|_| {
        ApiError::rule(
            ResultCode::PATH_INVALID,
            "The service ID in the path is not a canonical decimal number.",
        )
    })?;
    state.db(move |store| store.service(service)).await?.ok_or_else(|| {
        ApiError::rule(ResultCode::SERVICE_UNKNOWN, format!("No service has the ID {service}."))
    })
}
