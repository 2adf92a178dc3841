//! Configuration: every setting optional; a TOML file (`--config`) and `TOKEN_SERVER_*`
//! environment variables override the defaults, in that order.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Env: `TOKEN_SERVER_LISTEN`.
    pub listen: SocketAddr,
    /// SQLite database file. Env: `TOKEN_SERVER_DATABASE`.
    pub database: PathBuf,
    /// Largest request body accepted, bytes (larger → 413). Env: `TOKEN_SERVER_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// Custom-token generations one credential may have in flight. Env:
    /// `TOKEN_SERVER_CUSTOM_TOKEN_PARALLEL_LIMIT`.
    pub custom_token_parallel_limit: usize,
    /// Most operations one pipeline request may hold. Env: `TOKEN_SERVER_PIPELINE_MAX_OPERATIONS`.
    pub pipeline_max_operations: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: PathBuf::from("token-server.sqlite"),
            max_body_bytes: 64 * 1024,
            custom_token_parallel_limit: token_core::custom_token::MAX_PARALLEL_GENERATIONS,
            pipeline_max_operations: 500,
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("environment variable {name}: {problem}")]
    Env { name: &'static str, problem: String },
}

impl Config {
    /// Defaults, then the file (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                toml::from_str(&text)
                    .map_err(|source| ConfigError::Parse { path: path.to_owned(), source })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
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
            self.listen = parse("TOKEN_SERVER_LISTEN", &v)?;
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
