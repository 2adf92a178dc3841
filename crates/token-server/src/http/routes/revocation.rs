//! `POST /api/{serviceId}/auth/revocation` (RFC 7009 wrapper; always HTTP 200).

use axum::Json;
use axum::extract::State;
use token_core::revocation::{RevocationRequest, RevocationResponse};

use crate::http::auth::ServiceCaller;
use crate::http::error::JsonBody;
use crate::service::{App, ServiceError};

pub async fn revocation(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<RevocationRequest>,
) -> Result<Json<RevocationResponse>, ServiceError> {
    app.token_manage().revocation(caller.service.id, request).await.map(Json)
}
