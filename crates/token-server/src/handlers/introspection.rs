//! Introspection: `/auth/introspection` (the family's form, with scope, subject and binding checks)
//! and `/auth/introspection/standard` (RFC 7662). Both answer HTTP 200; `action` carries the
//! outcome for the resource server, and `responseContent` what to send back to its client.

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use token_core::introspection::{
    IntrospectionRequest, IntrospectionResponse, Rfc7662Response, StandardIntrospectionRequest,
    StandardIntrospectionResponse, parse_form, token_from_form,
};
use token_core::revocation::{RevocationRequest, RevocationResponse};
use token_core::token_create::{RESERVED_PROPERTY_KEYS, authorization_details_elements};
use token_core::{ResultCode, TokenHash};

use crate::app::AppState;
use crate::auth::ServiceCaller;
use crate::clock::now_ms;
use crate::error::{ApiError, JsonBody};
use crate::store::{RevokeTarget, ServiceRecord, TokenRecord};

/// `x5t#S256` of a PEM (or bare base64 DER) certificate: base64url SHA-256 of the DER.
pub fn certificate_thumbprint(pem: &str) -> Option<String> {
    let body: String =
        pem.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).ok()?;
    (!der.is_empty()).then(|| URL_SAFE_NO_PAD.encode(Sha256::digest(&der)))
}

