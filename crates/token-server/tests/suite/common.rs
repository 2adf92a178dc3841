//! A real server on 127.0.0.1:0 over a SQLite file in a temporary directory, with one
//! organization, service, client and both kinds of credential provisioned.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use token_core::grant::GrantType;
use token_server::store::{
    ClientRecord, OrganizationRecord, Principal, ServiceRecord, ServiceSettings, Store,
};
use token_server::tenancy::{self, ServiceSpec};
use token_server::{Config, Services};

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
    pub store: Arc<dyn Store>,
    pub tenant: Tenant,
    pub config: Config,
    pub state: Services,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub const SCOPES: &[&str] = &["openid", "profile", "history.read", "timeline.read", "write"];

pub fn spec() -> ServiceSpec {
    ServiceSpec::from(ServiceSettings {
        supported_scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        ..ServiceSettings::default()
    })
}

/// Provisions an organization with one service (per `spec`), one client and both credentials.
pub async fn provision(store: &dyn Store, spec: &ServiceSpec) -> Tenant {
    let org = tenancy::create_organization(store, "org").await.unwrap();
    let service = tenancy::create_service(store, org.id, spec).await.unwrap();
    let client = tenancy::create_client(
        store,
        service.id,
        "app",
        Some(format!("app-{}", service.id)),
        Some("https://rp.example.com".into()),
        GrantType::ALL.to_vec(),
    )
    .await
    .unwrap();
    let service_token = tenancy::issue_credential(store, Principal::Service(service.id), "test")
        .await
        .unwrap()
        .secret
        .into_secret();
    let org_token = tenancy::issue_credential(store, Principal::Organization(org.id), "test")
        .await
        .unwrap()
        .secret
        .into_secret();
    Tenant { org, service, client, service_token, org_token }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Config::default(), spec()).await
    }

    pub async fn start_with(mut config: Config, spec: ServiceSpec) -> Self {
        let dir = tempfile::tempdir().unwrap();
        config.database = dir.path().join("test.sqlite");
        let store = token_server::open_store(&config).unwrap();
        let tenant = provision(store.as_ref(), &spec).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = Services::new(Arc::clone(&store), config.clone());
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
            _shutdown: tx,
        }
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
        self.store.list_tokens(self.tenant.service.id, &Default::default(), 0, 1).await.unwrap().0
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
