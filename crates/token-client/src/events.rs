//! The event log: one method per endpoint (`GET /api/{serviceId}/events`, `GET /api/events`), and
//! [`EventStream`], which follows a stream through its cursor with long polls.

use std::collections::VecDeque;
use std::time::Duration;

use token_core::events::{self, Event, EventsPage, EventsRequest, MAX_WAIT_SECS};

use crate::{Error, TokenClient};

/// How long a following [`EventStream`] pauses before asking again when the server answered
/// "nothing new" without holding the request (it holds a bounded number of readers per stream,
/// and answers the others at once).
pub const IDLE_PAUSE: Duration = Duration::from_secs(1);

/// What a whole-request timeout leaves to a long poll: the held request must come back before the
/// client gives up on it.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

impl TokenClient {
    /// `GET /api/{serviceId}/events`: this client's service's events after `request.after`,
    /// oldest first, and the cursor to ask with next (`next`); `wait` holds the request until an
    /// event arrives (at most 30 s, and less than this client's timeout). To follow a stream,
    /// [`event_stream`](Self::event_stream) does the cursor work.
    pub async fn events(&self, request: &EventsRequest) -> Result<EventsPage, Error> {
        self.call::<events::ServiceEvents>(&[], request).await
    }

    /// `GET /api/events` (Organization Token): the organization's own events (services,
    /// credentials), as [`events`](Self::events).
    pub async fn organization_events(&self, request: &EventsRequest) -> Result<EventsPage, Error> {
        self.call::<events::OrganizationEvents>(&[], request).await
    }

    /// Follows this client's service's events from `request.after` (0: the oldest kept), with
    /// `request`'s filters and page size: see [`EventStream`].
    pub fn event_stream(&self, request: EventsRequest) -> EventStream {
        EventStream::new(self.clone(), Source::Service, request)
    }

    /// Follows the organization's own events (Organization Token), as
    /// [`event_stream`](Self::event_stream).
    pub fn organization_event_stream(&self, request: EventsRequest) -> EventStream {
        EventStream::new(self.clone(), Source::Organization, request)
    }
}

/// Which endpoint a stream reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Service,
    Organization,
}

/// A stream of the event log, followed through its cursor: [`next`](Self::next) answers the events
/// one by one, oldest first, each once. It asks for a page at a time, keeps it, and asks for the
/// next one after the page's `next` only when the page is used up; when there is nothing new, the
/// request is held by the server (`wait`) until an event arrives, so a follower learns of an event
/// within moments of its writing, without polling in a loop.
///
/// Following `next` never misses an event and never sees one twice (the server's cursor rule,
/// whichever instance wrote them). [`cursor`](Self::cursor) is the place to resume from in a later
/// stream (`EventsRequest::after(cursor)`): what was answered is behind it, what was not is after.
///
/// ```no_run
/// # async fn demo(client: token_client::TokenClient) -> Result<(), token_client::Error> {
/// use token_client::EventsRequest;
///
/// let mut request = EventsRequest::after(0);
/// request.event_type = Some("token.revoked".into());
/// let mut stream = client.event_stream(request);
/// while let Some(event) = stream.next().await? {
///     println!("{} {} by {:?}: {:?}", event.event_id, event.event_type, event.actor.kind, event.subject);
/// }
/// # Ok(()) }
/// ```
///
/// [`next`](Self::next) is cancel-safe: dropped before it answers (a `tokio::select!` with a
/// shutdown signal), it loses nothing, and the next call asks again from the same place.
#[derive(Debug)]
pub struct EventStream {
    client: TokenClient,
    source: Source,
    /// The filters and page size; `after` is the cursor to ask with next.
    request: EventsRequest,
    /// How long each request may be held, seconds.
    wait: u32,
    follow: bool,
    /// The page being answered.
    buffer: VecDeque<Event>,
    /// The newest event answered, or the cursor when the page is used up: where to resume.
    resume: u64,
}

impl EventStream {
    fn new(client: TokenClient, source: Source, mut request: EventsRequest) -> Self {
        let after = request.after.unwrap_or(0);
        request.after = Some(after);
        // Held for less than the client's own timeout, so that the answer comes back before the
        // client gives up on it.
        let longest =
            client.inner.timeout.saturating_sub(TIMEOUT_MARGIN).as_secs().min(u64::from(MAX_WAIT_SECS));
        let wait = request.wait.map_or(longest, |w| u64::from(w).min(longest)) as u32;
        EventStream { client, source, request, wait, follow: true, buffer: VecDeque::new(), resume: after }
    }

    /// How long each request may be held waiting for an event (at most 30 s, and 5 s less than
    /// the client's timeout; default: that most). 0 asks without holding, and [`IDLE_PAUSE`]
    /// apart while there is nothing new.
    pub fn wait(mut self, wait: Duration) -> Self {
        let longest = self.client.inner.timeout.saturating_sub(TIMEOUT_MARGIN).as_secs();
        self.wait = wait.as_secs().min(longest).min(u64::from(MAX_WAIT_SECS)) as u32;
        self
    }

    /// Whether to wait for new events once the stream's end is reached (the default), or answer
    /// `None` there: `follow(false)` reads what is written up to now.
    pub fn follow(mut self, follow: bool) -> Self {
        self.follow = follow;
        self
    }

    /// Where a later stream resumes without missing or repeating an event:
    /// `EventsRequest::after(stream.cursor())`.
    pub fn cursor(&self) -> u64 {
        self.resume
    }

    /// The next event, oldest first. Following (the default), it waits as long as it takes for
    /// one; with `follow(false)`, `None` once every event written so far was answered (asking
    /// again later answers what was written since). An error leaves the stream where it was: the
    /// next call asks again.
    pub async fn next(&mut self) -> Result<Option<Event>, Error> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.resume = if self.buffer.is_empty() { self.after() } else { event.event_id };
                return Ok(Some(event));
            }
            let after = self.after();
            let mut request = self.request.clone();
            request.wait = Some(if self.follow { self.wait } else { 0 });
            let asked = tokio::time::Instant::now();
            let page = match self.source {
                Source::Service => self.client.events(&request).await?,
                Source::Organization => self.client.organization_events(&request).await?,
            };
            // Only what lies past the cursor, in order: an event is never answered twice, even
            // from a server that would send one again.
            let mut last = after;
            for event in page.events {
                if event.event_id > last {
                    last = event.event_id;
                    self.buffer.push_back(event);
                }
            }
            let next = page.next.max(last);
            self.request.after = Some(next);
            if self.buffer.is_empty() {
                self.resume = next;
                if next == after {
                    if !self.follow {
                        return Ok(None);
                    }
                    // Answered without being held (the server holds a bounded number of readers
                    // per stream; or no wait asked): not again at once.
                    let held = asked.elapsed();
                    if held < (Duration::from_secs(u64::from(self.wait)) / 2).max(IDLE_PAUSE) {
                        tokio::time::sleep(IDLE_PAUSE).await;
                    }
                }
            }
        }
    }

    fn after(&self) -> u64 {
        self.request.after.unwrap_or(0)
    }
}
