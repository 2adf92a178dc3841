//! The custom-token family over HTTP: generate (parallel-limited per credential), exchange and
//! refresh; errors answered as `{success: false, error}` (their endpoints' error family).

use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::HeaderMap;
use token_core::custom_token::{Exchange, Generate, GenerateCustomTokenResponse, Refresh};
use token_core::events::Actor;

use crate::http::auth::{ServiceCaller, refresh_caller};
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::service::App;

pub async fn generate(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    request: Request,
) -> Result<Reply<Generate>, Failure<Generate>> {
    use axum::extract::FromRequest as _;
    // The slot is taken before the body is read and held until the answer is built; dropping the
    // request future (client gone) releases it.
    let _slot = app.issuance().reserve_generation(caller.credential.as_str())?;
    let RequestBody(input, ..) = RequestBody::<Generate>::from_request(request, &app).await?;
    let token = app.issuance().generate_custom_token(&caller.service, &input, &caller.actor()).await?;
    Ok(Reply::new(GenerateCustomTokenResponse::ok(token)))
}

pub async fn exchange(
    State(app): State<App>,
    Path(raw): Path<String>,
    RequestBody(request, ..): RequestBody<Exchange>,
) -> Result<Reply<Exchange>, Failure<Exchange>> {
    let service = app.authentication().public_service(&raw).await?;
    let pair = app
        .issuance()
        .exchange_custom_token(&service, request.custom_token.secret(), &Actor::holder(None))
        .await?;
    Ok(Reply::new(pair.response(app.now_ms())))
}

pub async fn refresh(
    State(app): State<App>,
    Path(raw): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RequestBody(request, ..): RequestBody<Refresh>,
) -> Result<Reply<Refresh>, Failure<Refresh>> {
    let service = app.authentication().public_service(&raw).await?;
    let caller = refresh_caller(&app, &headers, uri.path(), &raw, request.client_certificate).await?;
    let pair = app.issuance().refresh(&service, request.refresh_token.secret(), &caller).await?;
    Ok(Reply::new(pair.response(app.now_ms())))
}
