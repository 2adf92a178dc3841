//! The custom-token family over HTTP: generate (parallel-limited per credential), exchange and
//! refresh; errors answered as `{success: false, error}`.

use axum::Json;
use axum::extract::{FromRequest, OriginalUri, Path, Request, State};
use axum::http::HeaderMap;
use token_core::custom_token::{
    CustomTokenExchangeRequest, GenerateCustomToken, GenerateCustomTokenResponse, RefreshRequest,
    TokenPairResponse,
};

use crate::http::auth::{ServiceCaller, refresh_caller};
use crate::http::error::JsonBody;
use crate::service::{App, ServiceError};

pub async fn generate(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    request: Request,
) -> Result<Json<GenerateCustomTokenResponse>, ServiceError> {
    // The slot is taken before the body is read and held until the answer is built; dropping the
    // request future (client gone) releases it.
    let _slot = app.issuance().reserve_generation(caller.credential.as_str())?;
    let JsonBody(input) = JsonBody::<GenerateCustomToken>::from_request(request, &app).await?;
    let token = app.issuance().generate_custom_token(&caller.service, &input).await?;
    Ok(Json(GenerateCustomTokenResponse::ok(token)))
}

pub async fn exchange(
    State(app): State<App>,
    Path(raw): Path<String>,
    JsonBody(request): JsonBody<CustomTokenExchangeRequest>,
) -> Result<Json<TokenPairResponse>, ServiceError> {
    let service = app.authentication().public_service(&raw).await?;
    let pair = app.issuance().exchange_custom_token(&service, request.custom_token.secret()).await?;
    Ok(Json(pair.response(app.now_ms())))
}

pub async fn refresh(
    State(app): State<App>,
    Path(raw): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> Result<Json<TokenPairResponse>, ServiceError> {
    let service = app.authentication().public_service(&raw).await?;
    let caller = refresh_caller(&app, &headers, uri.path(), &raw, request.client_certificate).await?;
    let pair = app.issuance().refresh(&service, request.refresh_token.secret(), &caller).await?;
    Ok(Json(pair.response(app.now_ms())))
}
