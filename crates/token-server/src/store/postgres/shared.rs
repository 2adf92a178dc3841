//! Connections shared by concurrent lookups. The lookup every resource-server call makes (a token
//! by its value, at introspection) is one short statement; taking a pooled connection each, 64
//! requests in flight make 64 round trips, each a socket write and read on both sides. On a shared
//! connection tokio-postgres pipelines the statements of concurrent callers — written together,
//! answered together, in order — so the same requests cost a few system calls on each side
//! instead of one pair each.
//!
//! Only single statements in autocommit run here, never a transaction or a lock: each sees every
//! commit made before it started, exactly as on a connection of its own, so revocations are seen
//! at once on every instance. A closed connection (the database restarted, the network broke) is
//! replaced from the pool by the next lookup.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use deadpool_postgres::{Object, Pool};

use super::pool_error;
use crate::store::StoreResult;

/// Connections kept for shared lookups, when the pool is large enough to spare them.
pub const SHARED: usize = 2;

/// The pool size below which no connection is set aside (each lookup takes a pooled one).
pub const MIN_POOL_FOR_SHARING: usize = 4;

pub struct SharedClients {
    pool: Pool,
    slots: Vec<RwLock<Option<Arc<Object>>>>,
    next: AtomicUsize,
}

impl SharedClients {
    pub fn new(pool: Pool, pool_size: usize) -> Self {
        let shared = if pool_size >= MIN_POOL_FOR_SHARING { SHARED } else { 0 };
        Self { pool, slots: (0..shared).map(|_| RwLock::new(None)).collect(), next: AtomicUsize::new(0) }
    }

    /// A connection for one autocommit statement: shared with concurrent callers (the next in
    /// turn, connected on first use and replaced once closed), or a pooled one of its own when no
    /// connection is set aside.
    pub async fn get(&self) -> StoreResult<Arc<Object>> {
        if self.slots.is_empty() {
            return Ok(Arc::new(self.pool.get().await.map_err(pool_error)?));
        }
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        if let Some(client) = usable(slot) {
            return Ok(client);
        }
        let fresh = Arc::new(self.pool.get().await.map_err(pool_error)?);
        let mut held = slot.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        match held.as_ref().filter(|client| !client.is_closed()) {
            // Another caller replaced it meanwhile: use theirs, `fresh` goes back to the pool.
            Some(client) => Ok(Arc::clone(client)),
            None => {
                *held = Some(Arc::clone(&fresh));
                Ok(fresh)
            }
        }
    }
}

/// The slot's connection, unless there is none yet or it has closed.
fn usable(slot: &RwLock<Option<Arc<Object>>>) -> Option<Arc<Object>> {
    let held = slot.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    held.as_ref().filter(|client| !client.is_closed()).map(Arc::clone)
}
