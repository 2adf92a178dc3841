//! The Shared Signals transmitter's streams and queues, written once for both backends: the
//! statements and the steps that run them ([`super::Executor`]).

use token_core::ServiceId;
use token_core::ssf::{StreamSettings, StreamState};

use super::{Columns, Executor, Statement};
use crate::store::{QueuedSet, StoreError, StoreResult, StreamRecord};

const STREAM_COLUMNS: &str = "stream_id, service_id, iss, settings, state, reason, read_through, created_at, \
    updated_at, verified_at";

static INSERT_STREAM: Statement = Statement::new(
    "INSERT INTO ssf_streams (stream_id, service_id, iss, settings, state, reason, read_through, created_at, \
     updated_at, verified_at, push) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
);
static COUNT_STREAMS: Statement = Statement::new("SELECT count(*) FROM ssf_streams WHERE service_id = ?1");
static STREAM: Statement = Statement::built(|| {
    format!("SELECT {STREAM_COLUMNS} FROM ssf_streams WHERE stream_id = ?1 AND service_id = ?2")
});
static STREAMS_OF: Statement = Statement::built(|| {
    format!("SELECT {STREAM_COLUMNS} FROM ssf_streams WHERE service_id = ?1 ORDER BY created_at, stream_id")
});
/// The streams this instance may deliver now (leased by nobody, the lease over, or by it) that have
/// work: events of their service after `read_through` (numbered, or on PostgreSQL still to be
/// numbered), or, for an enabled push stream, a SET due. After stream `?4`, in ID order, at most
/// `?3`: the deliverer walks them round after round, so that none waits behind the others.
static DELIVERABLE: Statement = Statement::built(|| {
    format!(
        "SELECT {STREAM_COLUMNS} FROM ssf_streams s WHERE s.stream_id > ?4 \
         AND (s.lease_until < ?1 OR s.lease_owner = ?2) \
         AND (EXISTS (SELECT 1 FROM events e WHERE e.stream = s.service_id AND e.event_id > s.read_through) \
           OR EXISTS (SELECT 1 FROM events e WHERE e.stream = s.service_id AND e.event_id IS NULL) \
           OR (s.push = ?5 AND s.state = 'enabled' AND EXISTS (SELECT 1 FROM ssf_queue q \
               WHERE q.stream_id = s.stream_id AND q.next_attempt_at <= ?1))) \
         ORDER BY s.stream_id LIMIT ?3"
    )
});
static UPDATE_STREAM: Statement = Statement::new(
    "UPDATE ssf_streams SET settings = ?3, state = ?4, reason = ?5, updated_at = ?6, push = ?7 \
     WHERE stream_id = ?1 AND service_id = ?2",
);
static DELETE_STREAM: Statement =
    Statement::new("DELETE FROM ssf_streams WHERE stream_id = ?1 AND service_id = ?2");
static DROP_QUEUE: Statement = Statement::new("DELETE FROM ssf_queue WHERE stream_id = ?1");
static TAKE_LEASE: Statement = Statement::new(
    "UPDATE ssf_streams SET lease_owner = ?2, lease_until = ?4 \
     WHERE stream_id = ?1 AND (lease_until < ?3 OR lease_owner = ?2)",
);
static ADVANCE: Statement = Statement::new(
    "UPDATE ssf_streams SET read_through = ?3 WHERE stream_id = ?1 AND read_through = ?2 AND lease_owner = ?4",
);
static QUEUE_SET: Statement = Statement::new(
    "INSERT INTO ssf_queue (stream_id, jti, set_jwt, created_at) VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT (stream_id, jti) DO NOTHING",
);
static VERIFIED_AT: Statement = Statement::new(
    "UPDATE ssf_streams SET verified_at = ?3 WHERE stream_id = ?1 AND service_id = ?2 AND verified_at <= ?4",
);
static QUEUED: Statement = Statement::new(
    "SELECT seq, jti, set_jwt, created_at, attempts, next_attempt_at FROM ssf_queue WHERE stream_id = ?1 \
     ORDER BY seq LIMIT ?2",
);
static DEQUEUE: Statement = Statement::new("DELETE FROM ssf_queue WHERE stream_id = ?1 AND jti = ?2");
static RETRY_LATER: Statement = Statement::new(
    "UPDATE ssf_queue SET attempts = attempts + 1, next_attempt_at = ?3 WHERE stream_id = ?1 AND seq = ?2",
);
static QUEUE_SIZE: Statement =
    Statement::new("SELECT count(*), min(created_at) FROM ssf_queue WHERE stream_id = ?1");

