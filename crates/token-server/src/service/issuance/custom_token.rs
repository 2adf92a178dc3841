//! Custom tokens (`000_…`): generate (a JWS signed with the service's current key), verify and
//! exchange (single use) for an access + refresh token pair.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use token_core::custom_token::{
    CUSTOM_TOKEN_LEEWAY_SECS, CUSTOM_TOKEN_LIFETIME_SECS, CUSTOM_TOKEN_TYP, CustomTokenClaims,
    CustomTokenDefaults, GenerateCustomToken, TokenPairResponse, exchange_audience,
};
use token_core::grant::GrantType;
use token_core::{ClientId, Secret, TokenId};

use super::{Built, Issuance, Lineage, Terms, TokenGrant};
use crate::random::new_token_id;
use crate::service::error::CustomTokenError;
use crate::service::keys::jwt_algorithm;
use crate::service::{ServiceError, ServiceResult, audit};
use crate::store::{
    Actor, EventStream, EventType, Redemption, ServiceRecord, StoreError, TokenExtra, TokenRecord,
};

/// Tokens issued from custom tokens belong to this pseudo-client of the service (no registered
/// client takes part in the end user's exchange).
pub const CUSTOM_TOKEN_CLIENT: ClientId = ClientId(0);
pub const CUSTOM_TOKEN_CLIENT_IDENTIFIER: &str = "custom-token";

fn invalid_custom_token(why: &str) -> ServiceError {
    CustomTokenError::Invalid(why.to_owned()).into()
}

/// An issued pair, with its values (shown once).
#[derive(Debug)]
pub struct IssuedPair {
    pub record: TokenRecord,
    pub access_token: Secret,
    pub refresh_token: Secret,
    pub jwt_access_token: Option<Secret>,
}

impl IssuedPair {
    /// Seconds the access token has left at `now_ms`; `None` for one that never expires.
    pub fn expires_in(&self, now_ms: i64) -> Option<i64> {
        (self.record.access_expires_at != 0).then(|| (self.record.access_expires_at - now_ms).max(0) / 1000)
    }

    pub fn response(self, now_ms: i64) -> TokenPairResponse {
        TokenPairResponse {
            expires_in: self.expires_in(now_ms),
            success: true,
            access_token: Some(self.access_token),
            refresh_token: Some(self.refresh_token),
            access_token_expires_at: Some(self.record.access_expires_at),
            refresh_token_expires_at: self.record.refresh_expires_at,
            token_type: Some(self.record.token_type.clone()),
            jwt_access_token: self.jwt_access_token,
            token_id: Some(TokenId::new(self.record.token_id)),
            error: None,
        }
    }
}

impl Issuance {
    /// Validates `input` and signs a custom token with the service's current key.
    pub async fn generate_custom_token(
        &self,
        service: &ServiceRecord,
        input: &GenerateCustomToken,
        actor: &Actor,
    ) -> ServiceResult<Secret> {
        // A custom token is exchanged by the JWT_BEARER grant (RFC 7523): a service that does not
        // allow it issues none.
        if !service.supported_grant_types.contains(&GrantType::JwtBearer) {
            return Err(CustomTokenError::GenerationNotAllowed.into());
        }
        let plan = input.plan(CustomTokenDefaults {
            access_token_ttl: service.custom_token_access_ttl,
            refresh_token_ttl: service.custom_token_refresh_ttl,
        })?;
        let key = self.keys.signing_key(service.id).await?;
        // The jti leads with the time, like token IDs: the single-use record an exchange writes
        // then lands at the right edge of its index instead of on a random page.
        let now = self.clock.now_ms();
        let claims = plan.claims(&service.issuer, service.id, now / 1000, new_token_id(now));
        let claims = serde_json::to_value(&claims).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let token = Secret::new(self.keys.sign(&key, CUSTOM_TOKEN_TYP, &claims)?);
        // Recorded before the token is handed out: no custom token leaves without its event.
        if let Some(event) = audit(actor, service, now).event(EventType::CustomTokenGenerated) {
            let event = event.subject(&plan.user_id).client(CUSTOM_TOKEN_CLIENT).kid(&key.kid);
            self.events.append_event(EventStream::Service(service.id), &event).await?;
        }
        self.metrics.custom_tokens_generated.inc();
        Ok(token)
    }

