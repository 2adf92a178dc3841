//! `token-server admin …`: organizations, services, clients, credentials and signing keys, managed
//! through the service layer without editing SQL.

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use token_core::events::Actor;
use token_core::grant::GrantType;
use token_core::tenancy::{Principal, ServiceSettings};
use token_core::{ClientId, OrganizationId, ServiceId};

use super::CliError;
use crate::config::Config;
use crate::service::App;
use crate::service::keys::SignAlg;
use crate::service::tenancy::{NewClient, ServicePatch, ServiceSpec, TenancyError};

/// `EdDSA`, `ES256` or `RS256`.
fn parse_sign_alg(text: &str) -> Result<SignAlg, String> {
    SignAlg::parse(text).ok_or_else(|| format!("'{text}' is not EdDSA, ES256 or RS256"))
}

#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCmd),
    /// App.
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
    /// Issuance events (`token.created`, `token.refreshed`, `custom_token.*`) in the event log:
    /// `true` (the default of a new service) or `false`
    #[arg(long)]
    pub issuance_events: Option<bool>,
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

/// `token-server admin …`: runs the command against the configured store (opened, and migrated,
/// first) and prints its result.
pub fn run(config: Config, command: Admin, as_json: bool) -> Result<(), CliError> {
    super::runtime()?.block_on(async move {
        let app = super::app(config).await?;
        let value = answer(&app, command).await.map_err(|e| CliError::failed("token-server admin", e))?;
        super::table::print(&value, as_json);
        Ok(())
    })
}

/// Runs one admin command through the service layer and returns what to print.
pub async fn answer(app: &App, command: Admin) -> Result<Value, TenancyError> {
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
                    issuance_events: true,
                },
                key_alg: args.sign_alg.unwrap_or(SignAlg::EdDsa),
            };
            json!(app.tenancy().create_service(OrganizationId(args.org), &spec, &Actor::cli()).await?)
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
                issuance_events: args.issuance_events,
            };
            json!(app.tenancy().update_service(ServiceId(args.service), patch, &Actor::cli()).await?)
        }
        Admin::Client(ClientCmd::Create { service, name, id, alias, entity_id, grant_types: names }) => {
            let new =
                NewClient { name, id: id.map(ClientId), alias, entity_id, grant_types: grant_types(&names)? };
            json!(app.tenancy().create_client(ServiceId(service), new, &Actor::cli()).await?)
        }
        Admin::Client(ClientCmd::List { service }) => {
            json!(app.tenancy().list_clients(ServiceId(service)).await?)
        }
        Admin::Client(ClientCmd::Update { service, client, grant_types: names }) => {
            let grants = grant_types(&names)?;
            let client = app.tenancy().client_named(ServiceId(service), &client).await?;
            app.tenancy().set_client_grant_types(ServiceId(service), client, &grants, &Actor::cli()).await?;
            json!({"clientId": client, "grantTypes": grants})
        }
        Admin::Client(ClientCmd::Delete { service, client }) => {
            let client = app.tenancy().client_named(ServiceId(service), &client).await?;
            app.tenancy().delete_client(ServiceId(service), client, &Actor::cli()).await?;
            json!({"clientId": client, "deleted": true, "tokensRevoked": true})
        }
        Admin::Credential(CredentialCmd::Create { service, org, label, expires_in }) => {
            let principal = match (service, org) {
                (Some(s), _) => Principal::Service(ServiceId(s)),
                (None, Some(o)) => Principal::Organization(OrganizationId(o)),
                (None, None) => return Err(TenancyError::Invalid("give --service or --org".into())),
            };
            let issued = app.tenancy().issue_credential(principal, &label, expires_in, &Actor::cli()).await?;
            json!({
                "credential": issued.record,
                "secret": issued.secret.secret(),
                "note": "The secret is shown once; only its hash is stored."
            })
        }
        Admin::Credential(CredentialCmd::List) => json!(app.tenancy().list_credentials().await?),
        Admin::Credential(CredentialCmd::Revoke { id }) => {
            app.tenancy().revoke_credential(id, &Actor::cli()).await?;
            json!({"id": id, "revoked": true})
        }
        Admin::Key(KeyCmd::List { service }) => json!(app.tenancy().list_keys(ServiceId(service)).await?),
        Admin::Key(KeyCmd::Rotate { service, alg }) => {
            let key = app.tenancy().rotate_key(ServiceId(service), alg, &Actor::cli()).await?;
            json!({"kid": key.kid, "alg": key.alg, "publicJwk": key.public_jwk})
        }
        Admin::Key(KeyCmd::Revoke { service, kid }) => {
            let revocation = app.tenancy().revoke_key(ServiceId(service), &kid, &Actor::cli()).await?;
            json!({
                "revoked": kid,
                "newCurrentKid": revocation.replacement.map(|k| k.kid),
                "tokensRevoked": revocation.tokens_revoked,
            })
        }
    })
}
