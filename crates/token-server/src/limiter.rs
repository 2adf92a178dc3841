//! The custom-token parallel limit: at most N generations in flight per caller credential.
//! A slot is an owned semaphore permit, released when the request's future is dropped — on
//! success, on error, and when the client disconnects — so slots cannot leak.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub struct GenerationLimiter {
    limit: usize,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl GenerationLimiter {
    pub fn new(limit: usize) -> Self {
        Self { limit: limit.max(1), slots: Mutex::new(HashMap::new()) }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    fn semaphore(&self, caller: &str) -> Arc<Semaphore> {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(slots.entry(caller.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(self.limit))))
    }

    /// A slot now, or `None` when the caller already has `limit` generations in flight.
    pub fn try_acquire(&self, caller: &str) -> Option<OwnedSemaphorePermit> {
        self.semaphore(caller).try_acquire_owned().ok()
    }

    /// A slot, waiting for one to free up (pipelines queue instead of failing). `None` only if
    /// the semaphore were closed, which this limiter never does.
    pub async fn acquire(&self, caller: &str) -> Option<OwnedSemaphorePermit> {
        self.semaphore(caller).acquire_owned().await.ok()
    }

    /// Slots in use by `caller` (for tests and metrics).
    pub fn in_flight(&self, caller: &str) -> usize {
        self.limit - self.semaphore(caller).available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exact_limit_per_caller_and_release_on_drop() {
        let limiter = GenerationLimiter::new(10);
        let held: Vec<_> = (0..10).map(|_| limiter.try_acquire("a").unwrap()).collect();
        assert!(limiter.try_acquire("a").is_none(), "the 11th is refused");
        assert!(limiter.try_acquire("b").is_some(), "other callers are independent");
        drop(held);
        assert_eq!(limiter.in_flight("a"), 0);
        assert!(limiter.try_acquire("a").is_some());
    }
}
