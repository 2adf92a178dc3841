//! `token-server`: run the server (default) or administer the store. See `token-server --help`.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use token_server::cli::{self, Cli, Command, ConfigCmd, run_admin, run_token};
use token_server::service::maintenance::{JANITOR_BATCH, JanitorPacing};
use token_server::{App, Config, connect_store, tenancy};

/// Every request allocates and frees small buffers on whichever worker thread runs it; mimalloc's
/// per-thread free lists avoid glibc's arena locks and consolidation (`docs/performance.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let as_json = cli.json;
    // `--json` shapes a result; a command that prints none refuses it rather than ignore it.
    let prints_results = match &cli.command {
        Some(Command::Admin(_) | Command::Token(_) | Command::Janitor { .. }) => true,
        Some(Command::Migrate { status, .. }) => *status,
        _ => false,
    };
    if as_json && !prints_results {
        eprintln!(
            "token-server: --json shapes the results of admin, token, janitor and migrate --status; \
             this command prints none"
        );
        return ExitCode::from(2);
    }
    // Generated from the command line itself: no configuration or store needed.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            // Written whole, and a reader that closes early (`| head`) is not an error.
            let mut script = Vec::new();
            cli::completions(*shell, &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            return ExitCode::SUCCESS;
        }
        Some(Command::Man) => {
            return match cli::man(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("token-server man: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("token-server: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match token_server::telemetry::init(&config) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("token-server: telemetry: {e}");
            return ExitCode::from(2);
        }
    };
    let code = run(cli, as_json, config);
    telemetry.shutdown();
    code
}

