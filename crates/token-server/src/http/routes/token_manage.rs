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
use crate::service::{ServiceError, Services};

pub async fn list(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    query: Result<Query<TokenListRequest>, QueryRejection>,
) -> Result<Json<TokenListResponse>, ServiceError> {
    let Query(request) = query.map_err(|e| ServiceError::from(RequestError::Query(e.body_text())))?;
    services.list_tokens(caller.service.id, request).await.map(Json)
}

pub async fn update(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<TokenUpdateRequest>,
) -> Result<Json<TokenUpdateResponse>, ServiceError> {
    services.update_token(&caller.service, request).await.map(Json)
}

pub async fn delete(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, identifier)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    services.delete_token(caller.service.id, &identifier).await.map(|()| StatusCode::NO_CONTENT)
}

pub async fn revoke(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<TokenRevokeRequest>,
) -> Result<Json<TokenRevokeResponse>, ServiceError> {
    services.revoke_tokens(caller.service.id, request).await.map(Json)
}
