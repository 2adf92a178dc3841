//! The Shared Signals transmitter's streams and queues on PostgreSQL (`sql::ssf`): each write in a
//! transaction of its own; the stream count of a create is read `FOR UPDATE`-free but under the
//! service's row lock, so two instances never pass the limit together.

use token_core::ServiceId;

use super::{Pg, PostgresStore};
use crate::store::sql::ssf as steps;
use crate::store::*;

/// Locks service `$1`'s row: stream creations of one service go one at a time.
const LOCK_SERVICE: &str = "SELECT 1::int8 FROM services WHERE id = $1 FOR UPDATE";

#[async_trait::async_trait]
impl SsfStore for PostgresStore {
    async fn create_stream(&self, stream: &StreamRecord, at_most: usize) -> StoreResult<bool> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(super::pg_error)?;
        tx.query(LOCK_SERVICE, &[&(stream.service_id.get() as i64)]).await.map_err(super::pg_error)?;
        let created = steps::create_stream(&Pg(&tx), stream, at_most).await?;
        tx.commit().await.map_err(super::pg_error)?;
        Ok(created)
    }

    async fn stream(&self, service: ServiceId, stream_id: &str) -> StoreResult<Option<StreamRecord>> {
        steps::stream(&Pg(&self.conn().await?), service, stream_id).await
    }

    async fn streams(&self, service: ServiceId) -> StoreResult<Vec<StreamRecord>> {
        steps::streams_of(&Pg(&self.conn().await?), service).await
    }

    async fn deliverable_streams(
        &self,
        owner: &str,
        now_ms: i64,
        after: &str,
        at_most: u32,
    ) -> StoreResult<Vec<StreamRecord>> {
        steps::deliverable(&Pg(&self.conn().await?), owner, now_ms, after, at_most).await
    }

    async fn update_stream(&self, stream: &StreamRecord) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::update_stream(ex, stream))
    }

    async fn delete_stream(&self, service: ServiceId, stream_id: &str) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::delete_stream(ex, service, stream_id))
    }

    async fn take_lease(
        &self,
        stream_id: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> StoreResult<bool> {
        steps::take_lease(&Pg(&self.conn().await?), stream_id, owner, now_ms, until_ms).await
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
        in_transaction!(self, |ex| steps::enqueue(ex, stream_id, owner, from, to, sets, now_ms))
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
        in_transaction!(self, |ex| steps::queue_verification(
            ex, service, stream_id, set, now_ms, not_after, max_queued
        ))
    }

    async fn queued_sets(&self, stream_id: &str, at_most: u32) -> StoreResult<Vec<QueuedSet>> {
        steps::queued(&Pg(&self.conn().await?), stream_id, at_most).await
    }

    async fn dequeue_sets(&self, stream_id: &str, jtis: &[String]) -> StoreResult<u64> {
        in_transaction!(self, |ex| steps::dequeue(ex, stream_id, jtis))
    }

    async fn retry_set_later(&self, stream_id: &str, seq: i64, at_ms: i64) -> StoreResult<()> {
        steps::retry_later(&Pg(&self.conn().await?), stream_id, seq, at_ms).await
    }

    async fn queue_size(&self, stream_id: &str) -> StoreResult<(u64, Option<i64>)> {
        steps::queue_size(&Pg(&self.conn().await?), stream_id).await
    }
}