fn challenge(token: Option<&TokenRecord>, error: &str, description: &str) -> String {
    let scheme = if token.is_some_and(|t| t.dpop_key_thumbprint.is_some()) { "DPoP" } else { "Bearer" };
    format!(r#"{scheme} error="{error}", error_description="{description}""#)
}

fn answer(code: ResultCode, detail: &str, response_content: Option<String>) -> IntrospectionResponse {
    IntrospectionResponse {
        result_code: code.code.to_owned(),
        result_message: code.message(detail),
        action: Some(code.action),
        response_content,
        ..IntrospectionResponse::default()
    }
}

pub async fn introspect(
    State(state): State<AppState>,
    caller: ServiceCaller,
    JsonBody(request): JsonBody<IntrospectionRequest>,
) -> Result<Json<IntrospectionResponse>, ApiError> {
    if request.token.secret().is_empty() {
        let detail = "The request does not contain a token.";
        return Ok(Json(answer(
            ResultCode::INTROSPECTION_TOKEN_MISSING,
            detail,
            Some(format!(r#"Bearer error="invalid_request", error_description="{detail}""#)),
        )));
    }
    // The token's value only: a stored hash (listed by the management API, present in backups)
    // must never pass for the token.
    let service_id = caller.service.id;
    let hash = TokenHash::of(request.token.secret());
    let found = state.db(move |store| store.token_by_access_hash(service_id, hash.as_str())).await?;
    let Some(token) = found else {
        let detail = "The access token does not exist.";
        return Ok(Json(answer(
            ResultCode::INTROSPECTION_TOKEN_UNKNOWN,
            detail,
            Some(challenge(None, "invalid_token", detail)),
        )));
    };
    let now = now_ms();
    let mut response = IntrospectionResponse {
        client_id: Some(token.client_id),
        subject: token.subject.clone(),
        scopes: Some(token.scopes.clone()),
        expires_at: Some(token.access_expires_at),
        existent: true,
        usable: token.is_active(now),
        refreshable: token.is_refreshable(now),
        properties: (!token.properties.is_empty()).then(|| token.properties.clone()),
        grant_type: Some(token.grant_type),
        certificate_thumbprint: token.certificate_thumbprint.clone(),
        dpop_key_thumbprint: token.dpop_key_thumbprint.clone(),
        access_token_resources: (!token.resources.is_empty()).then(|| token.resources.clone()),
        authorization_details: token.authorization_details.clone(),
        client_identifier: token.client_identifier.clone(),
        acr: token.acr.clone(),
        auth_time: token.auth_time,
        session_id: token.session_id.clone(),
        identity: token.extra.get("identity").and_then(Value::as_str).map(str::to_owned),
        claims: token.extra.get("claims").filter(|c| c.as_object().is_some_and(|o| !o.is_empty())).cloned(),
        ..IntrospectionResponse::default()
    };
    let missing_scope = request.scopes.iter().flatten().find(|s| !token.scopes.contains(s)).cloned();
    let (code, detail, content) = if !response.usable {
        let detail = "The access token has expired or was revoked.";
        (
            ResultCode::INTROSPECTION_TOKEN_INACTIVE,
            detail.to_owned(),
            Some(challenge(Some(&token), "invalid_token", detail)),
        )
    } else if token.certificate_thumbprint.is_some()
        && request.client_certificate.as_deref().and_then(certificate_thumbprint)
            != token.certificate_thumbprint
    {
        let detail = "The client certificate does not match the certificate the token is bound to.";
        (
            ResultCode::INTROSPECTION_BINDING_MISMATCH,
            detail.to_owned(),
            Some(challenge(Some(&token), "invalid_token", detail)),
        )
    } else if token.dpop_key_thumbprint.is_some() && request.dpop_key_thumbprint != token.dpop_key_thumbprint
    {
        let detail = "The DPoP key does not match the key the token is bound to.";
        (
            ResultCode::INTROSPECTION_BINDING_MISMATCH,
            detail.to_owned(),
            Some(challenge(Some(&token), "invalid_token", detail)),
        )
    } else if let Some(scope) = missing_scope {
        response.sufficient = false;
        let detail = format!("The access token does not cover the scope '{scope}'.");
        let content = format!(r#"Bearer error="insufficient_scope", error_description="{detail}""#);
        (ResultCode::INTROSPECTION_SCOPE_INSUFFICIENT, detail, Some(content))
    } else if request.subject.as_ref().is_some_and(|s| token.subject.as_ref() != Some(s)) {
        let detail = "The access token is not for the required subject.";
        (
            ResultCode::INTROSPECTION_SUBJECT_MISMATCH,
            detail.to_owned(),
            Some(challenge(Some(&token), "invalid_token", detail)),
        )
    } else {
        response.sufficient = true;
        (ResultCode::INTROSPECTION_OK, "The access token is valid.".to_owned(), None)
    };
    response.result_code = code.code.to_owned();
    response.result_message = code.message(detail);
    response.action = Some(code.action);
    response.response_content = content;
    Ok(Json(response))
}

/// The RFC 7662 answer for a stored token (access or refresh), `{"active": false}` when inactive.
pub fn rfc7662(
    service: &ServiceRecord,
    token: Option<&TokenRecord>,
    refresh: bool,
    with_hidden: bool,
) -> Rfc7662Response {
    let now = now_ms();
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
    for name in ["identity", "claims"] {
        if let Some(value) = token.extra.get(name).filter(|v| v.as_object().is_none_or(|o| !o.is_empty())) {
            extra.insert(name.to_owned(), value.clone());
        }
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
        extra,
    }
}

pub async fn standard(
    State(state): State<AppState>,
    caller: ServiceCaller,
    JsonBody(request): JsonBody<StandardIntrospectionRequest>,
) -> Result<Json<StandardIntrospectionResponse>, ApiError> {
    let (token, hint) = match token_from_form(&request.parameters) {
        Ok(parsed) => parsed,
        Err(problem) => {
            let code = ResultCode::STANDARD_INTROSPECTION_BAD_REQUEST;
            let content = json!({"error": "invalid_request", "error_description": problem}).to_string();
            return Ok(Json(StandardIntrospectionResponse {
                result_code: code.code.to_owned(),
                result_message: code.message(format!("The introspection request is invalid: {problem}.")),
                action: Some(code.action),
                response_content: Some(content),
            }));
        }
    };
    let service = caller.service;
    let service_id = service.id;
    let hash = TokenHash::of(token.secret());
    let prefer_refresh = hint.as_deref() == Some("refresh_token");
    let found = state
        .db(move |store| {
            let access =
                || store.token_by_access_hash(service_id, hash.as_str()).map(|t| t.map(|t| (t, false)));
            let refresh =
                || store.token_by_refresh_hash(service_id, hash.as_str()).map(|t| t.map(|t| (t, true)));
            // The hint only orders the lookups (RFC 7662 section 2.1).
            if prefer_refresh { Ok(refresh()?.or(access()?)) } else { Ok(access()?.or(refresh()?)) }
        })
        .await?;
    let body = rfc7662(
        &service,
        found.as_ref().map(|(t, _)| t),
        found.as_ref().is_some_and(|(_, r)| *r),
        request.with_hidden_properties == Some(true),
    );
    let code = ResultCode::STANDARD_INTROSPECTION_OK;
    Ok(Json(StandardIntrospectionResponse {
        result_code: code.code.to_owned(),
        result_message: code.message("Introspection done."),
        action: Some(code.action),
        response_content: Some(serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()))?),
    }))
}

// ------------------------------------------------------------------ RFC 7009 revocation

fn revocation_answer(code: ResultCode, detail: &str, content: Option<Value>) -> Json<RevocationResponse> {
    Json(RevocationResponse {
        result_code: code.code.to_owned(),
        result_message: code.message(detail),
        action: Some(code.action),
        response_content: content.map(|c| c.to_string()),
    })
}

/// `POST /api/{serviceId}/auth/revocation`. The token must have been issued to the revoking client;
/// a token of another client, or no token at all, is answered exactly like a revoked one (RFC 7009
/// section 2.2) and left untouched.
pub async fn revocation(
    State(state): State<AppState>,
    caller: ServiceCaller,
    JsonBody(request): JsonBody<RevocationRequest>,
) -> Result<Json<RevocationResponse>, ApiError> {
    let pairs = match parse_form(&request.parameters) {
        Ok(pairs) => pairs,
        Err(problem) => {
            let content = json!({"error": "invalid_request", "error_description": problem});
            return Ok(revocation_answer(ResultCode::REVOCATION_BAD_REQUEST, &problem, Some(content)));
        }
    };
    let get =
        |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let Some(token) = get("token") else {
        let detail = "the mandatory parameter 'token' is missing";
        let content = json!({"error": "invalid_request", "error_description": detail});
        return Ok(revocation_answer(ResultCode::REVOCATION_BAD_REQUEST, detail, Some(content)));
    };
    let service = caller.service.id;
    let invalid_client = |detail: &str| {
        let content = json!({"error": "invalid_client", "error_description": detail});
        revocation_answer(ResultCode::REVOCATION_INVALID_CLIENT, detail, Some(content))
    };
    let Some(client_identifier) =
        request.client_id.clone().filter(|c| !c.is_empty()).or_else(|| get("client_id"))
    else {
        return Ok(invalid_client("the revoking client is not identified (clientId or client_id)"));
    };
    let Some(client) = state.db(move |store| store.client_by_identifier(service, &client_identifier)).await?
    else {
        return Ok(invalid_client("the revoking client is not a client of this service"));
    };
    let hash = TokenHash::of(&token);
    let prefer_refresh = get("token_type_hint").as_deref() == Some("refresh_token");
    let now = now_ms();
    state
        .db(move |store| {
            let by_access = || store.token_by_access_hash(service, hash.as_str());
            let by_refresh = || store.token_by_refresh_hash(service, hash.as_str());
            let found =
                if prefer_refresh { by_refresh()?.or(by_access()?) } else { by_access()?.or(by_refresh()?) };
            if let Some(found) = found.filter(|t| t.client_id == client.client_id) {
                store.revoke(service, &RevokeTarget::AccessHash(found.access_hash), now)?;
            }
            Ok(())
        })
        .await?;
    Ok(revocation_answer(ResultCode::REVOCATION_OK, "The revocation request was handled.", None))
}
