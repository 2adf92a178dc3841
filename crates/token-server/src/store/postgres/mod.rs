//! The PostgreSQL backend: N stateless server instances on one database. tokio-postgres with a
//! deadpool pool (async end to end, no blocking pool), versioned migrations applied under an
//! advisory lock so that instances starting together never migrate twice. Single use and rotation
//! are decided by row locks and unique constraints in the database, never by in-process state, so
//! they hold across instances.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use rand::Rng;
use token_core::grant::GrantType;
use token_core::jwks::SignAlg;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::*;
use crate::key_encryption::KeyEncryption;

/// The schema, in order; `schema_migrations` records what was applied.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "0001_initial", include_str!("migrations/0001_initial.sql")),
    (2, "0002_first_start", include_str!("migrations/0002_first_start.sql")),
    (3, "0003_purge_index", include_str!("migrations/0003_purge_index.sql")),
    (4, "0004_client_index", include_str!("migrations/0004_client_index.sql")),
];

/// Advisory-lock key serialising migrations (and the first-start bootstrap) across instances.
pub const MIGRATION_LOCK: i64 = 0x746f_6b65_6e73_7276; // "tokensrv"
/// Advisory-lock key of the janitor: one instance's batch at a time.
pub const JANITOR_LOCK: i64 = 0x6a61_6e69_746f_7221; // "janitor!"

const TOKEN_COLUMNS: &str = "token_id, service_id, access_hash, refresh_hash, client_id, subject, grant_type, \
    scopes, refresh_scopes, created_at, access_expires_at, refresh_expires_at, last_refreshed_at, properties, \
    certificate_thumbprint, dpop_key_thumbprint, token_type, authorization_details, resources, acr, auth_time, \
    session_id, client_identifier, for_external_attachment, jwt_kid, extra, revoked_at";
const INSERT_TOKEN: &str = "INSERT INTO tokens (token_id, service_id, access_hash, refresh_hash, client_id, subject, \
    grant_type, scopes, refresh_scopes, created_at, access_expires_at, refresh_expires_at, last_refreshed_at, \
    properties, certificate_thumbprint, dpop_key_thumbprint, token_type, authorization_details, resources, acr, \
    auth_time, session_id, client_identifier, for_external_attachment, jwt_kid, extra, revoked_at) VALUES \
    ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27)";
const SERVICE_COLUMNS: &str = "id, organization_id, name, issuer, supported_scopes, supported_grant_types, \
    access_token_duration, refresh_token_duration, access_token_sign_alg, custom_token_access_ttl, \
    custom_token_refresh_ttl";
const CLIENT_COLUMNS: &str = "client_id, service_id, name, alias, entity_id, grant_types";
const KEY_COLUMNS: &str =
    "kid, service_id, alg, private_der, public_jwk, created_at, retired_at, revoked_at, kek_id";
const CREDENTIAL_COLUMNS: &str =
    "id, kind, owner_id, label, created_at, expires_at, revoked_at, last_used_at, hash";

/// Pool size and timeouts.
#[derive(Clone, Copy, Debug)]
pub struct PostgresOptions {
    pub pool_size: usize,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    keys: KeyEncryption,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("pool", &self.pool.status()).field("keys", &self.keys).finish()
    }
}

fn pg_error(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error()
        && *db.code() == SqlState::UNIQUE_VIOLATION
    {
        return StoreError::Conflict(match db.constraint().unwrap_or("") {
            "tokens_access_hash" | "tokens_refresh_hash" => ConflictKind::TokenValue,
            "tokens_token_id" => ConflictKind::TokenId,
            "clients_service_alias" => ConflictKind::ClientAlias,
            "clients_pkey" => ConflictKind::ClientId,
            "credentials_hash" => ConflictKind::CredentialHash,
            "signing_keys_pkey" => ConflictKind::SigningKey,
            "organizations_pkey" | "services_pkey" => ConflictKind::Id,
            _ => ConflictKind::Other,
        });
    }
    // Never the connection string: the server's message, or the client error.
    let context = match e.as_db_error() {
        Some(db) => format!("postgres ({})", db.code().code()),
        None => "postgres".to_owned(),
    };
    StoreError::driver(context, e)
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::driver("postgres pool", e)
}

fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(text)?)
}

fn hash(text: String) -> StoreResult<TokenHash> {
    TokenHash::from_encoded(&text).ok_or_else(|| StoreError::Backend("malformed stored hash".into()))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, column: &str) -> StoreResult<T> {
    row.try_get(column).map_err(|e| StoreError::driver(format!("column {column}"), e))
}

fn service_from_row(row: &Row) -> StoreResult<ServiceRecord> {
    let alg: Option<String> = get(row, "access_token_sign_alg")?;
    Ok(ServiceRecord {
        id: ServiceId(get::<i64>(row, "id")? as u64),
        organization_id: OrganizationId(get::<i64>(row, "organization_id")? as u64),
        settings: ServiceSettings {
            name: get(row, "name")?,
            issuer: get(row, "issuer")?,
            supported_scopes: from_json(&get::<String>(row, "supported_scopes")?)?,
            supported_grant_types: from_json(&get::<String>(row, "supported_grant_types")?)?,
            access_token_duration: get(row, "access_token_duration")?,
            refresh_token_duration: get(row, "refresh_token_duration")?,
            access_token_sign_alg: alg.and_then(|a| SignAlg::parse(&a)),
            custom_token_access_ttl: get(row, "custom_token_access_ttl")?,
            custom_token_refresh_ttl: get(row, "custom_token_refresh_ttl")?,
        },
    })
}

