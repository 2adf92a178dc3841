//! A real server on 127.0.0.1:0 over a SQLite file in a temporary directory, with one
//! organization, service, client and both kinds of credential provisioned.

use reqwest::StatusCode;
use serde_json::{Value, json};
use token_core::grant::GrantType;
use token_server::store::{
    ClientRecord, OrganizationRecord, Principal, ServiceRecord, ServiceSettings, Stores,
};
use token_server::tenancy::{NewClient, ServiceSpec};
use token_server::{App, Config};

pub struct Tenant {
    pub org: OrganizationRecord,
    pub service: ServiceRecord,
    pub client: ClientRecord,
    pub service_token: String,
    pub org_token: String,
}

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Stores,
    pub tenant: Tenant,
    pub config: Config,
    pub state: App,
    _dir: tempfile::TempDir,
    _schema: Option<PostgresSchema>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// The PostgreSQL of the tests: `TOKEN_SERVER_TEST_POSTGRES`, else 127.0.0.1:5432/test.
pub fn postgres_url() -> String {
    std::env::var("TOKEN_SERVER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own for one test, dropped when the test ends.
pub struct PostgresSchema(String);

impl PostgresSchema {
    pub fn named(schema: String) -> Self {
        Self(schema)
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        let schema = self.0.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.ok()
            })
        })
        .join();
    }
}

async fn postgres_store() -> (Stores, PostgresSchema) {
    let url = postgres_url();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("TOKEN_SERVER_TEST_BACKEND=postgres needs PostgreSQL at {url}: {e}"));
    tokio::spawn(connection);
    let schema = format!("http_suite_{:016x}", rand::random::<u64>());
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    let store = token_server::store::postgres::PostgresStore::connect_with_search_path(
        &url,
        Some(&schema),
        token_server::store::postgres::PostgresOptions { pool_size: 8, ..Default::default() },
        token_server::key_encryption::KeyEncryption::none(),
    )
    .await
    .unwrap();
    (Stores::of(store), PostgresSchema(schema))
}

pub const SCOPES: &[&str] = &["openid", "profile", "history.read", "timeline.read", "write"];

pub fn spec() -> ServiceSpec {
    ServiceSpec::from(ServiceSettings {
        supported_scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        ..ServiceSettings::default()
    })
}

