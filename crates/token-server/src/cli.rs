//! The command line: `token-server [serve]` runs the server; `token-server admin …` manages
//! organizations, services, clients, credentials and signing keys without editing SQL.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use token_core::grant::GrantType;
use token_core::introspection::IntrospectionRequest;
use token_core::token_manage::{TokenListRequest, TokenRevokeRequest};
use token_core::{ClientId, OrganizationId, Secret, ServiceId};

use crate::service::App;
use crate::service::keys::SignAlg;
use crate::service::tenancy::{
    NewClient, Principal, ServicePatch, ServiceSettings, ServiceSpec, TenancyError,
};

#[derive(Debug, Parser)]
#[command(name = "token-server", version, about = "Self-hostable token service")]
pub struct Cli {
    /// TOML configuration file (every setting optional; TOKEN_SERVER_* variables override it).
    #[arg(long, global = true, env = "TOKEN_SERVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// SQLite database file or postgres:// URL (overrides the configuration).
    #[arg(long, global = true)]
    pub database: Option<PathBuf>,
    /// Print results as JSON (for scripts) instead of tables: `admin`, `token`, `janitor`,
    /// `migrate --status`. Refused by the commands that print no result.
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

/// Writes the completion script for `shell`, generated from the command-line definition.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "token-server", out);
}

/// Writes the manual page (roff), generated from the command-line definition, with the
/// commands (each one's `--help` says the rest: no page is named that is not generated), the
/// environment and the files.
pub fn man(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let command = <Cli as clap::CommandFactory>::command();
    let page = clap_mangen::Man::new(command.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    let roff = |text: &str| text.replace('\\', "\\e").replace('-', "\\-");
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        writeln!(out, ".TP\n\\fBtoken\\-server {}\\fR", roff(sub.get_name()))?;
        writeln!(out, "{}", roff(&sub.get_about().map(|a| a.to_string()).unwrap_or_default()))?;
    }
    writeln!(out, ".PP\n`token\\-server COMMAND \\-\\-help` describes each command and its options.")?;
    writeln!(out, ".SH ENVIRONMENT")?;
    writeln!(
        out,
        "Every setting has a variable (they override the configuration file; the command line overrides \
         them). \\fBtoken\\-server config check\\fR refuses a TOKEN_SERVER_* variable it does not read. \
         \\fBRUST_LOG\\fR sets the log filter (default info)."
    )?;
    for name in crate::config::ENV_VARS {
        writeln!(out, ".TP\n\\fB{}\\fR", roff(name))?;
    }
    writeln!(out, ".SH FILES")?;
    for (path, what) in [
        (
            "token-server.sqlite",
            "the default store, in the working directory (--database, TOKEN_SERVER_DATABASE)",
        ),
        (
            "DATABASE.credentials",
            "the first start's credentials, mode 0600 (./token-server.credentials with PostgreSQL): read them, keep them in a secret store, delete the file",
        ),
        ("/etc/token-server/env", "the TOKEN_SERVER_* settings of the shipped systemd unit"),
        ("/var/lib/token-server/", "the shipped unit's state directory (its store)"),
    ] {
        writeln!(out, ".TP\n\\fI{}\\fR\n{}", roff(path), roff(what))?;
    }
    page.render_version_section(out)
}

/// `EdDSA`, `ES256` or `RS256`.
fn parse_sign_alg(text: &str) -> Result<SignAlg, String> {
    SignAlg::parse(text).ok_or_else(|| format!("'{text}' is not EdDSA, ES256 or RS256"))
}

#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCmd),
    /// Services.
    #[command(subcommand)]
    Service(ServiceCmd),
    /// Clients of a service.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Bearer credentials (each secret is printed once, at creation).
    #[command(subcommand)]
    Credential(CredentialCmd),
    /// Signing keys.
    #[command(subcommand)]
    Key(KeyCmd),
}

#[derive(Debug, Subcommand)]
pub enum OrgCmd {
    /// Create an organization.
    Create {
        /// A name for people (shown in lists).
        #[arg(long)]
        name: String,
    },
    /// Every organization.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// Create a service (and its first signing key).
    Create(ServiceCreate),
    /// Every service, or those of one organization.
    List {
        /// The organization's ID.
        #[arg(long)]
        org: Option<u64>,
    },
    /// Change a service's settings; what is not given stays. Takes effect at the next request.
    Update(ServiceUpdate),
}