fn client_from_row(row: &Row) -> StoreResult<ClientRecord> {
    Ok(ClientRecord {
        client_id: ClientId(get(row, "client_id")?),
        service_id: ServiceId(get::<i64>(row, "service_id")? as u64),
        name: get(row, "name")?,
        alias: get(row, "alias")?,
        entity_id: get(row, "entity_id")?,
        grant_types: from_json(&get::<String>(row, "grant_types")?)?,
    })
}

fn credential_from_row(row: &Row) -> StoreResult<StoredCredential> {
    let kind: String = get(row, "kind")?;
    let owner = get::<i64>(row, "owner_id")? as u64;
    Ok(StoredCredential {
        hash: hash(get(row, "hash")?)?,
        record: CredentialRecord {
            id: get(row, "id")?,
            principal: if kind == "service" {
                Principal::Service(ServiceId(owner))
            } else {
                Principal::Organization(OrganizationId(owner))
            },
            label: get(row, "label")?,
            created_at: get(row, "created_at")?,
            expires_at: get(row, "expires_at")?,
            revoked_at: get(row, "revoked_at")?,
            last_used_at: get(row, "last_used_at")?,
        },
    })
}

fn token_from_row(row: &Row) -> StoreResult<TokenRecord> {
    let opt_json = |column: &str| -> StoreResult<Option<serde_json::Value>> {
        get::<Option<String>>(row, column)?.map(|t| from_json(&t)).transpose()
    };
    let grant: String = get(row, "grant_type")?;
    Ok(TokenRecord {
        token_id: get(row, "token_id")?,
        service_id: ServiceId(get::<i64>(row, "service_id")? as u64),
        access_hash: hash(get(row, "access_hash")?)?,
        refresh_hash: get::<Option<String>>(row, "refresh_hash")?.map(hash).transpose()?,
        client_id: ClientId(get(row, "client_id")?),
        subject: get(row, "subject")?,
        grant_type: GrantType::parse(&grant)
            .ok_or_else(|| StoreError::Backend(format!("unknown grant type {grant}")))?,
        scopes: from_json(&get::<String>(row, "scopes")?)?,
        refresh_scopes: get::<Option<String>>(row, "refresh_scopes")?.map(|t| from_json(&t)).transpose()?,
        created_at: get(row, "created_at")?,
        access_expires_at: get(row, "access_expires_at")?,
        refresh_expires_at: get(row, "refresh_expires_at")?,
        last_refreshed_at: get(row, "last_refreshed_at")?,
        properties: from_json(&get::<String>(row, "properties")?)?,
        certificate_thumbprint: get(row, "certificate_thumbprint")?,
        dpop_key_thumbprint: get(row, "dpop_key_thumbprint")?,
        token_type: get(row, "token_type")?,
        authorization_details: opt_json("authorization_details")?,
        resources: from_json(&get::<String>(row, "resources")?)?,
        acr: get(row, "acr")?,
        auth_time: get(row, "auth_time")?,
        session_id: get(row, "session_id")?,
        client_identifier: get(row, "client_identifier")?,
        for_external_attachment: get(row, "for_external_attachment")?,
        jwt_kid: get(row, "jwt_kid")?,
        extra: from_json(&get::<String>(row, "extra")?)?,
        revoked_at: get(row, "revoked_at")?,
    })
}

/// The 27 values of [`INSERT_TOKEN`], owned.
struct TokenValues {
    token_id: String,
    service_id: i64,
    access_hash: String,
    refresh_hash: Option<String>,
    client_id: i64,
    subject: Option<String>,
    grant_type: String,
    scopes: String,
    refresh_scopes: Option<String>,
    created_at: i64,
    access_expires_at: i64,
    refresh_expires_at: Option<i64>,
    last_refreshed_at: i64,
    properties: String,
    certificate_thumbprint: Option<String>,
    dpop_key_thumbprint: Option<String>,
    token_type: String,
    authorization_details: Option<String>,
    resources: String,
    acr: Option<String>,
    auth_time: Option<i64>,
    session_id: Option<String>,
    client_identifier: Option<String>,
    for_external_attachment: Option<bool>,
    jwt_kid: Option<String>,
    extra: String,
    revoked_at: Option<i64>,
}

