//! Configuration: every setting optional; a TOML file (`--config`) and `TOKEN_SERVER_*`
//! environment variables override the defaults, in that order.
//! The parts: `env.rs` (the `TOKEN_SERVER_*` variables), `load.rs` (defaults → file → environment),
//! `check.rs` (the rules every value must meet), `summary.rs` (what may be printed).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use token_core::Secret;

mod check;
mod env;
mod load;
mod summary;

pub use env::{ENV_VARS, unknown_env_vars};

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
    /// How long the event log keeps an event, days (the janitor purges older ones, a batch at a
    /// time; `token-server events export` archives them first).
    /// Env: `TOKEN_SERVER_EVENT_RETENTION_DAYS`.
    pub event_retention_days: u32,
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
    /// Milliseconds a credential, service, client or current signing key read from the store is reused
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
    /// Where Shared Signals streams may push SETs: origins (`https://rp.example.com`,
    /// `http://127.0.0.1:9000`); a push URL must have one of them as its origin. Empty (the
    /// default): push delivery is off (poll still works). A host name is connected to only at
    /// public addresses; a loopback or private address only when an entry names it as an IP
    /// literal or `localhost`. Env: `TOKEN_SERVER_SSF_RECEIVER_ALLOWLIST` (comma-separated).
    pub ssf_receiver_allowlist: Vec<String>,
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
            event_retention_days: 90,
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
            ssf_receiver_allowlist: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
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
