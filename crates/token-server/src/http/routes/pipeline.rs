//! `POST /api/{serviceId}/pipeline`: many operations in one round trip (see `service::pipeline`).

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::http::auth::ServiceCaller;
use crate::http::error::JsonBody;
use crate::service::{ServiceError, Services};

pub async fn pipeline(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ServiceError> {
    services.pipeline(&caller, body).await.map(Json)
}
