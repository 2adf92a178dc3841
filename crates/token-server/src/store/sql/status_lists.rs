//! Token Status Lists: index reservation, a list's version and bits, retirement.

use super::Statement;

/// The newest list of service `?1`: its ID, size and next free index (a retired list is full, so
/// it only numbers the next one).
pub static NEWEST_STATUS_LIST: Statement = Statement::new(
    "SELECT list_id, size, next_idx FROM status_lists \
    WHERE service_id = ?1 ORDER BY list_id DESC LIMIT 1",
);

/// Hands out `?3` more indexes of list `?2` of service `?1`.
pub static RESERVE_STATUS_INDEXES: Statement =
    Statement::new("UPDATE status_lists SET next_idx = next_idx + ?3 WHERE service_id = ?1 AND list_id = ?2");

/// List `?5` of service `?1` (the one after the newest: two instances making it at once conflict,
/// and the loser uses it), of `?2` indexes, the first `?3` handed out, at `?4`.
/// Its JWTs' latest expiry starts at 0 and is raised by a trigger as JWTs get indexes.
pub static NEW_STATUS_LIST: Statement = Statement::new(
    "INSERT INTO status_lists (service_id, list_id, size, next_idx, created_at, \
    jwt_expires_by) VALUES (?1, ?5, ?2, ?3, ?4, 0)",
);

/// The size and version (bits gained, over every lane) of list `?2` of service `?1`, unless retired.
pub static STATUS_LIST_VERSION: Statement = Statement::new(
    "SELECT l.size, CAST(COALESCE((SELECT SUM(c.changes) \
    FROM status_list_changes c WHERE c.service_id = l.service_id AND c.list_id = l.list_id), 0) AS BIGINT) \
    FROM status_lists l WHERE l.service_id = ?1 AND l.list_id = ?2 AND l.retired_at IS NULL",
);

/// The invalid indexes of list `?2` of service `?1`.
pub static STATUS_LIST_BITS: Statement =
    Statement::new("SELECT idx FROM status_bits WHERE service_id = ?1 AND list_id = ?2 ORDER BY idx");

/// Retires (at `?1`) the full lists none of whose tokens is still live and every JWT naming which
/// has expired (a persistent JWT: never), and forgets their bits.
pub static RETIRE_STATUS_LISTS: Statement = Statement::new(
    "UPDATE status_lists SET retired_at = ?1 \
    WHERE retired_at IS NULL AND next_idx >= size AND jwt_expires_by <= ?1 AND NOT EXISTS (SELECT 1 FROM tokens t \
    WHERE t.service_id = status_lists.service_id AND t.status_list = status_lists.list_id \
    AND (t.ends_at IS NULL OR t.ends_at > ?1)) RETURNING service_id",
);

/// Forgets the versions of retired lists (with their bits, [`FORGET_RETIRED_STATUS_BITS`]).
pub static FORGET_RETIRED_STATUS_CHANGES: Statement = Statement::new(
    "DELETE FROM status_list_changes WHERE EXISTS (SELECT 1 \
    FROM status_lists l WHERE l.service_id = status_list_changes.service_id \
    AND l.list_id = status_list_changes.list_id AND l.retired_at IS NOT NULL)",
);

pub static FORGET_RETIRED_STATUS_BITS: Statement = Statement::new(
    "DELETE FROM status_bits WHERE EXISTS (SELECT 1 \
    FROM status_lists l WHERE l.service_id = status_bits.service_id AND l.list_id = status_bits.list_id \
    AND l.retired_at IS NOT NULL)",
);

/// Where [`reserve_status_indexes`](crate::store::StatusListStore::reserve_status_indexes) takes
/// `count` indexes from, given the newest list (`(list, size, next free index)`, if any) and the
/// `size` of a new list: the rest of the newest list when it has room, else a new list numbered
/// after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// `count` indexes of `list` from `first` on.
    Existing { list: i64, first: i64, count: i64 },
    /// A new list `list`, its first `count` indexes handed out.
    New { list: i64, count: i64 },
}

impl Reservation {
    pub fn plan(newest: Option<(i64, i64, i64)>, count: i64, size: i64) -> Self {
        match newest {
            Some((list, size, next)) if next < size => {
                Reservation::Existing { list, first: next, count: count.min(size - next) }
            }
            _ => Reservation::New { list: newest.map_or(1, |(list, _, _)| list + 1), count: count.min(size) },
        }
    }
}
