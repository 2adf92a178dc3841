//! `POST /api/{serviceId}/auth/token/create`.

use axum::extract::State;
use token_core::token_create::Create;

use crate::http::auth::ServiceCaller;
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::service::Services;

pub async fn create(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(request, ..): RequestBody<Create>,
) -> Result<Reply<Create>, Failure<Create>> {
    Ok(Reply::new(services.create_token(caller.service, request).await?))
}
