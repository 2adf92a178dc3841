//! Services, clients, a user's grants and signing keys (`/api/service/…`, `/api/{serviceId}/service/…`,
//! `/client/…`, `/keys/…`): the Authlete-shaped tenancy routes.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::Value;
use token_core::tenancy::{
    Client, ClientAuthorizationDeleteResponse, ClientAuthorizationListResponse, ClientListResponse,
    KeyListResponse, KeyRevokeResponse, KeyRotateRequest, KeyRotateResponse, ListRange, Service,
    ServiceListResponse,
};

use crate::http::auth::{OrganizationCaller, OrganizationServiceCaller, ServiceCaller};
use crate::http::error::{JsonBody, JsonBodyOrNone};
use crate::service::error::RequestError;
use crate::service::tenancy::key_summary;
use crate::service::{App, ServiceError};

fn range(query: Result<Query<ListRange>, QueryRejection>) -> Result<ListRange, ServiceError> {
    query.map(|Query(range)| range).map_err(|e| RequestError::Query(e.body_text()).into())
}

// ---------------------------------------------------------------- services

pub async fn create_service(
    State(app): State<App>,
    OrganizationCaller(organization): OrganizationCaller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Service>, ServiceError> {
    let service = Service::from_request(body)?;
    Ok(Json(app.tenancy().create_service_doc(organization, service).await?))
}

pub async fn list_services(
    State(app): State<App>,
    OrganizationCaller(organization): OrganizationCaller,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Json<ServiceListResponse>, ServiceError> {
    Ok(Json(app.tenancy().list_service_docs(organization, range(query)?).await?))
}

pub async fn get_service(
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<Json<Service>, ServiceError> {
    Ok(Json(crate::service::tenancy::authlete::service_doc(&caller.service)))
}

pub async fn update_service(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Service>, ServiceError> {
    let service = Service::from_request(body)?;
    Ok(Json(app.tenancy().update_service_doc(&caller.service, service).await?))
}

pub async fn delete_service(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<StatusCode, ServiceError> {
    app.tenancy().delete_service(caller.service.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- clients

pub async fn create_client(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Client>, ServiceError> {
    let client = Client::from_request(body)?;
    Ok(Json(app.tenancy().create_client_doc(caller.service.id, client).await?))
}

pub async fn get_client(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
) -> Result<Json<Client>, ServiceError> {
    Ok(Json(app.tenancy().client_doc(caller.service.id, &client).await?))
}

pub async fn list_clients(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Json<ClientListResponse>, ServiceError> {
    Ok(Json(app.tenancy().list_client_docs(caller.service.id, range(query)?).await?))
}

pub async fn update_client(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Client>, ServiceError> {
    let update = Client::from_request(body)?;
    Ok(Json(app.tenancy().update_client_doc(caller.service.id, &client, update).await?))
}

pub async fn delete_client(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    app.tenancy().delete_client_named(caller.service.id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- a user's grants

pub async fn list_authorizations(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, subject)): Path<(String, String)>,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Json<ClientAuthorizationListResponse>, ServiceError> {
    Ok(Json(app.tenancy().subject_clients(caller.service.id, &subject, range(query)?).await?))
}

pub async fn delete_authorizations(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client, subject)): Path<(String, String, String)>,
) -> Result<Json<ClientAuthorizationDeleteResponse>, ServiceError> {
    Ok(Json(app.tenancy().delete_subject_client(caller.service.id, &client, &subject).await?))
}

// ---------------------------------------------------------------- keys

pub async fn list_keys(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<Json<KeyListResponse>, ServiceError> {
    let keys = app.tenancy().list_keys(caller.service.id).await?;
    Ok(Json(KeyListResponse { keys }))
}

pub async fn rotate_key(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    JsonBodyOrNone(body): JsonBodyOrNone,
) -> Result<Json<KeyRotateResponse>, ServiceError> {
    let request = KeyRotateRequest::from_request(body)?;
    let key = app.tenancy().rotate_key(caller.service.id, request.alg).await?;
    Ok(Json(KeyRotateResponse { key: key_summary(&key) }))
}

pub async fn revoke_key(
    State(app): State<App>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    Path((_, kid)): Path<(String, String)>,
) -> Result<Json<KeyRevokeResponse>, ServiceError> {
    let revocation = app.tenancy().revoke_key(caller.service.id, &kid).await?;
    Ok(Json(KeyRevokeResponse {
        revoked: kid,
        replacement: revocation.replacement.as_ref().map(key_summary),
        tokens_revoked: revocation.tokens_revoked,
    }))
}
