//! The event log over HTTP: every change recorded with who made it, read back through the cursor
//! (`GET /api/{serviceId}/events`, `GET /api/events`) — the cursor and its pages, the filters, the
//! long poll, `extension.issuanceEvents`, bad queries and who may read, a failed change leaving no
//! event. Every event type produced by a real operation, and no secret in any: `events_types`.

use std::time::{Duration, Instant};

use crate::common::{TestServer, read};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use token_server::store::Principal;

// ---------------------------------------------------------------- helpers (shared with events_types)

/// GET `path` with `bearer` (none: no Authorization header).
pub(crate) async fn get_as(server: &TestServer, bearer: Option<&str>, path: &str) -> (StatusCode, Value) {
    let mut request = server.http.get(server.url(path));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    read(request.send().await.unwrap()).await
}

/// A request with the Organization Token.
pub(crate) async fn as_org(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = server.http.request(method, server.url(path)).bearer_auth(&server.tenant.org_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.unwrap()).await
}

/// One page of the service's events (service token), which must be a 200.
pub(crate) async fn read_page(server: &TestServer, query: &str) -> Value {
    let (status, page) = server.get(&format!("/api/{{sid}}/events?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page
}

/// Every event of a stream (`path`: `/api/{sid}/events` or `/api/events`) read with `bearer`,
/// following `next` with pages of 1000 until an empty one; checks the cursor rule on the way
/// (IDs 1, 2, 3, … without a gap, `next` the last one read).
pub(crate) async fn stream(server: &TestServer, bearer: &str, path: &str) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = get_as(server, Some(bearer), &format!("{path}?after={after}&limit=1000")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        let events = page["events"].as_array().unwrap();
        let next = page["next"].as_u64().unwrap();
        if events.is_empty() {
            assert_eq!(next, after, "nothing new, the cursor stays: {page}");
            break;
        }
        for event in events {
            let id = event["eventId"].as_u64().unwrap();
            assert_eq!(id, all.len() as u64 + 1, "IDs without gaps, oldest first: {page}");
            all.push(event.clone());
        }
        assert_eq!(next, all.len() as u64, "{page}");
        after = next;
    }
    all
}

/// Every event of the test's service (its Service Access Token).
pub(crate) async fn service_log(server: &TestServer) -> Vec<Value> {
    stream(server, &server.tenant.service_token, "/api/{sid}/events").await
}

/// Every event of the test's organization (its Organization Token).
pub(crate) async fn org_log(server: &TestServer) -> Vec<Value> {
    stream(server, &server.tenant.org_token, "/api/events").await
}

/// The events of `log` of type `event_type`.
pub(crate) fn of_type<'a>(log: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    log.iter().filter(|e| e["type"] == event_type).collect()
}

/// The one event of `log` of type `event_type` for which `also` holds.
pub(crate) fn only<'a>(log: &'a [Value], event_type: &str, also: impl Fn(&Value) -> bool) -> &'a Value {
    let found: Vec<&Value> = of_type(log, event_type).into_iter().filter(|e| also(e)).collect();
    assert_eq!(found.len(), 1, "one {event_type} expected: {found:?}\nin {}", Value::from(log.to_vec()));
    found[0]
}

/// The members an event has, sorted: an event carries what it touched and nothing else.
pub(crate) fn members(event: &Value) -> Vec<String> {
    let mut names: Vec<String> = event.as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

/// Sorted member names.
pub(crate) fn names(list: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

/// The IDs (as events name them) of the test's Service Access Token and Organization Token.
pub(crate) async fn credential_ids(server: &TestServer) -> (String, String) {
    let all = server.state.tenancy().list_credentials().await.unwrap();
    let id = |wanted: Principal| {
        let found: Vec<_> = all.iter().filter(|c| c.principal == wanted).collect();
        assert_eq!(found.len(), 1, "{all:?}");
        found[0].id.to_string()
    };
    (id(Principal::Service(server.tenant.service.id)), id(Principal::Organization(server.tenant.org.id)))
}

pub(crate) fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("a string expected: {value}")).to_owned()
}

