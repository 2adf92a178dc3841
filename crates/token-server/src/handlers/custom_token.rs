//! Custom tokens (`000_…`): generate (parallel-limited per credential), exchange for an access +
//! refresh token pair, refresh with rotation and reuse detection, and the RFC 6749 / RFC 7523 form
//! of both at `/oauth/token`.

use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};
use token_core::custom_token::{
    CUSTOM_TOKEN_LEEWAY_SECS, CUSTOM_TOKEN_LIFETIME_SECS, CUSTOM_TOKEN_TYP, CustomTokenClaims,
    CustomTokenDefaults, CustomTokenExchangeRequest, GenerateCustomToken, GenerateCustomTokenResponse,
    OAuthErrorResponse, OAuthTokenResponse, RefreshRequest, TokenPairResponse, exchange_audience,
};
use token_core::token_create::GrantType;
use token_core::{ClientId, ResultCode, Secret, ServiceId, TokenHash, TokenId};

use crate::app::AppState;
use crate::auth::ServiceCaller;
use crate::auth::public_service;
use crate::clock::now_ms;
use crate::error::{ApiError, ErrorInfo, JsonBody, parse_json};
use crate::handlers::token_create::jwt_access_token;
use crate::keys::{self, random_b64};
use crate::store::{RefreshOutcome, Rotation, ServiceRecord, TokenRecord};

/// Tokens issued from custom tokens belong to this pseudo-client of the service (no registered
/// client takes part in the end user's exchange).
pub const CUSTOM_TOKEN_CLIENT: ClientId = ClientId(0);
pub const CUSTOM_TOKEN_CLIENT_IDENTIFIER: &str = "custom-token";

// ------------------------------------------------------------------ generate

pub async fn generate(
    State(state): State<AppState>,
    caller: ServiceCaller,
    request: Request,
) -> Result<Json<GenerateCustomTokenResponse>, ApiError> {
    // The slot is taken before the body is read and held until the answer is built; dropping the
    // request future (client gone) releases it.
    let _slot = state.limiter.try_acquire(caller.credential.as_str()).ok_or_else(|| ApiError::TooMany {
        message: format!(
            "At most {} custom tokens may be generated in parallel per credential; retry shortly.",
            state.limiter.limit()
        ),
        retry_after_secs: 1,
    })?;
    let JsonBody(input) = JsonBody::<GenerateCustomToken>::from_request(request, &state).await?;
    let token = generate_custom_token(&state, &caller.service, &input).await?;
    Ok(Json(GenerateCustomTokenResponse::ok(token)))
}

/// Validates `input` and signs a custom token with the service's current key.
pub async fn generate_custom_token(
    state: &AppState,
    service: &ServiceRecord,
    input: &GenerateCustomToken,
) -> Result<Secret, ApiError> {
    let plan = input.plan(CustomTokenDefaults {
        access_token_ttl: service.custom_token_access_ttl,
        refresh_token_ttl: service.custom_token_refresh_ttl,
    })?;
    let key = state.signing_key(service.id).await?;
    let claims = plan.claims(&service.issuer, service.id, now_ms() / 1000, random_b64(16));
    let claims = serde_json::to_value(&claims).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Secret::new(keys::sign(&key, CUSTOM_TOKEN_TYP, &claims)?))
}

