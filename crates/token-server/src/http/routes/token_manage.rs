//! List, update, delete and revoke (`/api/{serviceId}/auth/token/…`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use token_core::api::NoContent;
use token_core::token_manage::{Delete, List, Revoke, TokenListRequest, Update};

use crate::http::auth::ServiceCaller;
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::http::error::HttpError;
use crate::service::App;

pub async fn list(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    query: Result<Query<TokenListRequest>, QueryRejection>,
) -> Result<Reply<List>, Failure<List>> {
    let Query(request) = query.map_err(|e| HttpError::Query(e.body_text()))?;
    Ok(Reply::new(app.token_manage().list_tokens(caller.service.id, request).await?))
}

pub async fn update(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(request, ..): RequestBody<Update>,
) -> Result<Reply<Update>, Failure<Update>> {
    Ok(Reply::new(app.token_manage().update_token(&caller.service, request, &caller.actor()).await?))
}

pub async fn delete(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, identifier)): Path<(String, String)>,
) -> Result<Reply<Delete>, Failure<Delete>> {
    app.token_manage().delete_token(caller.service.id, &identifier, &caller.actor()).await?;
    Ok(Reply::new(NoContent))
}

pub async fn revoke(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(request, ..): RequestBody<Revoke>,
) -> Result<Reply<Revoke>, Failure<Revoke>> {
    Ok(Reply::new(app.token_manage().revoke_tokens(caller.service.id, request, &caller.actor()).await?))
}