fn run(cli: Cli, as_json: bool, mut config: Config) -> ExitCode {
    if let Some(database) = cli.database {
        config.database = database;
    }
    let command = cli.command.unwrap_or(Command::Serve { listen: None });
    // The database as every command will read it (after `--database`), so that what would fail
    // later fails here, naming what is wrong.
    if let Err(e) = config.check_database() {
        eprintln!("token-server: configuration: {e}");
        return ExitCode::from(2);
    }
    let unknown =
        token_server::config::unknown_env_vars(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()));
    if let Command::Config(ConfigCmd::Check) = command {
        // A misspelt variable would be ignored silently: refused like an unknown key.
        if !unknown.is_empty() {
            eprintln!(
                "token-server: configuration: unknown environment variable(s) {}: not read by this server \
                 (docs/configuration.md lists them)",
                unknown.join(", ")
            );
            return ExitCode::from(2);
        }
        // Loading succeeded (a bad key or value has already exited with status 2).
        println!("configuration is valid");
        println!("{}", config.summary());
        if let Some(warning) = config.tls_key.as_deref().and_then(token_server::http::tls::key_file_warning) {
            println!("warning: {warning}");
        }
        return ExitCode::SUCCESS;
    }
    if let Command::Backup { path: target } = &command {
        return match config.backend() {
            token_server::Database::Sqlite(path) => {
                match token_server::store::sqlite::SqliteStore::backup(path, target) {
                    Ok(()) => {
                        println!("{}: backed up to {} (mode 0600)", path.display(), target.display());
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("token-server backup: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            token_server::Database::Postgres(url) => match pg_dump(url, target) {
                Ok(()) => {
                    println!(
                        "{}: backed up to {} (pg_dump --format=custom, mode 0600); restore with pg_restore \
                         into an empty database (docs/operations.md)",
                        config.database_redacted(),
                        target.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("token-server backup: {e}");
                    ExitCode::FAILURE
                }
            },
        };
    }
    if let Command::Migrate { status: true, .. } = command {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("token-server: cannot start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        // No store yet: said, rather than a list that looks like a store behind on every migration.
        let missing = match config.backend() {
            token_server::Database::Sqlite(path) => (!path.exists()).then(|| path.display().to_string()),
            token_server::Database::Postgres(_) => None,
        };
        return match runtime.block_on(token_server::migration_status(&config)) {
            Ok(_) if missing.is_some() && !as_json => {
                println!(
                    "{}: no store here yet; `token-server migrate` (or the first `serve`) creates it with all {} migrations",
                    missing.unwrap_or_default(),
                    token_server::store::sqlite::MIGRATIONS.len()
                );
                ExitCode::SUCCESS
            }
            Ok(status) if !as_json && status.iter().all(|m| !m.applied) => {
                println!(
                    "{}: no token-server schema in this database yet; `token-server migrate` (or the first \
                     `serve`) applies all {} migrations",
                    config.database_redacted(),
                    status.len()
                );
                ExitCode::SUCCESS
            }
            Ok(status) if as_json => {
                cli::print(&serde_json::to_value(status).unwrap_or_default(), true);
                ExitCode::SUCCESS
            }
            Ok(status) => {
                for m in status {
                    let state = if m.applied { "applied" } else { "pending" };
                    println!("{:04} {:<32} {:<8} {}", m.version, m.name, state, m.checksum);
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("token-server migrate --status: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let (Command::Migrate { finish: false, .. }, token_server::Database::Sqlite(path)) =
        (&command, config.backend())
    {
        return match token_server::store::sqlite::SqliteStore::migrate(path) {
            Ok(applied) if applied.is_empty() => {
                println!("{}: the schema is up to date", config.database.display());
                ExitCode::SUCCESS
            }
            Ok(applied) => {
                println!("{}: applied {}", config.database.display(), applied.join(", "));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("token-server migrate: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("token-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // SQLite is one instance: a second server on the same file would double the janitor and
    // split the caches' view of revocations. An exclusive lock on the file (created if need be),
    // taken before the store is opened and held while serving: an advisory `flock`, independent
    // of SQLite's own locks, so the CLI still works beside the server.
    let _one_server = match (&command, config.backend()) {
        (Command::Serve { .. }, token_server::Database::Sqlite(path)) => {
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
            {
                Ok(file) => match file.try_lock() {
                    Ok(()) => Some(file),
                    Err(std::fs::TryLockError::WouldBlock) => {
                        eprintln!(
                            "token-server: another token-server is already serving {}: a SQLite store has \
                             one server (for N instances use PostgreSQL); stop it, or give this one another \
                             --database",
                            path.display()
                        );
                        return ExitCode::FAILURE;
                    }
                    Err(std::fs::TryLockError::Error(e)) => {
                        eprintln!("token-server: warning: cannot lock {}: {e}", path.display());
                        Some(file)
                    }
                },
                Err(e) => {
                    eprintln!("token-server: cannot open {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => None,
    };
    runtime.block_on(async move {
        // Connecting applies pending migrations (PostgreSQL: under an advisory lock).
        let store = match connect_store(&config).await {
            Ok(store) => store,
            Err(e) => {
                eprintln!("token-server: cannot open the store {}: {e}", config.database_redacted());
                return ExitCode::FAILURE;
            }
        };
        match command {
            // Answered before the store was opened.
            Command::Config(ConfigCmd::Check) => ExitCode::SUCCESS,
            Command::Admin(command) => match run_admin(&App::new(store, config), command).await {
                Ok(value) => {
                    cli::print(&value, as_json);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("token-server admin: {e}");
                    ExitCode::FAILURE
                }
            },
            Command::Token(command) => match run_token(&App::new(store, config), command).await {
                Ok(value) => {
                    cli::print(&value, as_json);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("token-server token: {e}");
                    ExitCode::FAILURE
                }
            },
            Command::Serve { listen } => {
                if let Some(listen) = listen {
                    config.listen = listen;
                }
                run_server(config, store).await
            }
            Command::Janitor { retention_secs } => {
                let retention = retention_secs.unwrap_or(config.janitor_retention_secs);
                let app = App::new(store, config);
                match app
                    .maintenance()
                    .run_janitor(retention.saturating_mul(1000) as i64, JANITOR_BATCH, JanitorPacing::FlatOut)
                    .await
                {
                    Ok(run) => {
                        cli::print(&serde_json::to_value(run.purged).unwrap_or_default(), as_json);
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("token-server janitor: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Command::Migrate { finish: false, .. } => {
                println!("{}: the schema is up to date", config.database_redacted());
                ExitCode::SUCCESS
            }
            Command::Migrate { finish: true, .. } => {
                let database = config.database_redacted();
                match App::new(store, config).maintenance().finish_upgrades().await {
                    Ok(true) => {
                        println!("{database}: upgrades finished: new token values carry their token's ID");
                        ExitCode::SUCCESS
                    }
                    Ok(false) => {
                        println!("{database}: the schema is up to date and no upgrade waits");
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("token-server migrate --finish: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            // Answered before the store was opened.
            Command::Backup { .. } | Command::Completions { .. } | Command::Man => ExitCode::SUCCESS,
        }
    })
}

async fn run_server(mut config: Config, store: token_server::store::Stores) -> ExitCode {
    // Before anything opens descriptors of its own: as many as the system allows, and no more
    // connections than those leave room for.
    token_server::http::serve::fit_descriptor_limit(&mut config);
    let unknown =
        token_server::config::unknown_env_vars(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()));
    if !unknown.is_empty() {
        tracing::warn!(
            variables = %unknown.join(", "),
            "unknown TOKEN_SERVER_* environment variables are ignored (misspelt?); `config check` refuses them"
        );
    }
    // Once per server start (never on an admin command): what the operator should fix.
    if config.key_encryption_key.is_none() {
        tracing::warn!(
            "no key-encryption key is configured: private signing keys are stored unencrypted; \
             set TOKEN_SERVER_KEY_ENCRYPTION_KEY (32 bytes, base64) — see docs/security.md"
        );
    }
    let app = App::new(store, config);
    let config = std::sync::Arc::clone(app.config());
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("token-server: cannot listen on {}: {e}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    // Bound before the first line is printed, so that "listening" means both listeners are up.
    let metrics_listener = match config.metrics_listen {
        Some(metrics_address) => match tokio::net::TcpListener::bind(metrics_address).await {
            Ok(listener) => Some(listener),
            Err(e) => {
                eprintln!("token-server: cannot listen for metrics on {metrics_address}: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    // A credentials file left by an earlier first start, beside an empty store: provisioning would
    // make credentials it cannot hand out (the file is never overwritten) and exit. Refused before
    // anything is provisioned, saying what to do.
    let credentials = credentials_file(&config);
    if credentials.exists() && matches!(app.tenancy().store_is_empty().await, Ok(true)) {
        eprintln!(
            "token-server: {} is left from an earlier first start and the store is empty: move or delete it \
             (its credentials are not valid for this store), then start again; nothing was provisioned",
            credentials.display()
        );
        return ExitCode::FAILURE;
    }
    // Both ports are ours before anything is provisioned: a taken port bootstraps nothing.
    // All or nothing: the credentials file is written and synced inside the first start's
    // transaction, which commits only then; shown (on a terminal) once committed.
    let file = credentials.clone();
    match app.tenancy().bootstrap_if_empty(move |b| write_credentials(b, &file)).await {
        Ok(Some(b)) => announce_bootstrap(&b, &credentials),
        Ok(None) => {}
        Err(e) => {
            eprintln!("token-server: the first start failed, nothing was provisioned: {e}");
            return ExitCode::FAILURE;
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
    if let Some(metrics_listener) = &metrics_listener {
        let metrics_address = metrics_listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        println!("token-server metrics on http://{metrics_address}/metrics");
    }
    // HTTPS on the listener itself when configured; SIGHUP reloads the certificate for new
    // connections (validated at start, so the first load cannot fail here but for a race).
    if let Some(warning) = config.tls_key.as_deref().and_then(token_server::http::tls::key_file_warning) {
        tracing::warn!("{warning}");
    }
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => match token_server::http::tls::TlsFiles::load(cert, key) {
            Ok(files) => {
                let files = std::sync::Arc::new(files);
                let reloaded = std::sync::Arc::clone(&files);
                tokio::spawn(async move {
                    let Ok(mut hangup) =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                    else {
                        return;
                    };
                    while hangup.recv().await.is_some() {
                        match reloaded.reload() {
                            Ok(()) => tracing::info!("TLS certificate reloaded"),
                            Err(e) => {
                                tracing::warn!(error = %e, "TLS certificate not reloaded; the previous one stays")
                            }
                        }
                    }
                });
                Some(files)
            }
            Err(e) => {
                eprintln!("token-server: TLS: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    // The signal listeners exist before the server says it listens: a SIGTERM sent as soon as it
    // has said so is never lost (nor, before them, fatal without a graceful stop).
    let shutdown = shutdown_signal();
    println!("token-server listening on {scheme}://{address} (store: {})", config.database_redacted());
    // Both listeners stop on the same signal.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    if let Some(metrics_listener) = metrics_listener {
        let serve =
            token_server::http::serve::serve_metrics(metrics_listener, app.clone(), stopped(stop_rx.clone()));
        tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "the metrics listener stopped");
            }
        });
    }
    if app.config().janitor_interval_secs > 0 {
        let janitor = app.clone();
        tokio::spawn(async move {
            let every = std::time::Duration::from_secs(janitor.config().janitor_interval_secs);
            let retention = janitor.config().janitor_retention_secs.saturating_mul(1000) as i64;
            loop {
                tokio::time::sleep(every).await;
                match janitor
                    .maintenance()
                    .run_janitor(retention, JANITOR_BATCH, JanitorPacing::Background)
                    .await
                {
                    Ok(run) => tracing::info!(
                        tokens = run.purged.tokens,
                        custom_token_uses = run.purged.custom_token_uses,
                        rotated_refresh_tokens = run.purged.rotated_refresh_tokens,
                        proof_uses = run.purged.proof_uses,
                        batches = run.batches,
                        longest_batch_ms = run.longest_batch.as_millis() as u64,
                        "janitor run"
                    ),
                    Err(e) => tracing::warn!(error = %e, "janitor run failed"),
                }
            }
        });
    }
    match token_server::http::serve::serve_with_tls(listener, app, tls, stopped(stop_rx)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("token-server: {e}");
            ExitCode::FAILURE
        }
    }
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
        token_server::Database::Postgres(_) => PathBuf::from("token-server.credentials"),
        // The file's path, `sqlite:` taken off like everywhere else.
        token_server::Database::Sqlite(path) => {
            let mut name = path.as_os_str().to_owned();
            name.push(".credentials");
            PathBuf::from(name)
        }
    }
}

/// Backs a PostgreSQL store up with PostgreSQL's own tool (consistent and online, restorable with
/// `pg_restore`), into a new file only its owner reads. The password never reaches a command line
/// (where every user sees it): it is taken out of the URL and given to `pg_dump` as `PGPASSWORD`.
fn pg_dump(url: &str, target: &Path) -> Result<(), String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("the database URL is not valid: {e}"))?;
    let mut password = parsed.password().map(percent_decoded);
    let _ = parsed.set_password(None);
    // The other parameters go on exactly as written: re-encoding would turn `%20` into `+`, which
    // libpq does not decode.
    let mut kept = Vec::new();
    for piece in parsed.query().unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(piece.as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        match decoded.first() {
            Some((name, value)) if name == "password" => password = Some(value.clone()),
            _ => kept.push(piece.to_owned()),
        }
    }
    let kept = kept.join("&");
    parsed.set_query(if kept.is_empty() { None } else { Some(&kept) });
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let mut dump = std::process::Command::new("pg_dump");
    dump.arg("--format=custom")
        .arg("--no-password")
        .arg("--file")
        .arg(target)
        .arg("--dbname")
        .arg(parsed.as_str());
    if let Some(password) = password {
        dump.env("PGPASSWORD", password);
    }
    let failed = |why: String| {
        let _ = std::fs::remove_file(target);
        Err(why)
    };
    match dump.output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => failed(format!(
            "pg_dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => failed(
            "pg_dump was not found: install PostgreSQL's client tools (the server's major version or newer)"
                .into(),
        ),
        Err(e) => failed(format!("cannot run pg_dump: {e}")),
    }
}

/// A URL's user-info part as written before percent-encoding (`%40` → `@`; `+` stays `+`).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Ctrl-C or SIGTERM (what service managers and container runtimes send): stop accepting, finish
/// the requests in flight, exit. The listeners are registered when this is called (not when the
/// future is first polled), so a signal that arrives in between is not missed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    let terminate = signal(SignalKind::terminate()).ok();
    let interrupt = signal(SignalKind::interrupt()).ok();
    let received = |listener: Option<Signal>| async move {
        match listener {
            Some(mut listener) => {
                listener.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    async move {
        tokio::select! {
            _ = received(interrupt) => {}
            _ = received(terminate) => {}
        }
        tracing::info!("shutting down");
    }
}
