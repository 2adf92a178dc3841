//! List, update, delete and revoke (`/api/{serviceId}/auth/token/…`).

use crate::service::error::RequestError;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use token_core::token_manage::{
    TokenListRequest, TokenListResponse, TokenRevokeRequest, TokenRevokeResponse, TokenUpdateRequest,
    TokenUpdateResponse,
};

use crate::http::auth::ServiceCaller;
use crate::http::error::JsonBody;
use crate::service::{App, ServiceError};

pub async fn list(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    query: Result<Query<TokenListRequest>, QueryRejection>,
) -> Result<Json<TokenListResponse>, ServiceError> {
    let Query(request) = query.map_err(|e| ServiceError::from(RequestError::Query(e.body_text())))?;
    app.token_manage().list_tokens(caller.service.id, request).await.map(Json)
}

pub async fn update(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<TokenUpdateRequest>,
) -> Result<Json<TokenUpdateResponse>, ServiceError> {
    app.token_manage().update_token(&caller.service, request).await.map(Json)
}

pub async fn delete(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, identifier)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    app.token_manage().delete_token(caller.service.id, &identifier).await.map(|()| StatusCode::NO_CONTENT)
}

pub async fn revoke(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<TokenRevokeRequest>,
) -> Result<Json<TokenRevokeResponse>, ServiceError> {
    app.token_manage().revoke_tokens(caller.service.id, request).await.map(Json)
}