/// The custom-token family answers errors as `{success: false, error}`: this re-renders any error
/// response of the routes it wraps (auth, body, rules, 429) keeping status and headers.
pub async fn family_errors(response: Response) -> Response {
    let Some(info) = response.extensions().get::<ErrorInfo>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = Json(GenerateCustomTokenResponse::failed(info.message.clone()));
    let mut rebuilt = (parts.status, body).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE {
            rebuilt.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rebuilt.extensions_mut().insert(info);
    rebuilt
}

// ------------------------------------------------------------------ exchange

fn invalid_custom_token(why: &str) -> ApiError {
    ApiError::rule(ResultCode::CUSTOM_TOKEN_INVALID, format!("The custom token is invalid: {why}."))
}

/// Verifies the header's `typ` (a custom token's own, so no other JWT of the service passes),
/// signature (kid → the current key or one retired less than a custom token's lifetime ago, never
/// a revoked one; that key's algorithm only), issuer, audience and expiry, then the claims' rules.
async fn verify_custom_token(
    state: &AppState,
    service: &ServiceRecord,
    token: &str,
) -> Result<CustomTokenClaims, ApiError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_custom_token("not a compact JWS"))?;
    if header.typ.as_deref() != Some(CUSTOM_TOKEN_TYP) {
        return Err(invalid_custom_token("it is not a custom token (JWS typ)"));
    }
    let kid = header.kid.ok_or_else(|| invalid_custom_token("the header names no key"))?;
    let service_id = service.id;
    // A custom token lives CUSTOM_TOKEN_LIFETIME_SECS: a key retired longer ago than that (plus
    // leeway) signed nothing that may still be exchanged.
    let window_ms = (CUSTOM_TOKEN_LIFETIME_SECS + CUSTOM_TOKEN_LEEWAY_SECS) * 1000;
    let keys = state.db(move |store| store.verification_keys(service_id, now_ms(), window_ms)).await?;
    let key = keys
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| invalid_custom_token("it was not signed by a key of this service"))?;
    let algorithm = key.alg.jwt_algorithm();
    if header.alg != algorithm {
        return Err(invalid_custom_token("unexpected signature algorithm"));
    }
    let jwk: Jwk = serde_json::from_value(key.public_jwk).map_err(|e| ApiError::Internal(e.to_string()))?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut validation = Validation::new(algorithm);
    validation.leeway = CUSTOM_TOKEN_LEEWAY_SECS as u64;
    validation.set_audience(&[exchange_audience(&service.issuer, service.id)]);
    validation.set_issuer(&[&service.issuer]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<CustomTokenClaims>(token, &decoding, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => ApiError::rule(
                ResultCode::CUSTOM_TOKEN_EXPIRED,
                format!(
                    "The custom token has expired (custom tokens live {CUSTOM_TOKEN_LIFETIME_SECS} seconds)."
                ),
            ),
            ErrorKind::InvalidSignature => invalid_custom_token("bad signature"),
            ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => {
                invalid_custom_token("it is for another service")
            }
            _ => invalid_custom_token("its claims are malformed"),
        })?;
    claims.check()?;
    Ok(claims)
}

/// An issued pair, with its values (shown once).
struct IssuedPair {
    record: TokenRecord,
    access_token: Secret,
    refresh_token: Secret,
    jwt_access_token: Option<Secret>,
}

