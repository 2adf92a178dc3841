//! The event log's cursor rule on PostgreSQL with two instances: transactions commit in another
//! order than they wrote, and a reader following `next` still sees every event exactly once.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::multi_instance::{admin, database, start};

/// A raw connection to the test's schema, beside the instances: to hold a transaction open.
async fn raw(database: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// An event of service `sid` as the server writes it (unnumbered), marked with `marker` as its
/// token ID, in `tx`.
async fn insert_marker(tx: &tokio_postgres::Transaction<'_>, sid: i64, marker: &str) {
    tx.execute(
        "INSERT INTO events (stream, at, type, actor_kind, service_id, token_id) \
         VALUES ($1, 0, 'token.updated', 'cli', $1, $2)",
        &[&sid, &marker],
    )
    .await
    .unwrap();
}

struct Reader {
    http: reqwest::Client,
    bearer: String,
    sid: String,
    after: u64,
    ids: Vec<u64>,
    token_ids: Vec<String>,
}

impl Reader {
    /// A reader of service `sid`'s stream from its start.
    fn new(http: &reqwest::Client, bearer: &str, sid: &str) -> Self {
        Reader {
            http: http.clone(),
            bearer: bearer.to_owned(),
            sid: sid.to_owned(),
            after: 0,
            ids: vec![],
            token_ids: vec![],
        }
    }

    /// One read through `base`, following the cursor; how many events it got.
    async fn read(&mut self, base: &str, wait: u32) -> usize {
        let url = format!("{base}/api/{}/events?after={}&limit=1000&wait={wait}", self.sid, self.after);
        let answer = self.http.get(url).bearer_auth(&self.bearer).send().await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        let page: Value = answer.json().await.unwrap();
        let events = page["events"].as_array().unwrap();
        for event in events {
            self.ids.push(event["eventId"].as_u64().unwrap());
            if let Some(token_id) = event["tokenId"].as_str() {
                self.token_ids.push(token_id.to_owned());
            }
        }
        let next = page["next"].as_u64().unwrap();
        assert!(next >= self.after, "the cursor never goes back");
        self.after = next;
        events.len()
    }

    /// Numbers 1, 2, 3, … each once, in order.
    fn assert_contiguous(&self) {
        let expected: Vec<u64> = (1..=self.ids.len() as u64).collect();
        assert_eq!(self.ids, expected, "every number once, in order, none skipped");
    }
}

async fn tenant(database: &str) -> (String, String, Value) {
    let org = admin(database, &["org", "create", "--name", "events"]);
    let service = admin(database, &["service", "create", "--org", &org["id"].to_string()]);
    let sid = service["id"].to_string();
    let client = admin(database, &["client", "create", "--service", &sid, "--alias", "web"]);
    let bearer =
        admin(database, &["credential", "create", "--service", &sid])["secret"].as_str().unwrap().to_owned();
    (sid, bearer, client["clientId"].clone())
}

async fn create(http: &reqwest::Client, base: &str, sid: &str, bearer: &str, client: &Value) -> String {
    let answer = http
        .post(format!("{base}/api/{sid}/auth/token/create"))
        .bearer_auth(bearer)
        .json(&json!({"grantType": "CLIENT_CREDENTIALS", "clientId": client}))
        .send()
        .await
        .unwrap();
    let body: Value = answer.json().await.unwrap();
    body["tokenId"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

/// A transaction that wrote first commits last: the event written later (by instance B) is read
/// first, and the held one is read after it, once — never skipped because a larger number was
/// read before it committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_after_a_later_one_is_still_read() {
    let Some((database, _schema)) = database().await else { return };
    let (sid, bearer, client) = tenant(&database).await;
    let (a, b) = (start(&database), start(&database));
    let http = reqwest::Client::new();
    let mut reader = Reader::new(&http, &bearer, &sid);
    reader.read(&a.base, 0).await;

    let mut held = raw(&database).await;
    let held = held.transaction().await.unwrap();
    insert_marker(&held, sid.parse().unwrap(), "held-first").await;
    // Written after the held event, committed before it.
    let token = create(&http, &b.base, &sid, &bearer, &client).await;
    reader.read(&a.base, 0).await;
    assert!(reader.token_ids.contains(&token), "the committed event is readable at once");
    assert!(!reader.token_ids.iter().any(|t| t == "held-first"), "an uncommitted event is not");

    held.commit().await.unwrap();
    reader.read(&b.base, 0).await;
    assert_eq!(
        reader.token_ids.iter().filter(|t| *t == "held-first").count(),
        1,
        "read once, after it committed"
    );
    assert_eq!(reader.read(&a.base, 0).await, 0, "and never again");
    reader.assert_contiguous();
}

/// Writers on two instances and transactions held open for random times, while a reader follows
/// the cursor through both instances: the reader's set is the final set, each event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_following_two_busy_instances_misses_nothing() {
    let Some((database, _schema)) = database().await else { return };
    let (sid, bearer, client) = tenant(&database).await;
    let (a, b) = (start(&database), start(&database));
    let http = reqwest::Client::new();
    let (base_a, base_b) = (a.base.clone(), b.base.clone());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));

    let mut writers = Vec::new();
    for w in 0..6 {
        let (http, sid, bearer, client) = (http.clone(), sid.clone(), bearer.clone(), client.clone());
        let base = if w % 2 == 0 { base_a.clone() } else { base_b.clone() };
        writers.push(tokio::spawn(async move {
            let mut created = Vec::new();
            for _ in 0..60 {
                created.push(create(&http, &base, &sid, &bearer, &client).await);
            }
            created
        }));
    }
    // Out-of-order commits: each holds its event open for up to 60 ms while others commit.
    let mut holders = Vec::new();
    for h in 0..3 {
        let (database, sid) = (database.clone(), sid.parse::<i64>().unwrap());
        holders.push(tokio::spawn(async move {
            let mut client = raw(&database).await;
            let mut markers = Vec::new();
            for i in 0..20 {
                let marker = format!("held-{h}-{i}");
                let tx = client.transaction().await.unwrap();
                insert_marker(&tx, sid, &marker).await;
                tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 60)).await;
                tx.commit().await.unwrap();
                markers.push(marker);
            }
            markers
        }));
    }
    let reader = {
        let (http, sid, bearer, done) = (http.clone(), sid.clone(), bearer.clone(), done.clone());
        let (base_a, base_b) = (base_a.clone(), base_b.clone());
        tokio::spawn(async move {
            let mut reader = Reader { http, bearer, sid, after: 0, ids: vec![], token_ids: vec![] };
            let mut turn = 0u64;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                turn += 1;
                reader.read(if turn.is_multiple_of(2) { &base_a } else { &base_b }, 0).await;
                tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 15)).await;
            }
            // Everything has committed: follow until nothing is left.
            while reader.read(&base_a, 0).await > 0 {}
            reader
        })
    };
    let mut expected = HashSet::new();
    for writer in writers {
        expected.extend(writer.await.unwrap());
    }
    for holder in holders {
        expected.extend(holder.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let reader = reader.await.unwrap();
    reader.assert_contiguous();
    let read: BTreeSet<&String> = reader.token_ids.iter().collect();
    assert_eq!(read.len(), reader.token_ids.len(), "no event read twice");
    let expected: BTreeSet<&String> = expected.iter().collect();
    let missing: Vec<_> = expected.difference(&read).collect();
    assert!(
        missing.is_empty(),
        "{} events never read: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(read, expected);
    drop((a, b));
}

/// Rows deleted while a reader numbers the stream (the janitor's retention, a service's deletion)
/// get no number: the numbers stay contiguous, the counter is the largest given, and the stream
/// stays readable (before, the counter fell behind the numbers given and the next numbering met
/// the unique index: every read of the stream answered 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_deleted_while_they_are_numbered_leave_no_hole_and_no_clash() {
    let Some((database, _schema)) = database().await else { return };
    let (sid, bearer, client) = tenant(&database).await;
    let a = start(&database);
    let http = reqwest::Client::new();
    let mut reader = Reader::new(&http, &bearer, &sid);
    reader.read(&a.base, 0).await;
    // Unnumbered: nobody read them yet.
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(create(&http, &a.base, &sid, &bearer, &client).await);
    }
    // A deletion of the two oldest, held open while the reader numbers the stream.
    let mut deleter = raw(&database).await;
    let deleting = deleter.transaction().await.unwrap();
    let sid_number: i64 = sid.parse().unwrap();
    let deleted = deleting
        .execute(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE stream = $1 AND event_id IS NULL \
             ORDER BY seq LIMIT 2)",
            &[&sid_number],
        )
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let started = std::time::Instant::now();
    assert_eq!(reader.read(&a.base, 0).await, 3, "the rows not being deleted are numbered and read");
    assert!(started.elapsed() < Duration::from_secs(2), "the reader does not wait for the deletion");
    deleting.commit().await.unwrap();
    // The stream goes on: new events get the next numbers, on every read.
    for _ in 0..3 {
        created.push(create(&http, &a.base, &sid, &bearer, &client).await);
    }
    assert_eq!(reader.read(&a.base, 0).await, 3);
    assert_eq!(reader.read(&a.base, 0).await, 0);
    reader.assert_contiguous();
    let read: BTreeSet<&String> = reader.token_ids.iter().collect();
    let expected: BTreeSet<&String> = created[2..].iter().collect();
    assert_eq!(read, expected, "every event that was not deleted, once");
    let counter = raw(&database)
        .await
        .query_one("SELECT last_event_id FROM event_streams WHERE stream = $1", &[&sid_number])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(counter as u64, *reader.ids.last().unwrap(), "the counter is the largest number given");
}

