//! `POST /api/{serviceId}/auth/revocation` (RFC 7009 wrapper; always HTTP 200).

use axum::Json;
use axum::extract::State;
use token_core::revocation::{RevocationRequest, RevocationResponse};

use crate::http::auth::ServiceCaller;
use crate::http::error::JsonBody;
use crate::service::{ServiceError, Services};

pub async fn revocation(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<RevocationRequest>,
) -> Result<Json<RevocationResponse>, ServiceError> {
    services.revocation(caller.service.id, request).await.map(Json)
}
