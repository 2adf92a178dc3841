//! The event log (`GET /api/{serviceId}/events`, `GET /api/events`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use token_core::events::{EventsRequest, OrganizationEvents, ServiceEvents};

use crate::http::auth::{OrganizationCaller, ServiceCaller};
use crate::http::endpoint::{Failure, Reply};
use crate::http::error::HttpError;
use crate::service::App;

pub async fn service_events(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    query: Result<Query<EventsRequest>, QueryRejection>,
) -> Result<Reply<ServiceEvents>, Failure<ServiceEvents>> {
    let Query(request) = query.map_err(|e| HttpError::Query(e.body_text()))?;
    Ok(Reply::new(app.events().of_service(caller.service.id, &request).await?))
}

pub async fn organization_events(
    State(app): State<App>,
    OrganizationCaller(organization, _): OrganizationCaller,
    query: Result<Query<EventsRequest>, QueryRejection>,
) -> Result<Reply<OrganizationEvents>, Failure<OrganizationEvents>> {
    let Query(request) = query.map_err(|e| HttpError::Query(e.body_text()))?;
    Ok(Reply::new(app.events().of_organization(organization, &request).await?))
}
