//! Refresh: rotation with reuse detection, within the family's absolute lifetime, while the
//! service and the client still allow the grant.

use token_core::TokenHash;
use token_core::grant::GrantType;
use token_core::token_value::ValueKind;

use super::custom_token::{CUSTOM_TOKEN_CLIENT, IssuedPair};
use super::{Built, Issuance, Lineage, Terms};
use crate::service::dpop::ProofTarget;
use crate::service::error::RefreshError;
use crate::service::introspection::certificate_thumbprint;
use crate::service::{ServiceError, ServiceResult, audit};
use crate::store::{
    Actor, ROTATION_RATE_WINDOW_MS, RefreshOutcome, RevokeReason, Rotation, ServiceRecord, TokenRecord,
};

/// Who asks for a refresh, as the HTTP layer saw the request.
#[derive(Clone, Debug, Default)]
pub struct RefreshCaller {
    /// The request carried the service's Bearer credential: the operator's authorization server,
    /// refreshing for its client, which may refresh any token of the service.
    pub authenticated: bool,
    /// The ID of that credential (who the event log says acted, with the holder).
    pub credential_id: Option<i64>,
    /// The client certificate (PEM) the authorization server passes for a certificate-bound token.
    pub client_certificate: Option<String>,
    /// The request's `DPoP` header (RFC 9449).
    pub dpop: Option<String>,
    /// The request's method and the endpoint's URL as clients use it (a proof's `htm` and `htu`).
    pub htm: String,
    pub htu: String,
}

impl RefreshCaller {
    /// The holder, with the credential its authorization server called with when there was one.
    pub fn actor(&self) -> Actor {
        Actor::holder(self.credential_id)
    }
}

impl Issuance {
    /// Who may refresh `token` (RFC 6749 §6 asks the client to authenticate; the end user's app
    /// has no credential): with the service's credential, any token of the service, a
    /// certificate-bound one only with its certificate; without, only custom-token sessions, and
    /// DPoP-bound tokens with a valid proof for the bound key. Checked before anything changes, so
    /// a refused attempt never touches the family.
    async fn authorize_refresh(
        &self,
        service: &ServiceRecord,
        token: &TokenRecord,
        caller: &RefreshCaller,
    ) -> ServiceResult<()> {
        if caller.authenticated {
            if let Some(bound) = &token.certificate_thumbprint {
                let given = caller.client_certificate.as_deref().and_then(certificate_thumbprint);
                if given.as_deref() != Some(bound.as_str()) {
                    return Err(RefreshError::CertificateMismatch.into());
                }
            }
            return Ok(());
        }
        if let Some(jkt) = &token.dpop_key_thumbprint {
            let proof = caller
                .dpop
                .as_deref()
                .ok_or_else(|| RefreshError::ProofInvalid("the request carries no DPoP header".into()))?;
            let target = ProofTarget { htm: &caller.htm, htu: &caller.htu, jkt, access_token: None };
            return match self.proofs.verify(service.id, proof, &target).await? {
                Ok(()) => Ok(()),
                Err(why) => Err(RefreshError::ProofInvalid(why.to_string()).into()),
            };
        }
        if token.client_id == CUSTOM_TOKEN_CLIENT && token.certificate_thumbprint.is_none() {
            return Ok(());
        }
        Err(RefreshError::CredentialRequired.into())
    }

    /// Uses a refresh token: a new access token and a rotated refresh token. Reusing a rotated-away
    /// value revokes its family.
    pub async fn refresh(
        &self,
        service: &ServiceRecord,
        value: &str,
        caller: &RefreshCaller,
    ) -> ServiceResult<IssuedPair> {
        if value.is_empty() {
            return Err(RefreshError::Missing.into());
        }
        let old_hash = TokenHash::of(value);
        let service_id = service.id;
        let lookup = old_hash.clone();
        let Some(current) = self.tokens.token_by_refresh_hash(service_id, &lookup).await? else {
            // Not current: if it is a rotated value, this is reuse and the family is revoked — but
            // only by a caller who could have refreshed the family: the holder rule applies to
            // reuse too, or anyone holding an old value of a token that needs the credential (or
            // a DPoP proof) could end another's session.
            let family =
                self.tokens.token_by_rotated_value(service_id, &old_hash, ValueKind::Refresh).await?;
            // A family that has ended answers so before any proof is checked: a checked proof
            // records its `jti`, and a dead session must not be a way to add rows.
            match family {
                Some(family) if family.is_refreshable(self.clock.now_ms()) => {
                    self.authorize_refresh(service, &family, caller).await?
                }
                Some(_) | None => return Err(invalid_refresh()),
            }
            let reused_hash = old_hash.clone();
            let now = self.clock.now_ms();
            let audit = audit(&caller.actor(), service, now).because(RevokeReason::FamilyReuse);
            let was_reused = self.tokens.revoke_reused_refresh(service_id, &reused_hash, now, &audit).await?;
            if was_reused {
                self.metrics.refresh_reuse_detected.inc();
            }
            return Err(if was_reused { reused() } else { invalid_refresh() });
        };
        // Ended (revoked, expired): refused before the proof is checked, as above.
        if !current.is_refreshable(self.clock.now_ms()) {
            return Err(invalid_refresh());
        }
        let per_minute = self.config.refreshes_per_family_per_minute;
        // A refresh beyond the family's rate is refused before the holder's proof is checked: a
        // proof checked records its `jti`, so a client refreshing in a loop would still add a row
        // per attempt. (The rotation counts again, under the family's lock.)
        if current.dpop_key_thumbprint.is_some() && !caller.authenticated {
            let since = self.clock.now_ms() - ROTATION_RATE_WINDOW_MS;
            let (count, earliest) = self.tokens.rotations_since(service_id, &current.token_id, since).await?;
            if count >= per_minute {
                return Err(too_frequent(per_minute, earliest - since));
            }
        }
        self.authorize_refresh(service, &current, caller).await?;
        // The grant must still be allowed: by the service, and by the client the token was issued to
        // (tokens from custom tokens belong to the service's pseudo-client).
        let mut allowed = service.supported_grant_types.contains(&GrantType::RefreshToken);
        if allowed && current.client_id != CUSTOM_TOKEN_CLIENT {
            let client_id = current.client_id;
            let client = self.clients.client(service_id, client_id).await?;
            allowed = client.is_some_and(|c| c.grant_types.contains(&GrantType::RefreshToken));
        }
        if !allowed {
            return Err(RefreshError::NotAllowed.into());
        }
        let mut first_try = true;
        loop {
            match self.rotate(service, &current, &old_hash, per_minute, caller).await {
                Err(ServiceError::Store(e)) if self.keys.sign_again(service_id, &e, first_try) => {
                    first_try = false
                }
                answer => return answer,
            }
        }
    }

