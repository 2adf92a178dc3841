//! # token-server
//!
//! The token service over HTTP (axum + tokio) on a durable embedded SQLite store, in three layers:
//! `http` (routes, extractors, wire rendering) → `service` (the domain operations) → `store` (the
//! async storage interface and its backends). `cli` is the command line; the binary
//! (`src/main.rs`) parses it and dispatches each command to its module.

pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod key_encryption;
pub mod random;
pub mod service;
pub mod store;
pub mod telemetry;

pub use config::Config;
pub use http::router;
pub use http::serve::serve;
pub use service::{App, keys, tenancy};
pub use store::open::Database;

/// Opens the embedded store named by the configuration (SQLite only; see [`connect_store`]):
/// `config.backend().open(config)` ([`Database::open`]).
pub fn open_store(config: &Config) -> Result<store::Stores, store::StoreError> {
    config.backend().open(config)
}

/// Opens the store named by the configuration, either backend, sealing private keys with the
/// configured key-encryption key and applying pending migrations:
/// `config.backend().connect(config)` ([`Database::connect`]).
pub async fn connect_store(config: &Config) -> Result<store::Stores, store::StoreError> {
    config.backend().connect(config).await
}
