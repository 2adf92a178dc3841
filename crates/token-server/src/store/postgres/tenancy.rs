//! Organizations, services and clients on PostgreSQL.

use token_core::{ClientId, OrganizationId, ServiceId};

use super::{PostgresStore, all, execute, one, pg, pg_error, sid};
use crate::store::ids;
use crate::store::sql::{self, to_json};
use crate::store::*;

/// Clients by ID (the same order on every backend: pages of a listing follow it).
const LIST_CLIENTS: &str = "SELECT client_id, service_id, name, alias, entity_id, grant_types \
    FROM clients WHERE service_id = $1 ORDER BY client_id";

/// One statement: the client is deleted and, only if it existed here, its tokens revoked.
const DELETE_CLIENT: &str = "WITH deleted AS (DELETE FROM clients WHERE service_id = $1 AND \
    client_id = $2 RETURNING 1), revoked AS (UPDATE tokens SET revoked_at = $3 \
    WHERE service_id = $1 AND client_id = $2 AND revoked_at IS NULL \
    AND EXISTS (SELECT 1 FROM deleted) RETURNING 1) \
    SELECT (SELECT COUNT(*) FROM deleted), (SELECT COUNT(*) FROM revoked)";

/// Inserts service `id` of organization `org` with its settings' column values.
async fn insert_service(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
    org: i64,
    v: &sql::SettingsValues,
    now_ms: i64,
) -> StoreResult<()> {
    let params: super::Params<'_> = &[
        &id,
        &org,
        &v.name,
        &v.issuer,
        &v.supported_scopes,
        &v.supported_grant_types,
        &v.access_token_duration,
        &v.refresh_token_duration,
        &v.access_token_sign_alg,
        &v.custom_token_access_ttl,
        &v.custom_token_refresh_ttl,
        &v.status_list_ttl,
        &now_ms,
    ];
    execute(client, pg!(sql::INSERT_SERVICE), params).await?;
    Ok(())
}

#[async_trait::async_trait]
impl OrganizationStore for PostgresStore {
    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        let id = ids::new_organization_id().get() as i64;
        execute(&self.conn().await?, pg!(sql::INSERT_ORGANIZATION), &[&id, &name, &now_ms]).await?;
        Ok(OrganizationRecord { id: OrganizationId(id as u64), name: name.to_owned(), created_at: now_ms })
    }

    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        all(&self.conn().await?, pg!(sql::LIST_ORGANIZATIONS), &[], sql::organization_from_row).await
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        one(&self.conn().await?, pg!(sql::ORGANIZATION_BY_ID), &[&id], sql::organization_from_row).await
    }

    async fn first_start(
        &self,
        first: &FirstStart,
        now_ms: i64,
        hand_out: HandOut,
    ) -> StoreResult<Option<FirstStartCredentials>> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // A second instance starting at once waits here on the claim's key until this commits,
        // then finds it claimed.
        if execute(&tx, pg!(sql::CLAIM_FIRST_START), &[&now_ms]).await? == 0 {
            return Ok(None);
        }
        let (org, service) = (first.organization.id.get() as i64, first.service.id.get() as i64);
        execute(&tx, pg!(sql::INSERT_ORGANIZATION), &[&org, &first.organization.name, &now_ms]).await?;
        insert_service(&tx, service, org, &sql::service_settings_params(&first.service.settings)?, now_ms)
            .await?;
        super::keys::insert_signing_key(self, &tx, &first.key).await?;
        let c = &first.client;
        execute(
            &tx,
            pg!(sql::INSERT_CLIENT),
            &[&c.client_id.get(), &service, &c.name, &c.alias, &c.entity_id, &to_json(&c.grant_types)?],
        )
        .await?;
        let mut stored = Vec::new();
        for (principal, (hash, label)) in [
            (Principal::Service(first.service.id), &first.service_credential),
            (Principal::Organization(first.organization.id), &first.organization_credential),
        ] {
            let (kind, owner) = sql::principal_columns(principal);
            let expires_at: Option<i64> = None;
            let params: super::Params<'_> = &[&kind, &owner, &hash.as_str(), label, &now_ms, &expires_at];
            let id = one(&tx, pg!(sql::INSERT_CREDENTIAL), params, |r| r.int(0))
                .await?
                .ok_or_else(|| StoreError::Backend("the credential insert returned no ID".into()))?;
            stored.push(sql::new_credential(id, principal, label, now_ms));
        }
        let organization = stored.pop().ok_or_else(|| StoreError::Backend("no credential".into()))?;
        let service = stored.pop().ok_or_else(|| StoreError::Backend("no credential".into()))?;
        let credentials = FirstStartCredentials { service, organization };
        hand_out(&credentials)
            .map_err(|e| StoreError::driver("handing out the first-start credentials", e))?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Some(credentials))
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let count = one(&self.conn().await?, sql::COUNT_ORGANIZATIONS, &[], |r| r.int(0)).await?;
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
    ) -> StoreResult<ServiceRecord> {
        let id = ids::new_service_id().get() as i64;
        let v = sql::service_settings_params(settings)?;
        insert_service(&self.conn().await?, id, organization.get() as i64, &v, now_ms).await?;
        Ok(ServiceRecord {
            id: ServiceId(id as u64),
            organization_id: organization,
            settings: settings.clone(),
        })
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        let organization = organization.map(|o| o.get() as i64);
        all(&self.conn().await?, pg!(sql::LIST_SERVICES), &[&organization], sql::service_from_row).await
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        one(&self.conn().await?, pg!(sql::SERVICE_BY_ID), &[&id], sql::service_from_row).await
    }

    async fn update_service(&self, id: ServiceId, settings: &ServiceSettings) -> StoreResult<bool> {
        let v = sql::service_settings_params(settings)?;
        let changed = execute(
            &self.conn().await?,
            pg!(sql::UPDATE_SERVICE),
            &[
                &sid(id),
                &v.name,
                &v.issuer,
                &v.supported_scopes,
                &v.supported_grant_types,
                &v.access_token_duration,
                &v.refresh_token_duration,
                &v.access_token_sign_alg,
                &v.custom_token_access_ttl,
                &v.custom_token_refresh_ttl,
                &v.status_list_ttl,
            ],
        )
        .await?;
        Ok(changed > 0)
    }

    async fn delete_service_rows(&self, id: ServiceId, at_most: u32) -> StoreResult<u64> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(0) };
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let mut deleted = 0;
        for statement in sql::DELETE_SERVICE_ROWS_BATCH {
            let left = u64::from(at_most) - deleted;
            if left == 0 {
                break;
            }
            deleted += execute(&tx, &sql::dollar(statement), &[&id, &(left as i64)]).await?;
        }
        tx.commit().await.map_err(pg_error)?;
        Ok(deleted)
    }

    async fn delete_service(&self, id: ServiceId, now_ms: i64) -> StoreResult<bool> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(false) };
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        for statement in sql::DELETE_SERVICE_ROWS {
            execute(&tx, &sql::dollar(statement), &[&id]).await?;
        }
        execute(&tx, pg!(sql::REVOKE_SERVICE_CREDENTIALS), &[&id, &now_ms]).await?;
        let deleted = execute(&tx, pg!(sql::DELETE_SERVICE), &[&id]).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(deleted > 0)
    }
}

