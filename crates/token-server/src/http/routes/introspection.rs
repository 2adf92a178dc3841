//! Introspection: the family's own form and the RFC 7662 wrapper.

use axum::extract::State;
use token_core::introspection::{Introspect, Standard};

use crate::http::auth::ServiceCaller;
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::service::App;

pub async fn introspect(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(request, ..): RequestBody<Introspect>,
) -> Result<Reply<Introspect>, Failure<Introspect>> {
    Ok(Reply::new(app.introspection().introspect(caller.service.id, request).await?))
}

pub async fn standard(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(request, ..): RequestBody<Standard>,
) -> Result<Reply<Standard>, Failure<Standard>> {
    Ok(Reply::new(app.introspection().introspect_standard(&caller.service, request).await?))
}
