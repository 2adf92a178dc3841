//! The event log on SQLite: events are numbered as they are written (`Executor::append_event`), so
//! reading is two indexed reads.

use rusqlite::params;

use super::{Sqlite, SqliteStore, run};
use crate::store::sql::{self, steps};
use crate::store::*;

#[async_trait::async_trait]
impl EventStore for SqliteStore {
    async fn append_event(&self, stream: EventStream, event: &Event) -> StoreResult<()> {
        let event = event.clone();
        self.write(move |w| run(steps::record(&Sqlite(w.conn), stream, &event))).await
    }

    async fn read_events(&self, stream: EventStream, filter: &EventFilter) -> StoreResult<(Vec<Event>, u64)> {
        let filter = filter.clone();
        // The head first: every event up to it is committed, so the page needs no snapshot of its
        // own.
        self.read(move |c, _| run(steps::read_events(&Sqlite(c), stream, &filter))).await
    }

    async fn purge_events(&self, before_ms: i64, batch: u32) -> StoreResult<u64> {
        self.write(move |w| {
            Ok(w.conn.execute(sql::PURGE_EVENTS.sqlite(), params![before_ms, i64::from(batch)])? as u64)
        })
        .await
    }
}
