//! The clients of a service.

use token_core::grant::GrantType;
use token_core::{ClientId, ServiceId};

use super::{NewClient, Tenancy, TenancyError, check_alias, client_error, no_service};
use crate::random;
use crate::store::{Actor, Audit, ClientRecord, ConflictKind, RevokeTarget, StoreError};

impl Tenancy {
    /// A client of `service`: the service must exist, the alias must not be a number (it would be
    /// mistaken for a client ID), a given ID must be positive and free.
    pub async fn create_client(
        &self,
        service: ServiceId,
        new: NewClient,
        actor: &Actor,
    ) -> Result<ClientRecord, TenancyError> {
        let audit = Audit::new(actor.clone(), self.clock.now_ms());
        if new.id.is_some_and(|id| id.get() <= 0) {
            return Err(TenancyError::Invalid("a client ID must be a positive number".into()));
        }
        if self.services.service(service).await?.is_none() {
            return Err(no_service(service));
        }
        check_alias(new.alias.as_deref())?;
        let record = |client_id| ClientRecord {
            client_id,
            service_id: service,
            name: new.name.clone(),
            alias: new.alias.clone(),
            entity_id: new.entity_id.clone(),
            grant_types: new.grant_types.clone(),
        };
        if let Some(id) = new.id {
            let client = record(id);
            return self.clients.create_client(&client, &audit).await.map(|()| client).map_err(client_error);
        }
        // Numeric IDs in the same range as the document's example (26888344961664).
        for _ in 0..5 {
            let client = record(random::client_id());
            match self.clients.create_client(&client, &audit).await {
                Err(StoreError::Conflict(ConflictKind::ClientId)) => {}
                other => return other.map(|()| client).map_err(client_error),
            }
        }
        Err(TenancyError::Invalid("could not allocate a client ID".into()))
    }

    pub async fn list_clients(&self, service: ServiceId) -> Result<Vec<ClientRecord>, TenancyError> {
        Ok(self.clients.list_clients(service).await?)
    }

    /// Replaces the grant types a client may use, checked as at creation (the service exists).
    pub async fn set_client_grant_types(
        &self,
        service: ServiceId,
        client: ClientId,
        grant_types: &[GrantType],
        actor: &Actor,
    ) -> Result<(), TenancyError> {
        let mut record = self.client_record(service, &client.to_string()).await?;
        record.grant_types = grant_types.to_vec();
        self.replace_client(record, actor).await.map(|_| ())
    }

    /// The client of `service` that `identifier` names: its numeric ID or its alias (aliases are
    /// never numbers, so the two cannot be confused).
    pub async fn client_record(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> Result<ClientRecord, TenancyError> {
        self.services.service(service).await?.ok_or_else(|| no_service(service))?;
        let client = self.clients.client_by_identifier(service, identifier).await?;
        client.ok_or_else(|| TenancyError::NoClient { service, client: identifier.to_owned() })
    }

    /// Writes `record` over the stored client of the same service and ID (an alias must not be a
    /// number, and must be free).
    pub(super) async fn replace_client(
        &self,
        record: ClientRecord,
        actor: &Actor,
    ) -> Result<ClientRecord, TenancyError> {
        check_alias(record.alias.as_deref())?;
        let audit = Audit::new(actor.clone(), self.clock.now_ms());
        if !self.clients.update_client(&record, &audit).await.map_err(client_error)? {
            return Err(TenancyError::NoClient {
                service: record.service_id,
                client: record.client_id.to_string(),
            });
        }
        Ok(record)
    }

    /// The ID of the client of `service` that `identifier` names (ID or alias).
    pub async fn client_named(&self, service: ServiceId, identifier: &str) -> Result<ClientId, TenancyError> {
        Ok(self.client_record(service, identifier).await?.client_id)
    }

    /// Deletes a client of `service`; every token issued to it is revoked first, a bounded batch
    /// per write, and those issued meanwhile in the write that deletes the client, so nothing it
    /// held stays usable. Interrupted, the client is still there and deleting it again finishes.
    pub async fn delete_client(
        &self,
        service: ServiceId,
        client: ClientId,
        actor: &Actor,
    ) -> Result<(), TenancyError> {
        if self.clients.client(service, client).await?.is_none() {
            return Err(TenancyError::NoClient { service, client: client.to_string() });
        }
        let everything = RevokeTarget::ClientSubject { client_id: client, subject: None };
        let audit = Audit::new(actor.clone(), self.clock.now_ms());
        self.token_manage.revoke_target(service, &everything, self.clock.now_ms(), &audit).await?;
        if !self.clients.delete_client(service, client, self.clock.now_ms(), &audit).await? {
            return Err(TenancyError::NoClient { service, client: client.to_string() });
        }
        Ok(())
    }
}
