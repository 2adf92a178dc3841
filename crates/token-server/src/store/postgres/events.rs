//! The event log on PostgreSQL, numbered after commit.
//!
//! Instances commit in any order, so a number taken inside the writing transaction (a sequence)
//! could become readable after a larger one: a reader that already moved past the larger one
//! would miss it. Events are therefore written unnumbered (`INSERT_EVENT`, in the change's
//! transaction), and numbered by a reader before it reads ([`PostgresStore::number_events`]): in a
//! short transaction of its own it locks the stream's counter row (every other numbering of the
//! stream, from any instance, waits for it), numbers the stream's committed unnumbered events
//! from the counter, and commits. A number is thus given only to an event that has committed,
//! and a later number only after the earlier one's numbering committed: readers see each stream
//! as a prefix of its numbers that only grows. Writers never wait for each other or for readers.
//!
//! Readers never wait for each other either, nor hold a pooled connection while another numbers:
//! one numbering per stream at a time on an instance (the others read what is numbered already),
//! the counter row taken with `SKIP LOCKED` (another instance numbering it: read what is numbered
//! now, the next read finds the rest), and the events numbered taken with `SKIP LOCKED` too, so
//! that a row being deleted (the janitor's retention, a service's deletion) is neither waited for
//! nor given a number: the numbers given are exactly the rows updated, and the counter is set to
//! the largest of them.

use std::sync::LazyLock;

use super::{PostgresStore, execute, one, pg_error};
use crate::store::sql::{self, steps};
use crate::store::*;

/// An unnumbered event of stream `$1` and its values (`$2`…).
pub(super) static INSERT_EVENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO events (stream, {}) VALUES ({})",
        sql::EVENT_VALUE_COLUMNS,
        (1..=13).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
    )
});

/// Whether stream `$1` has an event to number (through the partial index of unnumbered events).
const HAS_UNNUMBERED: &str =
    "SELECT count(*) FROM (SELECT 1 FROM events WHERE stream = $1 AND event_id IS NULL LIMIT 1) AS pending";

/// Whether the stream has a counter row (a plain read: it never waits for a lock).
const COUNTER_EXISTS: &str = "SELECT 1::int8 FROM event_streams WHERE stream = $1";

/// The stream's counter row, made when it has none.
const MAKE_COUNTER: &str =
    "INSERT INTO event_streams (stream, last_event_id) VALUES ($1, 0) ON CONFLICT (stream) DO NOTHING";

/// The stream's counter, locked until the numbering commits; no row when another transaction
/// holds it (another instance is numbering the stream).
const LOCK_COUNTER: &str = "SELECT last_event_id FROM event_streams WHERE stream = $1 FOR UPDATE SKIP LOCKED";

/// Numbers at most `$3` committed unnumbered events of stream `$1` after `$2`, in the order they
/// were written, and answers the numbers given. The statement's snapshot is taken after the
/// counter's lock: it sees every numbering committed before. The rows are locked before they are
/// counted, skipping any a deletion holds, so each number goes to a row that is updated.
const NUMBER_EVENTS: &str = "WITH pending AS (SELECT seq FROM events \
    WHERE stream = $1 AND event_id IS NULL ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED), \
    numbered AS (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM pending) \
    UPDATE events e SET event_id = $2 + numbered.n FROM numbered WHERE e.seq = numbered.seq \
    RETURNING e.event_id";

const SET_COUNTER: &str = "UPDATE event_streams SET last_event_id = $2 WHERE stream = $1";

/// Events one numbering numbers at most: a reader's request does at most this much of it (about
/// 8 ms), and a backlog is numbered a batch per read.
const NUMBERING_BATCH: i64 = 1_000;

/// The streams an instance is numbering now.
#[derive(Debug, Default)]
pub(super) struct Numbering(std::sync::Mutex<std::collections::HashSet<i64>>);

/// A stream's numbering on this instance, released when dropped.
struct Numbers<'a> {
    numbering: &'a Numbering,
    stream: i64,
}

impl Numbering {
    /// The stream's numbering, unless this instance is numbering it already.
    fn start(&self, stream: i64) -> Option<Numbers<'_>> {
        let fresh = self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(stream);
        // Made only when it was not running: a guard dropped here would end another's numbering.
        fresh.then(|| Numbers { numbering: self, stream })
    }
}

impl Drop for Numbers<'_> {
    fn drop(&mut self) {
        self.numbering.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.stream);
    }
}

impl PostgresStore {
    /// Numbers the committed unnumbered events of `stream` (at most [`NUMBERING_BATCH`]); a read
    /// when there are none.
    pub(super) async fn number_events(&self, stream: EventStream) -> StoreResult<()> {
        let key = stream.key();
        let Some(_numbers) = self.numbering.start(key) else { return Ok(()) };
        let mut client = self.conn().await?;
        let pending = one(&client, HAS_UNNUMBERED, &[&key], |r| Ok(r.int(0)? != 0)).await?;
        if pending != Some(true) {
            return Ok(());
        }
        let tx = client.transaction().await.map_err(pg_error)?;
        let mut last = one(&tx, LOCK_COUNTER, &[&key], |r| r.int(0)).await?;
        if last.is_none() {
            // No counter yet, or another instance holds it (then read what it numbered so far: an
            // insert would wait for its lock).
            if one(&tx, COUNTER_EXISTS, &[&key], |r| r.int(0)).await?.is_some() {
                return tx.commit().await.map_err(pg_error);
            }
            execute(&tx, MAKE_COUNTER, &[&key]).await?;
            last = one(&tx, LOCK_COUNTER, &[&key], |r| r.int(0)).await?;
        }
        let Some(last) = last else { return tx.commit().await.map_err(pg_error) };
        let given = super::all(&tx, NUMBER_EVENTS, &[&key, &last, &NUMBERING_BATCH], |r| r.int(0)).await?;
        if let Some(largest) = given.into_iter().max() {
            execute(&tx, SET_COUNTER, &[&key, &largest]).await?;
        }
        tx.commit().await.map_err(pg_error)
    }
}

#[async_trait::async_trait]
impl EventStore for PostgresStore {
    async fn append_event(&self, stream: EventStream, event: &Event) -> StoreResult<()> {
        steps::record(&super::Pg(&self.conn().await?), stream, event).await
    }

    async fn read_events(&self, stream: EventStream, filter: &EventFilter) -> StoreResult<(Vec<Event>, u64)> {
        self.number_events(stream).await?;
        // The head first: every event numbered up to it is committed, so the page needs no
        // snapshot shared with it.
        steps::read_events(&super::Pg(&self.conn().await?), stream, filter).await
    }

    async fn purge_events(&self, before_ms: i64, batch: u32) -> StoreResult<u64> {
        let params: super::Params<'_> = &[&before_ms, &i64::from(batch)];
        execute(&self.conn().await?, sql::PURGE_EVENTS.postgres(), params).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_numbering_per_stream_and_a_refused_one_ends_nothing() {
        let numbering = Numbering::default();
        let first = numbering.start(7).expect("the first numbering of a stream starts");
        assert!(numbering.start(7).is_none(), "a second one of the same stream does not");
        assert!(numbering.start(7).is_none(), "and refusing it did not end the first");
        let other = numbering.start(8).expect("another stream's starts");
        drop(first);
        assert!(numbering.start(7).is_some(), "the stream is free once the first ended");
        drop(other);
    }
}