fn stream_from_row(r: &dyn Columns) -> StoreResult<StreamRecord> {
    let settings: StreamSettings =
        serde_json::from_str(&r.text(3)?).map_err(|e| StoreError::driver("a stream's stored settings", e))?;
    let state = StreamState::parse(&r.text(4)?)
        .ok_or_else(|| StoreError::Backend("a stream's stored state is unknown".into()))?;
    Ok(StreamRecord {
        stream_id: r.text(0)?,
        service_id: ServiceId(r.int(1)? as u64),
        iss: r.text(2)?,
        settings,
        state,
        reason: r.opt_text(5)?,
        read_through: r.int(6)? as u64,
        created_at: r.int(7)?,
        updated_at: r.int(8)?,
        verified_at: r.int(9)?,
    })
}

fn settings_json(settings: &StreamSettings) -> StoreResult<String> {
    serde_json::to_string(settings).map_err(|e| StoreError::driver("a stream's settings", e))
}

/// Stores `stream` unless its service has `at_most` streams already (`false`).
pub async fn create_stream<E: Executor>(ex: &E, stream: &StreamRecord, at_most: usize) -> StoreResult<bool> {
    let count = ex.one(&COUNT_STREAMS, &[stream.service_id.into()], |r| r.int(0)).await?;
    if count.unwrap_or(0) >= at_most as i64 {
        return Ok(false);
    }
    let params = [
        (&stream.stream_id).into(),
        stream.service_id.into(),
        (&stream.iss).into(),
        settings_json(&stream.settings)?.into(),
        stream.state.as_str().into(),
        stream.reason.as_ref().into(),
        (stream.read_through as i64).into(),
        stream.created_at.into(),
        stream.updated_at.into(),
        stream.verified_at.into(),
        stream.settings.is_push().into(),
    ];
    ex.execute(&INSERT_STREAM, &params).await?;
    Ok(true)
}

pub async fn stream<E: Executor>(ex: &E, service: ServiceId, id: &str) -> StoreResult<Option<StreamRecord>> {
    ex.one(&STREAM, &[id.into(), service.into()], stream_from_row).await
}

pub async fn streams_of<E: Executor>(ex: &E, service: ServiceId) -> StoreResult<Vec<StreamRecord>> {
    ex.all(&STREAMS_OF, &[service.into()], stream_from_row).await
}

pub async fn deliverable<E: Executor>(
    ex: &E,
    owner: &str,
    now_ms: i64,
    after: &str,
    at_most: u32,
) -> StoreResult<Vec<StreamRecord>> {
    let params = [now_ms.into(), owner.into(), i64::from(at_most).into(), after.into(), true.into()];
    ex.all(&DELIVERABLE, &params, stream_from_row).await
}

/// Replaces the stream's settings, state and reason; a stream disabled loses what it had queued.
pub async fn update_stream<E: Executor>(ex: &E, stream: &StreamRecord) -> StoreResult<bool> {
    let params = [
        (&stream.stream_id).into(),
        stream.service_id.into(),
        settings_json(&stream.settings)?.into(),
        stream.state.as_str().into(),
        stream.reason.as_ref().into(),
        stream.updated_at.into(),
        stream.settings.is_push().into(),
    ];
    if ex.execute(&UPDATE_STREAM, &params).await? == 0 {
        return Ok(false);
    }
    if stream.state == StreamState::Disabled {
        ex.execute(&DROP_QUEUE, &[(&stream.stream_id).into()]).await?;
    }
    Ok(true)
}

