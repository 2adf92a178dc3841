//! Introspection: the family's form (the [`Verdict`] ladder: binding, scope and subject checks) and
//! RFC 7662. Both answer HTTP 200; `action` carries the outcome for the resource server, and
//! `responseContent` what to send back to its client.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use token_core::introspection::{
    IntrospectionRequest, IntrospectionResponse, Rfc7662Response, StandardIntrospectionRequest,
    StandardIntrospectionResponse, token_from_form,
};
use token_core::token_create::{RESERVED_PROPERTY_KEYS, authorization_details_elements};
use token_core::{ResultCode, ServiceId, TokenHash};

use std::sync::Arc;

use super::dpop::{PROOF_ALG_NAMES, ProofError, ProofTarget, ProofVerifier};
use super::{ServiceError, ServiceResult, Shared};
use crate::clock::Clock;
use crate::store::{ServiceRecord, Stores, TokenRecord, TokenStore};

/// The introspection component: judges a presented value against the token it names.
#[derive(Debug)]
pub struct Introspection {
    tokens: Arc<dyn TokenStore>,
    /// The DPoP proof a resource server hands over with a DPoP-bound token.
    proofs: ProofVerifier,
    clock: Arc<dyn Clock>,
}

/// `x5t#S256` of a PEM (or bare base64 DER) certificate: base64url SHA-256 of the DER.
pub fn certificate_thumbprint(pem: &str) -> Option<String> {
    let body: String =
        pem.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).ok()?;
    (!der.is_empty()).then(|| URL_SAFE_NO_PAD.encode(Sha256::digest(&der)))
}

