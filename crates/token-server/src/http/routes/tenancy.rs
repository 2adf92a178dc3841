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
use crate::service::{ServiceError, Services};

fn range(query: Result<Query<ListRange>, QueryRejection>) -> Result<ListRange, ServiceError> {
    query.map(|Query(range)| range).map_err(|e| RequestError::Query(e.body_text()).into())
}

// ---------------------------------------------------------------- services

pub async fn create_service(
    State(services): State<Services>,
    OrganizationCaller(organization): OrganizationCaller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Service>, ServiceError> {
    let service = Service::from_request(body)?;
    services.create_service_doc(organization, service).await.map(Json)
}

pub async fn list_services(
    State(services): State<Services>,
    OrganizationCaller(organization): OrganizationCaller,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Json<ServiceListResponse>, ServiceError> {
    services.list_service_docs(organization, range(query)?).await.map(Json)
}

pub async fn get_service(
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<Json<Service>, ServiceError> {
    Ok(Json(crate::service::authlete::service_doc(&caller.service)))
}

pub async fn update_service(
    State(services): State<Services>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Service>, ServiceError> {
    let service = Service::from_request(body)?;
    services.update_service_doc(&caller.service, service).await.map(Json)
}

pub async fn delete_service(
    State(services): State<Services>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<StatusCode, ServiceError> {
    services.delete_service(caller.service.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- clients

pub async fn create_client(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Client>, ServiceError> {
    let client = Client::from_request(body)?;
    services.create_client_doc(caller.service.id, client).await.map(Json)
}

pub async fn get_client(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
) -> Result<Json<Client>, ServiceError> {
    services.client_doc(caller.service.id, &client).await.map(Json)
}

pub async fn list_clients(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Json<ClientListResponse>, ServiceError> {
    services.list_client_docs(caller.service.id, range(query)?).await.map(Json)
}

pub async fn update_client(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Client>, ServiceError> {
    let update = Client::from_request(body)?;
    services.update_client_doc(caller.service.id, &client, update).await.map(Json)
}

pub async fn delete_client(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    services.delete_client_named(caller.service.id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- a user's grants

pub async fn list_authorizations(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, subject)): Path<(String, String)>,
    query: Result<Query<ListRange>, QueryRejection>,
) -> Result<Json<ClientAuthorizationListResponse>, ServiceError> {
    services.subject_clients(caller.service.id, &subject, range(query)?).await.map(Json)
}

pub async fn delete_authorizations(
    State(services): State<Services>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, client, subject)): Path<(String, String, String)>,
) -> Result<Json<ClientAuthorizationDeleteResponse>, ServiceError> {
    services.delete_subject_client(caller.service.id, &client, &subject).await.map(Json)
}

// ---------------------------------------------------------------- keys

pub async fn list_keys(
    State(services): State<Services>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
) -> Result<Json<KeyListResponse>, ServiceError> {
    let keys = services.list_keys(caller.service.id).await?;
    Ok(Json(KeyListResponse { keys }))
}

pub async fn rotate_key(
    State(services): State<Services>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    JsonBodyOrNone(body): JsonBodyOrNone,
) -> Result<Json<KeyRotateResponse>, ServiceError> {
    let request = KeyRotateRequest::from_request(body)?;
    let key = services.rotate_key(caller.service.id, request.alg).await?;
    Ok(Json(KeyRotateResponse { key: key_summary(&key) }))
}

pub async fn revoke_key(
    State(services): State<Services>,
    OrganizationServiceCaller(caller): OrganizationServiceCaller,
    Path((_, kid)): Path<(String, String)>,
) -> Result<Json<KeyRevokeResponse>, ServiceError> {
    let revocation = services.revoke_key(caller.service.id, &kid).await?;
    Ok(Json(KeyRevokeResponse {
        revoked: kid,
        replacement: revocation.replacement.as_ref().map(key_summary),
        tokens_revoked: revocation.tokens_revoked,
    }))
}
