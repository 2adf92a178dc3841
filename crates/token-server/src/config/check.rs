//! The rules a configuration's values must meet: `database` as every command reads it, and every
//! other value, checked once.

use super::{Config, ConfigError, MAX_STATUS_LIST_REFRESH_MS, MAX_TENANCY_CACHE_MS};

impl Config {
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
            ("event_retention_days", u64::from(self.event_retention_days), 1, 36_500),
        ] {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::Invalid {
                    name,
                    problem: format!("is {value}; it must be from {min} to {max}"),
                });
            }
        }
        for origin in &self.ssf_receiver_allowlist {
            if let Err(problem) = crate::service::ssf::ReceiverOrigin::parse(origin) {
                return Err(ConfigError::Invalid { name: "ssf_receiver_allowlist", problem });
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
    use token_core::Secret;

    use super::super::{Config, ConfigError};

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
}
