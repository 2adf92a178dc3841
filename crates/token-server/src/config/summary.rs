//! What of a configuration may be printed: the effective settings (`config check`, `Debug`) and
//! the database with its password hidden.

use super::{Config, LogFormat};

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Config {{ {} }}", self.summary().replace('\n', ", "))
    }
}

impl Config {
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
            format!("event_retention_days = {}", self.event_retention_days),
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
            format!("ssf_receiver_allowlist = {:?}", self.ssf_receiver_allowlist),
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
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use token_core::Secret;

    use super::super::Config;

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
