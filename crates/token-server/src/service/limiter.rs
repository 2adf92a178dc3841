//! The custom-token parallel limit: at most N generations in flight per caller credential.
//! A slot is an owned semaphore permit, released when the request's future is dropped — on
//! success, on error, and when the client disconnects — so slots cannot leak.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
struct Slots {
    semaphore: Arc<Semaphore>,
    /// The most slots ever held at once (for tests and metrics).
    peak: AtomicUsize,
}

#[derive(Debug)]
pub struct GenerationLimiter {
    limit: usize,
    callers: Mutex<HashMap<String, Arc<Slots>>>,
}

impl GenerationLimiter {
    pub fn new(limit: usize) -> Self {
        Self { limit: limit.max(1), callers: Mutex::new(HashMap::new()) }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    fn slots(&self, caller: &str) -> Arc<Slots> {
        let mut callers = self.callers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(callers.entry(caller.to_owned()).or_insert_with(|| {
            Arc::new(Slots { semaphore: Arc::new(Semaphore::new(self.limit)), peak: AtomicUsize::new(0) })
        }))
    }

    fn note(&self, slots: &Slots) {
        slots.peak.fetch_max(self.limit - slots.semaphore.available_permits(), Ordering::Relaxed);
    }

    /// A slot now, or `None` when the caller already has `limit` generations in flight.
    pub fn try_acquire(&self, caller: &str) -> Option<OwnedSemaphorePermit> {
        let slots = self.slots(caller);
        let permit = Arc::clone(&slots.semaphore).try_acquire_owned().ok()?;
        self.note(&slots);
        Some(permit)
    }

    /// A slot, waiting for one to free up (pipelines queue instead of failing). `None` only if
    /// the semaphore were closed, which this limiter never does.
    pub async fn acquire(&self, caller: &str) -> Option<OwnedSemaphorePermit> {
        let slots = self.slots(caller);
        let permit = Arc::clone(&slots.semaphore).acquire_owned().await.ok()?;
        self.note(&slots);
        Some(permit)
    }

    /// Slots in use by every caller now.
    pub fn in_flight_total(&self) -> usize {
        let callers = self.callers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        callers.values().map(|slots| self.limit - slots.semaphore.available_permits()).sum()
    }

    /// Slots in use by `caller` now.
    pub fn in_flight(&self, caller: &str) -> usize {
        self.limit - self.slots(caller).semaphore.available_permits()
    }

    /// The most slots `caller` ever held at once.
    pub fn peak(&self, caller: &str) -> usize {
        self.slots(caller).peak.load(Ordering::Relaxed)
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
        assert_eq!(limiter.peak("a"), 10);
        drop(held);
        assert_eq!(limiter.in_flight("a"), 0);
        assert!(limiter.acquire("a").await.is_some());
    }
}