pub(crate) fn now_ms() -> i64 {
    token_server::clock::now_ms()
}

// ---------------------------------------------------------------- the first smoke test

#[tokio::test]
async fn a_created_and_revoked_token_is_in_the_log_with_its_actor() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["subject"] = json!("alice");
    let created = server.create(body).await;
    let token_id = created["tokenId"].as_str().unwrap().to_owned();
    let (status, revoked) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let page = read_page(&server, "after=0").await;
    let list = page["events"].as_array().unwrap();
    let created_event = list.iter().find(|e| e["type"] == "token.created").expect("token.created");
    assert_eq!(created_event["tokenId"], token_id.as_str());
    assert_eq!(created_event["subject"], "alice");
    assert_eq!(created_event["actor"]["kind"], "service_credential");
    let revoked_event = list.iter().find(|e| e["type"] == "token.revoked").expect("token.revoked");
    assert_eq!(revoked_event["reason"], "by_subject");
    assert_eq!(revoked_event["count"], 1);
    assert!(list.iter().any(|e| e["type"] == "user.revoked"));
    let ids: Vec<u64> = list.iter().map(|e| e["eventId"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    assert_eq!(page["next"], *ids.last().unwrap());
    let empty = events_after(&server, page["next"].as_u64().unwrap()).await;
    assert_eq!(empty["events"].as_array().unwrap().len(), 0);
    assert_eq!(empty["next"], page["next"]);
}

async fn events_after(server: &TestServer, after: u64) -> Value {
    read_page(server, &format!("after={after}")).await
}

/// Creates a token of the test client for `subject`; its answer.
async fn token_for(server: &TestServer, subject: &str) -> Value {
    let mut body = server.create_body();
    body["subject"] = json!(subject);
    server.create(body).await
}

/// The newest event ID of the service's stream.
async fn head(server: &TestServer) -> u64 {
    service_log(server).await.len() as u64
}

// ---------------------------------------------------------------- the cursor

#[tokio::test]
async fn following_next_in_pages_reads_every_event_once_in_order() {
    let server = TestServer::start().await;
    let start = head(&server).await;
    let mut token_ids = Vec::new();
    for i in 0..7 {
        token_ids.push(text(&token_for(&server, &format!("pager{i}")).await["tokenId"]));
    }
    let everything = service_log(&server).await;
    assert_eq!(everything.len() as u64, start + 7, "one event per create");

    // Pages of 3 from the start: full pages end at their last event, the last page is short and
    // the page after it empty, with the cursor unchanged.
    let mut seen = Vec::new();
    let mut after = 0;
    let mut sizes = Vec::new();
    loop {
        let page = read_page(&server, &format!("after={after}&limit=3")).await;
        let events = page["events"].as_array().unwrap();
        let next = page["next"].as_u64().unwrap();
        sizes.push(events.len());
        if events.is_empty() {
            assert_eq!(next, after, "{page}");
            break;
        }
        assert!(events.len() <= 3, "{page}");
        assert_eq!(next, events.last().unwrap()["eventId"].as_u64().unwrap(), "{page}");
        assert!(events[0]["eventId"].as_u64().unwrap() > after, "only events after the cursor: {page}");
        seen.extend(events.iter().cloned());
        after = next;
    }
    assert_eq!(seen, everything, "the pages together are the stream, each event once");
    let total = everything.len();
    let expected_sizes: Vec<usize> =
        (0..total.div_ceil(3)).map(|i| (total - i * 3).min(3)).chain(std::iter::once(0)).collect();
    assert_eq!(sizes, expected_sizes);
    let created: Vec<String> = of_type(&seen, "token.created").iter().map(|e| text(&e["tokenId"])).collect();
    assert_eq!(created[created.len() - 7..], token_ids[..], "oldest first");

    // A cursor in the middle: exactly what follows it.
    let middle = read_page(&server, &format!("after={}&limit=2", start + 2)).await;
    let ids: Vec<u64> =
        middle["events"].as_array().unwrap().iter().map(|e| e["eventId"].as_u64().unwrap()).collect();
    assert_eq!(ids, [start + 3, start + 4], "{middle}");
    assert_eq!(middle["next"], start + 4);
    // The default page (no `after`, no `limit`) is the whole short stream.
    let default = read_page(&server, "").await;
    assert_eq!(default["events"].as_array().unwrap(), &everything);
    // A cursor past the head answers nothing and keeps it.
    let ahead = read_page(&server, &format!("after={}", total + 50)).await;
    assert_eq!(
        (ahead["events"].as_array().unwrap().len(), ahead["next"].as_u64()),
        (0, Some(total as u64 + 50))
    );
}

#[tokio::test]
async fn filters_narrow_the_page_and_one_matching_nothing_still_moves_next() {
    let server = TestServer::start().await;
    let (status, other) = server
        .post("/api/{sid}/client/create", json!({"clientName": "tv", "grantTypes": ["DEVICE_CODE"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    let other_client = other["clientId"].as_i64().unwrap();
    let ann = token_for(&server, "ann").await;
    let bob = token_for(&server, "bob").await;
    let tv = server
        .create(json!({"grantType": "DEVICE_CODE", "clientId": other_client, "subject": "ann", "scopes": ["openid"]}))
        .await;
    let (status, answer) = server
        .post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": ann["accessToken"]}))
        .await;
    assert_eq!((status, answer["count"].as_u64()), (StatusCode::OK, Some(1)), "{answer}");
    let everything = service_log(&server).await;
    let head = everything.len() as u64;

    let ids = |page: &Value| -> Vec<u64> {
        page["events"].as_array().unwrap().iter().map(|e| e["eventId"].as_u64().unwrap()).collect()
    };
    let expect = |pred: &dyn Fn(&Value) -> bool| -> Vec<u64> {
        everything.iter().filter(|e| pred(e)).map(|e| e["eventId"].as_u64().unwrap()).collect()
    };
    let cases: Vec<(String, Vec<u64>)> = vec![
        ("type=token.created".into(), expect(&|e| e["type"] == "token.created")),
        ("type=token.revoked".into(), expect(&|e| e["type"] == "token.revoked")),
        ("subject=ann".into(), expect(&|e| e["subject"] == "ann")),
        (format!("clientId={other_client}"), expect(&|e| e["clientId"] == other_client)),
        (format!("tokenId={}", text(&ann["tokenId"])), expect(&|e| e["tokenId"] == ann["tokenId"])),
        (
            "type=token.created&subject=ann".into(),
            expect(&|e| e["type"] == "token.created" && e["subject"] == "ann"),
        ),
        (
            format!("type=token.created&subject=ann&clientId={}", server.tenant.client.client_id.get()),
            expect(&|e| e["type"] == "token.created" && e["tokenId"] == ann["tokenId"]),
        ),
    ];
    for (query, expected) in &cases {
        let page = read_page(&server, &format!("after=0&{query}")).await;
        assert_eq!(&ids(&page), expected, "{query}: {page}");
        assert!(!expected.is_empty(), "{query}: a case that proves nothing");
        assert!(
            page["events"].as_array().unwrap().len() < everything.len(),
            "{query} filtered nothing out: {page}"
        );
        // Fewer matches than the limit: the whole stream was looked at.
        assert_eq!(page["next"], head, "{query}: {page}");
    }
    // The concrete expectations, so that a wrong `everything` cannot hide a wrong filter.
    let by_token = read_page(&server, &format!("tokenId={}", text(&ann["tokenId"]))).await;
    let types: Vec<&str> =
        by_token["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["token.created", "token.revoked"], "{by_token}");
    let by_client = read_page(&server, &format!("clientId={other_client}")).await;
    let tokens: Vec<Value> =
        by_client["events"].as_array().unwrap().iter().map(|e| e["tokenId"].clone()).collect();
    assert_eq!(tokens, [Value::Null, tv["tokenId"].clone()], "client.created, then its token: {by_client}");
    assert!(!read_page(&server, "subject=bob").await.to_string().contains(&text(&ann["tokenId"])));
    assert_eq!(read_page(&server, "subject=bob").await["events"][0]["tokenId"], bob["tokenId"]);

    // A filter with a limit: a full page ends at its last match, and the next page goes on.
    let first = read_page(&server, "type=token.created&limit=2").await;
    let second = read_page(&server, &format!("type=token.created&limit=2&after={}", first["next"])).await;
    let mut both = ids(&first);
    both.extend(ids(&second));
    assert_eq!(both, cases[0].1, "{first} {second}");
    assert_eq!(first["next"], ids(&first)[1], "{first}");

    // Matching nothing: no events, and the cursor moves past what was looked at, so that a
    // reader does not ask for the same range again.
    for query in ["subject=nobody", "type=key.revoked", "tokenId=no-such-token", "clientId=987654"] {
        let page = read_page(&server, &format!("after=0&{query}")).await;
        assert_eq!(page["events"].as_array().unwrap().len(), 0, "{query}: {page}");
        assert_eq!(page["next"], head, "{query}: {page}");
        let again = page_after(&server, query, head).await;
        assert_eq!((again["events"].as_array().unwrap().len(), &again["next"]), (0, &json!(head)));
    }
    // New events after that cursor are read by the same filter, and only they.
    let late = token_for(&server, "nobody").await;
    let page = page_after(&server, "subject=nobody", head).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["events"][0]["tokenId"], late["tokenId"]);
    assert_eq!(page["next"], head + 1);
    let page = page_after(&server, "subject=ann", head).await;
    assert_eq!((page["events"].as_array().unwrap().len(), &page["next"]), (0, &json!(head + 1)), "{page}");
}

async fn page_after(server: &TestServer, query: &str, after: u64) -> Value {
    read_page(server, &format!("after={after}&{query}")).await
}

// ---------------------------------------------------------------- the long poll

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_read_answers_as_soon_as_an_event_arrives() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let head = head(&server).await;
    let reader = {
        let server = std::sync::Arc::clone(&server);
        tokio::spawn(async move {
            let started = Instant::now();
            let page = read_page(&server, &format!("after={head}&wait=10")).await;
            (page, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!reader.is_finished(), "the read waited for an event");
    let created = token_for(&server, "late").await;
    let (page, took) = reader.await.unwrap();
    assert!(took < Duration::from_secs(3), "it answered as the event arrived, not after the wait: {took:?}");
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!((&events[0]["type"], &events[0]["tokenId"]), (&json!("token.created"), &created["tokenId"]));
    assert_eq!(page["next"], head + 1);

    // With events already there, a wait answers at once.
    let started = Instant::now();
    let page = read_page(&server, &format!("after={head}&wait=10")).await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_waiting_read_with_nothing_new_answers_empty_after_the_wait() {
    let server = TestServer::start().await;
    token_for(&server, "someone").await;
    let head = head(&server).await;
    let started = Instant::now();
    let page = read_page(&server, &format!("after={head}&wait=1")).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "it waited the second: {took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert_eq!(page["events"].as_array().unwrap().len(), 0, "{page}");
    assert_eq!(page["next"], head, "the cursor is unchanged");
    // Without `wait`, the same read answers at once.
    let started = Instant::now();
    let page = read_page(&server, &format!("after={head}")).await;
    assert!(started.elapsed() < Duration::from_millis(800), "{:?}", started.elapsed());
    assert_eq!((page["events"].as_array().unwrap().len(), &page["next"]), (0, &json!(head)));
}

/// At most `WAITING_PER_STREAM` (8) readers of one stream are held at once: of 12 waiting reads
/// of an idle stream, 8 wait out their `wait` and 4 are answered at once, so the requests (and
/// reads every 200 ms) one tenant can hold per stream are bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_eight_readers_of_a_stream_wait_at_once() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let head = head(&server).await;
    let mut reads = Vec::new();
    for _ in 0..12 {
        let server = std::sync::Arc::clone(&server);
        reads.push(tokio::spawn(async move {
            let started = Instant::now();
            let page = read_page(&server, &format!("after={head}&wait=3")).await;
            assert_eq!(page["events"].as_array().unwrap().len(), 0, "{page}");
            started.elapsed()
        }));
    }
    let mut took = Vec::new();
    for read in reads {
        took.push(read.await.unwrap());
    }
    let held = took.iter().filter(|t| **t >= Duration::from_millis(2500)).count();
    let at_once = took.iter().filter(|t| **t < Duration::from_millis(1500)).count();
    assert_eq!((held, at_once), (8, 4), "{took:?}");
}

// ---------------------------------------------------------------- extension.issuanceEvents

#[tokio::test]
async fn with_issuance_events_off_only_issuance_is_not_recorded() {
    let server = TestServer::start().await;
    let (status, updated) = as_org(
        &server,
        Method::POST,
        "/api/{sid}/service/update",
        Some(json!({"extension": {"issuanceEvents": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["extension"]["issuanceEvents"], false, "{updated}");
    let before = head(&server).await;

    // Every kind of issuance: create, refresh, generate, exchange, a holder's refresh.
    let created = token_for(&server, "quiet").await;
    let (status, refreshed) =
        server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": created["refreshToken"]})).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let (status, generated) =
        server.post("/api/{sid}/custom-token/generate", json!({"userId": "quiet", "identity": "r"})).await;
    assert_eq!(status, StatusCode::OK, "{generated}");
    let (status, session) = read(
        server
            .http
            .post(server.url("/api/{sid}/custom-token/exchange"))
            .json(&json!({"customToken": generated["data"]["customToken"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (status, again) = read(
        server
            .http
            .post(server.url("/api/{sid}/auth/token/refresh"))
            .json(&json!({"refreshToken": session["refreshToken"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let log = service_log(&server).await;
    assert_eq!(log.len() as u64, before, "no issuance event: {:?}", &log[before as usize..]);

    // The others are written: a revocation of both sessions, and the sign-out.
    let (status, revoked) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "quiet"})).await;
    assert_eq!((status, revoked["count"].as_u64()), (StatusCode::OK, Some(2)), "{revoked}");
    let log = service_log(&server).await;
    let new: Vec<&str> = log[before as usize..].iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(new, ["user.revoked", "token.revoked"], "{log:?}");
    assert_eq!(log.last().unwrap()["count"], 2);

    // On again: issuance is recorded again.
    let (status, updated) = as_org(
        &server,
        Method::POST,
        "/api/{sid}/service/update",
        Some(json!({"extension": {"issuanceEvents": true}})),
    )
    .await;
    assert_eq!(
        (status, &updated["extension"]["issuanceEvents"]),
        (StatusCode::OK, &json!(true)),
        "{updated}"
    );
    let loud = token_for(&server, "loud").await;
    let log = service_log(&server).await;
    assert_eq!(log.last().unwrap()["type"], "token.created", "{log:?}");
    assert_eq!(log.last().unwrap()["tokenId"], loud["tokenId"]);
    // Both changes of the setting are on the organization's stream.
    let org = org_log(&server).await;
    let updates = of_type(&org, "service.updated");
    assert_eq!(updates.len(), 2, "{org:?}");
    assert!(updates.iter().all(|e| e["serviceId"] == server.sid()), "{updates:?}");
}

// ---------------------------------------------------------------- bad queries, who may read

#[tokio::test]
async fn bad_queries_are_refused_with_what_is_wrong() {
    let server = TestServer::start().await;
    let cases = [
        ("limit=0", "A210202", "limit: must be between 1 and 1000"),
        ("limit=1001", "A210202", "limit: must be between 1 and 1000"),
        ("wait=31", "A210202", "wait: must be between 0 and 30"),
        ("type=nope", "A210202", "type: must be one of the event types"),
        ("type=", "A210202", "type: must be one of the event types"),
        ("subject=", "A210202", "subject: must be 1 to 1024 characters"),
        ("after=18446744073709551615", "A210202", "after: is out of range"),
        ("after=-1", "A001212", "after: invalid digit"),
        ("after=abc", "A001212", "after: invalid digit"),
        ("after=1.5", "A001212", "after: invalid digit"),
        ("limit=ten", "A001212", "limit: invalid digit"),
        ("wait=-1", "A001212", "wait: invalid digit"),
        ("clientId=x", "A001212", "clientId: invalid digit"),
    ];
    for (query, code, message) in cases {
        for path in ["/api/{sid}/events", "/api/events"] {
            let bearer =
                if path == "/api/events" { &server.tenant.org_token } else { &server.tenant.service_token };
            let (status, answer) = get_as(&server, Some(bearer), &format!("{path}?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}?{query}: {answer}");
            assert_eq!(answer["resultCode"], code, "{path}?{query}: {answer}");
            let text = answer["resultMessage"].as_str().unwrap();
            assert!(text.contains(message), "{path}?{query}: {answer}");
        }
    }
    // The bounds themselves are accepted.
    for query in ["limit=1", "limit=1000", "wait=0", "type=tokens.purged", "after=0"] {
        let (status, answer) = server.get(&format!("/api/{{sid}}/events?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {answer}");
    }
}

#[tokio::test]
async fn a_stream_is_read_only_by_its_service_or_its_organization() {
    let server = TestServer::start().await;
    let a = server.sid();
    let (status, created) =
        as_org(&server, Method::POST, "/api/service/create", Some(json!({"serviceName": "b"}))).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let b = created["apiKey"].as_u64().unwrap();
    let b_token = server
        .state
        .tenancy()
        .issue_credential(
            Principal::Service(token_core::ServiceId(b)),
            "b",
            None,
            &token_server::store::Actor::cli(),
        )
        .await
        .unwrap()
        .secret
        .into_secret();
    let only_a = token_for(&server, "only-a").await;
    let a_token = server.tenant.service_token.clone();
    let org_token = server.tenant.org_token.clone();

    // Each service token reads its own service, not the other's.
    let (status, own) = get_as(&server, Some(&a_token), &format!("/api/{a}/events")).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert!(own.to_string().contains(&text(&only_a["tokenId"])));
    for (bearer, service) in [(&a_token, b), (&b_token, a)] {
        let (status, answer) = get_as(&server, Some(bearer), &format!("/api/{service}/events")).await;
        assert_eq!((status, &answer["resultCode"]), (StatusCode::FORBIDDEN, &json!("A001203")), "{answer}");
    }
    let (status, theirs) = get_as(&server, Some(&b_token), &format!("/api/{b}/events")).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert!(!theirs.to_string().contains("only-a"), "streams are apart: {theirs}");
    assert!(!theirs["events"].as_array().unwrap().is_empty(), "b's own key: {theirs}");
    // The organization token reads both of its services.
    for service in [a, b] {
        let (status, answer) = get_as(&server, Some(&org_token), &format!("/api/{service}/events")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    // The organization's own stream needs the organization token.
    for bearer in [&a_token, &b_token] {
        let (status, answer) = get_as(&server, Some(bearer), "/api/events").await;
        assert_eq!((status, &answer["resultCode"]), (StatusCode::FORBIDDEN, &json!("A001214")), "{answer}");
        assert!(answer["resultMessage"].as_str().unwrap().contains("Organization Token"), "{answer}");
    }
    let (status, org) = get_as(&server, Some(&org_token), "/api/events").await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert!(
        org["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "service.created" && e["serviceId"] == b),
        "{org}"
    );

    // Another organization's token reads neither of our services, and its own stream is its own.
    let other = server.state.tenancy().create_organization("other").await.unwrap();
    let other_token = server
        .state
        .tenancy()
        .issue_credential(Principal::Organization(other.id), "o", None, &token_server::store::Actor::cli())
        .await
        .unwrap()
        .secret
        .into_secret();
    for service in [a, b] {
        let (status, answer) = get_as(&server, Some(&other_token), &format!("/api/{service}/events")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    }
    let (status, theirs) = get_as(&server, Some(&other_token), "/api/events").await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    let types: Vec<&str> =
        theirs["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["credential.created"], "only its own credential: {theirs}");
    assert!(theirs["events"][0].get("serviceId").is_none(), "{theirs}");

    // No credential, or one that is not: 401.
    for path in [format!("/api/{a}/events"), "/api/events".to_owned()] {
        let (status, answer) = get_as(&server, None, &path).await;
        assert_eq!(
            (status, &answer["resultCode"]),
            (StatusCode::UNAUTHORIZED, &json!("A001201")),
            "{answer}"
        );
        let (status, answer) = get_as(&server, Some("sat_not-a-credential"), &path).await;
        assert_eq!(
            (status, &answer["resultCode"]),
            (StatusCode::UNAUTHORIZED, &json!("A001202")),
            "{answer}"
        );
    }
    // A service that does not exist.
    let (status, answer) = get_as(&server, Some(&org_token), "/api/987654/events").await;
    assert_eq!((status, &answer["resultCode"]), (StatusCode::NOT_FOUND, &json!("A001204")), "{answer}");
}

// ---------------------------------------------------------------- a failed change

#[tokio::test]
async fn a_change_that_fails_writes_no_event() {
    let server = TestServer::start().await;
    let value = format!("imported-{:032x}", rand::random::<u128>());
    let mut body = server.create_body();
    body["subject"] = json!("rollback");
    body["accessToken"] = json!(value);
    let first = server.create(body.clone()).await;
    assert_eq!(first["accessToken"], value.as_str());
    // The same value again: the store refuses the insert, and the whole write is undone.
    let mut second = body.clone();
    second["subject"] = json!("rollback-2");
    let (status, answer) = server.post("/api/{sid}/auth/token/create", second).await;
    assert_eq!((status, &answer["resultCode"]), (StatusCode::BAD_REQUEST, &json!("A109213")), "{answer}");
    assert_eq!(server.token_count().await, 1);
    let log = service_log(&server).await;
    let created = of_type(&log, "token.created");
    assert_eq!(created.len(), 1, "{log:?}");
    assert_eq!(created[0]["tokenId"], first["tokenId"]);
    assert!(!Value::from(log.clone()).to_string().contains("rollback-2"), "{log:?}");

    // Concurrent creates, some with a taken value (the same group commit on both backends): one
    // token.created per token stored, each naming a token that exists.
    let bodies: Vec<Value> = (0..16)
        .map(|i| {
            let mut body = server.create_body();
            body["subject"] = json!(format!("group{i}"));
            if i % 2 == 0 {
                body["accessToken"] = json!(value);
            }
            body
        })
        .collect();
    let answers =
        join_all(bodies.into_iter().map(|body| server.post("/api/{sid}/auth/token/create", body)).collect())
            .await;
    let stored: Vec<&Value> = answers.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, a)| a).collect();
    assert_eq!(stored.len(), 8, "{answers:?}");
    assert!(answers.iter().all(|(s, a)| *s == StatusCode::OK || a["resultCode"] == "A109213"), "{answers:?}");
    let log = service_log(&server).await;
    let created = of_type(&log, "token.created");
    assert_eq!(created.len(), 9, "{created:?}");
    let mut expected: Vec<Value> = stored.iter().map(|a| a["tokenId"].clone()).collect();
    expected.push(first["tokenId"].clone());
    expected.sort_by_key(|v| v.to_string());
    let mut recorded: Vec<Value> = created.iter().map(|e| e["tokenId"].clone()).collect();
    recorded.sort_by_key(|v| v.to_string());
    assert_eq!(recorded, expected);
    for event in &created[1..] {
        let subject = text(&event["subject"]);
        let n: usize = subject.strip_prefix("group").unwrap().parse().unwrap();
        assert!(n % 2 == 1, "only the creates with a fresh value: {event}");
    }

    // A client with an ID that is taken, and a service update the server refuses: nothing.
    let (status, _) =
        server.post("/api/{sid}/client/create", json!({"clientId": 4242, "clientName": "a"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        server.post("/api/{sid}/client/create", json!({"clientId": 4242, "clientName": "b"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let log = service_log(&server).await;
    assert_eq!(of_type(&log, "client.created").iter().filter(|e| e["clientId"] == 4242).count(), 1);
    let org_before = org_log(&server).await;
    let (status, answer) =
        as_org(&server, Method::POST, "/api/{sid}/service/update", Some(json!({"issuer": "not a url"})))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(org_log(&server).await, org_before);
}

/// Awaits every future concurrently (they make progress together on this task).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}
