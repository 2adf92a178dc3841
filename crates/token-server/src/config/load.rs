//! Loading: the defaults, then the TOML file (when given), then the environment, then the rules.

use std::path::Path;

use super::{Config, ConfigError};

impl Config {
    /// Defaults, then the file (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(file, |name| std::env::var(name).ok())
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::{Config, ConfigError};

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