    /// Rotates `current` (found by its refresh value `old_hash`): new values, a new JWT signed with
    /// the current key.
    async fn rotate(
        &self,
        service: &ServiceRecord,
        current: &TokenRecord,
        old_hash: &TokenHash,
        per_minute: u32,
        caller: &RefreshCaller,
    ) -> ServiceResult<IssuedPair> {
        let service_id = service.id;
        let now = self.clock.now_ms();
        // Lifetimes as issued: the TTLs recorded with the token, else the service defaults.
        let access_ttl = current.extra.access_token_ttl.unwrap_or(service.access_token_duration);
        let refresh_ttl = current.extra.refresh_token_ttl.unwrap_or(service.refresh_token_duration);
        // The family's absolute end: its original issuance (`created_at` is never moved by a
        // rotation) plus the refresh lifetime it was issued with. Rotation never extends it, so a
        // stolen refresh token cannot be kept alive for ever by refreshing.
        let family_ends_at = current.created_at.saturating_add(refresh_ttl.saturating_mul(1000));
        let refresh_expires_at = now.saturating_add(refresh_ttl.saturating_mul(1000)).min(family_ends_at);
        let terms = Terms {
            now_ms: now,
            access_expires_at: if access_ttl == 0 {
                0
            } else {
                now.saturating_add(access_ttl.saturating_mul(1000))
            },
            refresh_expires_at: Some(refresh_expires_at),
            access_token: None,
            refresh_token: None,
        };
        let mut built = self.build(service_id, Lineage::Next(current), terms).await?;
        if refresh_expires_at <= now {
            return Err(invalid_refresh());
        }
        let refresh_token = built.pair_refresh_token()?;
        let Built { record: mut next, access_token, .. } = built;
        let jwt_access_token = self.jwt_access_token(service, &mut next).await?;
        let rotation = Rotation {
            new_access_hash: next.access_hash.clone(),
            new_refresh_hash: refresh_token.hash(),
            access_expires_at: next.access_expires_at,
            refresh_expires_at,
            jwt_kid: next.jwt_kid.clone(),
            status: next.status,
            now_ms: now,
            per_minute,
        };
        let audit = audit(&caller.actor(), service, now).because(RevokeReason::FamilyReuse);
        match self.tokens.rotate_refresh(service_id, old_hash, &rotation, &audit).await? {
            RefreshOutcome::Rotated(record) => {
                self.metrics.refreshes.inc();
                Ok(IssuedPair { record: *record, access_token, refresh_token, jwt_access_token })
            }
            RefreshOutcome::Reused => {
                self.metrics.refresh_reuse_detected.inc();
                Err(reused())
            }
            RefreshOutcome::Invalid => Err(invalid_refresh()),
            RefreshOutcome::TooFrequent { retry_after_ms } => Err(too_frequent(per_minute, retry_after_ms)),
        }
    }
}

fn invalid_refresh() -> ServiceError {
    RefreshError::Invalid.into()
}

/// 429: the family was refreshed `per_minute` times in the last minute; the oldest of those leaves
/// the window in `retry_after_ms`.
fn too_frequent(per_minute: u32, retry_after_ms: i64) -> ServiceError {
    let retry_after_secs = u64::try_from(retry_after_ms.max(0)).unwrap_or(0).div_ceil(1000).max(1);
    ServiceError::TooMany {
        message: format!(
            "This token was refreshed {per_minute} times in the last minute (refreshes_per_family_per_minute); retry in {retry_after_secs} s."
        ),
        retry_after_secs,
    }
}

fn reused() -> ServiceError {
    RefreshError::Reused.into()
}
