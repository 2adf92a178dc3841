//! `POST /api/{serviceId}/auth/token/create`.

use axum::Json;
use axum::extract::State;
use token_core::token_create::{TokenCreateRequest, TokenCreateResponse};

use crate::http::auth::ServiceCaller;
use crate::http::error::JsonBody;
use crate::service::{ServiceError, Services};

pub async fn create(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<TokenCreateRequest>,
) -> Result<Json<TokenCreateResponse>, ServiceError> {
    services.create_token(caller.service, request).await.map(Json)
}