impl IssuedPair {
    fn response(self) -> TokenPairResponse {
        TokenPairResponse {
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

async fn exchange_custom_token(
    state: &AppState,
    service: &ServiceRecord,
    token: &str,
) -> Result<IssuedPair, ApiError> {
    if token.is_empty() {
        return Err(ApiError::rule(ResultCode::CUSTOM_TOKEN_MISSING, "customToken is required."));
    }
    let claims = verify_custom_token(state, service, token).await?;
    let now = now_ms();
    // The TTLs were checked against their caps (`claims.check`), so these cannot overflow; checked
    // all the same, as they come from a token.
    let expiry = |ttl: i64| {
        ttl.checked_mul(1000)
            .and_then(|ms| now.checked_add(ms))
            .ok_or_else(|| invalid_custom_token("its lifetimes are out of range"))
    };
    let (access_expires_at, refresh_expires_at) =
        (expiry(claims.access_token_ttl)?, expiry(claims.refresh_token_ttl)?);
    let access_token = Secret::new(random_b64(32));
    let refresh_token = Secret::new(random_b64(32));
    let mut record = TokenRecord {
        token_id: random_b64(16),
        service_id: service.id,
        access_hash: access_token.hash().as_str().to_owned(),
        refresh_hash: Some(refresh_token.hash().as_str().to_owned()),
        client_id: CUSTOM_TOKEN_CLIENT,
        subject: Some(claims.sub.clone()),
        grant_type: GrantType::JwtBearer,
        scopes: Vec::new(),
        refresh_scopes: Some(Vec::new()),
        created_at: now,
        access_expires_at,
        refresh_expires_at: Some(refresh_expires_at),
        last_refreshed_at: 0,
        properties: Vec::new(),
        certificate_thumbprint: None,
        dpop_key_thumbprint: None,
        token_type: "Bearer".into(),
        authorization_details: None,
        resources: Vec::new(),
        acr: None,
        auth_time: Some(claims.iat),
        session_id: None,
        client_identifier: Some(CUSTOM_TOKEN_CLIENT_IDENTIFIER.into()),
        for_external_attachment: None,
        jwt_kid: None,
        extra: json!({
            "identity": claims.identity,
            "claims": claims.claims,
            "accessTokenTtl": claims.access_token_ttl,
            "refreshTokenTtl": claims.refresh_token_ttl,
        }),
        revoked_at: None,
    };
    let jwt_access_token = jwt_access_token(state, service, &mut record).await?;
    let stored = record.clone();
    let (jti, jti_expiry) = (claims.jti.clone(), claims.exp * 1000);
    let redeemed = state.db(move |store| store.redeem_custom_token(&jti, jti_expiry, &stored)).await?;
    if !redeemed {
        return Err(ApiError::rule(
            ResultCode::CUSTOM_TOKEN_REPLAYED,
            "The custom token was already exchanged; a custom token is single use.",
        ));
    }
    Ok(IssuedPair { record, access_token, refresh_token, jwt_access_token })
}

pub async fn exchange(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(request): JsonBody<CustomTokenExchangeRequest>,
) -> Result<Json<TokenPairResponse>, ApiError> {
    let service = public_service(&state, &raw).await?;
    let pair = exchange_custom_token(&state, &service, request.custom_token.secret()).await?;
    Ok(Json(pair.response()))
}

// ------------------------------------------------------------------ refresh

fn ttl(record: &TokenRecord, name: &str) -> Option<i64> {
    record.extra.get(name).and_then(Value::as_i64)
}

async fn refresh_token(
    state: &AppState,
    service: &ServiceRecord,
    value: &str,
) -> Result<IssuedPair, ApiError> {
    if value.is_empty() {
        return Err(ApiError::rule(ResultCode::REFRESH_TOKEN_MISSING, "refreshToken is required."));
    }
    let old_hash = TokenHash::of(value);
    let service_id = service.id;
    let lookup = old_hash.clone();
    let Some(current) =
        state.db(move |store| store.token_by_refresh_hash(service_id, lookup.as_str())).await?
    else {
        // Not current: if it is a rotated value, this is reuse and the family is revoked.
        let reused_hash = old_hash.clone();
        let now = now_ms();
        let was_reused =
            state.db(move |store| store.revoke_reused_refresh(service_id, reused_hash.as_str(), now)).await?;
        return Err(if was_reused { reused() } else { invalid_refresh() });
    };
    // The grant must still be allowed: by the service, and by the client the token was issued to
    // (tokens from custom tokens belong to the service's pseudo-client).
    let mut allowed = service.supported_grant_types.contains(&GrantType::RefreshToken);
    if allowed && current.client_id != CUSTOM_TOKEN_CLIENT {
        let client_id = current.client_id;
        let client = state.db(move |store| store.client(service_id, client_id)).await?;
        allowed = client.is_some_and(|c| c.grant_types.contains(&GrantType::RefreshToken));
    }
    if !allowed {
        return Err(ApiError::rule(
            ResultCode::REFRESH_NOT_ALLOWED,
            "The service or the client no longer allows the REFRESH_TOKEN grant type.",
        ));
    }
    let now = now_ms();
    let access_token = Secret::new(random_b64(32));
    let refresh_token = Secret::new(random_b64(32));
    // Lifetimes as issued: the TTLs recorded with the token, else the service defaults.
    let access_ttl = ttl(&current, "accessTokenTtl").unwrap_or(service.access_token_duration);
    let refresh_ttl = ttl(&current, "refreshTokenTtl").unwrap_or(service.refresh_token_duration);
    // The family's absolute end: its original issuance (`created_at` is never moved by a
    // rotation) plus the refresh lifetime it was issued with. Rotation never extends it, so a
    // stolen refresh token cannot be kept alive for ever by refreshing.
    let family_ends_at = current.created_at.saturating_add(refresh_ttl.saturating_mul(1000));
    let refresh_expires_at = now.saturating_add(refresh_ttl.saturating_mul(1000)).min(family_ends_at);
    if refresh_expires_at <= now {
        return Err(invalid_refresh());
    }
    let mut next = current.clone();
    next.access_hash = access_token.hash().as_str().to_owned();
    next.created_at = now;
    next.access_expires_at =
        if access_ttl == 0 { 0 } else { now.saturating_add(access_ttl.saturating_mul(1000)) };
    let jwt_access_token = jwt_access_token(state, service, &mut next).await?;
    let rotation = Rotation {
        new_access_hash: next.access_hash.clone(),
        new_refresh_hash: refresh_token.hash().as_str().to_owned(),
        access_expires_at: next.access_expires_at,
        refresh_expires_at,
        jwt_kid: next.jwt_kid.clone(),
        now_ms: now,
    };
    match rotate(state, service_id, &old_hash, rotation).await? {
        RefreshOutcome::Rotated(record) => {
            Ok(IssuedPair { record: *record, access_token, refresh_token, jwt_access_token })
        }
        RefreshOutcome::Reused => Err(reused()),
        RefreshOutcome::Invalid => Err(invalid_refresh()),
    }
}

async fn rotate(
    state: &AppState,
    service: ServiceId,
    old_hash: &TokenHash,
    rotation: Rotation,
) -> Result<RefreshOutcome, ApiError> {
    let old = old_hash.clone();
    state.db(move |store| store.rotate_refresh(service, old.as_str(), &rotation)).await
}

fn invalid_refresh() -> ApiError {
    ApiError::rule(ResultCode::REFRESH_TOKEN_INVALID, "The refresh token is unknown, expired or revoked.")
}

fn reused() -> ApiError {
    ApiError::rule(
        ResultCode::REFRESH_TOKEN_REUSED,
        "This refresh token was already used and rotated; its whole token family was revoked.",
    )
}

pub async fn refresh(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> Result<Json<TokenPairResponse>, ApiError> {
    let service = public_service(&state, &raw).await?;
    let pair = refresh_token(&state, &service, request.refresh_token.secret()).await?;
    Ok(Json(pair.response()))
}

// ------------------------------------------------------------------ RFC 6749 token endpoint

pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An RFC 6749 section 5.2 error.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error, description: description.into() }
    }
}

impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> Self {
        let info = e.info();
        let (status, error) = match info.code {
            c if c == ResultCode::SERVICE_UNKNOWN => (StatusCode::NOT_FOUND, "invalid_request"),
            c if c.status >= 500 => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
            c if c == ResultCode::CUSTOM_TOKEN_MISSING || c == ResultCode::REFRESH_TOKEN_MISSING => {
                (StatusCode::BAD_REQUEST, "invalid_request")
            }
            _ => (StatusCode::BAD_REQUEST, "invalid_grant"),
        };
        Self { status, error, description: info.message }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body =
            OAuthErrorResponse { error: self.error.to_owned(), error_description: Some(self.description) };
        let mut response = (self.status, Json(body)).into_response();
        no_store(response.headers_mut());
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The single value of form parameter `name`; repeating a parameter is an error (RFC 6749 3.2).
fn form_param<'a>(form: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, OAuthError> {
    let mut values = form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::bad("invalid_request", format!("'{name}' appears more than once.")));
    }
    Ok(first)
}

