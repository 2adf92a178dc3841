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

/// The stream's counter row, made when it has none.
const MAKE_COUNTER: &str =
    "INSERT INTO event_streams (stream, last_event_id) VALUES ($1, 0) ON CONFLICT (stream) DO NOTHING";

/// The stream's counter, locked until the numbering commits.
const LOCK_COUNTER: &str = "SELECT last_event_id FROM event_streams WHERE stream = $1 FOR UPDATE";

/// Numbers at most `$3` committed unnumbered events of stream `$1` after `$2`, in the order they
/// were written. The statement's snapshot is taken after the counter's lock: it sees every
/// numbering committed before.
const NUMBER_EVENTS: &str = "WITH pending AS (SELECT seq, row_number() OVER (ORDER BY seq) AS n \
    FROM events WHERE stream = $1 AND event_id IS NULL ORDER BY seq LIMIT $3) \
    UPDATE events e SET event_id = $2 + p.n FROM pending p WHERE e.seq = p.seq";

const SET_COUNTER: &str = "UPDATE event_streams SET last_event_id = $2 WHERE stream = $1";

/// Events one numbering numbers at most (a reader's request does at most this much of it).
const NUMBERING_BATCH: i64 = 10_000;

impl PostgresStore {
    /// Numbers the committed unnumbered events of `stream` (at most [`NUMBERING_BATCH`]); a read
    /// when there are none.
    pub(super) async fn number_events(&self, stream: EventStream) -> StoreResult<()> {
        let key = stream.key();
        let mut client = self.conn().await?;
        let pending = one(&client, HAS_UNNUMBERED, &[&key], |r| Ok(r.int(0)? != 0)).await?;
        if pending != Some(true) {
            return Ok(());
        }
        execute(&client, MAKE_COUNTER, &[&key]).await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let last = one(&tx, LOCK_COUNTER, &[&key], |r| r.int(0)).await?.unwrap_or(0);
        let numbered = execute(&tx, NUMBER_EVENTS, &[&key, &last, &NUMBERING_BATCH]).await?;
        if numbered > 0 {
            execute(&tx, SET_COUNTER, &[&key, &(last + numbered as i64)]).await?;
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
