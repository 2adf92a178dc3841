//! The command line. `token-server [serve]` runs the server; the other commands administer the
//! store (`admin`, `token`, `events`, `janitor`, `migrate`, `backup`), check the configuration or
//! print what is generated from the command line itself (`completions`, `man`). This module holds
//! the arguments, the one error type of the command line and what the commands share (loading the
//! configuration, opening the store); each command's work is in a module of its own, and
//! `src/main.rs` only parses and dispatches.

pub mod admin;
pub mod backup;
pub mod check;
pub mod events;
pub mod first_start;
pub mod janitor;
pub mod manual;
pub mod migrate;
pub mod serve;
pub mod table;
pub mod token;

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use admin::{Admin, ClientCmd, CredentialCmd, KeyCmd, OrgCmd, ServiceCmd, ServiceCreate, ServiceUpdate};
pub use events::EventsCmd;
pub use manual::{completions, man};
pub use table::{print, table};
pub use token::TokenCmd;

use crate::config::Config;
use crate::service::App;
use crate::telemetry::Telemetry;

#[derive(Debug, Parser)]
#[command(name = "token-server", version, about = "Self-hostable token service")]
pub struct Cli {
    /// TOML configuration file (every setting optional; TOKEN_SERVER_* variables override it).
    #[arg(long, global = true, env = "TOKEN_SERVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// SQLite database file or postgres:// URL (overrides the configuration).
    #[arg(long, global = true)]
    pub database: Option<PathBuf>,
    /// Print results as JSON (for scripts) instead of tables: `admin`, `token`, `events` (`tail`:
    /// one object per line), `janitor`, `migrate --status`. Refused by the commands that print no
    /// result.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve {
        /// Address to listen on (overrides the configuration), e.g. 127.0.0.1:0 for any free port.
        #[arg(long, value_parser = crate::config::parse_listen)]
        listen: Option<SocketAddr>,
    },
    /// Manage tenants, credentials and keys.
    #[command(subcommand)]
    Admin(Admin),
    /// Inspect or revoke tokens directly in the store (as the service's own API would).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Read the event log (who changed what, and when) directly in the store: list a page, follow
    /// a stream, or export it as JSON lines for archiving.
    #[command(subcommand)]
    Events(EventsCmd),
    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) to standard output,
    /// e.g. `token-server completions bash > /etc/bash_completion.d/token-server`.
    Completions {
        /// The shell: bash, elvish, fish, powershell or zsh.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output: `token-server man > token-server.1`.
    Man,
    /// Apply the store's pending schema migrations and exit (the server also applies them at start).
    Migrate {
        /// Only list the migrations, applied and pending, with their checksums; apply nothing.
        #[arg(long)]
        status: bool,
        /// Then finish the upgrades that wait for every instance to run this version: on PostgreSQL,
        /// new token values carry their token's ID only after this (docs/operations.md, "Rolling
        /// upgrades"). Run it once no instance of an earlier version is left.
        #[arg(long, conflicts_with = "status")]
        finish: bool,
    },
    /// Write a consistent copy of the store to PATH (mode 0600), online: the server may keep
    /// running. SQLite: `VACUUM INTO`; PostgreSQL: `pg_dump --format=custom` (must be installed).
    Backup {
        /// The copy to write; it must not exist yet.
        path: std::path::PathBuf,
    },
    /// Check the configuration (file and TOKEN_SERVER_* variables) without starting: exit 0 and the
    /// effective settings, or exit 2 naming the bad key and why.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Remove ended tokens, used custom-token IDs and rotation records older than the retention,
    /// once, and print what was removed (the server also runs this on a schedule).
    Janitor {
        /// Keep what ended less than this many seconds ago (default: the configuration's).
        #[arg(long)]
        retention_secs: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Validate the configuration and print the effective settings (secrets are never printed).
    Check,
}

impl Command {
    /// Whether the command prints a result that `--json` can shape.
    pub fn prints_results(&self) -> bool {
        match self {
            Command::Admin(_) | Command::Token(_) | Command::Events(_) | Command::Janitor { .. } => true,
            Command::Migrate { status, .. } => *status,
            _ => false,
        }
    }
}

/// Why a command did not succeed: the line printed on standard error, and the exit status.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `--json` given to a command that prints no result: refused rather than ignored (status 2).
    #[error(
        "token-server: --json shapes the results of admin, token, events, janitor and migrate \
         --status; this command prints none"
    )]
    JsonWithoutResults,
    /// The configuration (file, `TOKEN_SERVER_*` variables, `--database`) is not valid (status 2).
    #[error("token-server: configuration: {0}")]
    Configuration(String),
    /// Logging or trace export could not start (status 2).
    #[error("token-server: telemetry: {0}")]
    Telemetry(String),
    /// The command ran and failed (status 1). `command` begins the line: `token-server admin`.
    #[error("{command}: {reason}")]
    Failed { command: &'static str, reason: String },
}