#[async_trait::async_trait]
impl ClientStore for PostgresStore {
    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        execute(
            &self.conn().await?,
            pg!(sql::INSERT_CLIENT),
            &[
                &client.client_id.get(),
                &sid(client.service_id),
                &client.name,
                &client.alias,
                &client.entity_id,
                &to_json(&client.grant_types)?,
            ],
        )
        .await?;
        Ok(())
    }

    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        all(&self.conn().await?, LIST_CLIENTS, &[&sid(service)], sql::client_from_row).await
    }

    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        let params: super::Params<'_> = &[&client_id.get(), &sid(service)];
        one(&self.conn().await?, pg!(sql::CLIENT_BY_ID), params, sql::client_from_row).await
    }

    async fn client_by_identifier(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        if let Ok(id) = identifier.parse::<i64>()
            && let Some(client) = self.client(service, ClientId(id)).await?
        {
            return Ok(Some(client));
        }
        let params: super::Params<'_> = &[&identifier, &sid(service)];
        one(&self.conn().await?, pg!(sql::CLIENT_BY_ALIAS), params, sql::client_from_row).await
    }

    async fn delete_client(&self, service: ServiceId, client_id: ClientId, now_ms: i64) -> StoreResult<bool> {
        let params: super::Params<'_> = &[&sid(service), &client_id.get(), &now_ms];
        let deleted = one(&self.conn().await?, DELETE_CLIENT, params, |r| r.int(0)).await?;
        Ok(deleted.unwrap_or(0) > 0)
    }

    async fn update_client(&self, client: &ClientRecord) -> StoreResult<bool> {
        let params: super::Params<'_> = &[
            &client.client_id.get(),
            &sid(client.service_id),
            &client.name,
            &client.alias,
            &client.entity_id,
            &to_json(&client.grant_types)?,
        ];
        Ok(execute(&self.conn().await?, pg!(sql::UPDATE_CLIENT), params).await? > 0)
    }

    async fn clients_of_subject(
        &self,
        service: ServiceId,
        subject: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<ClientRecord>> {
        let params: super::Params<'_> = &[&sid(service), &subject, &now_ms];
        all(&self.conn().await?, pg!(*sql::CLIENTS_OF_SUBJECT), params, sql::client_from_row).await
    }
}
