//! # token-server
//!
//! The token service over HTTP (axum + tokio) on a durable embedded SQLite store. The binary
//! (`src/main.rs`) adds the command line; tests drive [`app::router`] directly on 127.0.0.1:0.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod handlers;
pub mod jwt;
pub mod keys;
pub mod limiter;
pub mod store;
pub mod tenancy;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use app::{AppState, router};
pub use config::Config;

/// Opens the store named by the configuration.
pub fn open_store(config: &Config) -> Result<Arc<dyn store::Store>, store::StoreError> {
    Ok(Arc::new(store::sqlite::SqliteStore::open(Path::new(&config.database))?))
}

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