impl CliError {
    /// `command` failed because of `reason`.
    pub fn failed(command: &'static str, reason: impl Display) -> Self {
        CliError::Failed { command, reason: reason.to_string() }
    }

    /// 2 when nothing was attempted (the command line or the configuration is wrong), else 1.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Failed { .. } => ExitCode::FAILURE,
            CliError::JsonWithoutResults | CliError::Configuration(_) | CliError::Telemetry(_) => {
                ExitCode::from(2)
            }
        }
    }
}

/// The exit status of a command's outcome, its error (if any) printed on standard error.
pub fn exit_code(outcome: Result<(), CliError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

/// Loads the configuration (`file`, then the `TOKEN_SERVER_*` variables) and starts logging (and
/// trace export) as it says; every command but `completions` and `man` starts here.
pub fn configure(file: Option<&Path>) -> Result<(Config, Telemetry), CliError> {
    let config = Config::load(file).map_err(|e| CliError::Configuration(e.to_string()))?;
    let telemetry = crate::telemetry::init(&config).map_err(CliError::Telemetry)?;
    Ok((config, telemetry))
}

/// `--database` applied over the configuration, then the database checked as every command will
/// read it, so that what would fail later fails here, naming what is wrong.
pub fn with_database(mut config: Config, database: Option<PathBuf>) -> Result<Config, CliError> {
    if let Some(database) = database {
        config.database = database;
    }
    config.check_database().map_err(|e| CliError::Configuration(e.to_string()))?;
    Ok(config)
}

/// The runtime of the commands that open the store (and of the server).
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed("token-server", format!("cannot start the runtime: {e}")))
}

/// Why the configured store could not be opened.
fn cannot_open(config: &Config, error: impl Display) -> CliError {
    CliError::failed("token-server", format!("cannot open the store {}: {error}", config.database_redacted()))
}

/// Opens the configured store (connecting applies pending migrations; PostgreSQL: under an
/// advisory lock) and hands it, with the configuration, to the service layer.
async fn app(config: Config) -> Result<App, CliError> {
    let store = config.backend().connect(&config).await.map_err(|e| cannot_open(&config, e))?;
    Ok(App::new(store, config))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Key IDs and token values are base64url: one in 64 begins with `-` (a CI run met such a kid).
    #[test]
    fn values_beginning_with_a_hyphen_are_values_not_options() {
        use super::{Admin, Command, KeyCmd, TokenCmd};
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.command);
        let kid = "-Pcn8OcRZQoLHYap2Yzt1ZImDiZufMqxqxnZvSVZNjI";
        match parse(&["token-server", "admin", "key", "revoke", "--service", "1", kid]) {
            Ok(Some(Command::Admin(Admin::Key(KeyCmd::Revoke { kid: got, .. })))) => assert_eq!(got, kid),
            other => panic!("{other:?}"),
        }
        match parse(&["token-server", "token", "introspect", "--service", "1", kid]) {
            Ok(Some(Command::Token(TokenCmd::Introspect { token, .. }))) => assert_eq!(token, kid),
            other => panic!("{other:?}"),
        }
        match parse(&["token-server", "token", "revoke", "--service", "1", kid]) {
            Ok(Some(Command::Token(TokenCmd::Revoke { token, .. }))) => {
                assert_eq!(token.as_deref(), Some(kid))
            }
            other => panic!("{other:?}"),
        }
        match parse(&["token-server", "token", "revoke", "--service", "1", "-"]) {
            Ok(Some(Command::Token(TokenCmd::Revoke { token, .. }))) => {
                assert_eq!(token.as_deref(), Some("-"))
            }
            other => panic!("{other:?}"),
        }
    }

    /// `--help` explains every option and argument of every command.
    #[test]
    fn every_option_and_argument_has_help_text() {
        use clap::CommandFactory;
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help"
                    && id != "version"
                    && arg.get_help().is_none()
                    && arg.get_long_help().is_none()
                {
                    missing.push(format!("{path}: {id}"));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "token-server", &mut missing);
        assert!(missing.is_empty(), "options without help text: {missing:#?}");
    }
}
