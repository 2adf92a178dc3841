//! The command line: `token-server [serve]` runs the server; `token-server admin …` manages
//! organizations, services, clients, credentials and signing keys without editing SQL.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use token_core::grant::GrantType;
use token_core::{OrganizationId, ServiceId};

use crate::service::keys::SignAlg;
use crate::service::tenancy::{self, ServiceSpec, TenancyError};
use crate::store::{Principal, ServiceSettings, Store};

#[derive(Debug, Parser)]
#[command(name = "token-server", version, about = "Self-hostable token service")]
pub struct Cli {
    /// TOML configuration file (every setting optional; TOKEN_SERVER_* variables override it).
    #[arg(long, global = true, env = "TOKEN_SERVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// SQLite database file (overrides the configuration).
    #[arg(long, global = true)]
    pub database: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve {
        /// Address to listen on (overrides the configuration), e.g. 127.0.0.1:0 for any free port.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Manage tenants, credentials and keys.
    #[command(subcommand)]
    Admin(Admin),
    /// Apply the store's pending schema migrations and exit (the server also applies them at start).
    Migrate,
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
    Create {
        #[arg(long)]
        name: String,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    Create(ServiceCreate),
    List {
        #[arg(long)]
        org: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct ServiceCreate {
    #[arg(long)]
    pub org: u64,
    #[arg(long, default_value = "service")]
    pub name: String,
    #[arg(long, default_value = "https://token-service.local")]
    pub issuer: String,
    /// Supported scopes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "openid,profile,email,offline_access,read,write")]
    pub scopes: Vec<String>,
    /// Supported grant types, comma-separated (default: all ten).
    #[arg(long, value_delimiter = ',')]
    pub grant_types: Vec<String>,
    #[arg(long, default_value_t = 3600)]
    pub access_token_duration: i64,
    #[arg(long, default_value_t = 86_400)]
    pub refresh_token_duration: i64,
    /// Also issue RFC 9068 JWT access tokens signed with this algorithm.
    #[arg(long, value_parser = parse_sign_alg)]
    pub sign_alg: Option<SignAlg>,
    #[arg(long, default_value_t = 3600)]
    pub custom_token_access_ttl: i64,
    #[arg(long, default_value_t = 2_592_000)]
    pub custom_token_refresh_ttl: i64,
}

#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    Create {
        #[arg(long)]
        service: u64,
        #[arg(long, default_value = "client")]
        name: String,
        #[arg(long)]
        alias: Option<String>,
        #[arg(long)]
        entity_id: Option<String>,
        /// Allowed grant types, comma-separated (default: all ten).
        #[arg(long, value_delimiter = ',')]
        grant_types: Vec<String>,
    },
    List {
        #[arg(long)]
        service: u64,
    },
    /// Replace the grant types a client may use (e.g. take REFRESH_TOKEN away).
    Update {
        #[arg(long)]
        service: u64,
        #[arg(long)]
        client: i64,
        /// Allowed grant types, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        grant_types: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCmd {
    /// A Service Access Token (`--service`) or an Organization Token (`--org`).
    Create {
        #[arg(long, conflicts_with = "org", required_unless_present = "org")]
        service: Option<u64>,
        #[arg(long)]
        org: Option<u64>,
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
    /// Make a new key current; the old one stays published while tokens it signed live.
    Rotate {
        #[arg(long)]
        service: u64,
        #[arg(long, value_parser = parse_sign_alg)]
        alg: Option<SignAlg>,
    },
    /// Revoke a (possibly leaked) key: it leaves the JWK Set at once and nothing it signed is
    /// accepted at exchange. A current key is replaced by a new one first.
    Revoke {
        #[arg(long)]
        service: u64,
        /// The key's `kid` (see the service's JWK Set).
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
            GrantType::parse(n.trim()).ok_or_else(|| TenancyError::Invalid(format!("unknown grant type {n}")))
        })
        .collect()
}

fn print(value: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
}

/// Runs one admin command against `store`, printing JSON.
pub async fn run_admin(store: &dyn Store, command: Admin) -> Result<(), TenancyError> {
    match command {
        Admin::Org(OrgCmd::Create { name }) => {
            print(json!(tenancy::create_organization(store, &name).await?))
        }
        Admin::Org(OrgCmd::List) => print(json!(store.list_organizations().await?)),
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
                },
                key_alg: args.sign_alg.unwrap_or(SignAlg::EdDsa),
            };
            print(json!(tenancy::create_service(store, OrganizationId(args.org), &spec).await?))
        }
        Admin::Service(ServiceCmd::List { org }) => {
            print(json!(store.list_services(org.map(OrganizationId)).await?))
        }
        Admin::Client(ClientCmd::Create { service, name, alias, entity_id, grant_types: names }) => {
            let client = tenancy::create_client(
                store,
                ServiceId(service),
                &name,
                alias,
                entity_id,
                grant_types(&names)?,
            )
            .await?;
            print(json!(client))
        }
        Admin::Client(ClientCmd::List { service }) => {
            print(json!(store.list_clients(ServiceId(service)).await?))
        }
        Admin::Client(ClientCmd::Update { service, client, grant_types: names }) => {
            let grants = grant_types(&names)?;
            if !store
                .set_client_grant_types(ServiceId(service), token_core::ClientId(client), &grants)
                .await?
            {
                return Err(TenancyError::Invalid(format!("service {service} has no client {client}")));
            }
            print(json!({"clientId": client, "grantTypes": grants}))
        }
        Admin::Credential(CredentialCmd::Create { service, org, label, expires_in }) => {
            let principal = match (service, org) {
                (Some(s), _) => Principal::Service(ServiceId(s)),
                (None, Some(o)) => Principal::Organization(OrganizationId(o)),
                (None, None) => return Err(TenancyError::Invalid("give --service or --org".into())),
            };
            let expires_at = expires_in.map(|secs| crate::clock::now_ms().saturating_add(secs * 1000));
            let issued = tenancy::issue_credential_expiring(store, principal, &label, expires_at).await?;
            print(json!({
                "credential": issued.record,
                "secret": issued.secret.secret(),
                "note": "The secret is shown once; only its hash is stored."
            }))
        }
        Admin::Credential(CredentialCmd::List) => print(json!(store.list_credentials().await?)),
        Admin::Credential(CredentialCmd::Revoke { id }) => {
            tenancy::revoke_credential(store, id).await?;
            print(json!({"id": id, "revoked": true}))
        }
        Admin::Key(KeyCmd::Revoke { service, kid }) => {
            let replacement = tenancy::revoke_key(store, ServiceId(service), &kid).await?;
            print(json!({
                "revoked": kid,
                "newCurrentKid": replacement.map(|k| k.kid),
            }))
        }
        Admin::Key(KeyCmd::Rotate { service, alg }) => {
            let service = ServiceId(service);
            let record = store
                .service(service)
                .await?
                .ok_or_else(|| TenancyError::Invalid(format!("service {service} does not exist")))?;
            let current = store.current_signing_key(service).await?.map(|k| k.alg);
            let alg = alg.or(record.access_token_sign_alg).or(current).unwrap_or(SignAlg::EdDsa);
            let key = tenancy::rotate_key(store, service, alg).await?;
            print(json!({"kid": key.kid, "alg": key.alg, "publicJwk": key.public_jwk}))
        }
    }
    Ok(())
}
