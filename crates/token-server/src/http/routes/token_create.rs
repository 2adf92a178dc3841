//! `POST /api/{serviceId}/auth/token/create`.

use axum::extract::State;
use token_core::token_create::Create;

use crate::http::auth::ServiceCaller;
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::service::App;

pub async fn create(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(request, ..): RequestBody<Create>,
) -> Result<Reply<Create>, Failure<Create>> {
    let actor = caller.actor();
    Ok(Reply::new(app.issuance().create(caller.service, request, &actor).await?))
}
