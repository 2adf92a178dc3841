//! Organizations, services and clients on SQLite.

use rusqlite::params;
use token_core::{ClientId, OrganizationId, ServiceId};

use super::{SqliteStore, all, one};
use crate::store::ids;
use crate::store::sql::{self, to_json};
use crate::store::*;

/// Clients by ID (the same order on every backend: pages of a listing follow it).
const LIST_CLIENTS: &str = "SELECT client_id, service_id, name, alias, entity_id, grant_types \
    FROM clients WHERE service_id = ?1 ORDER BY client_id";

/// Revokes the live tokens of a client (it is being deleted, in the same savepoint).
const REVOKE_CLIENT_TOKENS: &str = "UPDATE tokens SET revoked_at = ?1 \
    WHERE service_id = ?2 AND client_id = ?3 AND revoked_at IS NULL";

/// Inserts service `id` of organization `org` with its settings' column values.
fn insert_service(
    conn: &rusqlite::Connection,
    id: i64,
    org: i64,
    v: &sql::SettingsValues,
    now_ms: i64,
) -> StoreResult<()> {
    conn.execute(
        &sql::INSERT_SERVICE,
        params![
            id,
            org,
            v.name,
            v.issuer,
            v.supported_scopes,
            v.supported_grant_types,
            v.access_token_duration,
            v.refresh_token_duration,
            v.access_token_sign_alg,
            v.custom_token_access_ttl,
            v.custom_token_refresh_ttl,
            v.status_list_ttl,
            now_ms
        ],
    )?;
    Ok(())
}

#[async_trait::async_trait]
impl OrganizationStore for SqliteStore {
    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        let name = name.to_owned();
        let id = ids::new_organization_id().get() as i64;
        self.write(move |w| {
            w.conn.execute(sql::INSERT_ORGANIZATION, params![id, name, now_ms])?;
            Ok(OrganizationRecord { id: OrganizationId(id as u64), name, created_at: now_ms })
        })
        .await
    }

    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        self.read(|c, _| all(c, &sql::LIST_ORGANIZATIONS, [], sql::organization_from_row)).await
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        self.read(move |c, _| one(c, &sql::ORGANIZATION_BY_ID, params![id], sql::organization_from_row)).await
    }

    async fn first_start(
        &self,
        first: &FirstStart,
        now_ms: i64,
        hand_out: HandOut,
    ) -> StoreResult<Option<FirstStartCredentials>> {
        let first = first.clone();
        let v = sql::service_settings_params(&first.service.settings)?;
        let public_jwk = to_json(&first.key.public_jwk)?;
        let grant_types = to_json(&first.client.grant_types)?;
        // One savepoint of the writer's transaction: the claim, every row, then the hand-out; the
        // batch commits only after it returned.
        self.write(move |w| {
            if w.conn.execute(sql::CLAIM_FIRST_START, params![now_ms])? == 0 {
                return Ok(None);
            }
            let (org, service) = (first.organization.id.get() as i64, first.service.id.get() as i64);
            w.conn.execute(sql::INSERT_ORGANIZATION, params![org, first.organization.name, now_ms])?;
            insert_service(w.conn, service, org, &v, now_ms)?;
            super::keys::insert_signing_key(w, &first.key, &public_jwk)?;
            let client = &first.client;
            w.conn.execute(
                &sql::INSERT_CLIENT,
                params![
                    client.client_id.get(),
                    service,
                    client.name,
                    client.alias,
                    client.entity_id,
                    grant_types
                ],
            )?;
            let credential = |principal: Principal, (hash, label): &(TokenHash, String)| {
                let (kind, owner) = sql::principal_columns(principal);
                let params = params![kind, owner, hash.as_str(), label, now_ms, None::<i64>];
                let id: i64 =
                    w.conn.prepare_cached(sql::INSERT_CREDENTIAL)?.query_row(params, |r| r.get(0))?;
                Ok::<_, StoreError>(sql::new_credential(id, principal, label, now_ms))
            };
            let credentials = FirstStartCredentials {
                service: credential(Principal::Service(first.service.id), &first.service_credential)?,
                organization: credential(
                    Principal::Organization(first.organization.id),
                    &first.organization_credential,
                )?,
            };
            hand_out(&credentials)
                .map_err(|e| StoreError::driver("handing out the first-start credentials", e))?;
            Ok(Some(credentials))
        })
        .await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let count: i64 =
            self.read(|c, _| Ok(c.query_row(sql::COUNT_ORGANIZATIONS, [], |r| r.get(0))?)).await?;
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
    ) -> StoreResult<ServiceRecord> {
        let v = sql::service_settings_params(settings)?;
        let settings = settings.clone();
        let id = ids::new_service_id().get() as i64;
        self.write(move |w| {
            insert_service(w.conn, id, organization.get() as i64, &v, now_ms)?;
            Ok(ServiceRecord { id: ServiceId(id as u64), organization_id: organization, settings })
        })
        .await
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        let organization = organization.map(|o| o.get() as i64);
        self.read(move |c, _| all(c, &sql::LIST_SERVICES, params![organization], sql::service_from_row)).await
    }

    async fn update_service(&self, id: ServiceId, settings: &ServiceSettings) -> StoreResult<bool> {
        let v = sql::service_settings_params(settings)?;
        self.write(move |w| {
            let changed = w.conn.execute(
                sql::UPDATE_SERVICE,
                params![
                    id.get() as i64,
                    v.name,
                    v.issuer,
                    v.supported_scopes,
                    v.supported_grant_types,
                    v.access_token_duration,
                    v.refresh_token_duration,
                    v.access_token_sign_alg,
                    v.custom_token_access_ttl,
                    v.custom_token_refresh_ttl,
                    v.status_list_ttl
                ],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        self.read(move |c, _| one(c, &sql::SERVICE_BY_ID, params![id], sql::service_from_row)).await
    }

    async fn delete_service_rows(&self, id: ServiceId, at_most: u32) -> StoreResult<u64> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(0) };
        self.write(move |w| {
            let mut deleted = 0;
            for statement in sql::DELETE_SERVICE_ROWS_BATCH {
                let left = u64::from(at_most) - deleted;
                if left == 0 {
                    break;
                }
                deleted += w.conn.execute(statement, params![id, left as i64])? as u64;
            }
            Ok(deleted)
        })
        .await
    }

    async fn delete_service(&self, id: ServiceId, now_ms: i64) -> StoreResult<bool> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(false) };
        self.write(move |w| {
            for statement in sql::DELETE_SERVICE_ROWS {
                w.conn.execute(statement, params![id])?;
            }
            w.conn.execute(sql::REVOKE_SERVICE_CREDENTIALS, params![id, now_ms])?;
            Ok(w.conn.execute(sql::DELETE_SERVICE, params![id])? > 0)
        })
        .await
    }
}

