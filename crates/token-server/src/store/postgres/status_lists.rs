//! Token Status Lists on PostgreSQL: index reservation across instances (the newest list's row is
//! locked while its next index moves; two instances making a new list at once: one wins, the other
//! retries with it) and a list's bits.

use token_core::ServiceId;

use super::{Params, Pg, PostgresStore, one, pg_error, sid};
use crate::store::sql::{self, steps};
use crate::store::*;

/// A list's invalid indexes as one array.
const STATUS_LIST_BITS_ARRAY: &str = "SELECT COALESCE(array_agg(idx), '{}'::bigint[]) FROM status_bits \
    WHERE service_id = $1 AND list_id = $2";

#[async_trait::async_trait]
impl StatusListStore for PostgresStore {
    async fn reserve_status_indexes(
        &self,
        service: ServiceId,
        count: i64,
        size: i64,
        now_ms: i64,
    ) -> StoreResult<(i64, i64, i64)> {
        let mut client = self.conn().await?;
        for _ in 0..5 {
            let tx = client.transaction().await.map_err(pg_error)?;
            match steps::reserve_status_indexes(&Pg(&tx), service, count, size, now_ms).await {
                Ok(reserved) => {
                    tx.commit().await.map_err(pg_error)?;
                    return Ok(reserved);
                }
                // Another instance made this list first: read again (it is the newest now).
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend("could not reserve status list indexes".into()))
    }

    async fn status_list_version(
        &self,
        service: ServiceId,
        list: i64,
    ) -> StoreResult<Option<StatusListVersion>> {
        steps::status_list_version(&Pg(&self.conn().await?), service, list).await
    }

    async fn status_list(&self, service: ServiceId, list: i64) -> StoreResult<Option<StoredStatusList>> {
        let client = self.conn().await?;
        let params: Params<'_> = &[&sid(service), &list];
        let version =
            one(&client, sql::STATUS_LIST_VERSION.postgres(), params, |r| Ok((r.int(0)?, r.int(1)?)));
        let Some((size, version)) = version.await? else {
            return Ok(None);
        };
        // One row (an array), not a row per bit: a full list is ~940,000 of them.
        let statement = client.prepare_cached(STATUS_LIST_BITS_ARRAY).await.map_err(pg_error)?;
        let row = client.query_one(&statement, params).await.map_err(pg_error)?;
        let invalid: Vec<i64> = row.try_get(0).map_err(pg_error)?;
        let mut stored = StoredStatusList::new(size, version);
        for idx in invalid {
            stored.set(idx);
        }
        Ok(Some(stored))
    }
}
