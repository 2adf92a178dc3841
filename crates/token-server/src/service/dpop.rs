//! DPoP proofs (RFC 9449 §4.3): the check that a request comes from the holder of the key a token
//! is bound to. Used by the public refresh endpoints (a DPoP-bound token refreshes without a
//! credential only with a valid proof) and by introspection (a resource server hands over the proof
//! its client sent).
//!
//! A proof is a JWS whose header says `typ: dpop+jwt`, names an asymmetric `alg` and carries the
//! public `jwk` that signed it; its claims bind it to one request (`htm`, `htu`), one moment
//! (`iat`, within [`PROOF_WINDOW_SECS`]) and one use (`jti`, recorded in the store, so a replay is
//! refused on every instance).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use token_core::ServiceId;

use std::sync::Arc;

use super::keys::jwk_thumbprint;
use super::{ServiceResult, Shared};
use crate::clock::Clock;
use crate::store::{SingleUseStore, Stores};

/// The header `typ` of a DPoP proof.
pub const PROOF_TYP: &str = "dpop+jwt";

/// How far a proof's `iat` may be from the server's time, either way, in seconds.
pub const PROOF_WINDOW_SECS: i64 = 60;

/// Longest `jti` accepted (a proof's `jti` is stored until its window has passed).
pub const MAX_JTI_LEN: usize = 256;

/// Algorithms a proof may be signed with: asymmetric only (RFC 9449 §4.3 forbids `none` and MACs).
pub const PROOF_ALGS: &[Algorithm] = &[
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// [`PROOF_ALGS`] as the `algs` parameter of a `DPoP` challenge (RFC 9449 §7.1) names them.
pub const PROOF_ALG_NAMES: &str = "ES256 ES384 EdDSA RS256 RS384 RS512 PS256 PS384 PS512";

/// The request a proof must be for.
#[derive(Clone, Debug)]
pub struct ProofTarget<'a> {
    /// The HTTP method, e.g. `POST`.
    pub htm: &'a str,
    /// The URL clients use for the endpoint (`public_base_url` + path), without query or fragment.
    pub htu: &'a str,
    /// The RFC 7638 thumbprint of the key the token is bound to.
    pub jkt: &'a str,
    /// When present, the proof must carry `ath`: base64url SHA-256 of this access token.
    pub access_token: Option<&'a str>,
}

/// Why a proof was refused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("the DPoP proof is not a JWS: {0}")]
    Malformed(String),
    #[error("the DPoP proof's typ is not dpop+jwt")]
    Typ,
    #[error("the DPoP proof's alg is not an asymmetric algorithm")]
    Alg,
    #[error("the DPoP proof's header carries no usable public jwk")]
    Jwk,
    #[error("the DPoP proof's signature does not verify with its jwk")]
    Signature,
    #[error("the DPoP proof's key is not the key the token is bound to")]
    KeyMismatch,
    #[error("the DPoP proof's htm is not this request's method")]
    Htm,
    #[error("the DPoP proof's htu is not this endpoint's URL")]
    Htu,
    #[error("the DPoP proof's iat is more than {PROOF_WINDOW_SECS} s from the server's time")]
    Iat,
    #[error("the DPoP proof's ath is not the hash of the access token")]
    Ath,
    #[error("the DPoP proof's jti is missing or too long")]
    Jti,
    #[error("the DPoP proof was already used")]
    Replayed,
}

#[derive(Deserialize)]
struct ProofClaims {
    htm: String,
    htu: String,
    iat: i64,
    jti: String,
    #[serde(default)]
    ath: Option<String>,
}