pub async fn oauth_token(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match oauth_token_answer(&state, &raw, &headers, &body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn oauth_token_answer(
    state: &AppState,
    raw: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::bad(
            "invalid_request",
            "The token request must be application/x-www-form-urlencoded.",
        ));
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| OAuthError::bad("invalid_request", format!("Malformed form body: {e}.")))?;
    let grant = form_param(&form, "grant_type")?
        .ok_or_else(|| OAuthError::bad("invalid_request", "grant_type is required."))?;
    let field = match grant {
        JWT_BEARER_GRANT => "assertion",
        "refresh_token" => "refresh_token",
        other => {
            return Err(OAuthError::bad(
                "unsupported_grant_type",
                ResultCode::OAUTH_GRANT_TYPE_UNSUPPORTED
                    .message(format!("grant_type '{other}' is not supported here.")),
            ));
        }
    };
    let value = form_param(&form, field)?.filter(|v| !v.is_empty()).ok_or_else(|| {
        OAuthError::bad(
            "invalid_request",
            ResultCode::OAUTH_REQUEST_INVALID.message(format!("{field} is required.")),
        )
    })?;
    let service = public_service(state, raw).await?;
    let pair = if grant == JWT_BEARER_GRANT {
        exchange_custom_token(state, &service, value).await?
    } else {
        refresh_token(state, &service, value).await?
    };
    let answer = OAuthTokenResponse {
        expires_in: (pair.record.access_expires_at != 0)
            .then(|| (pair.record.access_expires_at - now_ms()).max(0) / 1000),
        scope: (!pair.record.scopes.is_empty()).then(|| pair.record.scopes.join(" ")),
        token_type: pair.record.token_type,
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
    };
    let mut response = Json(answer).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

/// Parses a generate input from JSON (a pipeline operation), as the endpoint would.
pub fn parse_generate_input(input: &Value) -> Result<GenerateCustomToken, ApiError> {
    parse_json(input.to_string().as_bytes())
}
