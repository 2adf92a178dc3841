//! Tenancy in the Authlete API's shape: its `Service` and `Client` objects to and from our records,
//! and the grant routes. Every operation here ends in a provisioning method of the tenancy
//! component, so the CLI and HTTP follow the same rules, and fails as they do (`TenancyError`);
//! this module only maps (see `token_core::tenancy` for which members exist and the rule for the
//! others).

use token_core::grant::GrantType;
use token_core::tenancy::{
    AccessTokenSignAlg, Client, ClientAuthorizationDeleteResponse, ClientAuthorizationListResponse,
    ClientLimited, ClientListResponse, ListRange, Scope, Service, ServiceExtension, ServiceListResponse,
};
use token_core::{OrganizationId, ResultCode, ServiceId, ValidationError};

use super::{NewClient, ServicePatch, ServiceSpec, Tenancy, TenancyError};
use crate::store::{Actor, ClientRecord, RevokeTarget, ServiceRecord};

/// The grant types of a client created without `grantTypes` (Authlete's default).
const DEFAULT_CLIENT_GRANT_TYPES: [GrantType; 1] = [GrantType::AuthorizationCode];

/// A stored service as Authlete's `Service`.
pub fn service_doc(record: &ServiceRecord) -> Service {
    Service {
        api_key: Some(record.id.get()),
        service_owner_number: Some(record.organization_id.get()),
        service_name: Some(record.name.clone()),
        issuer: Some(record.issuer.clone()),
        supported_scopes: Some(
            record.supported_scopes.iter().map(|name| Scope { name: name.clone() }).collect(),
        ),
        supported_grant_types: Some(record.supported_grant_types.clone()),
        access_token_duration: Some(record.access_token_duration),
        refresh_token_duration: Some(record.refresh_token_duration),
        access_token_sign_alg: Some(AccessTokenSignAlg::of(record.access_token_sign_alg)),
        extension: Some(ServiceExtension {
            custom_token_access_token_ttl: Some(record.custom_token_access_ttl),
            custom_token_refresh_token_ttl: Some(record.custom_token_refresh_ttl),
            status_list_ttl: record.status_list_ttl,
            issuance_events: Some(record.issuance_events),
        }),
    }
}

/// A stored client as Authlete's `Client`.
pub fn client_doc(record: &ClientRecord) -> Client {
    Client {
        client_id: Some(record.client_id),
        client_id_alias: record.alias.clone(),
        client_id_alias_enabled: Some(record.alias.is_some()),
        client_name: Some(record.name.clone()),
        entity_id: record.entity_id.clone(),
        grant_types: Some(record.grant_types.clone()),
    }
}

/// What a `Service` in a request changes: the members it has (the server's own members were
/// checked against `id` / `organization` by the caller).
fn patch_of(service: Service) -> ServicePatch {
    let sign_alg = service.access_token_sign_alg;
    let extension = service.extension.unwrap_or_default();
    ServicePatch {
        name: service.service_name,
        issuer: service.issuer,
        scopes: service.supported_scopes.map(|scopes| scopes.into_iter().map(|s| s.name).collect()),
        grant_types: service.supported_grant_types,
        access_token_duration: service.access_token_duration,
        refresh_token_duration: service.refresh_token_duration,
        sign_alg: sign_alg.and_then(AccessTokenSignAlg::sign_alg),
        no_jwt: sign_alg == Some(AccessTokenSignAlg::None),
        custom_token_access_ttl: extension.custom_token_access_token_ttl,
        custom_token_refresh_ttl: extension.custom_token_refresh_token_ttl,
        status_list_ttl: extension.status_list_ttl,
        issuance_events: extension.issuance_events,
    }
}

/// `apiKey` and `serviceOwnerNumber` are the server's: given in a request, they must be the ones
/// the service has (an object read from here and sent back keeps them).
fn check_server_members(
    service: &Service,
    id: Option<ServiceId>,
    organization: OrganizationId,
) -> Result<(), ValidationError> {
    match (service.api_key, id) {
        (Some(_), None) => {
            return Err(ValidationError::member_invalid("apiKey", "is assigned by the server at creation"));
        }
        (Some(given), Some(id)) if given != id.get() => {
            return Err(ValidationError::member_invalid(
                "apiKey",
                &format!("is {given}, but the path names the service {id}"),
            ));
        }
        _ => {}
    }
    if service.service_owner_number.is_some_and(|owner| owner != organization.get()) {
        return Err(ValidationError::member_invalid(
            "serviceOwnerNumber",
            "is the organization of the Organization Token; it cannot change",
        ));
    }
    Ok(())
}

impl Tenancy {
    /// `POST /api/service/create`: a service of `organization`. Members absent take the defaults
    /// of a new service (a name is required).
    pub async fn create_service_doc(
        &self,
        organization: OrganizationId,
        service: Service,
        actor: &Actor,
    ) -> Result<Service, TenancyError> {
        check_server_members(&service, None, organization)?;
        let mut settings = crate::store::ServiceSettings { name: String::new(), ..Default::default() };
        // Off unless asked for: a new service issues opaque access tokens.
        settings.access_token_sign_alg = None;
        let settings = patch_of(service).apply(settings);
        let record = self.create_service(organization, &ServiceSpec::from(settings), actor).await?;
        Ok(service_doc(&record))
    }

    /// `GET /api/service/get/list`: the services of `organization`, by ID.
    pub async fn list_service_docs(
        &self,
        organization: OrganizationId,
        range: ListRange,
    ) -> Result<ServiceListResponse, TenancyError> {
        let mut services = self.list_services(Some(organization)).await?;
        services.sort_by_key(|s| s.id);
        let total_count = services.len() as u64;
        let (start, end, page) = range.page(services)?;
        Ok(ServiceListResponse { start, end, total_count, services: page.iter().map(service_doc).collect() })
    }

