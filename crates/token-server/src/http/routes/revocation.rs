//! `POST /api/{serviceId}/auth/revocation` (RFC 7009 wrapper).

use axum::extract::State;
use token_core::revocation::Revoke;

use crate::http::auth::ServiceCaller;
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::service::App;

pub async fn revocation(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(request, ..): RequestBody<Revoke>,
) -> Result<Reply<Revoke>, Failure<Revoke>> {
    Ok(Reply::new(app.token_manage().revocation(caller.service.id, request, &caller.actor()).await?))
}
