//! `/auth/introspection` (the family's form) and `/auth/introspection/standard` (RFC 7662). Both
//! answer HTTP 200; `action` carries the outcome for the resource server.

use axum::Json;
use axum::extract::State;
use token_core::introspection::{
    IntrospectionRequest, IntrospectionResponse, StandardIntrospectionRequest, StandardIntrospectionResponse,
};

use crate::http::auth::ServiceCaller;
use crate::http::error::JsonBody;
use crate::service::{ServiceError, Services};

pub async fn introspect(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<IntrospectionRequest>,
) -> Result<Json<IntrospectionResponse>, ServiceError> {
    services.introspect(caller.service.id, request).await.map(Json)
}

pub async fn standard(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<StandardIntrospectionRequest>,
) -> Result<Json<StandardIntrospectionResponse>, ServiceError> {
    services.introspect_standard(&caller.service, request).await.map(Json)
}
