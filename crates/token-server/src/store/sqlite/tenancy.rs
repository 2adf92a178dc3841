//! Organizations, services and clients on SQLite.

use rusqlite::{params, params_from_iter};
use token_core::{ClientId, OrganizationId, ServiceId};

use super::{Sqlite, SqliteStore, all, one, run};
use crate::store::sql::{self, params::*, steps};
use crate::store::*;

#[async_trait::async_trait]
impl OrganizationStore for SqliteStore {
    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        let record = OrganizationRecord {
            id: crate::random::organization_id(),
            name: name.to_owned(),
            created_at: now_ms,
        };
        self.write(move |w| {
            let row = organization_row(record.id, &record.name, now_ms);
            w.conn.execute(sql::INSERT_ORGANIZATION.sqlite(), params_from_iter(&row))?;
            Ok(record)
        })
        .await
    }

    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        self.read(|c, _| all(c, sql::LIST_ORGANIZATIONS.sqlite(), [], sql::organization_from_row)).await
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        self.read(move |c, _| {
            one(c, sql::ORGANIZATION_BY_ID.sqlite(), params![id], sql::organization_from_row)
        })
        .await
    }

    async fn first_start(
        &self,
        first: &FirstStart,
        now_ms: i64,
        hand_out: HandOut,
    ) -> StoreResult<Option<FirstStartCredentials>> {
        let first = first.clone();
        // One savepoint of the writer's transaction: the claim, every row, then the hand-out; the
        // batch commits only after it returned.
        self.write(move |w| run(steps::first_start(&Sqlite(w.conn), &first, now_ms, &hand_out, w.keys))).await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let count: i64 =
            self.read(|c, _| Ok(c.query_row(sql::COUNT_ORGANIZATIONS.sqlite(), [], |r| r.get(0))?)).await?;
        Ok(count == 0)
    }
}

#[async_trait::async_trait]
impl ServiceStore for SqliteStore {
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
        let audit = audit.clone();
        self.write(move |w| {
            run(steps::create_service(&Sqlite(w.conn), &record, now_ms, &audit))?;
            Ok(record)
        })
        .await
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        let organization = organization.map(|o| o.get() as i64);
        self.read(move |c, _| {
            all(c, sql::LIST_SERVICES.sqlite(), params![organization], sql::service_from_row)
        })
        .await
    }

    async fn update_service(
        &self,
        id: ServiceId,
        settings: &ServiceSettings,
        audit: &Audit,
    ) -> StoreResult<bool> {
        let (settings, audit) = (settings.clone(), audit.clone());
        self.write(move |w| run(steps::update_service(&Sqlite(w.conn), id, &settings, &audit))).await
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        self.read(move |c, _| one(c, sql::SERVICE_BY_ID.sqlite(), params![id], sql::service_from_row)).await
    }

    async fn delete_service_rows(&self, id: ServiceId, at_most: u32) -> StoreResult<u64> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(0) };
        self.write(move |w| run(steps::delete_service_rows(&Sqlite(w.conn), id, at_most))).await
    }

    async fn delete_service(&self, id: ServiceId, now_ms: i64, audit: &Audit) -> StoreResult<bool> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(false) };
        let audit = audit.clone();
        self.write(move |w| run(steps::delete_service(&Sqlite(w.conn), id, now_ms, &audit))).await
    }
}

#[async_trait::async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(&self, client: &ClientRecord, audit: &Audit) -> StoreResult<()> {
        let (client, audit) = (client.clone(), audit.clone());
        self.write(move |w| run(steps::create_client(&Sqlite(w.conn), &client, &audit))).await
    }

    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        self.read(move |c, _| {
            all(c, sql::LIST_CLIENTS.sqlite(), params![service.get() as i64], sql::client_from_row)
        })
        .await
    }

    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        self.read(move |c, _| {
            let params = params![client_id.get(), service.get() as i64];
            one(c, sql::CLIENT_BY_ID.sqlite(), params, sql::client_from_row)
        })
        .await
    }

    async fn client_by_identifier(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        let identifier = identifier.to_owned();
        self.read(move |c, _| run(steps::client_by_identifier(&Sqlite(c), service, &identifier))).await
    }

    async fn delete_client(
        &self,
        service: ServiceId,
        client_id: ClientId,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        let audit = audit.clone();
        self.write(move |w| run(steps::delete_client(&Sqlite(w.conn), service, client_id, now_ms, &audit)))
            .await
    }

    async fn update_client(&self, client: &ClientRecord, audit: &Audit) -> StoreResult<bool> {
        let (client, audit) = (client.clone(), audit.clone());
        self.write(move |w| run(steps::update_client(&Sqlite(w.conn), &client, &audit))).await
    }

    async fn clients_of_subject(
        &self,
        service: ServiceId,
        subject: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<ClientRecord>> {
        let subject = subject.to_owned();
        self.read(move |c, _| {
            let params = params![service.get() as i64, subject, now_ms];
            all(c, sql::CLIENTS_OF_SUBJECT.sqlite(), params, sql::client_from_row)
        })
        .await
    }
}
