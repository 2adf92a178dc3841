//! The format new token values are made in, as last read from the store. Shared by issuance (new
//! values), token management (a regenerated value) and maintenance (which finishes the upgrade
//! that switches it, `migrate --finish`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

use super::{ServiceResult, Shared};
use crate::clock::Clock;
use crate::random::ValueFormat;
use crate::store::{MaintenanceStore, Stores};

/// How often an instance that issues hashed values asks the store whether the selector format's
/// upgrade was finished (`token-server migrate --finish` on another host): an instance started
/// before it follows within this time.
const VALUE_FORMAT_RECHECK_MS: i64 = 10_000;

/// The value format as last read: once the selector format is on it stays on (an upgrade is never
/// undone), so only an instance still issuing hashed values reads it again. Clones share it.
#[derive(Clone, Debug)]
pub struct ValueFormats {
    /// Read for `selector_values` only.
    maintenance: Arc<dyn MaintenanceStore>,
    clock: Arc<dyn Clock>,
    state: Arc<FormatState>,
}

#[derive(Debug)]
struct FormatState {
    selector: AtomicBool,
    /// When it was read (ms; `i64::MIN`: never).
    checked_at: AtomicI64,
}

impl ValueFormats {
    pub(super) fn new(stores: &Stores, shared: &Shared) -> Self {
        Self {
            maintenance: Arc::clone(&stores.maintenance),
            clock: Arc::clone(&shared.clock),
            state: Arc::new(FormatState { selector: false.into(), checked_at: i64::MIN.into() }),
        }
    }

    /// The format new token values are made in: with their token's ID once the store says every
    /// instance understands it (read again at most every ten seconds until then).
    pub async fn current(&self) -> ServiceResult<ValueFormat> {
        let state = &self.state;
        if !state.selector.load(Relaxed) {
            let now = self.clock.now_ms();
            let checked_at = state.checked_at.load(Relaxed);
            if checked_at == i64::MIN || now.saturating_sub(checked_at) >= VALUE_FORMAT_RECHECK_MS {
                state.checked_at.store(now, Relaxed);
                if self.maintenance.selector_values().await? {
                    state.selector.store(true, Relaxed);
                }
            }
        }
        Ok(if state.selector.load(Relaxed) { ValueFormat::Selector } else { ValueFormat::Hashed })
    }

    /// Reads the store again at the next value (an upgrade was just finished).
    pub(super) fn forget(&self) {
        self.state.checked_at.store(i64::MIN, Relaxed);
    }
}
