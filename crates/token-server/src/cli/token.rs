//! `token-server token …`: inspect, list or revoke tokens directly in the store, through the
//! service layer (the same rules as the API).

use clap::Subcommand;
use serde_json::Value;
use token_core::events::Actor;
use token_core::introspection::IntrospectionRequest;
use token_core::token_manage::{TokenListRequest, TokenRevokeRequest};
use token_core::{Secret, ServiceId};

use super::CliError;
use crate::config::Config;
use crate::service::App;

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Introspect an access token of a service: its state (`action`) and what it carries.
    Introspect {
        /// The service's ID.
        #[arg(long)]
        service: u64,
        /// The access token; `-` reads it from standard input (keeps it out of the process list).
        /// Base64url values may begin with `-`: taken as the value, never as an option.
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// List a service's tokens, newest first, with their state (`active`, `revoked`, `expired`);
    /// never their values.
    List {
        /// The service's ID.
        #[arg(long)]
        service: u64,
        /// Only this subject's (end user's) tokens.
        #[arg(long)]
        subject: Option<String>,
        /// Only this client's tokens (ID or alias; `custom-token` for custom-token sessions).
        #[arg(long)]
        client: Option<String>,
        /// Index of the first token to show.
        #[arg(long, default_value_t = 0)]
        start: u32,
        /// Index after the last token to show (at most 1,000 after `--start`).
        #[arg(long, default_value_t = 20)]
        end: u32,
    },
    /// Revoke one token by value or hash, every token of a client (and subject), or every token
    /// of a subject (the end user signed out everywhere, custom-token sessions included).
    Revoke {
        /// The service's ID.
        #[arg(long)]
        service: u64,
        /// An access token (or refresh token with `--refresh`), or its hash; `-` reads it from
        /// standard input.
        #[arg(
            required_unless_present_any = ["client", "subject"],
            conflicts_with_all = ["client", "subject"],
            allow_hyphen_values = true
        )]
        token: Option<String>,
        /// The value is a refresh token.
        #[arg(long, requires = "token")]
        refresh: bool,
        /// Every token of this client (ID or alias).
        #[arg(long)]
        client: Option<String>,
        /// Every token of this subject (end user); with `--client`, only that client's.
        #[arg(long)]
        subject: Option<String>,
    },
}

/// Reads a token given on the command line, or from standard input for `-`.
fn token_argument(value: String) -> Result<Secret, String> {
    if value != "-" {
        return Ok(Secret::new(value));
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
    Ok(Secret::new(line.trim()))
}

/// `token-server token …`: runs the command against the configured store (opened, and migrated,
/// first) and prints its result.
pub fn run(config: Config, command: TokenCmd, as_json: bool) -> Result<(), CliError> {
    super::runtime()?.block_on(async move {
        let app = super::app(config).await?;
        let value = answer(&app, command).await.map_err(|e| CliError::failed("token-server token", e))?;
        super::table::print(&value, as_json);
        Ok(())
    })
}

/// Runs one operator `token` command through the service layer (the same rules as the API) and
/// returns what to print.
pub async fn answer(app: &App, command: TokenCmd) -> Result<Value, String> {
    let existing = |service: u64| async move {
        match app.authentication().service(ServiceId(service)).await {
            Ok(Some(_)) => Ok(ServiceId(service)),
            Ok(None) => Err(format!("service {service} does not exist")),
            Err(e) => Err(e.to_string()),
        }
    };
    let answer = match command {
        TokenCmd::Introspect { service, token } => {
            let service = existing(service).await?;
            let request = IntrospectionRequest::new(token_argument(token)?);
            serde_json::to_value(
                app.introspection().introspect(service, request).await.map_err(|e| e.to_string())?,
            )
        }
        TokenCmd::List { service, subject, client, start, end } => {
            let service = existing(service).await?;
            let mut request = TokenListRequest::default();
            (request.subject, request.client_identifier) = (subject, client);
            (request.start, request.end) = (Some(start), Some(end));
            serde_json::to_value(
                app.token_manage().list_tokens(service, request).await.map_err(|e| e.to_string())?,
            )
        }
        TokenCmd::Revoke { service, token, refresh, client, subject } => {
            let service = existing(service).await?;
            let token = token.map(token_argument).transpose()?;
            let mut request = TokenRevokeRequest::default();
            request.access_token_identifier = token.clone().filter(|_| !refresh);
            request.refresh_token_identifier = token.filter(|_| refresh);
            (request.client_identifier, request.subject) = (client, subject);
            serde_json::to_value(
                app.token_manage()
                    .revoke_tokens(service, request, &Actor::cli())
                    .await
                    .map_err(|e| e.to_string())?,
            )
        }
    };
    answer.map_err(|e| e.to_string())
}