pub async fn delete_stream<E: Executor>(ex: &E, service: ServiceId, id: &str) -> StoreResult<bool> {
    if ex.execute(&DELETE_STREAM, &[id.into(), service.into()]).await? == 0 {
        return Ok(false);
    }
    ex.execute(&DROP_QUEUE, &[id.into()]).await?;
    Ok(true)
}

pub async fn take_lease<E: Executor>(
    ex: &E,
    id: &str,
    owner: &str,
    now_ms: i64,
    until_ms: i64,
) -> StoreResult<bool> {
    Ok(ex.execute(&TAKE_LEASE, &[id.into(), owner.into(), now_ms.into(), until_ms.into()]).await? == 1)
}

/// Queues `sets` (`(jti, SET)`) made from the events after `from` up to `to` and moves the
/// stream's `read_through` there, if it still is at `from` and `owner` still holds the lease
/// (`false`: nothing done).
pub async fn enqueue<E: Executor>(
    ex: &E,
    id: &str,
    owner: &str,
    from: u64,
    to: u64,
    sets: &[(String, String)],
    now_ms: i64,
) -> StoreResult<bool> {
    let moved =
        ex.execute(&ADVANCE, &[id.into(), (from as i64).into(), (to as i64).into(), owner.into()]).await?;
    if moved == 0 {
        return Ok(false);
    }
    for (jti, set) in sets {
        ex.execute(&QUEUE_SET, &[id.into(), jti.into(), set.into(), now_ms.into()]).await?;
    }
    Ok(true)
}

/// Queues the verification SET `(jti, SET)` unless the stream was verified after `not_after`
/// (`false`: too soon).
pub async fn queue_verification<E: Executor>(
    ex: &E,
    service: ServiceId,
    id: &str,
    set: &(String, String),
    now_ms: i64,
    not_after: i64,
    max_queued: u64,
) -> StoreResult<bool> {
    let params = [id.into(), service.into(), now_ms.into(), not_after.into()];
    if ex.execute(&VERIFIED_AT, &params).await? == 0 {
        return Ok(false);
    }
    let (queued, _) = queue_size(ex, id).await?;
    if queued >= max_queued {
        return Err(StoreError::Conflict(crate::store::ConflictKind::Other));
    }
    ex.execute(&QUEUE_SET, &[id.into(), (&set.0).into(), (&set.1).into(), now_ms.into()]).await?;
    Ok(true)
}

pub async fn queued<E: Executor>(ex: &E, id: &str, at_most: u32) -> StoreResult<Vec<QueuedSet>> {
    ex.all(&QUEUED, &[id.into(), i64::from(at_most).into()], |r| {
        Ok(QueuedSet {
            seq: r.int(0)?,
            jti: r.text(1)?,
            set: r.text(2)?,
            created_at: r.int(3)?,
            attempts: r.int(4)?,
            next_attempt_at: r.int(5)?,
        })
    })
    .await
}

pub async fn dequeue<E: Executor>(ex: &E, id: &str, jtis: &[String]) -> StoreResult<u64> {
    let mut removed = 0;
    for jti in jtis {
        removed += ex.execute(&DEQUEUE, &[id.into(), jti.into()]).await?;
    }
    Ok(removed)
}

pub async fn retry_later<E: Executor>(ex: &E, id: &str, seq: i64, at_ms: i64) -> StoreResult<()> {
    ex.execute(&RETRY_LATER, &[id.into(), seq.into(), at_ms.into()]).await?;
    Ok(())
}

pub async fn queue_size<E: Executor>(ex: &E, id: &str) -> StoreResult<(u64, Option<i64>)> {
    let found = ex.one(&QUEUE_SIZE, &[id.into()], |r| Ok((r.int(0)? as u64, r.opt_int(1)?))).await?;
    Ok(found.unwrap_or((0, None)))
}
