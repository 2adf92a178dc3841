//! The first start of an empty store: a default organization, service and client and two bearer
//! credentials, written to a file only its owner reads (never to a log), and the checks around it.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::CliError;
use crate::Database;
use crate::config::Config;
use crate::service::App;
use crate::service::tenancy;

/// Provisions an empty store (all or nothing) and says where its credentials are; on a store
/// that cannot be used over HTTP, says how to make it usable. Runs once both listeners are bound:
/// a taken port bootstraps nothing.
pub async fn provision(app: &App) -> Result<(), CliError> {
    let config = app.config();
    // A credentials file left by an earlier first start, beside an empty store: provisioning would
    // make credentials it cannot hand out (the file is never overwritten) and exit. Refused before
    // anything is provisioned, saying what to do.
    let credentials = credentials_file(config);
    if credentials.exists() && matches!(app.tenancy().store_is_empty().await, Ok(true)) {
        return Err(CliError::failed(
            "token-server",
            format!(
                "{} is left from an earlier first start and the store is empty: move or delete it \
                 (its credentials are not valid for this store), then start again; nothing was provisioned",
                credentials.display()
            ),
        ));
    }
    // All or nothing: the credentials file is written and synced inside the first start's
    // transaction, which commits only then; shown (on a terminal) once committed.
    let file = credentials.clone();
    match app.tenancy().bootstrap_if_empty(move |b| write_credentials(b, &file)).await {
        Ok(Some(b)) => announce_bootstrap(&b, &credentials),
        Ok(None) => {}
        Err(e) => {
            return Err(CliError::failed(
                "token-server",
                format!("the first start failed, nothing was provisioned: {e}"),
            ));
        }
    }
    // A store that cannot be used over HTTP (an interrupted first start of an earlier version,
    // or every credential revoked): said at each start, with the way out.
    if matches!(app.tenancy().has_usable_credential().await, Ok(false)) {
        let database = config.database_redacted();
        tracing::warn!(
            "the store has no usable credential (none, or all revoked or expired): no request can be \
             authenticated. Create one with `token-server --database '{database}' admin credential create \
             --org ID` (IDs: `admin org list`; or `--service ID`, IDs: `admin service list`)"
        );
        eprintln!(
            "token-server: the store has no usable credential; create one with `token-server --database \
             '{database}' admin credential create --org ID` (`admin org list` shows the IDs)"
        );
    }
    Ok(())
}

/// The first-start credentials, in a new file only its owner reads (what scripts and the README
/// read, wherever the server runs), synced before the first start commits. Never in a log.
fn write_credentials(b: &tenancy::Bootstrap, path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(credentials_text(b).as_bytes())?;
    file.sync_all()?;
    // The file's name in its directory survives a crash too.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn credentials_text(b: &tenancy::Bootstrap) -> String {
    let mut text = String::new();
    text.push_str(&format!("organization id:        {}\n", b.organization.id));
    text.push_str(&format!("service id:             {}\n", b.service.id));
    text.push_str(&format!(
        "client id:              {} (alias {})\n",
        b.client.client_id,
        b.client.alias.as_deref().unwrap_or("-")
    ));
    text.push_str(&format!("service access token:   {}\n", b.service_token.secret.secret()));
    text.push_str(&format!("organization token:     {}\n", b.organization_token.secret.secret()));
    text
}

/// Tells the operator where the first-start credentials are, without letting them reach log
/// collectors: shown when stdout is a terminal (someone is watching), otherwise only the file's path.
fn announce_bootstrap(b: &tenancy::Bootstrap, path: &Path) {
    let mut text = String::from("First start: created a default organization, service and client.\n");
    if std::io::stdout().is_terminal() {
        for line in credentials_text(b).lines() {
            text.push_str(&format!("  {line}\n"));
        }
    } else {
        text.push_str(&format!("  service id:             {}\n", b.service.id));
    }
    text.push_str(&format!(
        "  credentials written to: {} (mode 0600; only their hashes are stored)\n",
        path.display()
    ));
    text.push_str("  Read them, keep them in a secret store, then delete the file.\n");
    // A closed stdout (`serve | head`) is no reason to stop serving: the file holds them.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
}

/// `<database>.credentials` (SQLite) or `./token-server.credentials` (PostgreSQL): where first-start
/// credentials go when stdout is not a terminal.
fn credentials_file(config: &Config) -> PathBuf {
    match config.backend() {
        Database::Postgres(_) => PathBuf::from("token-server.credentials"),
        // The file's path, `sqlite:` taken off like everywhere else.
        Database::Sqlite(path) => {
            let mut name = path.as_os_str().to_owned();
            name.push(".credentials");
            PathBuf::from(name)
        }
    }
}
