//! Issuance: the one place a token record is built ([`Issuance::build`]) and its RFC 9068 JWT
//! signed ([`Issuance::jwt_access_token`]), for token create (`token_create`), the custom-token
//! exchange (`custom_token`, which also generates and verifies custom tokens) and refresh
//! (`refresh`), so that every path makes its token ID, values, hashes and times the same way and
//! signs the same claims (`jwt`); and the pipeline (`pipeline`), which batches creates and
//! generations.

pub mod custom_token;
mod jwt;
pub mod pipeline;
pub mod refresh;
mod token_create;

use std::sync::Arc;

use serde_json::{Value, json};
use token_core::grant::GrantType;
use token_core::property::Property;
use token_core::token_value::ValueKind;
use token_core::{ClientId, Secret, ServiceId};

use super::dpop::ProofVerifier;
use super::keys::Keys;
use super::limiter::GenerationLimiter;
use super::metrics::Metrics;
use super::status_list::StatusLists;
use super::value_format::ValueFormats;
use super::{ServiceError, ServiceResult, Shared};
use crate::clock::Clock;
use crate::config::Config;
use crate::random;
use crate::store::{
    ClientStore, EventStore, ServiceRecord, SingleUseStore, Stores, TokenExtra, TokenRecord, TokenStore,
};

/// The issuance component.
#[derive(Debug)]
pub struct Issuance {
    /// The client a token is created for, and whether it still allows refresh.
    clients: Arc<dyn ClientStore>,
    tokens: Arc<dyn TokenStore>,
    /// A custom token's single use, recorded with the tokens it is exchanged for.
    single_use: Arc<dyn SingleUseStore>,
    /// A generated custom token's event (it stores nothing else).
    events: Arc<dyn EventStore>,
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
            events: Arc::clone(&stores.events),
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

    /// Builds a token record, the one way every issuing path does: for a new family a new token ID
    /// (its creation time first), for a refreshed family its own; values in the current format
    /// unless `terms` brings them (token create may import existing ones), a refresh value when
    /// the refresh token has an end; their hashes, and the times of `terms`. What else the record
    /// holds is the grant's ([`Lineage::New`]) or, for a refresh, what the family was issued with.
    async fn build(&self, service: ServiceId, lineage: Lineage<'_>, terms: Terms) -> ServiceResult<Built> {
        let token_id = match &lineage {
            Lineage::New { .. } => random::new_token_id(terms.now_ms),
            // New values of the same family: they carry its token ID too.
            Lineage::Next(family) => family.token_id.clone(),
        };
        let format = self.values.current().await?;
        let access_token =
            terms.access_token.unwrap_or_else(|| random::token_value(ValueKind::Access, &token_id, format));
        let refresh_token = terms.refresh_expires_at.map(|_| {
            terms.refresh_token.unwrap_or_else(|| random::token_value(ValueKind::Refresh, &token_id, format))
        });
        let refresh_hash = refresh_token.as_ref().map(Secret::hash);
        let record = match lineage {
            Lineage::New { client_id, grant_type, grant } => {
                let grant = *grant;
                TokenRecord {
                    refresh_hash,
                    refresh_expires_at: terms.refresh_expires_at,
                    subject: grant.subject,
                    scopes: grant.scopes,
                    refresh_scopes: grant.refresh_scopes,
                    properties: grant.properties,
                    certificate_thumbprint: grant.certificate_thumbprint,
                    dpop_key_thumbprint: grant.dpop_key_thumbprint,
                    token_type: grant.token_type,
                    authorization_details: grant.authorization_details,
                    resources: grant.resources,
                    acr: grant.acr,
                    auth_time: grant.auth_time,
                    session_id: grant.session_id,
                    client_identifier: grant.client_identifier,
                    for_external_attachment: grant.for_external_attachment,
                    custom_token_kid: grant.custom_token_kid,
                    extra: grant.extra,
                    ..TokenRecord::issued(
                        token_id,
                        service,
                        client_id,
                        grant_type,
                        access_token.hash(),
                        terms.now_ms,
                        terms.access_expires_at,
                    )
                }
            }
            // The family's next state: its creation time moves with each rotation, what it was
            // issued with (and its `last_refreshed_at`, the store's) stays.
            Lineage::Next(family) => TokenRecord {
                access_hash: access_token.hash(),
                refresh_hash,
                created_at: terms.now_ms,
                access_expires_at: terms.access_expires_at,
                refresh_expires_at: terms.refresh_expires_at,
                ..family.clone()
            },
        };
        Ok(Built { record, access_token, refresh_token })
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

/// Whose record [`Issuance::build`] makes.
#[derive(Debug)]
enum Lineage<'a> {
    /// A new family (token create, custom-token exchange): a new token ID, for `client_id` under
    /// `grant_type`, with what the grant adds.
    New { client_id: ClientId, grant_type: GrantType, grant: Box<TokenGrant> },
    /// The next state of `family` (a refresh): its ID and everything it was issued with.
    Next(&'a TokenRecord),
}

/// What a grant adds to a new family's record: what token create takes from its plan and the
/// exchange from the custom token's claims. Empty by default, a `Bearer` token.
#[derive(Debug)]
struct TokenGrant {
    subject: Option<String>,
    scopes: Vec<String>,
    refresh_scopes: Option<Vec<String>>,
    properties: Vec<Property>,
    certificate_thumbprint: Option<String>,
    dpop_key_thumbprint: Option<String>,
    token_type: String,
    authorization_details: Option<Value>,
    resources: Vec<String>,
    acr: Option<String>,
    auth_time: Option<i64>,
    session_id: Option<String>,
    client_identifier: Option<String>,
    for_external_attachment: Option<bool>,
    custom_token_kid: Option<String>,
    extra: TokenExtra,
}

impl Default for TokenGrant {
    fn default() -> Self {
        Self {
            subject: None,
            scopes: Vec::new(),
            refresh_scopes: None,
            properties: Vec::new(),
            certificate_thumbprint: None,
            dpop_key_thumbprint: None,
            token_type: "Bearer".into(),
            authorization_details: None,
            resources: Vec::new(),
            acr: None,
            auth_time: None,
            session_id: None,
            client_identifier: None,
            for_external_attachment: None,
            custom_token_kid: None,
            extra: TokenExtra::default(),
        }
    }
}

/// When a token is made and its values end, and the values its caller chose.
#[derive(Debug)]
struct Terms {
    now_ms: i64,
    /// Milliseconds; 0: never.
    access_expires_at: i64,
    /// `None`: no refresh token.
    refresh_expires_at: Option<i64>,
    /// Values the caller chose (token create may import existing ones); generated when `None`.
    access_token: Option<Secret>,
    refresh_token: Option<Secret>,
}

/// A token as [`Issuance::build`] made it: its record, and its values (shown once).
#[derive(Debug)]
struct Built {
    record: TokenRecord,
    access_token: Secret,
    refresh_token: Option<Secret>,
}

impl Built {
    /// The refresh value of a pair: always built, since a pair's terms give its refresh token an
    /// end; an internal error otherwise.
    fn pair_refresh_token(&mut self) -> ServiceResult<Secret> {
        self.refresh_token
            .take()
            .ok_or_else(|| ServiceError::Internal("a token pair was built without a refresh token".into()))
    }
}
