//! Services, clients, a user's grants and signing keys (`/api/service/…`, `/api/{serviceId}/service/…`,
//! `/client/…`, `/keys/…`): the Authlete-shaped tenancy routes.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use token_core::api::NoContent;
use token_core::tenancy::{
    AuthorizationDelete, AuthorizationList, ClientCreate, ClientDelete, ClientGet, ClientList, ClientUpdate,
    KeyList, KeyListResponse, KeyRevoke, KeyRevokeResponse, KeyRotate, KeyRotateResponse, ListRange,
    ServiceCreate, ServiceDelete, ServiceGet, ServiceList, ServiceUpdate,
};

use crate::http::auth::{OrganizationCaller, OrganizationServiceCaller, ServiceCaller};
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::http::error::HttpError;
use crate::service::App;
use crate::service::tenancy::key_summary;

fn range(query: Result<Query<ListRange>, QueryRejection>) -> Result<ListRange, HttpError> {
    query.map(|Query(range)| range).map_err(|e| HttpError::Query(e.body_text()))
}

// ---------------------------------------------------------------- services

pub async fn create_service(
    State(app): State<App>,
    OrganizationCaller(organization, actor): OrganizationCaller,
    RequestBody(body, ..): RequestBody<ServiceCreate>,
) -> Result<Reply<ServiceCreate>, Failure<ServiceCreate>> {
    Ok(Reply::new(app.tenancy().create_service_doc(organization, body, &actor).await?))
}

pub async fn list_services(
    State(app): State<App>,
    OrganizationCaller(organization, _): OrganizationCaller,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Reply<ServiceList>, Failure<ServiceList>> {
    Ok(Reply::new(app.tenancy().list_service_docs(organization, range(query)?).await?))
}

pub async fn get_service(
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<Reply<ServiceGet>, Failure<ServiceGet>> {
    Ok(Reply::new(crate::service::tenancy::authlete::service_doc(&caller.service)))
}

pub async fn update_service(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    RequestBody(body, ..): RequestBody<ServiceUpdate>,
) -> Result<Reply<ServiceUpdate>, Failure<ServiceUpdate>> {
    Ok(Reply::new(app.tenancy().update_service_doc(&caller.service, body, &caller.actor()).await?))
}

pub async fn delete_service(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<Reply<ServiceDelete>, Failure<ServiceDelete>> {
    app.tenancy().delete_service(caller.service.id, &caller.actor()).await?;
    Ok(Reply::new(NoContent))
}

// ---------------------------------------------------------------- clients

pub async fn create_client(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(body, ..): RequestBody<ClientCreate>,
) -> Result<Reply<ClientCreate>, Failure<ClientCreate>> {
    Ok(Reply::new(app.tenancy().create_client_doc(caller.service.id, body, &caller.actor()).await?))
}

pub async fn get_client(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
) -> Result<Reply<ClientGet>, Failure<ClientGet>> {
    Ok(Reply::new(app.tenancy().client_doc(caller.service.id, &client).await?))
}

pub async fn list_clients(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Reply<ClientList>, Failure<ClientList>> {
    Ok(Reply::new(app.tenancy().list_client_docs(caller.service.id, range(query)?).await?))
}

pub async fn update_client(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
    RequestBody(body, ..): RequestBody<ClientUpdate>,
) -> Result<Reply<ClientUpdate>, Failure<ClientUpdate>> {
    Ok(Reply::new(app.tenancy().update_client_doc(caller.service.id, &client, body, &caller.actor()).await?))
}

pub async fn delete_client(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
) -> Result<Reply<ClientDelete>, Failure<ClientDelete>> {
    app.tenancy().delete_client_named(caller.service.id, &client, &caller.actor()).await?;
    Ok(Reply::new(NoContent))
}

// ---------------------------------------------------------------- a user's grants

pub async fn list_authorizations(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, subject)): Path<(String, String)>,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Reply<AuthorizationList>, Failure<AuthorizationList>> {
    Ok(Reply::new(app.tenancy().subject_clients(caller.service.id, &subject, range(query)?).await?))
}

pub async fn delete_authorizations(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client, subject)): Path<(String, String, String)>,
) -> Result<Reply<AuthorizationDelete>, Failure<AuthorizationDelete>> {
    Ok(Reply::new(
        app.tenancy().delete_subject_client(caller.service.id, &client, &subject, &caller.actor()).await?,
    ))
}

// ---------------------------------------------------------------- keys

pub async fn list_keys(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<Reply<KeyList>, Failure<KeyList>> {
    let keys = app.tenancy().list_keys(caller.service.id).await?;
    Ok(Reply::new(KeyListResponse { keys }))
}

pub async fn rotate_key(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    RequestBody(request, ..): RequestBody<KeyRotate>,
) -> Result<Reply<KeyRotate>, Failure<KeyRotate>> {
    let key = app.tenancy().rotate_key(caller.service.id, request.alg, &caller.actor()).await?;
    Ok(Reply::new(KeyRotateResponse { key: key_summary(&key) }))
}

pub async fn revoke_key(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    Path((_, kid)): Path<(String, String)>,
) -> Result<Reply<KeyRevoke>, Failure<KeyRevoke>> {
    let revocation = app.tenancy().revoke_key(caller.service.id, &kid, &caller.actor()).await?;
    Ok(Reply::new(KeyRevokeResponse {
        revoked: kid,
        replacement: revocation.replacement.as_ref().map(key_summary),
        tokens_revoked: revocation.tokens_revoked,
    }))
}