#[derive(Debug, Args)]
pub struct ServiceUpdate {
    /// The service's ID.
    #[arg(long)]
    pub service: u64,
    /// A new name for people.
    #[arg(long)]
    pub name: Option<String>,
    /// A new issuer (`iss`) for the service's JWTs: an absolute URL.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Supported scopes, comma-separated (replaces the list).
    #[arg(long, value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    /// Supported grant types, comma-separated (replaces the list).
    #[arg(long, value_delimiter = ',')]
    pub grant_types: Option<Vec<String>>,
    /// Access token lifetime in seconds when a request names none.
    #[arg(long)]
    pub access_token_duration: Option<i64>,
    /// Refresh token lifetime in seconds when a request names none.
    #[arg(long)]
    pub refresh_token_duration: Option<i64>,
    /// Issue RFC 9068 JWT access tokens signed with this algorithm (a key of it becomes current
    /// when the current key has another).
    #[arg(long, value_parser = parse_sign_alg, conflicts_with = "no_jwt")]
    pub sign_alg: Option<SignAlg>,
    /// Stop issuing JWT access tokens (opaque only).
    #[arg(long)]
    pub no_jwt: bool,
    /// Custom tokens: the access token lifetime (seconds, at most 3600) when the caller names none.
    #[arg(long)]
    pub custom_token_access_ttl: Option<i64>,
    /// Custom tokens: the refresh token lifetime (seconds, more than the access one) when the
    /// caller names none.
    #[arg(long)]
    pub custom_token_refresh_ttl: Option<i64>,
    /// Token Status Lists for JWT access tokens: their `ttl` in seconds (1–86400) turns them on,
    /// 0 turns them off (needs `public_base_url`)
    #[arg(long)]
    pub status_list_ttl: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ServiceCreate {
    /// The organization's ID.
    #[arg(long)]
    pub org: u64,
    /// A name for people (shown in lists).
    #[arg(long, default_value = "service")]
    pub name: String,
    /// The issuer (`iss`) of the service's JWTs: an absolute URL.
    #[arg(long, default_value = "https://token-service.local")]
    pub issuer: String,
    /// Supported scopes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "openid,profile,email,offline_access,read,write")]
    pub scopes: Vec<String>,
    /// Supported grant types, comma-separated (default: all ten).
    #[arg(long, value_delimiter = ',')]
    pub grant_types: Vec<String>,
    /// Access token lifetime in seconds when a request names none.
    #[arg(long, default_value_t = 3600)]
    pub access_token_duration: i64,
    /// Refresh token lifetime in seconds when a request names none.
    #[arg(long, default_value_t = 86_400)]
    pub refresh_token_duration: i64,
    /// Also issue RFC 9068 JWT access tokens signed with this algorithm.
    #[arg(long, value_parser = parse_sign_alg)]
    pub sign_alg: Option<SignAlg>,
    /// Custom tokens: the access token lifetime (seconds, at most 3600) when the caller names none.
    #[arg(long, default_value_t = 3600)]
    pub custom_token_access_ttl: i64,
    /// Custom tokens: the refresh token lifetime (seconds, more than the access one) when the
    /// caller names none.
    #[arg(long, default_value_t = 2_592_000)]
    pub custom_token_refresh_ttl: i64,
}

#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Create a client with a random numeric ID.
    Create {
        /// The service's ID.
        #[arg(long)]
        service: u64,
        /// A name for people (shown in lists).
        #[arg(long, default_value = "client")]
        name: String,
        /// Keep this numeric client ID (e.g. moving from another server); default: a random one.
        #[arg(long)]
        id: Option<i64>,
        /// A memorable name that requests may use instead of the ID (never a number).
        #[arg(long)]
        alias: Option<String>,
        /// The client's entity ID (OpenID Federation), which requests may name it by.
        #[arg(long)]
        entity_id: Option<String>,
        /// Allowed grant types, comma-separated (default: all ten).
        #[arg(long, value_delimiter = ',')]
        grant_types: Vec<String>,
    },
    /// Every client of a service.
    List {
        /// The service's ID.
        #[arg(long)]
        service: u64,
    },
    /// Replace the grant types a client may use (e.g. take REFRESH_TOKEN away).
    Update {
        /// The service's ID.
        #[arg(long)]
        service: u64,
        /// The client: its numeric ID or its alias.
        #[arg(long)]
        client: String,
        /// Allowed grant types, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        grant_types: Vec<String>,
    },
    /// Delete a client; every token issued to it is revoked in the same transaction.
    Delete {
        /// The service's ID.
        #[arg(long)]
        service: u64,
        /// The client: its numeric ID or its alias.
        #[arg(long)]
        client: String,
    },
}

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

