//! The Shared Signals transmitter's streams and queues on SQLite (`sql::ssf`).

use token_core::ServiceId;

use super::{Sqlite, SqliteStore, run};
use crate::store::sql::ssf as steps;
use crate::store::*;

#[async_trait::async_trait]
impl SsfStore for SqliteStore {
    async fn create_stream(&self, stream: &StreamRecord, at_most: usize) -> StoreResult<bool> {
        let stream = stream.clone();
        self.write(move |w| run(steps::create_stream(&Sqlite(w.conn), &stream, at_most))).await
    }

    async fn stream(&self, service: ServiceId, stream_id: &str) -> StoreResult<Option<StreamRecord>> {
        let id = stream_id.to_owned();
        self.read(move |c, _| run(steps::stream(&Sqlite(c), service, &id))).await
    }

    async fn streams(&self, service: ServiceId) -> StoreResult<Vec<StreamRecord>> {
        self.read(move |c, _| run(steps::streams_of(&Sqlite(c), service))).await
    }

    async fn deliverable_streams(
        &self,
        owner: &str,
        now_ms: i64,
        after: &str,
        at_most: u32,
    ) -> StoreResult<Vec<StreamRecord>> {
        let (owner, after) = (owner.to_owned(), after.to_owned());
        self.read(move |c, _| run(steps::deliverable(&Sqlite(c), &owner, now_ms, &after, at_most))).await
    }

    async fn update_stream(&self, stream: &StreamRecord) -> StoreResult<bool> {
        let stream = stream.clone();
        self.write(move |w| run(steps::update_stream(&Sqlite(w.conn), &stream))).await
    }

    async fn delete_stream(&self, service: ServiceId, stream_id: &str) -> StoreResult<bool> {
        let id = stream_id.to_owned();
        self.write(move |w| run(steps::delete_stream(&Sqlite(w.conn), service, &id))).await
    }

    async fn take_lease(
        &self,
        stream_id: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> StoreResult<bool> {
        let (id, owner) = (stream_id.to_owned(), owner.to_owned());
        self.write(move |w| run(steps::take_lease(&Sqlite(w.conn), &id, &owner, now_ms, until_ms))).await
    }

    async fn enqueue_sets(
        &self,
        stream_id: &str,
        owner: &str,
        from: u64,
        to: u64,
        sets: &[(String, String)],
        now_ms: i64,
    ) -> StoreResult<bool> {
        let (id, owner, sets) = (stream_id.to_owned(), owner.to_owned(), sets.to_vec());
        self.write(move |w| run(steps::enqueue(&Sqlite(w.conn), &id, &owner, from, to, &sets, now_ms))).await
    }

    async fn queue_verification(
        &self,
        service: ServiceId,
        stream_id: &str,
        set: &(String, String),
        now_ms: i64,
        not_after: i64,
        max_queued: u64,
    ) -> StoreResult<bool> {
        let (id, set) = (stream_id.to_owned(), set.clone());
        self.write(move |w| {
            run(steps::queue_verification(&Sqlite(w.conn), service, &id, &set, now_ms, not_after, max_queued))
        })
        .await
    }

    async fn queued_sets(&self, stream_id: &str, at_most: u32) -> StoreResult<Vec<QueuedSet>> {
        let id = stream_id.to_owned();
        self.read(move |c, _| run(steps::queued(&Sqlite(c), &id, at_most))).await
    }

    async fn dequeue_sets(&self, stream_id: &str, jtis: &[String]) -> StoreResult<u64> {
        let (id, jtis) = (stream_id.to_owned(), jtis.to_vec());
        self.write(move |w| run(steps::dequeue(&Sqlite(w.conn), &id, &jtis))).await
    }

    async fn retry_set_later(&self, stream_id: &str, seq: i64, at_ms: i64) -> StoreResult<()> {
        let id = stream_id.to_owned();
        self.write(move |w| run(steps::retry_later(&Sqlite(w.conn), &id, seq, at_ms))).await
    }

    async fn queue_size(&self, stream_id: &str) -> StoreResult<(u64, Option<i64>)> {
        let id = stream_id.to_owned();
        self.read(move |c, _| run(steps::queue_size(&Sqlite(c), &id))).await
    }
}