impl TokenValues {
    fn of(t: &TokenRecord) -> StoreResult<Self> {
        Ok(Self {
            token_id: t.token_id.clone(),
            service_id: t.service_id.get() as i64,
            access_hash: t.access_hash.to_string(),
            refresh_hash: t.refresh_hash.as_ref().map(ToString::to_string),
            client_id: t.client_id.get(),
            subject: t.subject.clone(),
            grant_type: t.grant_type.as_str().to_owned(),
            scopes: json(&t.scopes)?,
            refresh_scopes: t.refresh_scopes.as_ref().map(json).transpose()?,
            created_at: t.created_at,
            access_expires_at: t.access_expires_at,
            refresh_expires_at: t.refresh_expires_at,
            last_refreshed_at: t.last_refreshed_at,
            properties: json(&t.properties)?,
            certificate_thumbprint: t.certificate_thumbprint.clone(),
            dpop_key_thumbprint: t.dpop_key_thumbprint.clone(),
            token_type: t.token_type.clone(),
            authorization_details: t.authorization_details.as_ref().map(json).transpose()?,
            resources: json(&t.resources)?,
            acr: t.acr.clone(),
            auth_time: t.auth_time,
            session_id: t.session_id.clone(),
            client_identifier: t.client_identifier.clone(),
            for_external_attachment: t.for_external_attachment,
            jwt_kid: t.jwt_kid.clone(),
            extra: json(&t.extra)?,
            revoked_at: t.revoked_at,
        })
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 27] {
        [
            &self.token_id,
            &self.service_id,
            &self.access_hash,
            &self.refresh_hash,
            &self.client_id,
            &self.subject,
            &self.grant_type,
            &self.scopes,
            &self.refresh_scopes,
            &self.created_at,
            &self.access_expires_at,
            &self.refresh_expires_at,
            &self.last_refreshed_at,
            &self.properties,
            &self.certificate_thumbprint,
            &self.dpop_key_thumbprint,
            &self.token_type,
            &self.authorization_details,
            &self.resources,
            &self.acr,
            &self.auth_time,
            &self.session_id,
            &self.client_identifier,
            &self.for_external_attachment,
            &self.jwt_kid,
            &self.extra,
            &self.revoked_at,
        ]
    }
}