/// Readers never wait for a numbering elsewhere while holding a pooled connection: with the
/// stream's counter held by another transaction (another instance numbering it), 48 concurrent
/// reads answer at once with what is numbered already, and the rest is read once it is released.
/// (Before, each waited on the row lock with a connection of the pool: readers of one stream could
/// take the whole pool from every other tenant.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_queue_on_a_numbering_elsewhere() {
    let Some((database, _schema)) = database().await else { return };
    let (sid, bearer, client) = tenant(&database).await;
    let a = start(&database);
    let http = reqwest::Client::new();
    let mut reader = Reader::new(&http, &bearer, &sid);
    reader.read(&a.base, 0).await;
    let sid_number: i64 = sid.parse().unwrap();
    let mut holder = raw(&database).await;
    let holding = holder.transaction().await.unwrap();
    holding
        .query_one("SELECT last_event_id FROM event_streams WHERE stream = $1 FOR UPDATE", &[&sid_number])
        .await
        .unwrap();
    let token = create(&http, &a.base, &sid, &bearer, &client).await;
    let started = std::time::Instant::now();
    let mut reads = Vec::new();
    for _ in 0..48 {
        let (http, bearer, url) =
            (http.clone(), bearer.clone(), format!("{}/api/{sid}/events?after={}", a.base, reader.after));
        reads.push(tokio::spawn(async move {
            let answer =
                http.get(url).bearer_auth(bearer).timeout(Duration::from_secs(10)).send().await.unwrap();
            assert!(answer.status().is_success(), "{}", answer.status());
            answer.json::<Value>().await.unwrap()["events"].as_array().unwrap().len()
        }));
    }
    for read in reads {
        assert_eq!(read.await.unwrap(), 0, "nothing new is numbered while the counter is held");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "48 reads took {:?}", started.elapsed());
    // A create of another tenant's kind goes through meanwhile (the pool is not taken).
    create(&http, &a.base, &sid, &bearer, &client).await;
    holding.commit().await.unwrap();
    while reader.read(&a.base, 0).await > 0 {}
    assert!(reader.token_ids.contains(&token));
    reader.assert_contiguous();
}