#[derive(Debug, Subcommand)]
pub enum CredentialCmd {
    /// A Service Access Token (`--service`) or an Organization Token (`--org`).
    Create {
        /// For this service (a Service Access Token).
        #[arg(long, conflicts_with = "org", required_unless_present = "org")]
        service: Option<u64>,
        /// The organization's ID.
        #[arg(long)]
        org: Option<u64>,
        /// A note for people: what the credential is for.
        #[arg(long, default_value = "")]
        label: String,
        /// Lifetime, e.g. `3600`, `90s`, `30m`, `12h`, `90d`; without it the credential never expires.
        #[arg(long, value_parser = parse_lifetime)]
        expires_in: Option<i64>,
    },
    /// Every credential with its state and last use (never the secret).
    List,
    /// Revoke a credential: its next request is refused with 401.
    Revoke {
        /// The credential's ID (see `admin credential list`).
        id: i64,
    },
}

/// `3600`, `90s`, `30m`, `12h` or `90d` → seconds.
fn parse_lifetime(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        other => return Err(format!("unknown unit '{other}' (use s, m, h or d)")),
    };
    let n: i64 = digits.parse().map_err(|_| format!("'{text}' is not a lifetime such as 90d"))?;
    n.checked_mul(factor).filter(|s| *s > 0).ok_or_else(|| format!("'{text}' is not a positive lifetime"))
}

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Every key of a service, newest first: current, retired and revoked, with their times
    /// (public parts only).
    List {
        /// The service's ID.
        #[arg(long)]
        service: u64,
    },
    /// Make a new key current; the old one stays published while tokens it signed live.
    Rotate {
        /// The service's ID.
        #[arg(long)]
        service: u64,
        /// The new key's algorithm: EdDSA, ES256 or RS256 (default: the service's JWT algorithm,
        /// else the current key's).
        #[arg(long, value_parser = parse_sign_alg)]
        alg: Option<SignAlg>,
    },
    /// Revoke a (possibly leaked) key: it leaves the JWK Set at once and nothing it signed is
    /// accepted at exchange. A current key is replaced by a new one first.
    Revoke {
        /// The service's ID.
        #[arg(long)]
        service: u64,
        /// The key's `kid` (see the service's JWK Set). A base64url thumbprint may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

fn grant_types(names: &[String]) -> Result<Vec<GrantType>, TenancyError> {
    if names.is_empty() {
        return Ok(GrantType::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            GrantType::parse(n.trim()).ok_or_else(|| {
                let valid: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
                TenancyError::Invalid(format!("unknown grant type {n}; valid: {}", valid.join(", ")))
            })
        })
        .collect()
}

/// Prints a command's result: pretty JSON for scripts, or a table for people.
pub fn print(value: &Value, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        print!("{}", table(value));
    }
}