    /// `POST /api/{serviceId}/service/update`: the members given change, checked as at creation.
    pub async fn update_service_doc(
        &self,
        current: &ServiceRecord,
        service: Service,
        actor: &Actor,
    ) -> Result<Service, TenancyError> {
        check_server_members(&service, Some(current.id), current.organization_id)?;
        let record = self.update_service(current.id, patch_of(service), actor).await?;
        Ok(service_doc(&record))
    }

    /// `POST /api/{serviceId}/client/create`.
    pub async fn create_client_doc(
        &self,
        service: ServiceId,
        client: Client,
        actor: &Actor,
    ) -> Result<Client, TenancyError> {
        let new = NewClient {
            name: client.client_name.unwrap_or_default(),
            id: client.client_id,
            alias: client.client_id_alias.filter(|a| !a.is_empty()),
            entity_id: client.entity_id.filter(|e| !e.is_empty()),
            grant_types: client.grant_types.unwrap_or_else(|| DEFAULT_CLIENT_GRANT_TYPES.to_vec()),
        };
        Ok(client_doc(&self.create_client(service, new, actor).await?))
    }

    /// `GET /api/{serviceId}/client/get/{clientId}` (ID or alias).
    pub async fn client_doc(&self, service: ServiceId, identifier: &str) -> Result<Client, TenancyError> {
        Ok(client_doc(&self.client_record(service, identifier).await?))
    }

    /// `GET /api/{serviceId}/client/get/list`: by ID.
    pub async fn list_client_docs(
        &self,
        service: ServiceId,
        range: ListRange,
    ) -> Result<ClientListResponse, TenancyError> {
        let clients = self.list_clients(service).await?;
        let total_count = clients.len() as u64;
        let (start, end, page) = range.page(clients)?;
        Ok(ClientListResponse { start, end, total_count, clients: page.iter().map(client_doc).collect() })
    }

    /// `POST /api/{serviceId}/client/update/{clientId}`: the members given change; `clientIdAlias:
    /// ""` removes the alias; a `clientId` given must be the client's.
    pub async fn update_client_doc(
        &self,
        service: ServiceId,
        identifier: &str,
        client: Client,
        actor: &Actor,
    ) -> Result<Client, TenancyError> {
        let mut record = self.client_record(service, identifier).await?;
        if client.client_id.is_some_and(|id| id != record.client_id) {
            return Err(ValidationError::member_invalid(
                "clientId",
                &format!("is not the ID of the client '{identifier}'"),
            )
            .into());
        }
        if let Some(name) = client.client_name {
            record.name = name;
        }
        if let Some(alias) = client.client_id_alias {
            record.alias = Some(alias).filter(|a| !a.is_empty());
        }
        if let Some(entity_id) = client.entity_id {
            record.entity_id = Some(entity_id).filter(|e| !e.is_empty());
        }
        if let Some(grant_types) = client.grant_types {
            record.grant_types = grant_types;
        }
        Ok(client_doc(&self.replace_client(record, actor).await?))
    }

    /// `DELETE /api/{serviceId}/client/delete/{clientId}`: every token of the client is revoked.
    pub async fn delete_client_named(
        &self,
        service: ServiceId,
        identifier: &str,
        actor: &Actor,
    ) -> Result<(), TenancyError> {
        let client = self.client_named(service, identifier).await?;
        self.delete_client(service, client, actor).await
    }

    /// `GET /api/{serviceId}/client/authorization/get/list/{subject}`: the registered clients
    /// holding a live token of `subject` (custom-token sessions belong to no registered client: a
    /// subject-wide revocation reaches them).
    pub async fn subject_clients(
        &self,
        service: ServiceId,
        subject: &str,
        range: ListRange,
    ) -> Result<ClientAuthorizationListResponse, TenancyError> {
        let subject = token_core::Subject::parse("subject", subject)?;
        let clients = self.clients.clients_of_subject(service, subject.as_str(), self.clock.now_ms()).await?;
        let total_count = clients.len() as u64;
        let (start, end, page) = range.page(clients)?;
        let clients = page
            .into_iter()
            .map(|c| ClientLimited {
                client_id: c.client_id,
                client_name: c.name,
                client_id_alias_enabled: c.alias.is_some(),
                client_id_alias: c.alias,
            })
            .collect();
        Ok(ClientAuthorizationListResponse {
            subject: subject.into_string(),
            start,
            end,
            total_count,
            clients,
        })
    }

    /// `DELETE /api/{serviceId}/client/authorization/delete/{clientId}/{subject}`: every live token
    /// (and refresh family) the client holds for the subject is revoked.
    pub async fn delete_subject_client(
        &self,
        service: ServiceId,
        identifier: &str,
        subject: &str,
        actor: &Actor,
    ) -> Result<ClientAuthorizationDeleteResponse, TenancyError> {
        let subject = token_core::Subject::parse("subject", subject)?;
        let client = self.client_named(service, identifier).await?;
        let target =
            RevokeTarget::ClientSubject { client_id: client, subject: Some(subject.as_str().to_owned()) };
        let audit = crate::store::Audit::new(actor.clone(), self.clock.now_ms());
        let count = self.token_manage.revoke_target(service, &target, self.clock.now_ms(), &audit).await?;
        let code = ResultCode::AUTHORIZATIONS_DELETED;
        Ok(ClientAuthorizationDeleteResponse {
            result_code: code.code.to_owned(),
            result_message: code
                .message(format!("Revoked {count} live token(s) of client {client} for the subject.")),
            action: code.action,
            service_api_key: service.get(),
            client_id: client,
            subject: subject.into_string(),
            count,
        })
    }
}
