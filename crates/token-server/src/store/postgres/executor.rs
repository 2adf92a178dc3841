//! PostgreSQL's side of what both SQL backends share: how a [`SqlValue`] is bound and a column
//! read, and the [`Executor`] the shared steps ([`sql::steps`]) run on,
//! over a pooled connection or a transaction: every statement prepared once per connection.

use bytes::BytesMut;
use deadpool_postgres::GenericClient;
use token_core::ServiceId;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};

use super::pg_error;
use crate::store::sql::steps::SubjectLock;
use crate::store::sql::{Columns, Executor, SqlValue, Statement};
use crate::store::*;

/// Bound as tokio-postgres binds the same Rust value (`i64` as `BIGINT`, `bool`, `&str` as
/// `TEXT`, `&[u8]` as `BYTEA`), each checked against the parameter's type as it would be; NULL
/// for any type.
impl ToSql for SqlValue<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(v) => v.to_sql(ty, out),
            SqlValue::Bool(v) => v.to_sql(ty, out),
            SqlValue::Text(v) => v.as_ref().to_sql(ty, out),
            SqlValue::Bytes(v) => v.as_ref().to_sql(ty, out),
        }
    }

    /// Every type: each value is checked by the type it holds ([`ToSql::to_sql_checked`]).
    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(v) => v.to_sql_checked(ty, out),
            SqlValue::Bool(v) => v.to_sql_checked(ty, out),
            SqlValue::Text(v) => v.as_ref().to_sql_checked(ty, out),
            SqlValue::Bytes(v) => v.as_ref().to_sql_checked(ty, out),
        }
    }
}

/// A column of `row` at `i`, as the driver reads it.
fn column<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> StoreResult<T> {
    row.try_get(i).map_err(|e| StoreError::driver(format!("column {i}"), e))
}

impl Columns for Row {
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

/// A statement's parameters as the driver takes them.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The first row of `sql` with `params`, decoded (the statement prepared once per connection).
pub(super) async fn one<T>(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
    decode: impl FnOnce(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    let row = client.query_opt(&statement, params).await.map_err(pg_error)?;
    row.map(|row| decode(&row)).transpose()
}

/// Every row of `sql` with `params`, decoded.
pub(super) async fn all<T>(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
    decode: impl Fn(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    let rows = client.query(&statement, params).await.map_err(pg_error)?;
    rows.iter().map(|row| decode(row)).collect()
}

/// Runs `sql` with `params`; the number of rows it changed.
pub(super) async fn execute(client: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    client.execute(&statement, params).await.map_err(pg_error)
}

/// A service ID as stored.
pub(super) fn sid(service: ServiceId) -> i64 {
    service.get() as i64
}

/// The most parameters a shared step gives one statement (a token row has 30).
const MAX_PARAMS: usize = 32;

/// What an unused place of [`Lent`] holds.
static UNUSED: SqlValue<'static> = SqlValue::Null;

/// A step's parameters lent to the driver as it takes them: references, on the stack.
struct Lent<'p> {
    params: [&'p (dyn ToSql + Sync); MAX_PARAMS],
    len: usize,
}

impl<'p> Lent<'p> {
    fn new(values: &'p [SqlValue<'_>]) -> StoreResult<Self> {
        if values.len() > MAX_PARAMS {
            return Err(StoreError::Backend(format!("{} parameters, more than a step gives", values.len())));
        }
        let mut params = [&UNUSED as &(dyn ToSql + Sync); MAX_PARAMS];
        for (param, value) in params.iter_mut().zip(values) {
            *param = value;
        }
        Ok(Self { params, len: values.len() })
    }

    fn get(&self) -> Params<'_> {
        &self.params[..self.len]
    }
}

/// The shared steps' statements on a pooled connection or in a transaction.
pub(super) struct Pg<'c, C>(pub &'c C);

impl<C: GenericClient> Executor for Pg<'_, C> {
    async fn execute(&self, statement: &Statement, params: &[SqlValue<'_>]) -> StoreResult<u64> {
        execute(self.0, statement.postgres(), Lent::new(params)?.get()).await
    }

    /// Every statement is prepared once per connection here.
    async fn execute_prepared(&self, statement: &Statement, params: &[SqlValue<'_>]) -> StoreResult<u64> {
        self.execute(statement, params).await
    }

    async fn one<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl FnOnce(&dyn Columns) -> StoreResult<T> + Send,
    ) -> StoreResult<Option<T>> {
        one(self.0, statement.postgres(), Lent::new(params)?.get(), decode).await
    }

    async fn one_for_update<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl FnOnce(&dyn Columns) -> StoreResult<T> + Send,
    ) -> StoreResult<Option<T>> {
        one(self.0, statement.postgres_for_update(), Lent::new(params)?.get(), decode).await
    }

    async fn all<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl Fn(&dyn Columns) -> StoreResult<T> + Send,
    ) -> StoreResult<Vec<T>> {
        all(self.0, statement.postgres(), Lent::new(params)?.get(), decode).await
    }

    /// An advisory lock on the subject, released when the transaction ends.
    async fn lock_subject(&self, service: ServiceId, subject: &str, lock: SubjectLock) -> StoreResult<()> {
        let statement = match lock {
            SubjectLock::Shared => super::tokens::LOCK_SUBJECT_SHARED,
            SubjectLock::Exclusive => super::tokens::LOCK_SUBJECT,
        };
        execute(self.0, statement, &[&sid(service), &subject]).await?;
        Ok(())
    }

    async fn lock_clients_of_service(&self, service: ServiceId) -> StoreResult<()> {
        const LOCK: &str =
            "SELECT client_id FROM clients WHERE service_id = $1 ORDER BY client_id FOR UPDATE";
        let statement = self.0.prepare_cached(LOCK).await.map_err(super::pg_error)?;
        self.0.query(&statement, &[&sid(service)]).await.map_err(super::pg_error)?;
        Ok(())
    }

    /// Rotations of one service, from any instance, one at a time: an advisory lock on the
    /// service, released when the transaction ends.
    /// Unnumbered: numbered after it committed, by the next reader of its stream
    /// (`super::events`).
    async fn append_event(&self, stream: i64, values: &[SqlValue<'_>]) -> StoreResult<()> {
        let stream = SqlValue::Int(stream);
        let params: Vec<SqlValue<'_>> = std::iter::once(stream).chain(values.iter().cloned()).collect();
        execute(self.0, &super::events::INSERT_EVENT, Lent::new(&params)?.get()).await?;
        Ok(())
    }

    async fn retire_current_key(&self, service: ServiceId, at: i64, grace_ms: i64) -> StoreResult<()> {
        let service = sid(service);
        self.0.execute("SELECT pg_advisory_xact_lock($1)", &[&service]).await.map_err(pg_error)?;
        execute(self.0, super::keys::RETIRE_CURRENT_KEY, &[&at, &service, &grace_ms]).await?;
        Ok(())
    }
}