/// A list of records as one row each (identifier columns first), a record as
/// key/value rows; nested values as compact JSON, absent ones as `-`.
pub fn table(value: &Value) -> String {
    // Nested values are written for people too: a list as its items, an object as `key=value`.
    fn cell(value: &Value) -> String {
        match value {
            Value::Null => "-".to_owned(),
            Value::String(s) => s.clone(),
            Value::Array(items) if items.is_empty() => "-".to_owned(),
            Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
            Value::Object(fields) if fields.is_empty() => "-".to_owned(),
            Value::Object(fields) => {
                fields.iter().map(|(k, v)| format!("{k}={}", cell(v))).collect::<Vec<_>>().join(" ")
            }
            other => other.to_string(),
        }
    }
    // Times travel as epoch milliseconds in fields named `…At`; people read them in RFC 3339
    // (UTC). 0 means "never" (a persistent token, a token never refreshed).
    fn timed(column: &str, value: &Value) -> String {
        let is_time = column.ends_with("At") || column.ends_with("_at");
        match value.as_i64() {
            Some(0) if is_time => "never".to_owned(),
            Some(ms) if is_time => rfc3339(ms).unwrap_or_else(|| cell(value)),
            _ => cell(value),
        }
    }
    let records = |v: &Value| v.as_array().is_some_and(|a| a.first().is_some_and(Value::is_object));
    // A record holding lists of records (a token listing's page): its own fields, then each
    // list as a table of its own.
    if let Value::Object(fields) = value
        && fields.values().any(records)
    {
        let own: serde_json::Map<String, Value> =
            fields.iter().filter(|(_, v)| !records(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut out = table(&Value::Object(own));
        for (name, list) in fields.iter().filter(|(_, v)| records(v)) {
            out.push_str(&format!("\n{name}:\n{}", table(list)));
        }
        return out;
    }
    let rows: Vec<Vec<String>> = match value {
        Value::Array(items) if items.is_empty() => return "(none)\n".to_owned(),
        Value::Array(items) => {
            let mut columns: Vec<&str> = Vec::new();
            for item in items {
                for key in item.as_object().into_iter().flat_map(|o| o.keys()) {
                    if !columns.contains(&key.as_str()) {
                        columns.push(key);
                    }
                }
            }
            // Identifiers first: they are what the next command needs.
            columns.sort_by_key(|c| !(*c == "id" || c.ends_with("Id") || *c == "kid"));
            if columns.is_empty() {
                items.iter().map(|item| vec![cell(item)]).collect()
            } else {
                let header = columns.iter().map(|c| (*c).to_owned()).collect();
                std::iter::once(header)
                    .chain(items.iter().map(|item| columns.iter().map(|c| timed(c, &item[*c])).collect()))
                    .collect()
            }
        }
        Value::Object(fields) => fields.iter().map(|(k, v)| vec![k.clone(), timed(k, v)]).collect(),
        other => vec![vec![cell(other)]],
    };
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (i, c) in row.iter().enumerate() {
            out.push_str(c);
            if i < last {
                out.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
            }
        }
        out.push('\n');
    }
    out
}

/// `ms` since the epoch as RFC 3339 in UTC, to the second (`2026-12-03T07:54:08Z`).
fn rfc3339(ms: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
    at.format(&time::format_description::well_known::Rfc3339).ok()
}

/// Runs one admin command against `store` and returns what to print.
pub async fn run_admin(app: &App, command: Admin) -> Result<Value, TenancyError> {
    Ok(match command {
        Admin::Org(OrgCmd::Create { name }) => json!(app.tenancy().create_organization(&name).await?),
        Admin::Org(OrgCmd::List) => json!(app.tenancy().list_organizations().await?),
        Admin::Service(ServiceCmd::Create(args)) => {
            let spec = ServiceSpec {
                settings: ServiceSettings {
                    name: args.name,
                    issuer: args.issuer,
                    supported_scopes: args.scopes.into_iter().filter(|s| !s.is_empty()).collect(),
                    supported_grant_types: grant_types(&args.grant_types)?,
                    access_token_duration: args.access_token_duration,
                    refresh_token_duration: args.refresh_token_duration,
                    access_token_sign_alg: args.sign_alg,
                    custom_token_access_ttl: args.custom_token_access_ttl,
                    custom_token_refresh_ttl: args.custom_token_refresh_ttl,
                    status_list_ttl: None,
                },
                key_alg: args.sign_alg.unwrap_or(SignAlg::EdDsa),
            };
            json!(app.tenancy().create_service(OrganizationId(args.org), &spec).await?)
        }
        Admin::Service(ServiceCmd::List { org }) => {
            json!(app.tenancy().list_services(org.map(OrganizationId)).await?)
        }
        Admin::Service(ServiceCmd::Update(args)) => {
            let patch = ServicePatch {
                name: args.name,
                issuer: args.issuer,
                scopes: args.scopes,
                grant_types: match args.grant_types {
                    Some(names) if names.iter().all(|n| n.trim().is_empty()) => {
                        return Err(TenancyError::Invalid(
                            "--grant-types needs at least one grant type".into(),
                        ));
                    }
                    Some(names) => Some(grant_types(&names)?),
                    None => None,
                },
                access_token_duration: args.access_token_duration,
                refresh_token_duration: args.refresh_token_duration,
                sign_alg: args.sign_alg,
                no_jwt: args.no_jwt,
                custom_token_access_ttl: args.custom_token_access_ttl,
                custom_token_refresh_ttl: args.custom_token_refresh_ttl,
                status_list_ttl: args.status_list_ttl,
            };
            json!(app.tenancy().update_service(ServiceId(args.service), patch).await?)
        }
        Admin::Client(ClientCmd::Create { service, name, id, alias, entity_id, grant_types: names }) => {
            let new =
                NewClient { name, id: id.map(ClientId), alias, entity_id, grant_types: grant_types(&names)? };
            json!(app.tenancy().create_client(ServiceId(service), new).await?)
        }
        Admin::Client(ClientCmd::List { service }) => {
            json!(app.tenancy().list_clients(ServiceId(service)).await?)
        }
        Admin::Client(ClientCmd::Update { service, client, grant_types: names }) => {
            let grants = grant_types(&names)?;
            let client = app.tenancy().client_named(ServiceId(service), &client).await?;
            app.tenancy().set_client_grant_types(ServiceId(service), client, &grants).await?;
            json!({"clientId": client, "grantTypes": grants})
        }
        Admin::Client(ClientCmd::Delete { service, client }) => {
            let client = app.tenancy().client_named(ServiceId(service), &client).await?;
            app.tenancy().delete_client(ServiceId(service), client).await?;
            json!({"clientId": client, "deleted": true, "tokensRevoked": true})
        }
        Admin::Credential(CredentialCmd::Create { service, org, label, expires_in }) => {
            let principal = match (service, org) {
                (Some(s), _) => Principal::Service(ServiceId(s)),
                (None, Some(o)) => Principal::Organization(OrganizationId(o)),
                (None, None) => return Err(TenancyError::Invalid("give --service or --org".into())),
            };
            let issued = app.tenancy().issue_credential(principal, &label, expires_in).await?;
            json!({
                "credential": issued.record,
                "secret": issued.secret.secret(),
                "note": "The secret is shown once; only its hash is stored."
            })
        }
        Admin::Credential(CredentialCmd::List) => json!(app.tenancy().list_credentials().await?),
        Admin::Credential(CredentialCmd::Revoke { id }) => {
            app.tenancy().revoke_credential(id).await?;
            json!({"id": id, "revoked": true})
        }
        Admin::Key(KeyCmd::List { service }) => json!(app.tenancy().list_keys(ServiceId(service)).await?),
        Admin::Key(KeyCmd::Rotate { service, alg }) => {
            let key = app.tenancy().rotate_key(ServiceId(service), alg).await?;
            json!({"kid": key.kid, "alg": key.alg, "publicJwk": key.public_jwk})
        }
        Admin::Key(KeyCmd::Revoke { service, kid }) => {
            let revocation = app.tenancy().revoke_key(ServiceId(service), &kid).await?;
            json!({
                "revoked": kid,
                "newCurrentKid": revocation.replacement.map(|k| k.kid),
                "tokensRevoked": revocation.tokens_revoked,
            })
        }
    })
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

/// Runs one operator `token` command through the service layer (the same rules as the API).
pub async fn run_token(app: &App, command: TokenCmd) -> Result<Value, String> {
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
                app.token_manage().revoke_tokens(service, request).await.map_err(|e| e.to_string())?,
            )
        }
    };
    answer.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};
    use serde_json::json;

    use super::{Cli, table};

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

    #[test]
    fn tables_align_columns_put_identifiers_first_and_show_absent_values() {
        let rows = json!([
            {"name": "a", "id": 1, "extra": null},
            {"name": "longer", "id": 22, "nested": {"k": [1]}}
        ]);
        assert_eq!(table(&rows), "id  extra  name    nested\n1   -      a       -\n22  -      longer  k=1\n");
        assert_eq!(table(&json!({"b": "x", "a": true})), "a  true\nb  x\n");
        assert_eq!(table(&json!([])), "(none)\n");
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

    #[test]
    fn tables_show_times_in_rfc_3339_and_lists_of_records_as_their_own_tables() {
        let token = json!({
            "tokenId": "t", "createdAt": 1_764_748_448_000_i64, "accessTokenExpiresAt": 0, "state": "active"
        });
        let listing = json!({"totalCount": 1, "accessTokens": [token]});
        let expected = [
            "totalCount  1",
            "",
            "accessTokens:",
            "tokenId  accessTokenExpiresAt  createdAt             state",
            "t        never                 2025-12-03T07:54:08Z  active",
        ];
        assert_eq!(table(&listing), expected.join("\n") + "\n");
        // Only `…At` fields are times; the JSON output keeps the wire values.
        assert_eq!(table(&json!({"count": 1_764_748_448_000_i64})), "count  1764748448000\n");
    }
}
