//! The `TOKEN_SERVER_*` environment variables: the list of those read, and reading them over a
//! [`Config`].

use std::path::PathBuf;

use token_core::Secret;

use super::{Config, ConfigError, parse_listen};

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
    "TOKEN_SERVER_EVENT_RETENTION_DAYS",
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
    "TOKEN_SERVER_SSF_RECEIVER_ALLOWLIST",
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

impl Config {
    pub(super) fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
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
        if let Some(v) = get("TOKEN_SERVER_EVENT_RETENTION_DAYS") {
            self.event_retention_days = parse("TOKEN_SERVER_EVENT_RETENTION_DAYS", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_LOG_FORMAT") {
            self.log_format = parse("TOKEN_SERVER_LOG_FORMAT", &v)?;
        }
        if let Some(v) = get("TOKEN_SERVER_CORS_ALLOWED_ORIGINS") {
            self.cors_allowed_origins =
                v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
        }
        if let Some(v) = get("TOKEN_SERVER_SSF_RECEIVER_ALLOWLIST") {
            self.ssf_receiver_allowlist =
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
}
