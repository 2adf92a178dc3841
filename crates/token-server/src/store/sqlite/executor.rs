//! SQLite's side of what both SQL backends share: how a [`SqlValue`] is bound and a column read,
//! and the [`Executor`] the shared steps ([`sql::steps`]) run on. The driver blocks, so each
//! statement runs when it is called and answers with a complete future: a step runs through at
//! its first poll ([`run`]), on the thread that holds the connection.

use std::future::{Future, ready};
use std::task::{Context, Poll, Waker};

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, Params, Row, params, params_from_iter};
use token_core::ServiceId;

use crate::store::sql::steps::SubjectLock;
use crate::store::sql::{Columns, Executor, SqlValue, Statement};
use crate::store::*;

/// Bound as rusqlite binds the same Rust value: an integer, a boolean as 0 or 1, a text, a blob,
/// or NULL.
impl rusqlite::ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Null => ToSqlOutput::Owned(Value::Null),
            SqlValue::Int(v) => ToSqlOutput::Owned(Value::Integer(*v)),
            SqlValue::Bool(v) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            SqlValue::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            SqlValue::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

/// A column of `row` at `i`, as the driver reads it.
fn column<T: rusqlite::types::FromSql>(row: &Row<'_>, i: usize) -> StoreResult<T> {
    Ok(row.get(i)?)
}

impl Columns for Row<'_> {
    fn int(&self, i: usize) -> StoreResult<i64> {
        column(self, i)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        column(self, i)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        column(self, i)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        column(self, i)
    }
    fn opt_bool(&self, i: usize) -> StoreResult<Option<bool>> {
        column(self, i)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        column(self, i)
    }
}

/// The first row of `sql` with `params`, decoded (the statement prepared once per connection).
pub(super) fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl FnOnce(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(|row| decode(row)).transpose()
}

/// Every row of `sql` with `params`, decoded.
pub(super) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl Fn(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Runs a shared step on SQLite: its statements ran as they were called, so it is complete at its
/// first poll.
pub(super) fn run<T>(step: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let mut step = std::pin::pin!(step);
    match step.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => {
            Err(StoreError::Backend("a step waited on SQLite, whose statements never wait".into()))
        }
    }
}

/// Takes stream `?1`'s next number.
const NEXT_EVENT_ID: &str = "INSERT INTO event_streams (stream, last_event_id) VALUES (?1, 1) \
    ON CONFLICT (stream) DO UPDATE SET last_event_id = last_event_id + 1";

/// An event of stream `?1` with the number just taken, and its values (`?2`…).
static INSERT_EVENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO events (stream, event_id, {}) VALUES (?1, \
         (SELECT last_event_id FROM event_streams WHERE stream = ?1), {})",
        crate::store::sql::EVENT_VALUE_COLUMNS,
        (2..=13).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
    )
});

/// The shared steps' statements on one connection: the writer's (in the savepoint of one request's
/// write) or a reader's.
pub(super) struct Sqlite<'c>(pub &'c Connection);

impl Executor for Sqlite<'_> {
    fn execute(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
    ) -> impl Future<Output = StoreResult<u64>> + Send {
        ready(
            self.0
                .execute(statement.sqlite(), params_from_iter(params))
                .map(|n| n as u64)
                .map_err(Into::into),
        )
    }

    fn execute_prepared(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
    ) -> impl Future<Output = StoreResult<u64>> + Send {
        let executed =
            self.0.prepare_cached(statement.sqlite()).and_then(|mut s| s.execute(params_from_iter(params)));
        ready(executed.map(|n| n as u64).map_err(Into::into))
    }

    fn one<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl FnOnce(&dyn Columns) -> StoreResult<T> + Send,
    ) -> impl Future<Output = StoreResult<Option<T>>> + Send {
        ready(one(self.0, statement.sqlite(), params_from_iter(params), decode))
    }

    /// The writer holds the whole database for the batch: nothing more to lock.
    fn one_for_update<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl FnOnce(&dyn Columns) -> StoreResult<T> + Send,
    ) -> impl Future<Output = StoreResult<Option<T>>> + Send {
        self.one(statement, params, decode)
    }

    fn all<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl Fn(&dyn Columns) -> StoreResult<T> + Send,
    ) -> impl Future<Output = StoreResult<Vec<T>>> + Send {
        ready(all(self.0, statement.sqlite(), params_from_iter(params), decode))
    }

    /// One writer at a time: a cutoff and a redemption never interleave.
    fn lock_subject(
        &self,
        _service: ServiceId,
        _subject: &str,
        _lock: SubjectLock,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        ready(Ok(()))
    }

    /// The one writer: no lock order to keep.
    fn lock_clients_of_service(&self, _service: ServiceId) -> impl Future<Output = StoreResult<()>> + Send {
        ready(Ok(()))
    }

    /// Numbered at once from the stream's counter: the one writer commits in numbering order.
    fn append_event(
        &self,
        stream: i64,
        values: &[SqlValue<'_>],
    ) -> impl Future<Output = StoreResult<()>> + Send {
        let append = || -> StoreResult<()> {
            self.0.prepare_cached(NEXT_EVENT_ID)?.execute(params![stream])?;
            let stream = SqlValue::Int(stream);
            self.0
                .prepare_cached(&INSERT_EVENT)?
                .execute(params_from_iter(std::iter::once(&stream).chain(values)))?;
            Ok(())
        };
        ready(append())
    }

    fn retire_current_key(
        &self,
        service: ServiceId,
        at: i64,
        grace_ms: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        let params = params![at, service.get() as i64, grace_ms];
        ready(self.0.execute(super::keys::RETIRE_CURRENT_KEY, params).map(|_| ()).map_err(Into::into))
    }
}
