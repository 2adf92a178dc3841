//! `token-server [serve]`: the HTTP server (and the optional metrics listener) on the configured
//! store, until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::CliError;
use crate::Database;
use crate::config::Config;
use crate::http::tls::TlsFiles;
use crate::service::App;
use crate::service::maintenance::{JANITOR_BATCH, JanitorPacing};

/// Opens the store (applying pending migrations; a SQLite store locked for this server alone),
/// provisions it on its first start, and serves (`listen` overrides the configuration's address).
pub fn run(mut config: Config, listen: Option<SocketAddr>) -> Result<(), CliError> {
    let runtime = super::runtime()?;
    // Held while serving.
    let _one_server = lock_sqlite_store(&config)?;
    runtime.block_on(async move {
        // Connecting applies pending migrations (PostgreSQL: under an advisory lock).
        let store = config.backend().connect(&config).await.map_err(|e| super::cannot_open(&config, e))?;
        if let Some(listen) = listen {
            config.listen = listen;
        }
        // Before anything opens descriptors of its own: as many as the system allows, and no more
        // connections than those leave room for.
        crate::http::serve::fit_descriptor_limit(&mut config);
        let unknown =
            crate::config::unknown_env_vars(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()));
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
        serve(App::new(store, config)).await
    })
}

/// SQLite is one instance: a second server on the same file would double the janitor and split
/// the caches' view of revocations. An exclusive lock on the file (created if need be), taken
/// before the store is opened and held while serving: an advisory `flock`, independent of
/// SQLite's own locks, so the CLI still works beside the server. PostgreSQL: none (N instances).
fn lock_sqlite_store(config: &Config) -> Result<Option<std::fs::File>, CliError> {
    let Database::Sqlite(path) = config.backend() else {
        return Ok(None);
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::failed("token-server", format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(CliError::failed(
            "token-server",
            format!(
                "another token-server is already serving {}: a SQLite store has one server (for N \
                 instances use PostgreSQL); stop it, or give this one another --database",
                path.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            eprintln!("token-server: warning: cannot lock {}: {e}", path.display());
            Ok(Some(file))
        }
    }
}

/// Binds both listeners, provisions a first start, then serves until a signal stops both.
async fn serve(app: App) -> Result<(), CliError> {
    let config = Arc::clone(app.config());
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| CliError::failed("token-server", format!("cannot listen on {}: {e}", config.listen)))?;
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    // Bound before the first line is printed, so that "listening" means both listeners are up.
    let metrics_listener = match config.metrics_listen {
        Some(metrics_address) => Some(TcpListener::bind(metrics_address).await.map_err(|e| {
            CliError::failed("token-server", format!("cannot listen for metrics on {metrics_address}: {e}"))
        })?),
        None => None,
    };
    // Both ports are ours before anything is provisioned: a taken port bootstraps nothing.
    super::first_start::provision(&app).await?;
    if let Some(metrics_listener) = &metrics_listener {
        let metrics_address = metrics_listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        println!("token-server metrics on http://{metrics_address}/metrics");
    }
    let tls = tls(&config)?;
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
            crate::http::serve::serve_metrics(metrics_listener, app.clone(), stopped(stop_rx.clone()));
        tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "the metrics listener stopped");
            }
        });
    }
    if config.janitor_interval_secs > 0 {
        spawn_janitor(app.clone());
    }
    crate::http::serve::serve_with_tls(listener, app, tls, stopped(stop_rx))
        .await
        .map_err(|e| CliError::failed("token-server", e))
}

/// HTTPS on the listener itself when configured; SIGHUP reloads the certificate for new
/// connections (validated at start, so the first load cannot fail here but for a race).
fn tls(config: &Config) -> Result<Option<Arc<TlsFiles>>, CliError> {
    if let Some(warning) = config.tls_key.as_deref().and_then(crate::http::tls::key_file_warning) {
        tracing::warn!("{warning}");
    }
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let files = Arc::new(
        TlsFiles::load(cert, key).map_err(|e| CliError::failed("token-server", format!("TLS: {e}")))?,
    );
    let reloaded = Arc::clone(&files);
    tokio::spawn(async move {
        let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return;
        };
        while hangup.recv().await.is_some() {
            match reloaded.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => tracing::warn!(error = %e, "TLS certificate not reloaded; the previous one stays"),
            }
        }
    });
    Ok(Some(files))
}

/// The janitor on its schedule (`janitor_interval_secs`), paced to leave the writer to requests.
fn spawn_janitor(janitor: App) {
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(janitor.config().janitor_interval_secs);
        let retention = janitor.config().janitor_retention_secs.saturating_mul(1000) as i64;
        loop {
            tokio::time::sleep(every).await;
            match janitor.maintenance().run_janitor(retention, JANITOR_BATCH, JanitorPacing::Background).await
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

/// Ctrl-C or SIGTERM (what service managers and container runtimes send): stop accepting, finish
/// the requests in flight, exit. The listeners are registered when this is called (not when the
/// future is first polled), so a signal that arrives in between is not missed.
pub(super) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
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
