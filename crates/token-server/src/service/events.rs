//! The event log's readers: a stream read after a cursor, held open (long poll) until an event
//! arrives or the wait ends. Every write records its own event (the store does, in the write's
//! transaction); this component only reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use token_core::events::{EventsPage, EventsRequest};
use token_core::{OrganizationId, ServiceId};

use super::{ServiceResult, Shared};
use crate::store::{EventStore, EventStream, Stores};

/// How often a waiting reader looks again: an event written by any instance (or the command line
/// on the same file) reaches a waiting reader within this.
pub const WAIT_POLL: Duration = Duration::from_millis(200);

/// Readers of one stream that may wait at once; more are answered at once, without waiting, so
/// that held requests (each one a connection and a read every [`WAIT_POLL`]) stay bounded per
/// tenant.
pub const WAITING_PER_STREAM: usize = 8;

/// The event log component.
#[derive(Debug)]
pub struct Events {
    store: Arc<dyn EventStore>,
    /// Readers waiting per stream now.
    waiting: Mutex<HashMap<EventStream, usize>>,
    /// A wait ends a second before the request's deadline would answer 408.
    longest_wait: Duration,
}

/// A waiting reader's place, given back when it is dropped (answered or cancelled).
struct Waiting<'a> {
    events: &'a Events,
    stream: EventStream,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut waiting = self.events.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = waiting.get_mut(&self.stream) {
            *count -= 1;
            if *count == 0 {
                waiting.remove(&self.stream);
            }
        }
    }
}

impl Events {
    pub(super) fn new(stores: &Stores, shared: &Shared) -> Self {
        let request_timeout = Duration::from_secs(shared.config.request_timeout_secs);
        Self {
            store: Arc::clone(&stores.events),
            waiting: Mutex::new(HashMap::new()),
            longest_wait: request_timeout.saturating_sub(Duration::from_secs(1)),
        }
    }

    /// The events of `service`'s stream that `request` asks for ([`Events::read`]).
    pub async fn of_service(&self, service: ServiceId, request: &EventsRequest) -> ServiceResult<EventsPage> {
        self.read(EventStream::Service(service), request).await
    }

    /// The events of `organization`'s own stream (its services and credentials) that `request`
    /// asks for ([`Events::read`]).
    pub async fn of_organization(
        &self,
        organization: OrganizationId,
        request: &EventsRequest,
    ) -> ServiceResult<EventsPage> {
        self.read(EventStream::Organization(organization), request).await
    }

    /// The events of `stream` that `request` asks for, oldest first, with the cursor to ask with
    /// next. With `wait`, an answer that would be empty waits (up to `wait`, and a second less than
    /// the request timeout) for an event to arrive.
    pub async fn read(&self, stream: EventStream, request: &EventsRequest) -> ServiceResult<EventsPage> {
        let (filter, wait) = request.validate()?;
        let deadline = tokio::time::Instant::now() + wait.min(self.longest_wait);
        let mut place = None;
        loop {
            let (events, head) = self.store.read_events(stream, &filter).await?;
            let next = filter.next(&events, head);
            let done = !events.is_empty() || next != filter.after || tokio::time::Instant::now() >= deadline;
            if done {
                return Ok(EventsPage { events, next });
            }
            if place.is_none() {
                match self.take_place(stream) {
                    Some(taken) => place = Some(taken),
                    // As many readers of this stream wait already: answered at once.
                    None => return Ok(EventsPage { events, next }),
                }
            }
            tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + WAIT_POLL)).await;
        }
    }

    fn take_place(&self, stream: EventStream) -> Option<Waiting<'_>> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let count = waiting.entry(stream).or_default();
        if *count >= WAITING_PER_STREAM {
            return None;
        }
        *count += 1;
        Some(Waiting { events: self, stream })
    }
}
