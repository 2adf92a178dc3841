//! `/auth/introspection` (the family's form) and `/auth/introspection/standard` (RFC 7662). Both
//! answer HTTP 200; `action` carries the outcome for the resource server.

use axum::Json;
use axum::extract::State;
use token_core::introspection::{
    IntrospectionRequest, IntrospectionResponse, StandardIntrospectionRequest, StandardIntrospectionResponse,
};

use crate::http::auth::ServiceCaller;
use crate::http::error::JsonBody;
use crate::service::{App, ServiceError};

pub async fn introspect(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<IntrospectionRequest>,
) -> Result<Json<IntrospectionResponse>, ServiceError> {
    app.introspection().introspect(caller.service.id, request).await.map(Json)
}

pub async fn standard(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(request): JsonBody<StandardIntrospectionRequest>,
) -> Result<Json<StandardIntrospectionResponse>, ServiceError> {
    app.introspection().introspect_standard(&caller.service, request).await.map(Json)
}
