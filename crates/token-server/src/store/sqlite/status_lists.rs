//! Token Status Lists on SQLite: index reservation (one writer, so no race) and a list's bits.

use rusqlite::{OptionalExtension, params};
use token_core::ServiceId;

use super::SqliteStore;
use crate::store::sql;
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
        let service = service.get() as i64;
        self.write(move |w| {
            let newest = w
                .conn
                .prepare_cached(sql::NEWEST_STATUS_LIST)?
                .query_row(params![service], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                })
                .optional()?;
            if let Some((list, size, next)) = newest
                && next < size
            {
                let n = count.min(size - next);
                w.conn.execute(sql::RESERVE_STATUS_INDEXES, params![service, list, n])?;
                return Ok((list, next, n));
            }
            let n = count.min(size);
            let list = newest.map_or(1, |(list, _, _)| list + 1);
            w.conn.execute(sql::NEW_STATUS_LIST, params![service, size, n, now_ms, list])?;
            Ok((list, 0, n))
        })
        .await
    }

    async fn status_list_version(
        &self,
        service: ServiceId,
        list: i64,
    ) -> StoreResult<Option<StatusListVersion>> {
        let service = service.get() as i64;
        self.read(move |c, _| version(c, service, list)).await
    }

    async fn status_list(&self, service: ServiceId, list: i64) -> StoreResult<Option<StoredStatusList>> {
        let service = service.get() as i64;
        self.read(move |c, _| {
            let Some(StatusListVersion { size, version }) = version(c, service, list)? else {
                return Ok(None);
            };
            let mut stored = StoredStatusList::new(size, version);
            let mut statement = c.prepare_cached(sql::STATUS_LIST_BITS)?;
            let mut rows = statement.query(params![service, list])?;
            while let Some(row) = rows.next()? {
                stored.set(row.get(0)?);
            }
            Ok(Some(stored))
        })
        .await
    }
}

fn version(c: &rusqlite::Connection, service: i64, list: i64) -> StoreResult<Option<StatusListVersion>> {
    Ok(c.prepare_cached(sql::STATUS_LIST_VERSION)?
        .query_row(params![service, list], |r| Ok(StatusListVersion { size: r.get(0)?, version: r.get(1)? }))
        .optional()?)
}