/// Provisions an organization with one service (per `spec`), one client and both credentials,
/// through the service layer as the CLI does.
pub async fn provision(services: &App, spec: &ServiceSpec) -> Tenant {
    let org = services.tenancy().create_organization("org").await.unwrap();
    let service =
        services.tenancy().create_service(org.id, spec, &token_server::store::Actor::cli()).await.unwrap();
    let client = NewClient {
        alias: Some(format!("app-{}", service.id)),
        entity_id: Some("https://rp.example.com".into()),
        ..NewClient::new("app", GrantType::ALL.to_vec())
    };
    let client = services
        .tenancy()
        .create_client(service.id, client, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let service_token = services
        .tenancy()
        .issue_credential(Principal::Service(service.id), "test", None, &token_server::store::Actor::cli())
        .await
        .unwrap()
        .secret
        .into_secret();
    let org_token = services
        .tenancy()
        .issue_credential(Principal::Organization(org.id), "test", None, &token_server::store::Actor::cli())
        .await
        .unwrap()
        .secret
        .into_secret();
    Tenant { org, service, client, service_token, org_token }
}

/// [`provision`] on any store (an `App` of its own around it).
pub async fn provision_store(store: Stores, spec: &ServiceSpec) -> Tenant {
    provision(&App::new(store, Config::default()), spec).await
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Config::default(), spec()).await
    }

    pub async fn start_with(mut config: Config, spec: ServiceSpec) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (store, schema) = match std::env::var("TOKEN_SERVER_TEST_BACKEND").as_deref() {
            // The same suite on PostgreSQL (`cargo xtask test` runs it both ways): a schema per test.
            Ok("postgres") => {
                let (store, schema) = postgres_store().await;
                (store, Some(schema))
            }
            _ => {
                config.database = dir.path().join("test.sqlite");
                (token_server::open_store(&config).unwrap(), None)
            }
        };
        let state = App::new(store, config.clone());
        let tenant = provision(&state, &spec).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // The server's own store (with its tenancy cache): tests' changes take effect at once.
        let store = state.store().clone();
        tokio::spawn(token_server::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestServer {
            base,
            http: reqwest::Client::new(),
            store,
            tenant,
            config,
            state,
            _dir: dir,
            _schema: schema,
            _shutdown: tx,
        }
    }

    /// Every stored byte, as text: the SQLite file and its WAL, or every row of the test's
    /// PostgreSQL schema.
    pub async fn stored_text(&self) -> String {
        if let Some(PostgresSchema(schema)) = &self._schema {
            let (client, connection) =
                tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            let mut all = String::new();
            for table in [
                "organizations",
                "services",
                "clients",
                "credentials",
                "signing_keys",
                "tokens",
                "custom_token_uses",
                "rotated_refresh_tokens",
                "dpop_proof_uses",
                "events",
            ] {
                let sql = format!(
                    "SELECT COALESCE(string_agg(row_to_json(t)::text, ' '), '') FROM {schema}.{table} t"
                );
                let text: String = client.query_one(&sql, &[]).await.unwrap().get(0);
                all.push_str(&text);
            }
            return all;
        }
        let mut all = std::fs::read(&self.config.database).unwrap();
        all.extend(std::fs::read(self.config.database.with_extension("sqlite-wal")).unwrap_or_default());
        String::from_utf8_lossy(&all).into_owned()
    }

    /// Runs `sql` (statements separated by `;`) on the server's database, beside the server: to
    /// seed what would take too long over HTTP. On PostgreSQL in the test's schema, with triggers
    /// off when `without_triggers` (SQLite cannot switch them off: there they run).
    pub async fn execute_sql(&self, sql: &str, without_triggers: bool) {
        if let Some(PostgresSchema(schema)) = &self._schema {
            let (client, connection) =
                tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            let role = if without_triggers { "replica" } else { "origin" };
            client
                .batch_execute(&format!(
                    "SET search_path TO {schema}; SET session_replication_role = {role}; {sql}"
                ))
                .await
                .unwrap();
            return;
        }
        let db = self.config.database.clone();
        let sql = sql.to_owned();
        tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open(db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
            conn.execute_batch(&format!("BEGIN; {sql}; COMMIT;")).unwrap();
        })
        .await
        .unwrap();
    }

    /// The single number `sql` answers (e.g. a `COUNT(*)`), read beside the server.
    pub async fn query_number(&self, sql: &str) -> i64 {
        if let Some(PostgresSchema(schema)) = &self._schema {
            let (client, connection) =
                tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            client.batch_execute(&format!("SET search_path TO {schema}")).await.unwrap();
            let sql = format!("SELECT CAST(({sql}) AS BIGINT)");
            return client.query_one(&sql, &[]).await.unwrap().get(0);
        }
        let (db, sql) = (self.config.database.clone(), sql.to_owned());
        tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open(db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
            conn.query_row(&sql, [], |row| row.get(0)).unwrap()
        })
        .await
        .unwrap()
    }

    /// The `--database` the CLI in another process needs to reach this server's store (on
    /// PostgreSQL, the test's schema through the connection's `search_path`).
    pub fn database_for_cli(&self) -> String {
        match &self._schema {
            Some(PostgresSchema(schema)) => {
                let url = postgres_url();
                let joiner = if url.contains('?') { '&' } else { '?' };
                format!("{url}{joiner}options=-csearch_path%3D{schema}")
            }
            None => self.config.database.display().to_string(),
        }
    }

    /// Whether the suite runs on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self._schema.is_some()
    }

    pub fn sid(&self) -> u64 {
        self.tenant.service.id.get()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.replace("{sid}", &self.sid().to_string()))
    }

    /// POST JSON with the service token; returns status and JSON body (Null when empty).
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_as(&self.tenant.service_token.clone(), path, body).await
    }

    pub async fn post_as(&self, bearer: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.http.post(self.url(path)).bearer_auth(bearer).json(&body).send().await.unwrap();
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response =
            self.http.get(self.url(path)).bearer_auth(&self.tenant.service_token).send().await.unwrap();
        read(response).await
    }

    /// GET with the given bearer credential.
    pub async fn post_as_get(&self, bearer: &str, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(self.url(path)).bearer_auth(bearer).send().await.unwrap();
        read(response).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let response =
            self.http.delete(self.url(path)).bearer_auth(&self.tenant.service_token).send().await.unwrap();
        read(response).await
    }

    /// A valid create request body for the provisioned client.
    pub fn create_body(&self) -> Value {
        json!({
            "grantType": "AUTHORIZATION_CODE",
            "clientId": self.tenant.client.client_id,
            "subject": "john",
            "scopes": ["history.read", "timeline.read"]
        })
    }

    pub async fn create(&self, body: Value) -> Value {
        let (status, value) = self.post("/api/{sid}/auth/token/create", body).await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value
    }

    /// How many tokens the service holds (straight from the store).
    pub async fn token_count(&self) -> u64 {
        self.store
            .tokens
            .list_tokens(self.tenant.service.id, &Default::default(), 0, 1)
            .await
            .unwrap()
            .0
            .total
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let (status, value) = self.post("/api/{sid}/auth/introspection", json!({"token": token})).await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value
    }
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Field names the endpoints know, so that generated bodies reach the rules, not only the parser.
pub const BODY_KEYS: &[&str] = &[
    "accessToken",
    "accessTokenDuration",
    "accessTokenExpiresAt",
    "accessTokenIdentifier",
    "accessTokenPersistent",
    "accessTokenTTL",
    "authorizationDetails",
    "authTime",
    "certificateThumbprint",
    "claims",
    "clientId",
    "clientIdentifier",
    "customToken",
    "dpopKeyThumbprint",
    "grantType",
    "hidden",
    "identity",
    "input",
    "jwtAtClaims",
    "key",
    "op",
    "parameters",
    "properties",
    "refreshToken",
    "refreshTokenDuration",
    "refreshTokenTTL",
    "resources",
    "scopes",
    "subject",
    "token",
    "userId",
    "value",
];