    /// Verifies the header's `typ` (a custom token's own, so no other JWT of the service passes),
    /// signature (kid → the current key or one retired less than a custom token's lifetime ago, never
    /// a revoked one; that key's algorithm only), issuer, audience and expiry, then the claims' rules.
    async fn verify_custom_token(
        &self,
        service: &ServiceRecord,
        token: &str,
    ) -> ServiceResult<(CustomTokenClaims, String)> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid_custom_token("not a compact JWS"))?;
        if header.typ.as_deref() != Some(CUSTOM_TOKEN_TYP) {
            return Err(invalid_custom_token("it is not a custom token (JWS typ)"));
        }
        let kid = header.kid.ok_or_else(|| invalid_custom_token("the header names no key"))?;
        let service_id = service.id;
        // A custom token lives CUSTOM_TOKEN_LIFETIME_SECS: a key retired longer ago than that (plus
        // leeway) signed nothing that may still be exchanged.
        let window_ms = (CUSTOM_TOKEN_LIFETIME_SECS + CUSTOM_TOKEN_LEEWAY_SECS) * 1000;
        let keys = self.keys.verification_keys(service_id, window_ms).await?;
        let key = keys
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| invalid_custom_token("it was not signed by a key of this service"))?;
        let algorithm = jwt_algorithm(key.alg);
        if header.alg != algorithm {
            return Err(invalid_custom_token("unexpected signature algorithm"));
        }
        let jwk: Jwk =
            serde_json::from_value(key.public_jwk).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut validation = Validation::new(algorithm);
        validation.leeway = CUSTOM_TOKEN_LEEWAY_SECS as u64;
        validation.set_audience(&[exchange_audience(&service.issuer, service.id)]);
        validation.set_issuer(&[&service.issuer]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<CustomTokenClaims>(token, &decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => CustomTokenError::Expired(CUSTOM_TOKEN_LIFETIME_SECS).into(),
                ErrorKind::InvalidSignature => invalid_custom_token("bad signature"),
                ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => {
                    invalid_custom_token("it is for another service")
                }
                _ => invalid_custom_token("its claims are malformed"),
            })?;
        claims.check()?;
        Ok((claims, kid))
    }

    /// Whether the key `kid` that signed a custom token is no longer one that may (revoked).
    async fn custom_token_key_revoked(&self, service: &ServiceRecord, kid: &str) -> ServiceResult<bool> {
        let window_ms = (CUSTOM_TOKEN_LIFETIME_SECS + CUSTOM_TOKEN_LEEWAY_SECS) * 1000;
        let keys = self.keys.verification_keys(service.id, window_ms).await?;
        Ok(!keys.iter().any(|k| k.kid == kid))
    }

    /// Exchanges a custom token (single use) for an access and a refresh token.
    pub async fn exchange_custom_token(
        &self,
        service: &ServiceRecord,
        token: &str,
        actor: &Actor,
    ) -> ServiceResult<IssuedPair> {
        if token.is_empty() {
            return Err(CustomTokenError::Missing.into());
        }
        let (claims, kid) = self.verify_custom_token(service, token).await?;
        if !service.supported_grant_types.contains(&GrantType::JwtBearer) {
            return Err(CustomTokenError::ExchangeNotAllowed.into());
        }
        // A replay, or a token of a user signed out since, is refused before any work: no
        // signature, no status index, no write.
        let generated_at = claims.generated_at_ms();
        let standing = self.single_use.custom_token_standing(service.id, &claims.jti, &claims.sub).await?;
        if standing.redeemed {
            return Err(CustomTokenError::Replayed.into());
        }
        if standing.valid_after.is_some_and(|cutoff| generated_at <= cutoff) {
            return Err(CustomTokenError::SubjectSignedOut.into());
        }
        let now = self.clock.now_ms();
        // The TTLs were checked against their caps (`claims.check`), so these cannot overflow; checked
        // all the same, as they come from a token.
        let expiry = |ttl: i64| {
            ttl.checked_mul(1000)
                .and_then(|ms| now.checked_add(ms))
                .ok_or_else(|| invalid_custom_token("its lifetimes are out of range"))
        };
        let (access_expires_at, refresh_expires_at) =
            (expiry(claims.access_token_ttl)?, expiry(claims.refresh_token_ttl)?);
        let grant = TokenGrant {
            subject: Some(claims.sub.clone()),
            refresh_scopes: Some(Vec::new()),
            auth_time: Some(claims.iat),
            client_identifier: Some(CUSTOM_TOKEN_CLIENT_IDENTIFIER.into()),
            custom_token_kid: Some(kid.clone()),
            extra: TokenExtra {
                identity: Some(claims.identity.clone()),
                claims: Some(claims.claims.clone()),
                access_token_ttl: Some(claims.access_token_ttl),
                refresh_token_ttl: Some(claims.refresh_token_ttl),
                jwt_at_claims: None,
            },
            ..TokenGrant::default()
        };
        let lineage = Lineage::New {
            client_id: CUSTOM_TOKEN_CLIENT,
            grant_type: GrantType::JwtBearer,
            grant: Box::new(grant),
        };
        let terms = Terms {
            now_ms: now,
            access_expires_at,
            refresh_expires_at: Some(refresh_expires_at),
            access_token: None,
            refresh_token: None,
        };
        let mut built = self.build(service.id, lineage, terms).await?;
        let refresh_token = built.pair_refresh_token()?;
        let Built { mut record, access_token, .. } = built;
        let jti_expiry = claims.exp.saturating_mul(1000);
        let mut first_try = true;
        let jwt_access_token = loop {
            let jwt_access_token = self.jwt_access_token(service, &mut record).await?;
            let single_use = &self.single_use;
            let audit = audit(actor, service, now);
            match single_use.redeem_custom_token(&claims.jti, jti_expiry, generated_at, &record, &audit).await
            {
                Ok(Redemption::Redeemed) => break jwt_access_token,
                Ok(Redemption::Replayed) => return Err(CustomTokenError::Replayed.into()),
                Ok(Redemption::SubjectSignedOut) => return Err(CustomTokenError::SubjectSignedOut.into()),
                Err(StoreError::KeyRevoked) if self.custom_token_key_revoked(service, &kid).await? => {
                    // The key that signed the custom token was revoked meanwhile: the custom
                    // token is what is refused, not a server fault.
                    return Err(invalid_custom_token("it was signed by a key revoked since"));
                }
                Err(e) if self.keys.sign_again(service.id, &e, first_try) => first_try = false,
                Err(e) => return Err(e.into()),
            }
        };
        self.metrics.custom_tokens_exchanged.inc();
        Ok(IssuedPair { record, access_token, refresh_token, jwt_access_token })
    }
}
