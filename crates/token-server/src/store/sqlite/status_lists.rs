//! Token Status Lists on SQLite: index reservation (one writer, so no race) and a list's bits.

use rusqlite::params;
use token_core::ServiceId;

use super::{Sqlite, SqliteStore, run};
use crate::store::sql::{self, steps};
use crate::store::*;

#[async_trait::async_trait]
impl StatusListStore for SqliteStore {
    async fn reserve_status_indexes(
        &self,
        service: ServiceId,
        count: i64,
        size: i64,
        now_ms: i64,
    ) -> StoreResult<(i64, i64, i64)> {
        self.write(move |w| run(steps::reserve_status_indexes(&Sqlite(w.conn), service, count, size, now_ms)))
            .await
    }

    async fn status_list_version(
        &self,
        service: ServiceId,
        list: i64,
    ) -> StoreResult<Option<StatusListVersion>> {
        self.read(move |c, _| run(steps::status_list_version(&Sqlite(c), service, list))).await
    }

    async fn status_list(&self, service: ServiceId, list: i64) -> StoreResult<Option<StoredStatusList>> {
        self.read(move |c, _| {
            let Some(StatusListVersion { size, version }) =
                run(steps::status_list_version(&Sqlite(c), service, list))?
            else {
                return Ok(None);
            };
            let mut stored = StoredStatusList::new(size, version);
            let mut statement = c.prepare_cached(sql::STATUS_LIST_BITS.sqlite())?;
            let mut rows = statement.query(params![service.get() as i64, list])?;
            while let Some(row) = rows.next()? {
                stored.set(row.get(0)?);
            }
            Ok(Some(stored))
        })
        .await
    }
}
