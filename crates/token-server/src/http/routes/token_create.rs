//! `POST /api/{serviceId}/auth/token/create`.

use axum::Json;
use axum::extract::State;
use token_core::token_create::{TokenCreateRequest, TokenCreateResponse};

use crate::http::auth::ServiceCaller;
use crate::http::error::JsonBody;
use crate::service::{App, ServiceError};

pub async fn create(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<TokenCreateRequest>,
) -> Result<Json<TokenCreateResponse>, ServiceError> {
    app.issuance().create(caller.service, request).await.map(Json)
}
