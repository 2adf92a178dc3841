//! Configuration: every setting optional; a TOML file (`--config`) and `TOKEN_SERVER_*`
//! environment variables override the defaults, in that order.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use token_core::Secret;

/// `Debug` prints [`Config::summary`]: secrets (key-encryption keys, a database password) never.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Env: `TOKEN_SERVER_LISTEN`.
    pub listen: SocketAddr,
    /// The store: a SQLite file (a path or `sqlite:PATH`), or `postgres://…` for N instances on one
    /// PostgreSQL database. Env: `TOKEN_SERVER_DATABASE`.
    pub database: PathBuf,
    /// PostgreSQL: connections per instance. Env: `TOKEN_SERVER_DATABASE_POOL_SIZE`.
    pub database_pool_size: usize,
    /// PostgreSQL: seconds to wait for a connection. Env: `TOKEN_SERVER_DATABASE_CONNECT_TIMEOUT_SECS`.
    pub database_connect_timeout_secs: u64,
    /// PostgreSQL: longest statement, seconds. Env: `TOKEN_SERVER_DATABASE_STATEMENT_TIMEOUT_SECS`.
    pub database_statement_timeout_secs: u64,
    /// Largest request body accepted, bytes (larger → 413). Env: `TOKEN_SERVER_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// Custom-token generations one credential may have in flight. Env:
    /// `TOKEN_SERVER_CUSTOM_TOKEN_PARALLEL_LIMIT`.
    pub custom_token_parallel_limit: usize,
    /// Most operations one pipeline request may hold. Env: `TOKEN_SERVER_PIPELINE_MAX_OPERATIONS`.
    pub pipeline_max_operations: usize,
    /// Seconds a client has to send a request's headers once the connection or the previous answer
    /// is done with (slow-header clients are cut off). Env: `TOKEN_SERVER_HEADER_READ_TIMEOUT_SECS`.
    pub header_read_timeout_secs: u64,
    /// Seconds within which a request's body must arrive and its answer be ready; else 408.
    /// Env: `TOKEN_SERVER_REQUEST_TIMEOUT_SECS`.
    pub request_timeout_secs: u64,
    /// Seconds an idle keep-alive connection is kept open. Env: `TOKEN_SERVER_IDLE_TIMEOUT_SECS`.
    pub idle_timeout_secs: u64,
    /// Seconds an answer may stay blocked on a client that does not read it (counted from the first
    /// blocked write until everything is written); then the connection is closed.
    /// Env: `TOKEN_SERVER_WRITE_TIMEOUT_SECS`.
    pub write_timeout_secs: u64,
    /// Seconds between janitor runs inside the server (0: never; run `token-server janitor` instead).
    /// Env: `TOKEN_SERVER_JANITOR_INTERVAL_SECS`.
    pub janitor_interval_secs: u64,
    /// How long ended tokens, used custom-token IDs and rotation records are kept, seconds.
    /// Env: `TOKEN_SERVER_JANITOR_RETENTION_SECS`.
    pub janitor_retention_secs: u64,
    /// Most client connections open at once; further ones wait to be accepted.
    /// Env: `TOKEN_SERVER_MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// Key-encryption key for private signing keys at rest: 32 bytes in base64. Without it keys are
    /// stored in plaintext (a warning is logged). Env: `TOKEN_SERVER_KEY_ENCRYPTION_KEY`.
    pub key_encryption_key: Option<Secret>,
    /// Earlier key-encryption keys, still able to decrypt (keys are re-sealed under the current
    /// one at start). Env: `TOKEN_SERVER_PREVIOUS_KEY_ENCRYPTION_KEYS` (comma-separated).
    pub previous_key_encryption_keys: Vec<Secret>,
    /// Log lines as text for people (`text`) or one JSON object per line (`json`). The level is
    /// set by `RUST_LOG` (default `info`: one line per request). Env: `TOKEN_SERVER_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// Browser origins (`https://app.example`) allowed to call the end-user endpoints (exchange,
    /// refresh, `/oauth/token`, the JWK Sets) from scripts; empty: CORS off. Never applies to
    /// the Bearer-authenticated management API. Env: `TOKEN_SERVER_CORS_ALLOWED_ORIGINS`
    /// (comma-separated).
    pub cors_allowed_origins: Vec<String>,
    /// OTLP/HTTP endpoint (e.g. `http://127.0.0.1:4318/v1/traces`) that receives one trace span
    /// per request; unset: no export. Needs a build with the `otlp` cargo feature.
    /// Env: `TOKEN_SERVER_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
    /// Milliseconds a credential, service or current signing key read from the store is reused
    /// (0 to 1000; 0: read on every request). The longest a change made outside this process (the
    /// operator CLI, another instance) waits to take effect. Env: `TOKEN_SERVER_TENANCY_CACHE_MS`.
    pub tenancy_cache_ms: u64,
    /// Milliseconds between two checks of whether a Token Status List's bits changed (0 to
    /// 60,000; 0: on every request). A list is re-rendered only when they did, one render at a
    /// time per list, and served from its last rendering meanwhile: a revocation by any instance
    /// shows in the served list within this bound plus one render. Independent of
    /// `tenancy_cache_ms`. Env: `TOKEN_SERVER_STATUS_LIST_REFRESH_MS`.
    pub status_list_refresh_ms: u64,
    /// Signing keys one service may make per minute on one instance, whatever makes them (a
    /// rotation, an algorithm switch, the replacement of a revoked current key); beyond, 429 with
    /// `Retry-After`. Env: `TOKEN_SERVER_KEY_GENERATIONS_PER_SERVICE`.
    pub key_generations_per_service: u32,
    /// Signing keys one organization's services may make per minute on one instance, new services'
    /// first keys included. Env: `TOKEN_SERVER_KEY_GENERATIONS_PER_ORGANIZATION`.
    pub key_generations_per_organization: u32,
    /// Refreshes one token family (one session) may make in any minute, 1 to 64; beyond, 429
    /// `A001209` with `Retry-After`. Bounds what one session, refreshing in a loop, can add to the
    /// store. Env: `TOKEN_SERVER_REFRESHES_PER_FAMILY_PER_MINUTE`.
    pub refreshes_per_family_per_minute: u32,
    /// A second listener that serves `GET /metrics` only (e.g. `127.0.0.1:9090`, reachable by the
    /// scraper, not by the internet); unset: none. Env: `TOKEN_SERVER_METRICS_LISTEN`.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether the main listener serves `GET /metrics` too (default true, as before the metrics
    /// listener existed); set false with `metrics_listen` to keep metrics off the public port.
    /// Env: `TOKEN_SERVER_METRICS_ON_MAIN_LISTENER`.
    pub metrics_on_main_listener: bool,
    /// The URL clients use to reach this server (scheme, host, port and any path prefix, e.g.
    /// `https://tokens.example.com` behind a TLS proxy): a DPoP proof's `htu` is checked against
    /// it. Unset: `http://` + the request's `Host`. Env: `TOKEN_SERVER_PUBLIC_BASE_URL`.
    pub public_base_url: Option<String>,
    /// HTTPS on the listener itself: the certificate chain (PEM), with `tls_key`; reloaded on
    /// SIGHUP. Unset: plain HTTP, for a TLS-terminating proxy in front. Env: `TOKEN_SERVER_TLS_CERT`.
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert`. Env: `TOKEN_SERVER_TLS_KEY`.
    pub tls_key: Option<PathBuf>,
}

/// The longest `tenancy_cache_ms`: the bound docs/security.md promises for a revoked credential
/// to be refused.
pub const MAX_TENANCY_CACHE_MS: u64 = 1000;

/// The longest `status_list_refresh_ms`: a verifier's `ttl` is the larger delay anyway.
pub const MAX_STATUS_LIST_REFRESH_MS: u64 = 60_000;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("'{other}' is not text or json")),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: PathBuf::from("token-server.sqlite"),
            database_pool_size: 16,
            database_connect_timeout_secs: 5,
            database_statement_timeout_secs: 10,
            max_body_bytes: 64 * 1024,
            custom_token_parallel_limit: token_core::custom_token::MAX_PARALLEL_GENERATIONS,
            pipeline_max_operations: 500,
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            idle_timeout_secs: 60,
            write_timeout_secs: 30,
            max_connections: 10_000,
            janitor_interval_secs: 3600,
            janitor_retention_secs: 7 * 86_400,
            key_encryption_key: None,
            previous_key_encryption_keys: Vec::new(),
            log_format: LogFormat::Text,
            cors_allowed_origins: Vec::new(),
            otlp_endpoint: None,
            tenancy_cache_ms: MAX_TENANCY_CACHE_MS,
            status_list_refresh_ms: 1000,
            key_generations_per_service: 5,
            key_generations_per_organization: 20,
            refreshes_per_family_per_minute: 30,
            metrics_listen: None,
            metrics_on_main_listener: true,
            public_base_url: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// The key of the line a TOML error points at (`?` when it points at none).
fn key_at(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else { return "?".into() };
    let start = text[..span.start.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => key.trim().to_owned(),
        _ => "?".into(),
    }
}

/// What a listening address must look like (said with any refused one).
pub const LISTEN_FORM: &str =
    "an IP address and a port, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::]:8080 (host names are not resolved)";

/// `listen` / `metrics_listen` as written: an IP address and port, or a message saying so.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| format!("'{}' is not {LISTEN_FORM}", text.trim()))
}

fn listen_hint(key: &str) -> String {
    if matches!(key, "listen" | "metrics_listen") { format!(" (give {LISTEN_FORM})") } else { String::new() }
}

/// Every environment variable the server reads: [`Config`]'s (`apply_env`), the CLI's
/// `TOKEN_SERVER_CONFIG`, and the telemetry's `TOKEN_SERVER_UNSAFE_LIBRARY_LOGS`. Any other
/// `TOKEN_SERVER_*` is a mistake (a misspelt one would be ignored silently): `config check` refuses
/// it and `serve` warns. `TOKEN_SERVER_TEST_*` belong to the test harness and are let be.
pub const ENV_VARS: &[&str] = &[
    "TOKEN_SERVER_CONFIG",
    "TOKEN_SERVER_UNSAFE_LIBRARY_LOGS",
    "TOKEN_SERVER_LISTEN",
    "TOKEN_SERVER_DATABASE",
    "TOKEN_SERVER_MAX_BODY_BYTES",
    "TOKEN_SERVER_CUSTOM_TOKEN_PARALLEL_LIMIT",
    "TOKEN_SERVER_PIPELINE_MAX_OPERATIONS",
    "TOKEN_SERVER_DATABASE_POOL_SIZE",
    "TOKEN_SERVER_DATABASE_CONNECT_TIMEOUT_SECS",
    "TOKEN_SERVER_DATABASE_STATEMENT_TIMEOUT_SECS",
    "TOKEN_SERVER_HEADER_READ_TIMEOUT_SECS",
    "TOKEN_SERVER_REQUEST_TIMEOUT_SECS",
    "TOKEN_SERVER_IDLE_TIMEOUT_SECS",
    "TOKEN_SERVER_WRITE_TIMEOUT_SECS",
    "TOKEN_SERVER_MAX_CONNECTIONS",
    "TOKEN_SERVER_JANITOR_INTERVAL_SECS",
    "TOKEN_SERVER_JANITOR_RETENTION_SECS",
    "TOKEN_SERVER_KEY_ENCRYPTION_KEY",
    "TOKEN_SERVER_PREVIOUS_KEY_ENCRYPTION_KEYS",
    "TOKEN_SERVER_LOG_FORMAT",
    "TOKEN_SERVER_CORS_ALLOWED_ORIGINS",
    "TOKEN_SERVER_OTLP_ENDPOINT",
    "TOKEN_SERVER_TENANCY_CACHE_MS",
    "TOKEN_SERVER_STATUS_LIST_REFRESH_MS",
    "TOKEN_SERVER_KEY_GENERATIONS_PER_SERVICE",
    "TOKEN_SERVER_KEY_GENERATIONS_PER_ORGANIZATION",
    "TOKEN_SERVER_REFRESHES_PER_FAMILY_PER_MINUTE",
    "TOKEN_SERVER_METRICS_LISTEN",
    "TOKEN_SERVER_METRICS_ON_MAIN_LISTENER",
    "TOKEN_SERVER_PUBLIC_BASE_URL",
    "TOKEN_SERVER_TLS_CERT",
    "TOKEN_SERVER_TLS_KEY",
];

/// The `TOKEN_SERVER_*` names among `names` that the server does not read, sorted.
pub fn unknown_env_vars(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut unknown: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with("TOKEN_SERVER_") && !n.starts_with("TOKEN_SERVER_TEST_"))
        .filter(|n| !ENV_VARS.contains(&n.as_str()))
        .collect();
    unknown.sort();
    unknown
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: key `{key}`: {source}{}", listen_hint(key))]
    Parse { path: PathBuf, key: String, source: Box<toml::de::Error> },
    #[error("environment variable {name}: {problem}")]
    Env { name: &'static str, problem: String },
    #[error("{name}: {problem}")]
    Invalid { name: &'static str, problem: String },
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Config {{ {} }}", self.summary().replace('\n', ", "))
    }
}

impl Config {
    /// Defaults, then the file (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(file, |name| std::env::var(name).ok())
    }

    /// The `database` setting as every command reads it (checked after `--database` applies): a
    /// SQLite path, `sqlite:PATH`, or a PostgreSQL URL whose every parameter is known and valid
    /// and whose `sslrootcert` is readable. Any other `scheme://` is refused (it would be taken
    /// for a file name).
    pub fn check_database(&self) -> Result<(), ConfigError> {
        let invalid = |problem: String| ConfigError::Invalid { name: "database", problem };
        let Some(text) = self.database.to_str() else {
            return Err(invalid("is not valid UTF-8".into()));
        };
        if text.trim().is_empty() {
            return Err(invalid("is empty: give a SQLite file or a postgres:// URL".into()));
        }
        match self.backend() {
            crate::Database::Postgres(_url) => {
                #[cfg(feature = "postgres")]
                crate::store::postgres::check_url(_url).map_err(invalid)?;
                #[cfg(not(feature = "postgres"))]
                return Err(invalid("this build has no PostgreSQL support (feature `postgres`)".into()));
            }
            crate::Database::Sqlite(_) => {
                if let Some((scheme, _)) = text.split_once("://")
                    && !scheme.is_empty()
                    && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                {
                    return Err(invalid(format!(
                        "'{scheme}://' is not a store this server has: give a SQLite file (a path or \
                         sqlite:PATH) or a postgres:// URL"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The database as it may be printed: a PostgreSQL URL's password (in the user part or as a
    /// `password` parameter) replaced by `***`.
    pub fn database_redacted(&self) -> String {
        let text = self.database.display().to_string();
        let Ok(mut url) = url::Url::parse(&text) else { return text };
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return text;
        }
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        if url.query_pairs().any(|(k, _)| k == "password") {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" { "***".to_owned() } else { v.into_owned() };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }

    /// The effective settings, one `key = value` per line (TOML); key-encryption keys only as
    /// "set" or "not set", a database password as `***`.
    pub fn summary(&self) -> String {
        let secret = |set: bool| if set { "\"(set)\"" } else { "\"(not set)\"" };
        [
            format!("listen = \"{}\"", self.listen),
            format!("database = {:?}", self.database_redacted()),
            format!("database_pool_size = {}", self.database_pool_size),
            format!("database_connect_timeout_secs = {}", self.database_connect_timeout_secs),
            format!("database_statement_timeout_secs = {}", self.database_statement_timeout_secs),
            format!("max_body_bytes = {}", self.max_body_bytes),
            format!("custom_token_parallel_limit = {}", self.custom_token_parallel_limit),
            format!("pipeline_max_operations = {}", self.pipeline_max_operations),
            format!("header_read_timeout_secs = {}", self.header_read_timeout_secs),
            format!("request_timeout_secs = {}", self.request_timeout_secs),
            format!("idle_timeout_secs = {}", self.idle_timeout_secs),
            format!("write_timeout_secs = {}", self.write_timeout_secs),
            format!("max_connections = {}", self.max_connections),
            format!("janitor_interval_secs = {}", self.janitor_interval_secs),
            format!("janitor_retention_secs = {}", self.janitor_retention_secs),
            format!("key_encryption_key = {}", secret(self.key_encryption_key.is_some())),
            format!(
                "previous_key_encryption_keys = {}",
                secret(!self.previous_key_encryption_keys.is_empty())
            ),
            format!(
                "log_format = \"{}\"",
                match self.log_format {
                    LogFormat::Text => "text",
                    LogFormat::Json => "json",
                }
            ),
            format!("cors_allowed_origins = {:?}", self.cors_allowed_origins),
            match &self.otlp_endpoint {
                Some(endpoint) => format!("otlp_endpoint = {endpoint:?}"),
                None => "# otlp_endpoint: not set (no trace export)".to_owned(),
            },
            format!("tenancy_cache_ms = {}", self.tenancy_cache_ms),
            format!("status_list_refresh_ms = {}", self.status_list_refresh_ms),
            format!("key_generations_per_service = {}", self.key_generations_per_service),
            format!("key_generations_per_organization = {}", self.key_generations_per_organization),
            format!("refreshes_per_family_per_minute = {}", self.refreshes_per_family_per_minute),
            match &self.metrics_listen {
                Some(address) => format!("metrics_listen = \"{address}\""),
                None => "# metrics_listen: not set (no metrics listener)".to_owned(),
            },
            format!("metrics_on_main_listener = {}", self.metrics_on_main_listener),
            match &self.public_base_url {
                Some(url) => format!("public_base_url = {url:?}"),
                None => "# public_base_url: not set (http:// + the request's Host)".to_owned(),
            },
            match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => {
                    format!(
                        "tls_cert = {:?}\ntls_key = {:?}",
                        cert.display().to_string(),
                        key.display().to_string()
                    )
                }
                _ => "# tls_cert, tls_key: not set (plain HTTP behind a TLS-terminating proxy)".to_owned(),
            },
        ]
        .join("\n")
    }

    /// [`Config::load`] with the environment read through `env` (tests).
    pub fn load_with(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    key: key_at(&text, source.span()),
                    source: Box::new(source),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env { name, problem: e.to_string() })
        }
        if let Some(v) = get("TOKEN_SERVER_LISTEN") {
            self.listen = parse_listen(&v)
                .map_err(|problem| ConfigError::Env { name: "TOKEN_SERVER_LISTEN", problem })?;
        }
        if let Some(v) = get("TOKEN_SERVER_DATABASE") {
            self.database = PathBuf::from(v);
        }
        if let Some(v) = get("TOKEN_SERVER_MAX_BODY_BYTES") {
            self.max_body_bytes = parse("TOKEN_SERVER_MAX_BODY_BYTES", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_CUSTOM_TOKEN_PARALLEL_LIMIT") {
            self.custom_token_parallel_limit = parse("TOKEN_SERVER_CUSTOM_TOKEN_PARALLEL_LIMIT", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_PIPELINE_MAX_OPERATIONS") {
            self.pipeline_max_operations = parse("TOKEN_SERVER_PIPELINE_MAX_OPERATIONS", &v)?;
        }
        for (name, field) in [
            ("TOKEN_SERVER_HEADER_READ_TIMEOUT_SECS", &mut self.header_read_timeout_secs),
            ("TOKEN_SERVER_REQUEST_TIMEOUT_SECS", &mut self.request_timeout_secs),
            ("TOKEN_SERVER_IDLE_TIMEOUT_SECS", &mut self.idle_timeout_secs),
            ("TOKEN_SERVER_WRITE_TIMEOUT_SECS", &mut self.write_timeout_secs),
        ] {
            if let Some(v) = get(name) {
                *field = parse(name, &v)?;
            }
        }
        if let Some(v) = get("TOKEN_SERVER_DATABASE_POOL_SIZE") {
            self.database_pool_size = parse("TOKEN_SERVER_DATABASE_POOL_SIZE", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_DATABASE_CONNECT_TIMEOUT_SECS") {
            self.database_connect_timeout_secs = parse("TOKEN_SERVER_DATABASE_CONNECT_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_DATABASE_STATEMENT_TIMEOUT_SECS") {
            self.database_statement_timeout_secs = parse("TOKEN_SERVER_DATABASE_STATEMENT_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_JANITOR_INTERVAL_SECS") {
            self.janitor_interval_secs = parse("TOKEN_SERVER_JANITOR_INTERVAL_SECS", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_JANITOR_RETENTION_SECS") {
            self.janitor_retention_secs = parse("TOKEN_SERVER_JANITOR_RETENTION_SECS", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_LOG_FORMAT") {
            self.log_format = parse("TOKEN_SERVER_LOG_FORMAT", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_CORS_ALLOWED_ORIGINS") {
            self.cors_allowed_origins =
                v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
        }
        if let Some(v) = get("TOKEN_SERVER_OTLP_ENDPOINT") {
            self.otlp_endpoint = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("TOKEN_SERVER_TENANCY_CACHE_MS") {
            self.tenancy_cache_ms = parse("TOKEN_SERVER_TENANCY_CACHE_MS", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_STATUS_LIST_REFRESH_MS") {
            self.status_list_refresh_ms = parse("TOKEN_SERVER_STATUS_LIST_REFRESH_MS", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_KEY_GENERATIONS_PER_SERVICE") {
            self.key_generations_per_service = parse("TOKEN_SERVER_KEY_GENERATIONS_PER_SERVICE", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_KEY_GENERATIONS_PER_ORGANIZATION") {
            self.key_generations_per_organization =
                parse("TOKEN_SERVER_KEY_GENERATIONS_PER_ORGANIZATION", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_REFRESHES_PER_FAMILY_PER_MINUTE") {
            self.refreshes_per_family_per_minute = parse("TOKEN_SERVER_REFRESHES_PER_FAMILY_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_METRICS_LISTEN") {
            self.metrics_listen =
                match v.trim() {
                    "" => None,
                    address => Some(parse_listen(address).map_err(|problem| ConfigError::Env {
                        name: "TOKEN_SERVER_METRICS_LISTEN",
                        problem,
                    })?),
                };
        }
        if let Some(v) = get("TOKEN_SERVER_METRICS_ON_MAIN_LISTENER") {
            self.metrics_on_main_listener = parse("TOKEN_SERVER_METRICS_ON_MAIN_LISTENER", v.trim())?;
        }
        if let Some(v) = get("TOKEN_SERVER_TLS_CERT") {
            self.tls_cert = Some(PathBuf::from(v.trim())).filter(|p| !p.as_os_str().is_empty());
        }
        if let Some(v) = get("TOKEN_SERVER_TLS_KEY") {
            self.tls_key = Some(PathBuf::from(v.trim())).filter(|p| !p.as_os_str().is_empty());
        }
        if let Some(v) = get("TOKEN_SERVER_PUBLIC_BASE_URL") {
            self.public_base_url = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("TOKEN_SERVER_MAX_CONNECTIONS") {
            self.max_connections = parse("TOKEN_SERVER_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_KEY_ENCRYPTION_KEY").filter(|v| !v.trim().is_empty()) {
            self.key_encryption_key = Some(Secret::new(v.trim()));
        }
        if let Some(v) = get("TOKEN_SERVER_PREVIOUS_KEY_ENCRYPTION_KEYS") {
            self.previous_key_encryption_keys =
                v.split(',').map(str::trim).filter(|k| !k.is_empty()).map(Secret::new).collect();
        }
        Ok(())
    }

    /// Every rule a value must meet, checked once, the same way by `config check` and at start
    /// (a value `serve` would refuse is refused here): the first broken one, by its key and the
    /// allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let previous: Vec<String> =
            self.previous_key_encryption_keys.iter().map(|k| k.secret().to_owned()).collect();
        if let Some(current) = &self.key_encryption_key
            && crate::key_encryption::KeyEncryption::new(Some(current.secret()), &[]).is_err()
        {
            return Err(ConfigError::Invalid {
                name: "key_encryption_key",
                problem: "must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)".into(),
            });
        }
        if crate::key_encryption::KeyEncryption::new(None, &previous).is_err() {
            return Err(ConfigError::Invalid {
                name: "previous_key_encryption_keys",
                problem: "each must be 32 bytes in base64".into(),
            });
        }
        for (name, value, min, max) in [
            ("custom_token_parallel_limit", self.custom_token_parallel_limit as u64, 1, 10_000),
            ("pipeline_max_operations", self.pipeline_max_operations as u64, 1, 10_000),
            ("max_body_bytes", self.max_body_bytes as u64, 1024, 64 * 1024 * 1024),
            ("database_pool_size", self.database_pool_size as u64, 1, 1000),
            ("database_connect_timeout_secs", self.database_connect_timeout_secs, 1, 600),
            ("database_statement_timeout_secs", self.database_statement_timeout_secs, 1, 3600),
            ("max_connections", self.max_connections as u64, 1, 1_000_000),
            ("key_generations_per_service", u64::from(self.key_generations_per_service), 1, 1_000_000),
            (
                "key_generations_per_organization",
                u64::from(self.key_generations_per_organization),
                1,
                1_000_000,
            ),
            (
                "refreshes_per_family_per_minute",
                u64::from(self.refreshes_per_family_per_minute),
                1,
                u64::from(crate::store::ROTATIONS_KEPT),
            ),
            ("header_read_timeout_secs", self.header_read_timeout_secs, 1, 3600),
            ("request_timeout_secs", self.request_timeout_secs, 1, 3600),
            ("idle_timeout_secs", self.idle_timeout_secs, 1, 86_400),
            ("write_timeout_secs", self.write_timeout_secs, 1, 3600),
        ] {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::Invalid {
                    name,
                    problem: format!("is {value}; it must be from {min} to {max}"),
                });
            }
        }
        for origin in &self.cors_allowed_origins {
            let well_formed = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
            if !well_formed {
                return Err(ConfigError::Invalid {
                    name: "cors_allowed_origins",
                    problem: format!("'{origin}' is not an origin such as https://app.example"),
                });
            }
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            if !url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(ConfigError::Invalid {
                    name: "otlp_endpoint",
                    problem: format!(
                        "'{endpoint}' is not an http(s) URL such as http://127.0.0.1:4318/v1/traces"
                    ),
                });
            }
            if !cfg!(feature = "otlp") {
                return Err(ConfigError::Invalid {
                    name: "otlp_endpoint",
                    problem: "this build has no trace export; build with `--features otlp`".into(),
                });
            }
        }
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => {}
            (Some(cert), Some(key)) => {
                if let Err(e) = crate::http::tls::server_config(cert, key) {
                    return Err(ConfigError::Invalid { name: "tls_cert", problem: e.to_string() });
                }
                // A DPoP proof's `htu` is checked against the URL clients use. Without
                // public_base_url it is built from the request's `Host` and `http://`: over TLS
                // the right `https://` proof would be refused, and a `Host` the client chose would
                // be trusted.
                if self.public_base_url.is_none() {
                    return Err(ConfigError::Invalid {
                        name: "public_base_url",
                        problem:
                            "is required with tls_cert (the https:// URL clients use: DPoP proofs name it)"
                                .into(),
                    });
                }
            }
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    name: "tls_key",
                    problem: "is required with tls_cert".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: "tls_cert",
                    problem: "is required with tls_key".into(),
                });
            }
        }
        if let Some(base) = &self.public_base_url {
            let well_formed = url::Url::parse(base).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if !well_formed {
                return Err(ConfigError::Invalid {
                    name: "public_base_url",
                    problem: format!(
                        "'{base}' is not an http(s) URL without query, such as https://tokens.example"
                    ),
                });
            }
        }
        if self.tenancy_cache_ms > MAX_TENANCY_CACHE_MS {
            return Err(ConfigError::Invalid {
                name: "tenancy_cache_ms",
                problem: format!("must be at most {MAX_TENANCY_CACHE_MS} (the documented revocation delay)"),
            });
        }
        if self.status_list_refresh_ms > MAX_STATUS_LIST_REFRESH_MS {
            return Err(ConfigError::Invalid {
                name: "status_list_refresh_ms",
                problem: format!("must be at most {MAX_STATUS_LIST_REFRESH_MS}"),
            });
        }
        if self.metrics_listen.is_some_and(|address| address == self.listen && address.port() != 0) {
            return Err(ConfigError::Invalid {
                name: "metrics_listen",
                problem: format!("{} is also `listen`; give the metrics listener its own port", self.listen),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_vars_lists_exactly_what_is_read() {
        let asked = std::sync::Mutex::new(std::collections::BTreeSet::new());
        Config::default()
            .apply_env(|name| {
                asked.lock().unwrap().insert(name.to_owned());
                None
            })
            .unwrap();
        let mut listed: std::collections::BTreeSet<String> = ENV_VARS.iter().map(|s| s.to_string()).collect();
        // Read elsewhere: the CLI (clap) and the telemetry.
        for elsewhere in ["TOKEN_SERVER_CONFIG", "TOKEN_SERVER_UNSAFE_LIBRARY_LOGS"] {
            assert!(listed.remove(elsewhere));
        }
        assert_eq!(asked.into_inner().unwrap(), listed);
        let harness = format!("{}X", "TOKEN_SERVER_TEST_");
        let names = ["TOKEN_SERVER_MAX_BODY_BYTE", "TOKEN_SERVER_LISTEN", harness.as_str(), "PATH"];
        assert_eq!(unknown_env_vars(names.iter().map(|s| s.to_string())), ["TOKEN_SERVER_MAX_BODY_BYTE"]);
    }

    #[test]
    fn file_then_env() {
        let mut config: Config =
            toml::from_str("listen = \"0.0.0.0:9000\"\nmax_body_bytes = 1024\n").unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.database, PathBuf::from("token-server.sqlite"));
        config.apply_env(|name| (name == "TOKEN_SERVER_MAX_BODY_BYTES").then(|| "2048".to_owned())).unwrap();
        assert_eq!(config.max_body_bytes, 2048);
        let bad = config.apply_env(|name| (name == "TOKEN_SERVER_LISTEN").then(|| "nope".to_owned()));
        assert!(matches!(bad, Err(ConfigError::Env { name: "TOKEN_SERVER_LISTEN", .. })));
        assert!(toml::from_str::<Config>("unknown_key = 1").is_err());
    }

    /// Every rule, broken alone on the defaults: refused by its key, with the allowed range.
    #[test]
    fn every_value_is_checked_by_one_validation() {
        assert!(Config::default().validate().is_ok());
        let kek = |text: &str| Some(Secret::new(text));
        let cases: Vec<(&str, Config)> = vec![
            ("key_encryption_key", Config { key_encryption_key: kek("c2hvcnQ="), ..Config::default() }),
            (
                "key_encryption_key",
                Config { key_encryption_key: kek("not base64 at all"), ..Config::default() },
            ),
            (
                "previous_key_encryption_keys",
                Config { previous_key_encryption_keys: vec![Secret::new("c2hvcnQ=")], ..Config::default() },
            ),
            ("custom_token_parallel_limit", Config { custom_token_parallel_limit: 0, ..Config::default() }),
            (
                "custom_token_parallel_limit",
                Config { custom_token_parallel_limit: 10_001, ..Config::default() },
            ),
            ("pipeline_max_operations", Config { pipeline_max_operations: 0, ..Config::default() }),
            ("max_body_bytes", Config { max_body_bytes: 10, ..Config::default() }),
            ("database_pool_size", Config { database_pool_size: 0, ..Config::default() }),
            (
                "database_connect_timeout_secs",
                Config { database_connect_timeout_secs: 0, ..Config::default() },
            ),
            (
                "database_statement_timeout_secs",
                Config { database_statement_timeout_secs: 0, ..Config::default() },
            ),
            ("max_connections", Config { max_connections: 0, ..Config::default() }),
            ("header_read_timeout_secs", Config { header_read_timeout_secs: 0, ..Config::default() }),
            ("request_timeout_secs", Config { request_timeout_secs: 0, ..Config::default() }),
            ("idle_timeout_secs", Config { idle_timeout_secs: 0, ..Config::default() }),
            ("write_timeout_secs", Config { write_timeout_secs: 0, ..Config::default() }),
            ("tenancy_cache_ms", Config { tenancy_cache_ms: 1001, ..Config::default() }),
            ("status_list_refresh_ms", Config { status_list_refresh_ms: 60_001, ..Config::default() }),
            ("key_generations_per_service", Config { key_generations_per_service: 0, ..Config::default() }),
            (
                "key_generations_per_organization",
                Config { key_generations_per_organization: 1_000_001, ..Config::default() },
            ),
            (
                "refreshes_per_family_per_minute",
                Config { refreshes_per_family_per_minute: 65, ..Config::default() },
            ),
            (
                "public_base_url",
                Config { public_base_url: Some("tokens.example".into()), ..Config::default() },
            ),
            (
                "public_base_url",
                Config { public_base_url: Some("https://tokens.example/?x=1".into()), ..Config::default() },
            ),
            (
                "cors_allowed_origins",
                Config { cors_allowed_origins: vec!["app.example".into()], ..Config::default() },
            ),
        ];
        for (key, config) in cases {
            match config.validate() {
                Err(ConfigError::Invalid { name, problem }) => {
                    assert_eq!(name, key, "{problem}");
                    assert!(!problem.is_empty());
                }
                other => panic!("{key}: expected a refusal naming it, got {other:?}"),
            }
        }
        let good = Config {
            key_encryption_key: kek("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnk="),
            public_base_url: Some("https://tokens.example.com/prefix".into()),
            ..Config::default()
        };
        assert!(good.validate().is_ok());
    }

    #[test]
    fn debug_and_the_summary_never_show_secrets() {
        let config = Config {
            database: PathBuf::from("postgres://u:hunter2@db.example/t?password=hunter2&sslmode=require"),
            key_encryption_key: Some(Secret::new("kek-material")),
            ..Config::default()
        };
        for printed in [format!("{config:?}"), config.summary()] {
            assert!(!printed.contains("hunter2") && !printed.contains("kek-material"), "{printed}");
            assert!(
                printed.contains("postgres://u:***@db.example/t?password=***&sslmode=require"),
                "{printed}"
            );
        }
        let sqlite = Config { database: PathBuf::from("/var/lib/tokens.sqlite"), ..Config::default() };
        assert_eq!(sqlite.database_redacted(), "/var/lib/tokens.sqlite");
    }
}
