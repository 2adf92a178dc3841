//! Group commit of new tokens on PostgreSQL. Creates that wait at the same moment go to the
//! database as one multi-row `INSERT`: one statement, one round trip and one commit (one WAL
//! flush) for all of them, where one transaction per token pays each of those once per token. Each
//! caller is answered only after the commit that stored its row, as the SQLite writer does.
//!
//! The group is inserted with `ON CONFLICT DO NOTHING RETURNING token_id`: a row whose value (or
//! ID) is taken is skipped and every other row is stored by the same statement and commit. Only
//! the skipped rows are tried again, each on its own and off the committer, so that its caller
//! hears which constraint it met (a taken value, or a token ID met twice) while the next group is
//! already on its way. One tenant sending taken values therefore costs the others nothing: before,
//! one conflict failed the whole statement and every row of the group was retried one by one.
//! A row a trigger leaves out (its client deleted, its signing key revoked, since the issuer read
//! them) is skipped the same way, and alone it is answered [`StoreError::ClientGone`] or
//! [`StoreError::KeyRevoked`]. Any other failure (the database unreachable) is every
//! caller's answer at once. Only inserts are
//! grouped: single use and rotation keep their row locks and transactions, unchanged across
//! instances.
//!
//! Each token's `token.created` event (when its service keeps issuance events) is written by the
//! same statement, for the rows it stored only: a writable `WITH` joins what the insert returned
//! with the events' values, passed as four arrays whatever the group's size. A token ID met twice
//! in one group goes alone, so that an event always names the row its own caller stored.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};

use deadpool_postgres::Pool;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::types::ToSql;

use super::executor::Pg;
use super::pool_error;
use crate::store::sql::{self, params::TokenRow, steps};
use crate::store::{Event, StoreError, StoreResult};

/// Most rows in one statement (PostgreSQL takes at most 65,535 parameters; a row has 30).
pub const MAX_GROUP: usize = 64;

/// Groups in flight at once: one gathers and sends while another waits for its commit.
pub const COMMITTERS: usize = 2;

/// The `INSERT` of `rows` tokens, for each group size (prepared once per connection and size).
static INSERT_ROWS: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..=MAX_GROUP).map(|rows| sql::dollar(&sql::insert_tokens(rows))).collect());

/// The insert of `rows` tokens with their events, answering the IDs of the tokens stored: failing
/// on a taken value, or (`skipping`) leaving out the rows that meet a unique constraint.
fn insert_with_events(rows: usize, skipping: bool) -> String {
    let first = rows * sql::TOKEN_COLUMNS.split(',').count() + 1;
    let arrays = format!(
        "${}::text[], ${}::bigint[], ${}::text[], ${}::text[]",
        first,
        first + 1,
        first + 2,
        first + 3
    );
    format!(
        "WITH stored AS ({} {}RETURNING token_id, service_id, subject, client_id), \
         recorded AS (INSERT INTO events (stream, at, type, actor_kind, actor_id, subject, \
         client_id, token_id) SELECT s.service_id, e.at, 'token.created', e.kind, e.actor, \
         s.subject, s.client_id, s.token_id FROM stored s JOIN unnest({arrays}) AS e(token_id, at, kind, actor) \
         ON e.token_id = s.token_id) SELECT token_id FROM stored",
        INSERT_ROWS[rows],
        if skipping { "ON CONFLICT DO NOTHING " } else { "" },
    )
}

/// [`insert_with_events`] for each group size, failing on a conflict.
static INSERT_ROWS_RECORDED: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..=MAX_GROUP).map(|rows| insert_with_events(rows, false)).collect());

/// [`insert_with_events`] for each group size, leaving out conflicting rows.
static INSERT_ROWS_SKIPPING: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..=MAX_GROUP).map(|rows| insert_with_events(rows, true)).collect());

/// A token waiting for its group's commit.
struct Pending {
    values: TokenRow<'static>,
    /// Its `token.created` event, when its service keeps issuance events.
    event: Option<Event>,
    reply: oneshot::Sender<StoreResult<()>>,
}

/// The queue of waiting inserts and the tasks that commit them (started by the first insert, on
/// the runtime that makes it).
pub struct GroupCommit {
    pool: Pool,
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl GroupCommit {
    pub fn new(pool: Pool) -> Self {
        Self { pool, queue: OnceLock::new() }
    }

    /// Stores `values`; resolves once the group it joined has committed. The queue holds at most
    /// one entry per request in flight (each caller waits for its answer).
    pub async fn insert(&self, values: TokenRow<'static>, event: Option<Event>) -> StoreResult<()> {
        let queue = self.queue.get_or_init(|| self.start());
        let (reply, answered) = oneshot::channel();
        queue
            .send(Pending { values, event, reply })
            .map_err(|_| StoreError::Backend("the token group committer has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Backend("the token group committer dropped an insert".into()))?
    }

    fn start(&self) -> mpsc::UnboundedSender<Pending> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..COMMITTERS {
            tokio::spawn(committer(self.pool.clone(), Arc::clone(&receiver)));
        }
        sender
    }
}

/// Takes the first waiting insert and every other one queued behind it (up to [`MAX_GROUP`]),
/// stores them, answers each; until the store is dropped.
async fn committer(pool: Pool, queue: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>) {
    loop {
        let group = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            let mut ids: HashSet<String> = HashSet::from([first.values.token_id().to_owned()]);
            let mut group = vec![first];
            let mut alone = Vec::new();
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(next) if ids.insert(next.values.token_id().to_owned()) => group.push(next),
                    Ok(twice) => alone.push(twice),
                    Err(_) => break,
                }
            }
            for pending in alone {
                insert_alone(&pool, pending);
            }
            group
        };
        commit(&pool, group).await;
    }
}

