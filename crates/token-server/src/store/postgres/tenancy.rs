//! Organizations, services and clients on PostgreSQL.

use token_core::{ClientId, OrganizationId, ServiceId};

use super::{Params, Pg, PostgresStore, all, one, pg_error, sid};
use crate::store::sql::{self, Executor, params::*, steps};
use crate::store::*;

#[async_trait::async_trait]
impl OrganizationStore for PostgresStore {
    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        let id = crate::random::organization_id();
        Pg(&self.conn().await?)
            .execute(&sql::INSERT_ORGANIZATION, &organization_row(id, name, now_ms))
            .await?;
        Ok(OrganizationRecord { id, name: name.to_owned(), created_at: now_ms })
    }

    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        all(&self.conn().await?, sql::LIST_ORGANIZATIONS.postgres(), &[], sql::organization_from_row).await
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        one(&self.conn().await?, sql::ORGANIZATION_BY_ID.postgres(), &[&id], sql::organization_from_row).await
    }

    async fn first_start(
        &self,
        first: &FirstStart,
        now_ms: i64,
        hand_out: HandOut,
    ) -> StoreResult<Option<FirstStartCredentials>> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let Some(credentials) = steps::first_start(&Pg(&tx), first, now_ms, &hand_out, &self.keys).await?
        else {
            return Ok(None);
        };
        tx.commit().await.map_err(pg_error)?;
        Ok(Some(credentials))
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let count = one(&self.conn().await?, sql::COUNT_ORGANIZATIONS.postgres(), &[], |r| r.int(0)).await?;
        Ok(count == Some(0))
    }
}

#[async_trait::async_trait]
impl ServiceStore for PostgresStore {
    async fn create_service(
        &self,
        organization: OrganizationId,
        settings: &ServiceSettings,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<ServiceRecord> {
        let record = ServiceRecord {
            id: crate::random::service_id(),
            organization_id: organization,
            settings: settings.clone(),
        };
        let created: StoreResult<()> =
            in_transaction!(self, |ex| steps::create_service(ex, &record, now_ms, audit));
        created?;
        Ok(record)
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        let organization = organization.map(|o| o.get() as i64);
        all(&self.conn().await?, sql::LIST_SERVICES.postgres(), &[&organization], sql::service_from_row).await
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        one(&self.conn().await?, sql::SERVICE_BY_ID.postgres(), &[&id], sql::service_from_row).await
    }

    async fn update_service(
        &self,
        id: ServiceId,
        settings: &ServiceSettings,
        audit: &Audit,
    ) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::update_service(ex, id, settings, audit))
    }

    async fn delete_service_rows(&self, id: ServiceId, at_most: u32) -> StoreResult<u64> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(0) };
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let deleted = steps::delete_service_rows(&Pg(&tx), id, at_most).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(deleted)
    }

    async fn delete_service(&self, id: ServiceId, now_ms: i64, audit: &Audit) -> StoreResult<bool> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(false) };
        in_transaction!(self, |ex| steps::delete_service(ex, id, now_ms, audit))
    }
}

#[async_trait::async_trait]
impl ClientStore for PostgresStore {
    async fn create_client(&self, client: &ClientRecord, audit: &Audit) -> StoreResult<()> {
        in_transaction!(self, |ex| steps::create_client(ex, client, audit))
    }

    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        all(&self.conn().await?, sql::LIST_CLIENTS.postgres(), &[&sid(service)], sql::client_from_row).await
    }

    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        let params: Params<'_> = &[&client_id.get(), &sid(service)];
        one(&self.conn().await?, sql::CLIENT_BY_ID.postgres(), params, sql::client_from_row).await
    }

    async fn client_by_identifier(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        steps::client_by_identifier(&Pg(&self.conn().await?), service, identifier).await
    }

    async fn delete_client(
        &self,
        service: ServiceId,
        client_id: ClientId,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::delete_client(ex, service, client_id, now_ms, audit))
    }

    async fn update_client(&self, client: &ClientRecord, audit: &Audit) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::update_client(ex, client, audit))
    }

    async fn clients_of_subject(
        &self,
        service: ServiceId,
        subject: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<ClientRecord>> {
        let params: Params<'_> = &[&sid(service), &subject, &now_ms];
        all(&self.conn().await?, sql::CLIENTS_OF_SUBJECT.postgres(), params, sql::client_from_row).await
    }
}