/// The `WWW-Authenticate` value for a refused token: the `DPoP` scheme (with the algorithms a proof
/// may use, RFC 9449 §7.1) for a DPoP-bound token, `Bearer` otherwise.
fn challenge(token: Option<&TokenRecord>, error: &str, description: &str) -> String {
    // The description is the server's own text, but a proof's parse error may quote it: an
    // auth-param value must not carry a bare `"` or `\`.
    let description = description.replace(['"', '\\'], "'");
    if token.is_some_and(|t| t.dpop_key_thumbprint.is_some()) {
        format!(r#"DPoP error="{error}", error_description="{description}", algs="{PROOF_ALG_NAMES}""#)
    } else {
        format!(r#"Bearer error="{error}", error_description="{description}""#)
    }
}

/// The decision ladder of the family's introspection, as a value: what the resource server must
/// do with the token, checked in this order.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The request carries no token.
    TokenMissing,
    /// The request carries a DPoP proof but not the `htm` and `htu` it must be checked against.
    DpopTargetMissing,
    /// No access token of the service has this value.
    Unknown,
    /// Expired or revoked.
    Inactive,
    /// Bound to a client certificate the request does not present.
    CertificateMismatch,
    /// Bound to a DPoP key the request does not prove (no proof, another key's proof, or another
    /// thumbprint).
    DpopKeyMismatch,
    /// Bound to a DPoP key, and the request carries neither a proof nor a thumbprint.
    DpopProofMissing,
    /// Bound to a DPoP key, and the request's proof is not valid (RFC 9449 §4.3).
    DpopProofInvalid(ProofError),
    /// A required scope is not granted.
    ScopeInsufficient(String),
    /// Not for the required subject.
    SubjectMismatch,
    Valid,
}

impl Verdict {
    /// Decides for `token` (found by the request's value) at `now_ms`. `proof` is the outcome of
    /// checking the request's DPoP proof against the token's binding, when there was one to check
    /// ([`Introspection::introspect`] checks it only for an active DPoP-bound token).
    pub fn of(
        request: &IntrospectionRequest,
        token: Option<&TokenRecord>,
        proof: Option<&Result<(), ProofError>>,
        now_ms: i64,
    ) -> Verdict {
        if request.token.secret().is_empty() {
            return Verdict::TokenMissing;
        }
        if request.dpop.is_some() && (request.htm.is_none() || request.htu.is_none()) {
            return Verdict::DpopTargetMissing;
        }
        let Some(token) = token else { return Verdict::Unknown };
        if !token.is_active(now_ms) {
            return Verdict::Inactive;
        }
        if token.certificate_thumbprint.is_some()
            && request.client_certificate.as_deref().and_then(certificate_thumbprint)
                != token.certificate_thumbprint
        {
            return Verdict::CertificateMismatch;
        }
        if let Some(jkt) = &token.dpop_key_thumbprint {
            match proof {
                Some(Ok(())) => {}
                Some(Err(ProofError::KeyMismatch)) => return Verdict::DpopKeyMismatch,
                Some(Err(e)) => return Verdict::DpopProofInvalid(e.clone()),
                // No proof: the thumbprint of a proof the resource server checked itself.
                None if request.dpop_key_thumbprint.as_ref() == Some(jkt) => {}
                None if request.dpop_key_thumbprint.is_none() => return Verdict::DpopProofMissing,
                None => return Verdict::DpopKeyMismatch,
            }
        }
        if let Some(scope) = request.scopes.iter().flatten().find(|s| !token.scopes.contains(s)) {
            Verdict::ScopeInsufficient(scope.clone())
        } else if request.subject.as_ref().is_some_and(|s| token.subject.as_ref() != Some(s)) {
            Verdict::SubjectMismatch
        } else {
            Verdict::Valid
        }
    }

    /// The catalogue entry, the message detail and the `WWW-Authenticate` value to relay.
    fn wire(&self, token: Option<&TokenRecord>) -> (ResultCode, String, Option<String>) {
        let invalid = |code: ResultCode, detail: &str| {
            (code, detail.to_owned(), Some(challenge(token, "invalid_token", detail)))
        };
        match self {
            Verdict::TokenMissing => {
                let detail = "The request does not contain a token.";
                let content = format!(r#"Bearer error="invalid_request", error_description="{detail}""#);
                (ResultCode::INTROSPECTION_TOKEN_MISSING, detail.to_owned(), Some(content))
            }
            Verdict::DpopTargetMissing => {
                let detail = "The request carries dpop but not htm and htu.";
                let content = challenge(token, "invalid_request", detail);
                (ResultCode::INTROSPECTION_DPOP_TARGET_MISSING, detail.to_owned(), Some(content))
            }
            Verdict::Unknown => {
                invalid(ResultCode::INTROSPECTION_TOKEN_UNKNOWN, "The access token does not exist.")
            }
            Verdict::Inactive => invalid(
                ResultCode::INTROSPECTION_TOKEN_INACTIVE,
                "The access token has expired or was revoked.",
            ),
            Verdict::CertificateMismatch => invalid(
                ResultCode::INTROSPECTION_BINDING_MISMATCH,
                "The client certificate does not match the certificate the token is bound to.",
            ),
            Verdict::DpopKeyMismatch => invalid(
                ResultCode::INTROSPECTION_BINDING_MISMATCH,
                "The DPoP key does not match the key the token is bound to.",
            ),
            Verdict::DpopProofMissing => invalid(
                ResultCode::INTROSPECTION_BINDING_MISMATCH,
                "The access token is DPoP-bound and the request carries no DPoP proof (dpop, htm, htu) nor a dpopKeyThumbprint.",
            ),
            Verdict::DpopProofInvalid(problem) => {
                let detail = capitalised(&problem.to_string());
                let content = challenge(token, "invalid_dpop_proof", &detail);
                (ResultCode::INTROSPECTION_DPOP_PROOF_INVALID, detail, Some(content))
            }
            Verdict::ScopeInsufficient(scope) => {
                let detail = format!("The access token does not cover the scope '{scope}'.");
                let content = format!(r#"Bearer error="insufficient_scope", error_description="{detail}""#);
                (ResultCode::INTROSPECTION_SCOPE_INSUFFICIENT, detail, Some(content))
            }
            Verdict::SubjectMismatch => invalid(
                ResultCode::INTROSPECTION_SUBJECT_MISMATCH,
                "The access token is not for the required subject.",
            ),
            Verdict::Valid => (ResultCode::INTROSPECTION_OK, "The access token is valid.".to_owned(), None),
        }
    }
}

/// `text` as a sentence: its first letter upper case, ending with a full stop.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

/// The family's answer: the verdict, and what is known of the token.
fn introspection_response(
    verdict: &Verdict,
    token: Option<&TokenRecord>,
    now_ms: i64,
) -> IntrospectionResponse {
    let (code, detail, content) = verdict.wire(token);
    let mut response = IntrospectionResponse {
        result_code: code.code.to_owned(),
        result_message: code.message(detail),
        action: code.action,
        response_content: content,
        ..IntrospectionResponse::default()
    };
    let Some(token) = token else { return response };
    response.client_id = Some(token.client_id);
    response.subject = token.subject.clone();
    response.scopes = Some(token.scopes.clone());
    response.expires_at = Some(token.access_expires_at);
    response.existent = true;
    response.usable = token.is_active(now_ms);
    response.refreshable = token.is_refreshable(now_ms);
    response.sufficient = *verdict == Verdict::Valid;
    response.properties = (!token.properties.is_empty()).then(|| token.properties.clone());
    response.grant_type = Some(token.grant_type);
    response.certificate_thumbprint = token.certificate_thumbprint.clone();
    response.dpop_key_thumbprint = token.dpop_key_thumbprint.clone();
    response.access_token_resources = (!token.resources.is_empty()).then(|| token.resources.clone());
    response.authorization_details = token.authorization_details.clone();
    response.client_identifier = token.client_identifier.clone();
    response.acr = token.acr.clone();
    response.auth_time = token.auth_time;
    response.session_id = token.session_id.clone();
    response.identity = token.extra.identity.clone();
    response.claims = token.extra.claims.clone().filter(|c| !c.is_empty()).map(Value::Object);
    response
}

impl Introspection {
    pub(super) fn new(stores: &Stores, shared: &Shared, proofs: ProofVerifier) -> Self {
        Self { tokens: Arc::clone(&stores.tokens), proofs, clock: Arc::clone(&shared.clock) }
    }

    /// The token-management family's introspection: the [`Verdict`] for the presented value,
    /// answered with HTTP 200 and an `action`.
    pub async fn introspect(
        &self,
        service: ServiceId,
        request: IntrospectionRequest,
    ) -> ServiceResult<IntrospectionResponse> {
        // The token's value only: a stored hash (listed by the management API, present in backups)
        // must never pass for the token.
        let token = if request.token.secret().is_empty() {
            None
        } else {
            let hash = TokenHash::of(request.token.secret());
            self.tokens.token_by_access_hash(service, &hash).await?
        };
        let now = self.clock.now_ms();
        let bound =
            token.as_ref().filter(|t| t.is_active(now)).and_then(|t| t.dpop_key_thumbprint.as_deref());
        let proof = match (bound, &request.dpop, &request.htm, &request.htu) {
            // The proof of an active DPoP-bound token only: its `jti` is recorded (a replay is
            // refused on every instance), which is pointless for a token refused anyway.
            (Some(jkt), Some(dpop), Some(htm), Some(htu)) => {
                let target = ProofTarget { htm, htu, jkt, access_token: Some(request.token.secret()) };
                Some(self.proofs.verify(service, dpop, &target).await?)
            }
            _ => None,
        };
        let verdict = Verdict::of(&request, token.as_ref(), proof.as_ref(), now);
        Ok(introspection_response(&verdict, token.as_ref(), now))
    }
}

/// The RFC 7662 answer for a stored token (access or refresh), `{"active": false}` when inactive.
pub fn rfc7662(
    service: &ServiceRecord,
    token: Option<&TokenRecord>,
    refresh: bool,
    with_hidden: bool,
    now: i64,
) -> Rfc7662Response {
    let Some(token) = token else { return Rfc7662Response::default() };
    let active = if refresh { token.is_refreshable(now) } else { token.is_active(now) };
    if !active {
        return Rfc7662Response::default();
    }
    let client_id = token.client_identifier.clone().unwrap_or_else(|| token.client_id.to_string());
    let mut cnf = serde_json::Map::new();
    if let Some(x5t) = &token.certificate_thumbprint {
        cnf.insert("x5t#S256".into(), json!(x5t));
    }
    if let Some(jkt) = &token.dpop_key_thumbprint {
        cnf.insert("jkt".into(), json!(jkt));
    }
    let exp = if refresh { token.refresh_expires_at } else { Some(token.access_expires_at) };
    let scopes =
        if refresh { token.refresh_scopes.clone().unwrap_or_default() } else { token.scopes.clone() };
    let mut extra = serde_json::Map::new();
    // Reserved keys are refused at create and update; a row stored before that rule (or by
    // another path) still never shadows a standard member.
    for property in token.properties.iter().filter(|p| with_hidden || !p.hidden) {
        if !RESERVED_PROPERTY_KEYS.contains(&property.key.as_str()) {
            extra.insert(property.key.clone(), Value::String(property.value.clone()));
        }
    }
    // Tokens from custom tokens carry the end user's identity and the application's claims.
    if let Some(identity) = &token.extra.identity {
        extra.insert("identity".to_owned(), json!(identity));
    }
    if let Some(claims) = token.extra.claims.as_ref().filter(|c| !c.is_empty()) {
        extra.insert("claims".to_owned(), Value::Object(claims.clone()));
    }
    Rfc7662Response {
        active: true,
        scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
        client_id: Some(client_id),
        username: token.subject.clone(),
        token_type: Some(if refresh { "refresh_token".to_owned() } else { token.token_type.clone() }),
        exp: exp.filter(|e| *e != 0).map(|e| e / 1000),
        iat: Some(token.created_at / 1000),
        sub: token.subject.clone(),
        aud: (!token.resources.is_empty()).then(|| token.resources.clone()),
        iss: Some(service.issuer.clone()),
        jti: Some(token.token_id.clone()),
        cnf: (!cnf.is_empty()).then_some(Value::Object(cnf)),
        authorization_details: token
            .authorization_details
            .as_ref()
            .and_then(|d| authorization_details_elements(d).ok())
            .map(|e| json!(e)),
        acr: token.acr.clone(),
        auth_time: token.auth_time,
        extra,
    }
}

impl Introspection {
    /// RFC 7662 introspection of an access or refresh token value.
    pub async fn introspect_standard(
        &self,
        service: &ServiceRecord,
        request: StandardIntrospectionRequest,
    ) -> ServiceResult<StandardIntrospectionResponse> {
        let (token, hint) = match token_from_form(&request.parameters) {
            Ok(parsed) => parsed,
            Err(problem) => {
                let code = ResultCode::STANDARD_INTROSPECTION_BAD_REQUEST;
                let content = json!({"error": "invalid_request", "error_description": problem}).to_string();
                return Ok(StandardIntrospectionResponse {
                    result_code: code.code.to_owned(),
                    result_message: code.message(format!("The introspection request is invalid: {problem}.")),
                    action: code.action,
                    response_content: Some(content),
                });
            }
        };
        let hash = TokenHash::of(token.secret());
        let prefer_refresh = hint.as_deref() == Some("refresh_token");
        // The hint only orders the lookups (RFC 7662 section 2.1).
        let found = find_by_value(&*self.tokens, service.id, &hash, prefer_refresh).await?;
        let body = rfc7662(
            service,
            found.as_ref().map(|(t, _)| t),
            found.as_ref().is_some_and(|(_, r)| *r),
            request.with_hidden_properties == Some(true),
            self.clock.now_ms(),
        );
        let code = ResultCode::STANDARD_INTROSPECTION_OK;
        Ok(StandardIntrospectionResponse {
            result_code: code.code.to_owned(),
            result_message: code.message("Introspection done."),
            action: code.action,
            response_content: Some(
                serde_json::to_string(&body).map_err(|e| ServiceError::Internal(e.to_string()))?,
            ),
        })
    }
}

/// The token of `service` whose access or refresh value hashes to `hash` (the access lookup
/// first unless `prefer_refresh`), and whether it was found as a refresh token.
pub(super) async fn find_by_value(
    tokens: &dyn TokenStore,
    service: ServiceId,
    hash: &TokenHash,
    prefer_refresh: bool,
) -> ServiceResult<Option<(TokenRecord, bool)>> {
    let (first, second) = if prefer_refresh { (true, false) } else { (false, true) };
    for refresh in [first, second] {
        let found = if refresh {
            tokens.token_by_refresh_hash(service, hash).await?
        } else {
            tokens.token_by_access_hash(service, hash).await?
        };
        if let Some(token) = found {
            return Ok(Some((token, refresh)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn token() -> TokenRecord {
        TokenRecord {
            subject: Some("alice".into()),
            scopes: vec!["read".into()],
            dpop_key_thumbprint: Some("jkt".into()),
            token_type: "DPoP".into(),
            ..TokenRecord::issued(
                "t".into(),
                ServiceId(1),
                token_core::ClientId(1),
                token_core::grant::GrantType::AuthorizationCode,
                TokenHash::of("h"),
                0,
                1000,
            )
        }
    }

    fn request(body: serde_json::Value) -> IntrospectionRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn the_ladder_checks_in_order() {
        let t = token();
        let all_wrong = request(json!({"token": "x", "scopes": ["write"], "subject": "bob"}));
        assert_eq!(Verdict::of(&all_wrong, Some(&t), None, 1000), Verdict::Inactive, "expiry first");
        assert_eq!(Verdict::of(&all_wrong, Some(&t), None, 999), Verdict::DpopProofMissing, "then binding");
        let bound =
            request(json!({"token": "x", "scopes": ["write"], "subject": "bob", "dpopKeyThumbprint": "jkt"}));
        assert_eq!(
            Verdict::of(&bound, Some(&t), None, 0),
            Verdict::ScopeInsufficient("write".into()),
            "then scope"
        );
        let scoped =
            request(json!({"token": "x", "scopes": ["read"], "subject": "bob", "dpopKeyThumbprint": "jkt"}));
        assert_eq!(Verdict::of(&scoped, Some(&t), None, 0), Verdict::SubjectMismatch, "then subject");
        let good = request(json!({"token": "x", "subject": "alice", "dpopKeyThumbprint": "jkt"}));
        assert_eq!(Verdict::of(&good, Some(&t), None, 0), Verdict::Valid);
        assert_eq!(Verdict::of(&good, None, None, 0), Verdict::Unknown);
        assert_eq!(Verdict::of(&request(json!({"token": ""})), Some(&t), None, 0), Verdict::TokenMissing);
        let answer = introspection_response(&Verdict::DpopKeyMismatch, Some(&t), 0);
        let content = answer.response_content.unwrap();
        assert!(content.starts_with("DPoP error=\"invalid_token\""), "{content}");
        assert!(content.ends_with(&format!("algs=\"{PROOF_ALG_NAMES}\"")), "{content}");
    }

    #[test]
    fn a_checked_proof_decides_the_dpop_step() {
        let t = token();
        let with_proof = request(json!({"token": "x", "dpop": "p", "htm": "GET", "htu": "https://rs/"}));
        assert_eq!(Verdict::of(&with_proof, Some(&t), Some(&Ok(())), 0), Verdict::Valid);
        let invalid = Err(ProofError::Ath);
        assert_eq!(
            Verdict::of(&with_proof, Some(&t), Some(&invalid), 0),
            Verdict::DpopProofInvalid(ProofError::Ath)
        );
        let other_key = Err(ProofError::KeyMismatch);
        assert_eq!(Verdict::of(&with_proof, Some(&t), Some(&other_key), 0), Verdict::DpopKeyMismatch);
        let no_target = request(json!({"token": "x", "dpop": "p", "htm": "GET"}));
        assert_eq!(Verdict::of(&no_target, Some(&t), None, 0), Verdict::DpopTargetMissing);

        let answer = introspection_response(
            &Verdict::DpopProofInvalid(ProofError::Malformed("a \"quoted\\ part".into())),
            Some(&t),
            0,
        );
        assert_eq!(answer.action, token_core::Action::Unauthorized);
        assert_eq!(answer.result_code, "A056207");
        let content = answer.response_content.unwrap();
        assert!(content.starts_with("DPoP error=\"invalid_dpop_proof\", error_description=\"The DPoP proof is not a JWS: a 'quoted' part.\""), "{content}");
    }
}
