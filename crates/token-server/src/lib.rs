//! # token-server
//!
//! The token service over HTTP (axum + tokio) on a durable embedded SQLite store. The binary
//! (`src/main.rs`) adds the command line; tests drive [`app::router`] directly on 127.0.0.1:0.

pub mod app;
pub mod auth;
pub mod body;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod handlers;
pub mod jwt;
pub mod key_encryption;
pub mod keys;
pub mod limiter;
pub mod serve;
pub mod store;
pub mod tenancy;

use std::path::Path;
use std::sync::Arc;

pub use app::{AppState, router};
pub use config::Config;

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

pub use serve::serve;