/// `url` without its query and fragment (RFC 9449 §4.3: `htu` is compared without them).
fn without_query(url: &str) -> Option<String> {
    let mut url = url::Url::parse(url).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// Checks everything of a proof but its single use: header, signature, binding, request, time.
/// Returns its `jti` and `iat`.
pub fn check_proof(
    proof: &str,
    target: &ProofTarget<'_>,
    now_secs: i64,
) -> Result<(String, i64), ProofError> {
    let header_part = proof.split('.').next().unwrap_or_default();
    let raw_header: Value = URL_SAFE_NO_PAD
        .decode(header_part)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ProofError::Malformed("the header is not base64url JSON".into()))?;
    if raw_header.get("typ").and_then(Value::as_str) != Some(PROOF_TYP) {
        return Err(ProofError::Typ);
    }
    let header = jsonwebtoken::decode_header(proof).map_err(|_| ProofError::Alg)?;
    if !PROOF_ALGS.contains(&header.alg) {
        return Err(ProofError::Alg);
    }
    let raw_jwk = raw_header.get("jwk").filter(|j| j.is_object()).ok_or(ProofError::Jwk)?;
    // A public key only: a header that carries private parameters is refused outright.
    if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| raw_jwk.get(*m).is_some()) {
        return Err(ProofError::Jwk);
    }
    let thumbprint = jwk_thumbprint(raw_jwk).ok_or(ProofError::Jwk)?;
    let jwk: Jwk = serde_json::from_value(raw_jwk.clone()).map_err(|_| ProofError::Jwk)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| ProofError::Jwk)?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => ProofError::Signature,
            _ => ProofError::Malformed(e.to_string()),
        })?
        .claims;
    if thumbprint != target.jkt {
        return Err(ProofError::KeyMismatch);
    }
    if claims.htm != target.htm {
        return Err(ProofError::Htm);
    }
    if without_query(&claims.htu).is_none() || without_query(&claims.htu) != without_query(target.htu) {
        return Err(ProofError::Htu);
    }
    if (claims.iat - now_secs).abs() > PROOF_WINDOW_SECS {
        return Err(ProofError::Iat);
    }
    if let Some(token) = target.access_token {
        // The bare SHA-256 of the value (RFC 9449 §4.2), not the stored `TokenHash`, which leads
        // with the token's ID for a generated value.
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if claims.ath.as_deref() != Some(expected.as_str()) {
            return Err(ProofError::Ath);
        }
    }
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
        return Err(ProofError::Jti);
    }
    Ok((claims.jti, claims.iat))
}

/// Checks proofs and records their single use: held by refresh (a DPoP-bound token refreshes
/// without a credential with a proof) and introspection (a resource server hands one over).
#[derive(Clone, Debug)]
pub struct ProofVerifier {
    single_use: Arc<dyn SingleUseStore>,
    clock: Arc<dyn Clock>,
}

impl ProofVerifier {
    pub(super) fn new(stores: &Stores, shared: &Shared) -> Self {
        Self { single_use: Arc::clone(&stores.single_use), clock: Arc::clone(&shared.clock) }
    }

    /// Checks a DPoP proof for `target` and records its `jti` (in the store: a replay is refused
    /// on every instance). The `jti` is kept until the proof's window has passed on any clock
    /// within the window of this one; the janitor then keeps it `janitor_retention_secs` longer.
    pub async fn verify(
        &self,
        service: ServiceId,
        proof: &str,
        target: &ProofTarget<'_>,
    ) -> ServiceResult<Result<(), ProofError>> {
        let now_secs = self.clock.now_ms().div_euclid(1000);
        let (jti, iat) = match check_proof(proof, target, now_secs) {
            Ok(checked) => checked,
            Err(e) => return Ok(Err(e)),
        };
        let keep_until_ms = (iat + 2 * PROOF_WINDOW_SECS).saturating_mul(1000);
        if !self.single_use.use_proof_jti(service, &jti, keep_until_ms).await? {
            return Ok(Err(ProofError::Replayed));
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_names_exactly_the_accepted_algorithms() {
        let names: Vec<String> = PROOF_ALGS.iter().map(|alg| format!("{alg:?}")).collect();
        assert_eq!(PROOF_ALG_NAMES, names.join(" "));
    }
}
