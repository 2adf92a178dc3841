//! The event log's portable statements: the page a reader asks for, the stream's head, and the
//! janitor's and a deleted service's purges. Appending an event and numbering it differ by dialect
//! (each backend's `Executor::append_event`; PostgreSQL numbers after commit).

use super::Statement;

/// The columns of an event as [`event_from_row`](super::event_from_row) reads them.
pub const EVENT_COLUMNS: &str = "event_id, at, type, actor_kind, actor_id, service_id, subject, client_id, \
    token_id, kid, credential_id, count, reason";

/// The columns an append writes after `stream` (and, on SQLite, `event_id`), in
/// [`event_values`](super::params::event_values) order.
pub const EVENT_VALUE_COLUMNS: &str = "at, type, actor_kind, actor_id, service_id, subject, client_id, \
    token_id, kid, credential_id, count, reason";

/// The newest number of stream `?1` (none: nothing numbered yet).
pub static STREAM_HEAD: Statement =
    Statement::new("SELECT last_event_id FROM event_streams WHERE stream = ?1");

/// The events of stream `?1` numbered in `(?2, ?3]` that pass the filters given (`?4` type, `?5`
/// subject, `?6` client, `?7` token; NULL: any), by number, at most `?8`. The range is at most
/// `SCAN_WINDOW` numbers wide, so the read is bounded by the `events_cursor` index whatever the
/// filters match.
pub static EVENTS_PAGE: Statement = Statement::built(|| {
    format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE stream = ?1 AND event_id > ?2 AND event_id <= ?3 \
         AND (CAST(?4 AS TEXT) IS NULL OR type = ?4) AND (CAST(?5 AS TEXT) IS NULL OR subject = ?5) \
         AND (CAST(?6 AS BIGINT) IS NULL OR client_id = ?6) AND (CAST(?7 AS TEXT) IS NULL OR token_id = ?7) \
         ORDER BY event_id LIMIT ?8"
    )
});

/// Of the `?2` oldest events, those written before `?1`: retention, a bounded batch at a time
/// (rows are written in about time order; a clock that ran behind only delays their purge).
pub static PURGE_EVENTS: Statement = Statement::new(
    "DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?2) AND at < ?1",
);