fn sid(service: ServiceId) -> i64 {
    service.get() as i64
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`), applies pending migrations under the advisory lock and
    /// re-seals private keys not sealed under the current key-encryption key.
    pub async fn connect(url: &str, options: PostgresOptions, keys: KeyEncryption) -> StoreResult<Self> {
        Self::connect_with_search_path(url, None, options, keys).await
    }

    /// As [`connect`](Self::connect), with every connection's `search_path` set to `schema` (tests
    /// use one schema each, so parallel runs never collide).
    pub async fn connect_with_search_path(
        url: &str,
        schema: Option<&str>,
        options: PostgresOptions,
        keys: KeyEncryption,
    ) -> StoreResult<Self> {
        let mut pg = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::driver("the database URL is not valid", e))?;
        pg.connect_timeout(options.connect_timeout);
        // Keep what the URL's own `options` says (e.g. a search_path), then add ours.
        let mut settings = pg.get_options().map(|o| format!("{o} ")).unwrap_or_default();
        settings.push_str(&format!("-c statement_timeout={}", options.statement_timeout.as_millis()));
        if let Some(schema) = schema {
            settings.push_str(&format!(" -c search_path={schema}"));
        }
        pg.options(&settings);
        let manager =
            Manager::from_config(pg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::driver("postgres pool", e))?;
        let store = Self { pool, keys };
        store.migrate().await?;
        store.reseal_keys().await?;
        Ok(store)
    }

    async fn conn(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Applies pending migrations, at most one instance at a time; returns their names.
    pub async fn migrate(&self) -> StoreResult<Vec<&'static str>> {
        let mut client = self.conn().await?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg_error)?;
        let outcome = async {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL)",
                )
                .await
                .map_err(pg_error)?;
            let row = client
                .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
                .await
                .map_err(pg_error)?;
            let current: i32 = row.get(0);
            let mut applied = Vec::new();
            for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
                let tx = client.transaction().await.map_err(pg_error)?;
                tx.batch_execute(sql).await.map_err(|e| StoreError::driver(format!("migration {name}"), e))?;
                tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name])
                    .await
                    .map_err(pg_error)?;
                tx.commit().await.map_err(pg_error)?;
                applied.push(*name);
            }
            Ok(applied)
        }
        .await;
        let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
        outcome
    }

    async fn reseal_keys(&self) -> StoreResult<()> {
        let client = self.conn().await?;
        let rows =
            client.query("SELECT kid, private_der, kek_id FROM signing_keys", &[]).await.map_err(pg_error)?;
        for row in rows {
            let (kid, stored, kek_id): (String, Vec<u8>, Option<String>) =
                (row.get(0), row.get(1), row.get(2));
            let plain = self
                .keys
                .open(&kid, &stored, kek_id.as_deref())
                .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
            if self.keys.is_enabled() && kek_id.as_deref() != self.keys.current_id() {
                let (sealed, id) = self
                    .keys
                    .seal(&kid, &plain)
                    .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
                client
                    .execute(
                        "UPDATE signing_keys SET private_der = $1, kek_id = $2 WHERE kid = $3",
                        &[&sealed, &id, &kid],
                    )
                    .await
                    .map_err(pg_error)?;
            }
        }
        Ok(())
    }

    fn key_from_row(&self, row: &Row) -> StoreResult<SigningKeyRecord> {
        let kid: String = get(row, "kid")?;
        let alg: String = get(row, "alg")?;
        let stored: Vec<u8> = get(row, "private_der")?;
        let kek_id: Option<String> = get(row, "kek_id")?;
        let private = self
            .keys
            .open(&kid, &stored, kek_id.as_deref())
            .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
        Ok(SigningKeyRecord {
            service_id: ServiceId(get::<i64>(row, "service_id")? as u64),
            alg: SignAlg::parse(&alg).ok_or_else(|| StoreError::Backend(format!("unknown alg {alg}")))?,
            private_der: PrivateKeyDer(private),
            public_jwk: from_json(&get::<String>(row, "public_jwk")?)?,
            created_at: get(row, "created_at")?,
            retired_at: get(row, "retired_at")?,
            revoked_at: get(row, "revoked_at")?,
            kid,
        })
    }

    async fn keys_where(
        &self,
        condition: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let client = self.conn().await?;
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys WHERE {condition} \
             ORDER BY retired_at IS NOT NULL, created_at DESC"
        );
        let statement = client.prepare_cached(&sql).await.map_err(pg_error)?;
        let rows = client.query(&statement, params).await.map_err(pg_error)?;
        rows.iter().map(|r| self.key_from_row(r)).collect()
    }
}

/// Revokes the token whose rotated-away refresh hash is `hash`; `true` when there was one.
async fn revoke_family(
    tx: &deadpool_postgres::Transaction<'_>,
    service: i64,
    hash: &TokenHash,
    now_ms: i64,
) -> StoreResult<bool> {
    let family = tx
        .query_opt(
            "SELECT token_id FROM rotated_refresh_tokens WHERE hash = $1 AND service_id = $2",
            &[&hash.as_str(), &service],
        )
        .await
        .map_err(pg_error)?;
    let Some(row) = family else { return Ok(false) };
    let token_id: String = row.get(0);
    tx.execute(
        "UPDATE tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL",
        &[&now_ms, &token_id],
    )
    .await
    .map_err(pg_error)?;
    Ok(true)
}

async fn select_token(
    client: &impl GenericClient,
    column: &str,
    service: ServiceId,
    hash: &TokenHash,
    lock: bool,
) -> StoreResult<Option<TokenRecord>> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {column} = $1 AND service_id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let statement = client.prepare_cached(&sql).await.map_err(pg_error)?;
    let row = client.query_opt(&statement, &[&hash.as_str(), &sid(service)]).await.map_err(pg_error)?;
    row.as_ref().map(token_from_row).transpose()
}

#[async_trait::async_trait]
impl OrganizationStore for PostgresStore {
    async fn create_organization(&self, name: &str, now_ms: i64) -> StoreResult<OrganizationRecord> {
        let id: i64 = rand::thread_rng().gen_range(1_000..1_000_000_000);
        self.conn()
            .await?
            .execute(
                "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)",
                &[&id, &name, &now_ms],
            )
            .await
            .map_err(pg_error)?;
        Ok(OrganizationRecord { id: OrganizationId(id as u64), name: name.to_owned(), created_at: now_ms })
    }

    async fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>> {
        let rows = self
            .conn()
            .await?
            .query("SELECT id, name, created_at FROM organizations ORDER BY created_at, id", &[])
            .await
            .map_err(pg_error)?;
        Ok(rows
            .iter()
            .map(|r| OrganizationRecord {
                id: OrganizationId(r.get::<_, i64>(0) as u64),
                name: r.get(1),
                created_at: r.get(2),
            })
            .collect())
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        let row = self
            .conn()
            .await?
            .query_opt("SELECT id, name, created_at FROM organizations WHERE id = $1", &[&id])
            .await
            .map_err(pg_error)?;
        Ok(row.map(|r| OrganizationRecord {
            id: OrganizationId(r.get::<_, i64>(0) as u64),
            name: r.get(1),
            created_at: r.get(2),
        }))
    }

    async fn claim_first_start(&self, now_ms: i64) -> StoreResult<bool> {
        let inserted = self
            .conn()
            .await?
            .execute(
                "INSERT INTO first_start (id, claimed_at) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                &[&now_ms],
            )
            .await
            .map_err(pg_error)?;
        Ok(inserted == 1)
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let row = self
            .conn()
            .await?
            .query_one("SELECT COUNT(*) FROM organizations", &[])
            .await
            .map_err(pg_error)?;
        Ok(row.get::<_, i64>(0) == 0)
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
        let id: i64 = rand::thread_rng().gen_range(100_000_000..10_000_000_000);
        let sql = format!(
            "INSERT INTO services ({SERVICE_COLUMNS}, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"
        );
        self.conn()
            .await?
            .execute(
                &sql,
                &[
                    &id,
                    &(organization.get() as i64),
                    &settings.name,
                    &settings.issuer,
                    &json(&settings.supported_scopes)?,
                    &json(&settings.supported_grant_types)?,
                    &settings.access_token_duration,
                    &settings.refresh_token_duration,
                    &settings.access_token_sign_alg.map(SignAlg::as_str),
                    &settings.custom_token_access_ttl,
                    &settings.custom_token_refresh_ttl,
                    &now_ms,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(ServiceRecord {
            id: ServiceId(id as u64),
            organization_id: organization,
            settings: settings.clone(),
        })
    }

    async fn list_services(&self, organization: Option<OrganizationId>) -> StoreResult<Vec<ServiceRecord>> {
        let org = organization.map(|o| o.get() as i64);
        let sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM services WHERE $1::BIGINT IS NULL OR organization_id = $1 ORDER BY created_at, id"
        );
        let rows = self.conn().await?.query(&sql, &[&org]).await.map_err(pg_error)?;
        rows.iter().map(service_from_row).collect()
    }

    async fn service(&self, id: ServiceId) -> StoreResult<Option<ServiceRecord>> {
        let Ok(id) = i64::try_from(id.get()) else { return Ok(None) };
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1");
        let client = self.conn().await?;
        let statement = client.prepare_cached(&sql).await.map_err(pg_error)?;
        let row = client.query_opt(&statement, &[&id]).await.map_err(pg_error)?;
        row.as_ref().map(service_from_row).transpose()
    }

    async fn update_service(&self, id: ServiceId, settings: &ServiceSettings) -> StoreResult<bool> {
        let changed = self
            .conn()
            .await?
            .execute(
                "UPDATE services SET name = $2, issuer = $3, supported_scopes = $4, supported_grant_types = $5, \
                 access_token_duration = $6, refresh_token_duration = $7, access_token_sign_alg = $8, \
                 custom_token_access_ttl = $9, custom_token_refresh_ttl = $10 WHERE id = $1",
                &[
                    &sid(id),
                    &settings.name,
                    &settings.issuer,
                    &json(&settings.supported_scopes)?,
                    &json(&settings.supported_grant_types)?,
                    &settings.access_token_duration,
                    &settings.refresh_token_duration,
                    &settings.access_token_sign_alg.map(SignAlg::as_str),
                    &settings.custom_token_access_ttl,
                    &settings.custom_token_refresh_ttl,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(changed > 0)
    }
}

#[async_trait::async_trait]
impl ClientStore for PostgresStore {
    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        self.conn()
            .await?
            .execute(
                "INSERT INTO clients (client_id, service_id, name, alias, entity_id, grant_types) VALUES ($1,$2,$3,$4,$5,$6)",
                &[
                    &client.client_id.get(),
                    &sid(client.service_id),
                    &client.name,
                    &client.alias,
                    &client.entity_id,
                    &json(&client.grant_types)?,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn list_clients(&self, service: ServiceId) -> StoreResult<Vec<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE service_id = $1 ORDER BY seq");
        let rows = self.conn().await?.query(&sql, &[&sid(service)]).await.map_err(pg_error)?;
        rows.iter().map(client_from_row).collect()
    }

    async fn client(&self, service: ServiceId, client_id: ClientId) -> StoreResult<Option<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1 AND service_id = $2");
        let row =
            self.conn().await?.query_opt(&sql, &[&client_id.get(), &sid(service)]).await.map_err(pg_error)?;
        row.as_ref().map(client_from_row).transpose()
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
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE alias = $1 AND service_id = $2");
        let row =
            self.conn().await?.query_opt(&sql, &[&identifier, &sid(service)]).await.map_err(pg_error)?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn delete_client(&self, service: ServiceId, client_id: ClientId, now_ms: i64) -> StoreResult<bool> {
        // One statement: the client is deleted and, only if it existed here, its tokens revoked.
        let row = self
            .conn()
            .await?
            .query_one(
                "WITH deleted AS (DELETE FROM clients WHERE service_id = $1 AND client_id = $2 RETURNING 1), \
                 revoked AS (UPDATE tokens SET revoked_at = $3 \
                   WHERE service_id = $1 AND client_id = $2 AND revoked_at IS NULL \
                   AND EXISTS (SELECT 1 FROM deleted) RETURNING 1) \
                 SELECT (SELECT COUNT(*) FROM deleted), (SELECT COUNT(*) FROM revoked)",
                &[&sid(service), &client_id.get(), &now_ms],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    async fn set_client_grant_types(
        &self,
        service: ServiceId,
        client_id: ClientId,
        grant_types: &[GrantType],
    ) -> StoreResult<bool> {
        let changed = self
            .conn()
            .await?
            .execute(
                "UPDATE clients SET grant_types = $1 WHERE client_id = $2 AND service_id = $3",
                &[&json(&grant_types)?, &client_id.get(), &sid(service)],
            )
            .await
            .map_err(pg_error)?;
        Ok(changed > 0)
    }
}

#[async_trait::async_trait]
impl CredentialStore for PostgresStore {
    async fn create_credential(
        &self,
        principal: Principal,
        hash: &TokenHash,
        label: &str,
        now_ms: i64,
        expires_at: Option<i64>,
    ) -> StoreResult<CredentialRecord> {
        let (kind, owner) = match principal {
            Principal::Service(id) => ("service", id.get() as i64),
            Principal::Organization(id) => ("organization", id.get() as i64),
        };
        let row = self
            .conn()
            .await?
            .query_one(
                "INSERT INTO credentials (kind, owner_id, hash, label, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&kind, &owner, &hash.as_str(), &label, &now_ms, &expires_at],
            )
            .await
            .map_err(pg_error)?;
        Ok(CredentialRecord {
            id: row.get(0),
            principal,
            label: label.to_owned(),
            created_at: now_ms,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        })
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY id");
        let rows = self.conn().await?.query(&sql, &[]).await.map_err(pg_error)?;
        rows.iter().map(|r| credential_from_row(r).map(|c| c.record)).collect()
    }

    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
        // One query: the credential, and the service only when there is a credential.
        let sql = format!(
            "SELECT {cred}, s.id AS s_id, s.organization_id, s.name AS s_name, s.issuer, s.supported_scopes, \
             s.supported_grant_types, s.access_token_duration, s.refresh_token_duration, s.access_token_sign_alg, \
             s.custom_token_access_ttl, s.custom_token_refresh_ttl \
             FROM credentials c LEFT JOIN services s ON s.id = $2 WHERE c.hash = $1",
            cred = "c.id, c.kind, c.owner_id, c.label, c.created_at, c.expires_at, c.revoked_at, c.last_used_at, c.hash"
        );
        let client = self.conn().await?;
        let statement = client.prepare_cached(&sql).await.map_err(pg_error)?;
        let wanted = service.and_then(|s| i64::try_from(s.get()).ok());
        let Some(row) = client.query_opt(&statement, &[&hash.as_str(), &wanted]).await.map_err(pg_error)?
        else {
            return Ok((None, None));
        };
        let credential = credential_from_row(&row)?;
        let service = match get::<Option<i64>>(&row, "s_id")? {
            None => None,
            Some(id) => {
                let alg: Option<String> = get(&row, "access_token_sign_alg")?;
                Some(ServiceRecord {
                    id: ServiceId(id as u64),
                    organization_id: OrganizationId(get::<i64>(&row, "organization_id")? as u64),
                    settings: ServiceSettings {
                        name: get(&row, "s_name")?,
                        issuer: get(&row, "issuer")?,
                        supported_scopes: from_json(&get::<String>(&row, "supported_scopes")?)?,
                        supported_grant_types: from_json(&get::<String>(&row, "supported_grant_types")?)?,
                        access_token_duration: get(&row, "access_token_duration")?,
                        refresh_token_duration: get(&row, "refresh_token_duration")?,
                        access_token_sign_alg: alg.and_then(|a| SignAlg::parse(&a)),
                        custom_token_access_ttl: get(&row, "custom_token_access_ttl")?,
                        custom_token_refresh_ttl: get(&row, "custom_token_refresh_ttl")?,
                    },
                })
            }
        };
        Ok((Some(credential), service))
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        let changed = self
            .conn()
            .await?
            .execute(
                "UPDATE credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[&now_ms, &id],
            )
            .await
            .map_err(pg_error)?;
        Ok(changed > 0)
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.conn()
            .await?
            .execute("UPDATE credentials SET last_used_at = $1 WHERE id = $2", &[&now_ms, &id])
            .await
            .map_err(pg_error)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl KeyStore for PostgresStore {
    async fn add_signing_key(&self, key: &SigningKeyRecord, grace_ms: i64) -> StoreResult<()> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let service = sid(key.service_id);
        // Rotations of one service, from any instance, one at a time.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&service]).await.map_err(pg_error)?;
        tx.execute(
            "UPDATE signing_keys SET retired_at = $1, published_until = GREATEST($1::BIGINT + $3::BIGINT, COALESCE(( \
                SELECT MAX(CASE WHEN t.access_expires_at = 0 THEN 9223372036854775807 ELSE t.access_expires_at END) \
                FROM tokens t WHERE t.jwt_kid = signing_keys.kid AND t.revoked_at IS NULL), 0)) \
             WHERE service_id = $2 AND retired_at IS NULL",
            &[&key.created_at, &service, &grace_ms],
        )
        .await
        .map_err(pg_error)?;
        let (sealed, kek_id) = self
            .keys
            .seal(&key.kid, &key.private_der.0)
            .map_err(|e| StoreError::driver(format!("signing key {}", key.kid), e))?;
        tx.execute(
            "INSERT INTO signing_keys (kid, service_id, alg, private_der, public_jwk, created_at, kek_id) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
            &[
                &key.kid,
                &service,
                &key.alg.as_str(),
                &sealed,
                &json(&key.public_jwk)?,
                &key.created_at,
                &kek_id,
            ],
        )
        .await
        .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)
    }

    async fn current_signing_key(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        let keys = self
            .keys_where("service_id = $1 AND retired_at IS NULL AND revoked_at IS NULL", &[&sid(service)])
            .await?;
        Ok(keys.into_iter().next())
    }

    async fn published_signing_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.keys_where(
            "service_id = $1 AND revoked_at IS NULL AND (retired_at IS NULL OR published_until > $2)",
            &[&sid(service), &now_ms],
        )
        .await
    }

    async fn verification_keys(
        &self,
        service: ServiceId,
        now_ms: i64,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.keys_where(
            "service_id = $1 AND revoked_at IS NULL AND (retired_at IS NULL OR retired_at >= $2::BIGINT - $3::BIGINT)",
            &[&sid(service), &now_ms, &max_retired_ms],
        )
        .await
    }

    async fn revoke_signing_key(&self, service: ServiceId, kid: &str, now_ms: i64) -> StoreResult<bool> {
        let changed = self
            .conn()
            .await?
            .execute(
                "UPDATE signing_keys SET revoked_at = $1, retired_at = COALESCE(retired_at, $1) \
                 WHERE service_id = $2 AND kid = $3 AND revoked_at IS NULL",
                &[&now_ms, &sid(service), &kid],
            )
            .await
            .map_err(pg_error)?;
        Ok(changed > 0)
    }
}

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let values = TokenValues::of(token)?;
        let client = self.conn().await?;
        let statement = client.prepare_cached(INSERT_TOKEN).await.map_err(pg_error)?;
        client.execute(&statement, &values.params()).await.map_err(pg_error)?;
        Ok(())
    }

    async fn token_by_access_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        select_token(&self.conn().await?, "access_hash", service, hash, false).await
    }

    async fn token_by_refresh_hash(
        &self,
        service: ServiceId,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRecord>> {
        select_token(&self.conn().await?, "refresh_hash", service, hash, false).await
    }

    async fn list_tokens(
        &self,
        service: ServiceId,
        filter: &TokenFilter,
        start: u32,
        end: u32,
    ) -> StoreResult<(u64, Vec<TokenRecord>)> {
        let client = self.conn().await?;
        let condition = filter.condition(|n| format!("${n}"));
        let service = sid(service);
        let client_id = filter.client_id.map(ClientId::get);
        let mut values: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&service];
        if let Some(client_id) = &client_id {
            values.push(client_id);
        }
        if let Some(subject) = &filter.subject {
            values.push(subject);
        }
        let total: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM tokens WHERE {condition}"), &values)
            .await
            .map_err(pg_error)?
            .get(0);
        let limit = i64::from(end.saturating_sub(start));
        let offset = i64::from(start);
        let used = values.len();
        values.extend([&limit as &(dyn tokio_postgres::types::ToSql + Sync), &offset]);
        let rows = client
            .query(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {condition} ORDER BY id DESC LIMIT ${} OFFSET ${}",
                    used + 1,
                    used + 2
                ),
                &values,
            )
            .await
            .map_err(pg_error)?;
        Ok((total as u64, rows.iter().map(token_from_row).collect::<StoreResult<_>>()?))
    }

    async fn update_token(
        &self,
        service: ServiceId,
        access_hash: &TokenHash,
        changes: &TokenChanges,
    ) -> StoreResult<Option<TokenRecord>> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let Some(mut token) = select_token(&tx, "access_hash", service, access_hash, true).await? else {
            return Ok(None);
        };
        changes.apply(&mut token);
        // Only what an update may change; never `revoked_at` (the row is locked, so no revocation
        // commits in between and none is undone).
        tx.execute(
            "UPDATE tokens SET access_hash = $1, access_expires_at = $2, refresh_expires_at = $3, scopes = $4, \
             properties = $5, certificate_thumbprint = $6, dpop_key_thumbprint = $7, token_type = $8, \
             authorization_details = $9 WHERE token_id = $10 AND service_id = $11",
            &[
                &token.access_hash.as_str(),
                &token.access_expires_at,
                &token.refresh_expires_at,
                &json(&token.scopes)?,
                &json(&token.properties)?,
                &token.certificate_thumbprint,
                &token.dpop_key_thumbprint,
                &token.token_type,
                &token.authorization_details.as_ref().map(json).transpose()?,
                &token.token_id,
                &sid(service),
            ],
        )
        .await
        .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Some(token))
    }

    async fn delete_token(&self, service: ServiceId, access_hash: &TokenHash) -> StoreResult<bool> {
        // The token and its rotation records in one statement.
        let row = self
            .conn()
            .await?
            .query_one(
                "WITH gone AS (DELETE FROM tokens WHERE access_hash = $1 AND service_id = $2 RETURNING token_id), \
                 rotated AS (DELETE FROM rotated_refresh_tokens r USING gone g WHERE r.token_id = g.token_id) \
                 SELECT count(*) FROM gone",
                &[&access_hash.as_str(), &sid(service)],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    async fn revoke(&self, service: ServiceId, target: &RevokeTarget, now_ms: i64) -> StoreResult<u64> {
        let client = self.conn().await?;
        let service = sid(service);
        let changed = match target {
            RevokeTarget::AccessHash(hash) => {
                client
                    .execute(
                        "UPDATE tokens SET revoked_at = $1 WHERE service_id = $2 AND access_hash = $3 AND revoked_at IS NULL",
                        &[&now_ms, &service, &hash.as_str()],
                    )
                    .await
            }
            RevokeTarget::RefreshHash(hash) => {
                client
                    .execute(
                        "UPDATE tokens SET revoked_at = $1 WHERE service_id = $2 AND refresh_hash = $3 AND revoked_at IS NULL",
                        &[&now_ms, &service, &hash.as_str()],
                    )
                    .await
            }
            RevokeTarget::ClientSubject { client_id, subject } => {
                client
                    .execute(
                        "UPDATE tokens SET revoked_at = $1 WHERE service_id = $2 AND client_id = $3 \
                         AND ($4::TEXT IS NULL OR subject = $4) AND revoked_at IS NULL",
                        &[&now_ms, &service, &client_id.get(), subject],
                    )
                    .await
            }
        };
        changed.map_err(pg_error)
    }

    async fn rotate_refresh(
        &self,
        service: ServiceId,
        old_refresh_hash: &TokenHash,
        rotation: &Rotation,
    ) -> StoreResult<RefreshOutcome> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // The row lock makes concurrent rotations (from any instance) single-winner: the others
        // find the value rotated away, which is reuse.
        let Some(mut token) = select_token(&tx, "refresh_hash", service, old_refresh_hash, true).await?
        else {
            let reused = revoke_family(&tx, sid(service), old_refresh_hash, rotation.now_ms).await?;
            tx.commit().await.map_err(pg_error)?;
            return Ok(if reused { RefreshOutcome::Reused } else { RefreshOutcome::Invalid });
        };
        if !token.is_refreshable(rotation.now_ms) {
            return Ok(RefreshOutcome::Invalid);
        }
        tx.execute(
            "INSERT INTO rotated_refresh_tokens (hash, service_id, token_id, rotated_at) VALUES ($1, $2, $3, $4)",
            &[&old_refresh_hash.as_str(), &sid(service), &token.token_id, &rotation.now_ms],
        )
        .await
        .map_err(pg_error)?;
        tx.execute(
            "UPDATE tokens SET access_hash = $1, refresh_hash = $2, access_expires_at = $3, refresh_expires_at = $4, \
             last_refreshed_at = $5, jwt_kid = $6 WHERE token_id = $7",
            &[
                &rotation.new_access_hash.as_str(),
                &rotation.new_refresh_hash.as_str(),
                &rotation.access_expires_at,
                &rotation.refresh_expires_at,
                &rotation.now_ms,
                &rotation.jwt_kid,
                &token.token_id,
            ],
        )
        .await
        .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
        token.access_hash = rotation.new_access_hash.clone();
        token.refresh_hash = Some(rotation.new_refresh_hash.clone());
        token.access_expires_at = rotation.access_expires_at;
        token.refresh_expires_at = Some(rotation.refresh_expires_at);
        token.last_refreshed_at = rotation.now_ms;
        token.jwt_kid = rotation.jwt_kid.clone();
        Ok(RefreshOutcome::Rotated(Box::new(token)))
    }

    async fn revoke_reused_refresh(
        &self,
        service: ServiceId,
        refresh_hash: &TokenHash,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let reused = revoke_family(&tx, sid(service), refresh_hash, now_ms).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(reused)
    }
}

#[async_trait::async_trait]
impl CustomTokenStore for PostgresStore {
    async fn redeem_custom_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
        token: &TokenRecord,
    ) -> StoreResult<bool> {
        let values = TokenValues::of(token)?;
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // Expired jtis are left to the janitor (bounded batches), never pruned here.
        // Concurrent redemptions of one jti (from any instance) wait on the primary key; the loser
        // inserts nothing.
        let inserted = tx
            .execute(
                "INSERT INTO custom_token_uses (jti, service_id, token_id, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (jti) DO NOTHING",
                &[&jti, &sid(token.service_id), &token.token_id, &expires_at_ms],
            )
            .await
            .map_err(pg_error)?;
        if inserted == 0 {
            return Ok(false);
        }
        tx.execute(INSERT_TOKEN, &values.params()).await.map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
        Ok(true)
    }
}

#[async_trait::async_trait]
impl MaintenanceStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        self.conn().await?.query_one("SELECT 1", &[]).await.map_err(pg_error)?;
        Ok(())
    }

    async fn purge_expired(&self, before_ms: i64, batch: u32) -> StoreResult<Purged> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // One instance at a time: another instance holding the lock is doing this batch.
        let mine: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&JANITOR_LOCK])
            .await
            .map_err(pg_error)?
            .get(0);
        if !mine {
            return Ok(Purged::default());
        }
        let batch = i64::from(batch);
        // Rows read through the `tokens_ends_at` index, oldest first; rotation records go with
        // their token, in the same statement.
        let row = tx
            .query_one(
                "WITH doomed AS (SELECT id, token_id FROM tokens WHERE ends_at < $1 ORDER BY ends_at, id LIMIT $2 \
                 FOR UPDATE SKIP LOCKED), \
                 rotated AS (DELETE FROM rotated_refresh_tokens r USING doomed d WHERE r.token_id = d.token_id RETURNING 1), \
                 gone AS (DELETE FROM tokens t USING doomed d WHERE t.id = d.id RETURNING 1) \
                 SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM rotated)",
                &[&before_ms, &batch],
            )
            .await
            .map_err(pg_error)?;
        let (tokens, rotated_refresh_tokens): (i64, i64) = (row.get(0), row.get(1));
        let custom_token_uses = tx
            .execute(
                "DELETE FROM custom_token_uses WHERE jti IN (SELECT jti FROM custom_token_uses WHERE expires_at < $1 LIMIT $2)",
                &[&before_ms, &batch],
            )
            .await
            .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Purged {
            tokens: tokens as u64,
            custom_token_uses,
            rotated_refresh_tokens: rotated_refresh_tokens as u64,
        })
    }
}

/// The storage conformance suite on PostgreSQL (127.0.0.1:5432, database `test`, or
/// `TOKEN_SERVER_TEST_POSTGRES`), each case in a schema of its own, dropped afterwards. Without a
/// reachable PostgreSQL the cases are skipped with a message, except in CI (`CI=true`), where that
/// is a failure.
#[cfg(test)]
mod conformance {
    use super::{PostgresOptions, PostgresStore};
    use crate::key_encryption::KeyEncryption;
    use crate::store::Stores;

    fn url() -> String {
        std::env::var("TOKEN_SERVER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// Drops the test's schema when the test ends.
    pub struct Schema(String);

    impl Drop for Schema {
        fn drop(&mut self) {
            let (url, schema) = (url(), self.0.clone());
            // A fresh thread with its own runtime: drop cannot await.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(async {
                    let (client, connection) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await.ok()?;
                    tokio::spawn(connection);
                    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.ok()
                })
            })
            .join();
        }
    }

    async fn open() -> Option<(Stores, Schema)> {
        let url = url();
        let connected = tokio_postgres::connect(&url, tokio_postgres::NoTls).await;
        let (client, connection) = match connected {
            Ok(pair) => pair,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("PostgreSQL is required in CI ({url}): {e}")
            }
            Err(e) => {
                eprintln!("skipped: no PostgreSQL at {url} ({e}); set TOKEN_SERVER_TEST_POSTGRES");
                return None;
            }
        };
        tokio::spawn(connection);
        let schema = format!("conformance_{:016x}", rand::random::<u64>());
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
        let store = PostgresStore::connect_with_search_path(
            &url,
            Some(&schema),
            PostgresOptions { pool_size: 8, ..PostgresOptions::default() },
            KeyEncryption::none(),
        )
        .await
        .expect("connect");
        Some((Stores::of(store), Schema(schema)))
    }

    crate::conformance_suite!(open());
}