async fn commit(pool: &Pool, mut group: Vec<Pending>) {
    // Each row's insert locks its client's row (migration 0014_client_live): in one order
    // everywhere, `(service, client)`, as a deletion of several clients takes them, so that a
    // group and a deletion never wait for each other in a cycle.
    group.sort_by_key(|p| (p.values.service(), p.values.client()));
    let rows: Vec<&Pending> = group.iter().collect();
    let stored = match insert_rows(pool, &rows, true).await {
        Ok(stored) => stored,
        // One row's value the database cannot hold (a NUL in a text) fails the whole statement:
        // every row is then tried alone, so that only its own caller hears of it.
        Err(StoreError::Unstorable(_)) => HashSet::new(),
        // Chosen as a deadlock's victim (or a serialization failure): nothing was stored, and
        // each row tried alone goes through; no caller hears of it.
        Err(e) if super::is_transient(&e) => HashSet::new(),
        Err(e) => {
            // The database is unreachable or failed: every caller hears so at once (row by row
            // would make the last one wait a connect timeout per row before it).
            let why = e.to_string();
            for pending in group {
                let _ = pending.reply.send(Err(StoreError::Backend(format!("group insert: {why}"))));
            }
            return;
        }
    };
    for pending in group {
        if stored.contains(pending.values.token_id()) {
            let _ = pending.reply.send(Ok(()));
        } else {
            // Skipped (a value or the ID is taken), or in a group with a value the database cannot
            // hold. Inserted alone (off this committer, which goes
            // on with the next group) it fails on the constraint it met, named for its caller, or
            // is stored if the row in its way has gone since.
            insert_alone(pool, pending);
        }
    }
}

/// Inserts `pending` in a statement of its own, off the committer, and answers its caller.
fn insert_alone(pool: &Pool, pending: Pending) {
    let pool = pool.clone();
    tokio::spawn(async move {
        let result = insert_rows(&pool, &[&pending], false).await.map(|_| ());
        let _ = pending.reply.send(result);
    });
}

/// One `INSERT` of `rows`, committed on its own (autocommit); with `skip_conflicts`, rows that meet
/// a unique constraint are left out and the IDs of those stored are answered.
async fn insert_rows(pool: &Pool, rows: &[&Pending], skip_conflicts: bool) -> StoreResult<HashSet<String>> {
    let client = pool.get().await.map_err(pool_error)?;
    // The events' values, one array per column, for the rows that have one.
    let recorded: Vec<(&str, &Event)> =
        rows.iter().filter_map(|p| p.event.as_ref().map(|e| (p.values.token_id(), e))).collect();
    let token_ids: Vec<&str> = recorded.iter().map(|(id, _)| *id).collect();
    let at: Vec<i64> = recorded.iter().map(|(_, e)| e.at).collect();
    let kinds: Vec<&str> = recorded.iter().map(|(_, e)| e.actor.kind.as_str()).collect();
    let actors: Vec<Option<&str>> = recorded.iter().map(|(_, e)| e.actor.id.as_deref()).collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = rows
        .iter()
        .flat_map(|p| p.values.values().iter().map(|value| value as &(dyn ToSql + Sync)))
        .collect();
    params.extend([&token_ids as &(dyn ToSql + Sync), &at, &kinds, &actors]);
    let statement = if skip_conflicts { &INSERT_ROWS_SKIPPING } else { &INSERT_ROWS_RECORDED };
    let statement = client.prepare_cached(&statement[rows.len()]).await.map_err(super::pg_error)?;
    let stored = client.query(&statement, &params).await.map_err(super::pg_error)?;
    // Alone, a row left out was refused by a trigger, on its client or its signing key (a taken
    // value fails the statement instead).
    if !skip_conflicts && stored.len() < rows.len() {
        let refused =
            rows.iter().find(|p| !stored.iter().any(|r| r.get::<_, &str>(0) == p.values.token_id()));
        if let Some(refused) = refused {
            return Err(steps::refused_insert(&Pg(&client), &refused.values).await?);
        }
    }
    Ok(stored.iter().map(|row| row.get::<_, String>(0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_size_has_its_statement_with_every_parameter() {
        let columns = sql::TOKEN_COLUMNS.split(',').count();
        assert_eq!(columns, 30, "a token row binds 30 values");
        let largest = &INSERT_ROWS[MAX_GROUP];
        assert_eq!(largest.matches('$').count(), MAX_GROUP * columns);
        assert!(largest.ends_with(&format!("${})", MAX_GROUP * columns)), "{largest}");
        assert!(INSERT_ROWS[1].ends_with("$30)"), "{}", INSERT_ROWS[1]);
        assert!(MAX_GROUP * columns <= 65_535);
    }
}
