//! Issuance: the one place a token record is built and its RFC 9068 JWT signed, for token create
//! (`token_create`), the custom-token exchange (`custom_token`, which also generates and verifies
//! custom tokens) and refresh (`refresh`), so that every path stores the same shape and signs the
//! same claims (`jwt`); and the pipeline (`pipeline`), which batches creates and generations.

pub mod custom_token;
mod jwt;
pub mod pipeline;
pub mod refresh;
mod token_create;

use std::sync::Arc;

use serde_json::{Value, json};
use token_core::Secret;

use super::dpop::ProofVerifier;
use super::keys::Keys;
use super::limiter::GenerationLimiter;
use super::metrics::Metrics;
use super::status_list::StatusLists;
use super::value_format::ValueFormats;
use super::{ServiceError, ServiceResult, Shared};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::{ClientStore, ServiceRecord, SingleUseStore, Stores, TokenRecord, TokenStore};

/// The issuance component.
#[derive(Debug)]
pub struct Issuance {
    /// The client a token is created for, and whether it still allows refresh.
    clients: Arc<dyn ClientStore>,
    tokens: Arc<dyn TokenStore>,
    /// A custom token's single use, recorded with the tokens it is exchanged for.
    single_use: Arc<dyn SingleUseStore>,
    /// Every JWT (access token, custom token) is signed with its service's current key.
    keys: Keys,
    /// Each JWT access token's entry in its service's status lists.
    status_lists: StatusLists,
    /// The DPoP proof of a refresh without a credential.
    proofs: ProofVerifier,
    values: ValueFormats,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    /// Custom-token generations in flight per credential (shared with the metrics' gauge).
    limiter: Arc<GenerationLimiter>,
}

impl Issuance {
    pub(super) fn new(
        stores: &Stores,
        shared: &Shared,
        limiter: Arc<GenerationLimiter>,
        keys: Keys,
        status_lists: StatusLists,
        proofs: ProofVerifier,
        values: ValueFormats,
    ) -> Self {
        Self {
            clients: Arc::clone(&stores.clients),
            tokens: Arc::clone(&stores.tokens),
            single_use: Arc::clone(&stores.single_use),
            keys,
            status_lists,
            proofs,
            values,
            config: Arc::clone(&shared.config),
            clock: Arc::clone(&shared.clock),
            metrics: Arc::clone(&shared.metrics),
            limiter,
        }
    }

    /// A custom-token generation slot of `credential` (at most `custom_token_parallel_limit` at
    /// once), held until the permit is dropped; `TooMany` (429) when they are all taken.
    pub fn reserve_generation(&self, credential: &str) -> ServiceResult<tokio::sync::OwnedSemaphorePermit> {
        self.limiter.try_acquire(credential).ok_or_else(|| ServiceError::TooMany {
            message: format!(
                "At most {} custom tokens may be generated in parallel per credential; retry shortly.",
                self.limiter.limit()
            ),
            retry_after_secs: 1,
        })
    }

    /// The RFC 9068 JWT for `record` when the service issues them, signed with the service's current
    /// key (noted in the record). Its extra claims: `jwtAtClaims`, and for tokens from custom tokens the
    /// end user's `identity` and `claims`. Every issuing path (create, exchange, refresh) uses this.
    async fn jwt_access_token(
        &self,
        service: &ServiceRecord,
        record: &mut TokenRecord,
    ) -> ServiceResult<Option<Secret>> {
        if service.access_token_sign_alg.is_none() {
            // No JWT, no status entry (a refresh's old JWT then gets its bit).
            record.status = None;
            return Ok(None);
        }
        let key = self.keys.signing_key(service.id).await?;
        record.jwt_kid = Some(key.kid.clone());
        // Each JWT its own index: a refresh's new JWT gets a new one (the old one's bit is set
        // when the rotation replaces it).
        record.status = self.status_lists.entry(service).await?;
        let mut extra = record.extra.jwt_at_claims.clone().unwrap_or_default();
        if let Some(claim) = record.status.and_then(|entry| self.status_lists.claim(service.id, entry)) {
            extra.insert("status".into(), json!(claim));
        }
        if let Some(identity) = &record.extra.identity {
            extra.insert("identity".into(), json!(identity));
        }
        if let Some(claims) = &record.extra.claims {
            extra.insert("claims".into(), Value::Object(claims.clone()));
        }
        let claims = jwt::access_token_claims(service, record, &extra);
        Ok(Some(Secret::new(self.keys.sign(&key, jwt::ACCESS_TOKEN_TYP, &claims)?)))
    }
}
