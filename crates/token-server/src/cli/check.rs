//! `token-server config check`: the configuration validated without starting anything.

use super::CliError;
use crate::config::Config;

/// Exit 0 with the effective settings (never a secret), or status 2 naming what is wrong. The
/// configuration has loaded by now (a bad key or value has already been refused); what remains is
/// a `TOKEN_SERVER_*` variable this server does not read.
pub fn run(config: &Config) -> Result<(), CliError> {
    let unknown =
        crate::config::unknown_env_vars(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()));
    // A misspelt variable would be ignored silently: refused like an unknown key.
    if !unknown.is_empty() {
        return Err(CliError::Configuration(format!(
            "unknown environment variable(s) {}: not read by this server (docs/configuration.md lists them)",
            unknown.join(", ")
        )));
    }
    println!("configuration is valid");
    println!("{}", config.summary());
    if let Some(warning) = config.tls_key.as_deref().and_then(crate::http::tls::key_file_warning) {
        println!("warning: {warning}");
    }
    Ok(())
}
