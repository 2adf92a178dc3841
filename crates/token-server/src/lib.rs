//! # token-server
//!
//! The token service over HTTP (axum + tokio) on a durable embedded SQLite store, in three layers:
//! `http` (routes, extractors, wire rendering) → `service` (the domain operations) → `store` (the
//! async storage interface and its backends). The binary (`src/main.rs`) adds the command line.

pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod key_encryption;
pub mod service;
pub mod store;

use std::path::Path;
use std::sync::Arc;

pub use config::Config;
pub use http::router;
pub use http::serve::serve;
pub use service::{Services, keys, tenancy};

/// Opens the store named by the configuration, sealing private keys with its key-encryption key.
pub fn open_store(config: &Config) -> Result<Arc<dyn store::Store>, store::StoreError> {
    let previous: Vec<String> =
        config.previous_key_encryption_keys.iter().map(|k| k.secret().to_owned()).collect();
    let keys =
        key_encryption::KeyEncryption::new(config.key_encryption_key.as_ref().map(|k| k.secret()), &previous)
            .map_err(|e| store::StoreError::Backend(format!("key encryption: {e}")))?;
    if !keys.is_enabled() {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                "no key-encryption key is configured: private signing keys are stored unencrypted; \
                 set TOKEN_SERVER_KEY_ENCRYPTION_KEY (32 bytes, base64) — see docs/security.md"
            );
        });
    }
    Ok(Arc::new(store::sqlite::SqliteStore::open_with(Path::new(&config.database), keys)?))
}