#[async_trait::async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        let grant_types = to_json(&client.grant_types)?;
        let client = client.clone();
        self.write(move |w| {
            w.conn.execute(
                &sql::INSERT_CLIENT,
                params![
                    client.client_id.get(),
                    client.service_id.get() as i64,
                    client.name,
                    client.alias,
                    client.entity_id,
                    grant_types
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        self.read(move |c, _| all(c, LIST_CLIENTS, params![service.get() as i64], sql::client_from_row)).await
    }

    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        self.read(move |c, _| {
            one(c, &sql::CLIENT_BY_ID, params![client_id.get(), service.get() as i64], sql::client_from_row)
        })
        .await
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
        let identifier = identifier.to_owned();
        self.read(move |c, _| {
            one(c, &sql::CLIENT_BY_ALIAS, params![identifier, service.get() as i64], sql::client_from_row)
        })
        .await
    }

    async fn delete_client(&self, service: ServiceId, client_id: ClientId, now_ms: i64) -> StoreResult<bool> {
        let service = service.get() as i64;
        self.write(move |w| {
            let deleted = w.conn.execute(
                "DELETE FROM clients WHERE service_id = ?1 AND client_id = ?2",
                params![service, client_id.get()],
            )?;
            // Only a client of this service has tokens to revoke (the savepoint makes both one
            // write).
            if deleted > 0 {
                w.conn.execute(REVOKE_CLIENT_TOKENS, params![now_ms, service, client_id.get()])?;
            }
            Ok(deleted > 0)
        })
        .await
    }

    async fn update_client(&self, client: &ClientRecord) -> StoreResult<bool> {
        let grant_types = to_json(&client.grant_types)?;
        let c = client.clone();
        self.write(move |w| {
            let params = params![
                c.client_id.get(),
                c.service_id.get() as i64,
                c.name,
                c.alias,
                c.entity_id,
                grant_types
            ];
            Ok(w.conn.execute(sql::UPDATE_CLIENT, params)? > 0)
        })
        .await
    }

    async fn clients_of_subject(
        &self,
        service: ServiceId,
        subject: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<ClientRecord>> {
        let subject = subject.to_owned();
        self.read(move |c, _| {
            all(
                c,
                &sql::CLIENTS_OF_SUBJECT,
                params![service.get() as i64, subject, now_ms],
                sql::client_from_row,
            )
        })
        .await
    }
}
