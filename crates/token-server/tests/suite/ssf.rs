//! The Shared Signals transmitter (SSF 1.0, CAEP 1.0, RFC 8417/8935/8936) driven as a receiver
//! would: discovery, the stream API, verification, push to a receiver running here (its SETs
//! verified by PyJWT through the service's JWK Set), poll with acknowledgements, status (paused
//! keeps, disabled drops), a receiver that is down and comes back, the allow-list, the limits, and
//! another tenant. Both backends (`TOKEN_SERVER_TEST_BACKEND`).

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use token_server::config::Config;

use crate::common::{TestServer, read, spec};

const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/// What the receiver got: each SET with its arrival time and the Authorization header.
#[derive(Default)]
pub(crate) struct Received {
    pub(crate) sets: Vec<(Instant, String, Option<String>)>,
    /// While set, the receiver answers 503 and keeps nothing.
    pub(crate) down: bool,
    /// While set, the receiver holds each push 10 s before answering 503.
    pub(crate) hang: bool,
}

pub(crate) type Inbox = Arc<Mutex<Received>>;

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> AxumStatus {
    if inbox.lock().unwrap().hang {
        tokio::time::sleep(Duration::from_secs(10)).await;
        return AxumStatus::SERVICE_UNAVAILABLE;
    }
    let mut inbox = inbox.lock().unwrap();
    if inbox.down {
        return AxumStatus::SERVICE_UNAVAILABLE;
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type != "application/secevent+jwt" {
        return AxumStatus::UNSUPPORTED_MEDIA_TYPE;
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    inbox.sets.push((Instant::now(), String::from_utf8_lossy(&body).into_owned(), auth));
    AxumStatus::ACCEPTED
}

/// A receiver on a port of its own: its origin and what it received.
pub(crate) async fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    // `/moved` sends every push on to `/events`: a transmitter that followed redirects would deliver.
    let moved = || async { (AxumStatus::TEMPORARY_REDIRECT, [("location", "/events")]) };
    let app = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .route("/moved", axum::routing::post(moved))
        .with_state(Arc::clone(&inbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (origin, inbox)
}

async fn server_allowing(origins: &[&str]) -> TestServer {
    let config = Config {
        ssf_receiver_allowlist: origins.iter().map(|o| (*o).to_owned()).collect(),
        ..Config::default()
    };
    TestServer::start_with(config, spec()).await
}

async fn call(server: &TestServer, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = server.http.request(method, server.url(path)).bearer_auth(&server.tenant.service_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.unwrap()).await
}

/// PyJWT verifies `set` through the JWK Set for `audience`; answers its header and claims.
fn pyjwt_verifies(jwks: &Value, set: &str, audience: &str) -> (Value, Value) {
    const VERIFY: &str = r#"
import json, sys, jwt
jwks, token, aud = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
header = jwt.get_unverified_header(token)
key = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == header["kid"])
claims = jwt.decode(token, key, algorithms=["ES256", "EdDSA", "RS256"], audience=aud)
print(json.dumps([header, claims]))
"#;
    let output = Command::new("python3")
        .args(["-c", VERIFY, &jwks.to_string(), set, audience])
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "PyJWT: {}", String::from_utf8_lossy(&output.stderr));
    let both: Value = serde_json::from_slice(&output.stdout).unwrap();
    (both[0].clone(), both[1].clone())
}

/// Waits until the inbox holds `count` SETs (at most `within`).
pub(crate) async fn wait_for(
    inbox: &Inbox,
    count: usize,
    within: Duration,
) -> Vec<(Instant, String, Option<String>)> {
    let deadline = Instant::now() + within;
    loop {
        let sets = inbox.lock().unwrap().sets.clone();
        if sets.len() >= count || Instant::now() > deadline {
            return sets;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn claims_of(set: &str) -> Value {
    use base64::Engine;
    let payload = set.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

async fn push_stream(server: &TestServer, url: &str, extra: Value) -> Value {
    let mut body = json!({
        "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url, "authorization_header": "Bearer rp-secret"},
        "events_requested": [SESSION_REVOKED],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, stream) = call(server, Method::POST, "/api/{sid}/ssf/stream", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{stream}");
    stream
}

async fn revoke_one(server: &TestServer, subject: &str) -> Value {
    let mut body = server.create_body();
    body["subject"] = json!(subject);
    let created = server.create(body).await;
    let (status, answer) = server
        .post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": created["accessToken"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    created
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_names_the_endpoints_and_every_revocation_is_pushed_signed_at_once() {
    let (origin, inbox) = receiver().await;
    let server = server_allowing(&[&origin]).await;
    let sid = server.sid();

    // Discovery: public, the issuer with the service's path (SSF §7).
    let response =
        server.http.get(server.url("/.well-known/ssf-configuration/api/{sid}")).send().await.unwrap();
    let (status, metadata) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{metadata}");
    let issuer = format!("{}/api/{sid}", server.base);
    assert_eq!(metadata["issuer"], issuer);
    assert_eq!(metadata["spec_version"], "1_0");
    assert_eq!(metadata["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(metadata["delivery_methods_supported"], json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"]));
    for endpoint in ["configuration_endpoint", "status_endpoint", "verification_endpoint"] {
        assert!(metadata[endpoint].as_str().unwrap().starts_with(&issuer), "{endpoint}: {metadata}");
    }
    assert_eq!(metadata["authorization_schemes"][0]["spec_urn"], "urn:ietf:rfc:6750");
    let unknown =
        server.http.get(server.url("/.well-known/ssf-configuration/api/999999")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // Without public_base_url the Host names the issuer: only a plain host[:port] is taken.
    for host in ["evil.example/x?y=", "a@b", "", "1.2.3.4:99999", "evil.example:"] {
        let response = server
            .http
            .get(server.url("/.well-known/ssf-configuration/api/{sid}"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "Host {host:?}");
    }

    // A push stream; the configuration answered never holds the authorization header.
    let url = format!("{origin}/events");
    let stream = push_stream(&server, &url, json!({"aud": "https://rp.example"})).await;
    let stream_id = stream["stream_id"].as_str().unwrap().to_owned();
    assert_eq!(stream["iss"], issuer);
    assert_eq!(stream["aud"], "https://rp.example");
    assert_eq!(stream["events_delivered"], json!([SESSION_REVOKED]));
    assert!(stream["delivery"].get("authorization_header").is_none(), "{stream}");

    // Verification: echoed state, then too soon.
    let verify = json!({"stream_id": stream_id, "state": "abc"});
    let (status, body) = call(&server, Method::POST, "/api/{sid}/ssf/verify", Some(verify.clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = call(&server, Method::POST, "/api/{sid}/ssf/verify", Some(verify)).await;
    assert_eq!(
        (status, body["resultCode"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("A702301")),
        "{body}"
    );
    let sets = wait_for(&inbox, 1, Duration::from_secs(5)).await;
    assert_eq!(sets.len(), 1);
    let (_, jwks) = server.get("/api/{sid}/jwks").await;
    let (header, claims) = pyjwt_verifies(&jwks, &sets[0].1, "https://rp.example");
    assert_eq!(header["typ"], "secevent+jwt");
    assert_eq!(claims["events"][VERIFICATION]["state"], "abc");
    assert_eq!(sets[0].2.as_deref(), Some("Bearer rp-secret"));

    // Each revocation reaches the receiver signed, within a second of its answer (p99 of 20).
    let mut latencies = Vec::new();
    for n in 0..20 {
        let before = inbox.lock().unwrap().sets.len();
        let created = revoke_one(&server, &format!("user-{n}")).await;
        let answered = Instant::now();
        let sets = wait_for(&inbox, before + 1, Duration::from_secs(5)).await;
        assert_eq!(sets.len(), before + 1, "revocation {n} was pushed");
        latencies.push(sets[before].0.saturating_duration_since(answered));
        let (header, claims) = pyjwt_verifies(&jwks, &sets[before].1, "https://rp.example");
        assert_eq!(header["typ"], "secevent+jwt");
        assert_eq!(claims["iss"], issuer);
        assert_eq!(claims["sub_id"], json!({"format": "opaque", "id": format!("user-{n}")}));
        let event = &claims["events"][SESSION_REVOKED];
        assert!(event["event_timestamp"].is_i64(), "{claims}");
        assert!(claims["txn"].as_str().unwrap().parse::<u64>().is_ok(), "txn is the event's ID: {claims}");
        assert!(claims["jti"].as_str().unwrap().starts_with(&stream_id));
        assert!(
            !sets[before].1.contains(created["accessToken"].as_str().unwrap()),
            "no token value in a SET"
        );
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    assert!(p99 <= Duration::from_secs(1), "p99 {p99:?}: {latencies:?}");

    // Revoking a subject everywhere is one session-revoked for that subject.
    let before = inbox.lock().unwrap().sets.len();
    let mut body = server.create_body();
    body["subject"] = json!("zoe");
    server.create(body).await;
    let (status, answer) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "zoe"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let sets = wait_for(&inbox, before + 1, Duration::from_secs(5)).await;
    let claims = claims_of(&sets[before].1);
    assert_eq!(claims["sub_id"]["id"], "zoe", "{claims}");

    // Revoking a client's tokens reaches each of its subjects. (Revoking a user everywhere also
    // ends their custom-token sessions, `user.revoked`: a second SET for zoe may still be on its way.)
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = inbox.lock().unwrap().sets.len();
    for subject in ["c1", "c2", "c2"] {
        let mut body = server.create_body();
        body["subject"] = json!(subject);
        server.create(body).await;
    }
    let client = server.tenant.client.client_id.get().to_string();
    let (status, answer) =
        server.post("/api/{sid}/auth/token/revoke", json!({"clientIdentifier": client})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let sets = wait_for(&inbox, before + 2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = inbox.lock().unwrap().sets.clone();
    assert_eq!(all.len(), before + 2, "one SET per subject");
    let mut subjects: Vec<String> = sets[before..]
        .iter()
        .map(|(_, set, _)| claims_of(set)["sub_id"]["id"].as_str().unwrap().to_owned())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["c1", "c2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_gets_every_set_in_order_when_it_returns_and_paused_keeps_disabled_drops() {
    let (origin, inbox) = receiver().await;
    let server = server_allowing(&[&origin]).await;
    let stream = push_stream(&server, &format!("{origin}/events"), json!({})).await;
    let stream_id = stream["stream_id"].as_str().unwrap().to_owned();

    inbox.lock().unwrap().down = true;
    for n in 0..5 {
        revoke_one(&server, &format!("down-{n}")).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(inbox.lock().unwrap().sets.is_empty());
    let (_, metrics) = read(server.http.get(server.url("/metrics")).send().await.unwrap()).await;
    let _ = metrics;
    inbox.lock().unwrap().down = false;
    // Backoff is at most a minute; the first retries come within seconds.
    let sets = wait_for(&inbox, 5, Duration::from_secs(20)).await;
    let subjects: Vec<String> =
        sets.iter().map(|(_, set, _)| claims_of(set)["sub_id"]["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(subjects, (0..5).map(|n| format!("down-{n}")).collect::<Vec<_>>(), "every SET, in order");

    // Paused: kept, then delivered once enabled.
    let status = |state: &str| json!({"stream_id": stream_id, "status": state, "reason": "maintenance"});
    let (code, body) = call(&server, Method::POST, "/api/{sid}/ssf/status", Some(status("paused"))).await;
    assert_eq!((code, &body["status"]), (StatusCode::OK, &json!("paused")), "{body}");
    let (code, body) =
        call(&server, Method::GET, &format!("/api/{{sid}}/ssf/status?stream_id={stream_id}"), None).await;
    assert_eq!(
        (code, &body["status"], &body["reason"]),
        (StatusCode::OK, &json!("paused"), &json!("maintenance"))
    );
    revoke_one(&server, "while-paused").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(inbox.lock().unwrap().sets.len(), 5, "nothing pushed while paused");
    call(&server, Method::POST, "/api/{sid}/ssf/status", Some(status("enabled"))).await;
    let sets = wait_for(&inbox, 6, Duration::from_secs(5)).await;
    assert_eq!(claims_of(&sets[5].1)["sub_id"]["id"], "while-paused");

    // Disabled: dropped, also once enabled again.
    call(&server, Method::POST, "/api/{sid}/ssf/status", Some(status("disabled"))).await;
    revoke_one(&server, "while-disabled").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    call(&server, Method::POST, "/api/{sid}/ssf/status", Some(status("enabled"))).await;
    revoke_one(&server, "after").await;
    let sets = wait_for(&inbox, 7, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = inbox.lock().unwrap().sets.clone();
    assert_eq!(all.len(), 7, "the disabled stream's event was dropped");
    assert_eq!(claims_of(&sets[6].1)["sub_id"]["id"], "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_stream_serves_sets_until_acknowledged_and_streams_are_managed_as_the_spec_says() {
    let server = server_allowing(&[]).await;
    let (status, stream) = call(
        &server,
        Method::POST,
        "/api/{sid}/ssf/stream",
        Some(json!({"delivery": {"method": "urn:ietf:rfc:8936"}, "format": "complex", "description": "rp"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stream}");
    let stream_id = stream["stream_id"].as_str().unwrap().to_owned();
    let poll_url = stream["delivery"]["endpoint_url"].as_str().unwrap().to_owned();
    assert!(poll_url.ends_with(&format!("/ssf/poll/{stream_id}")), "{stream}");
    let poll_path = poll_url.trim_start_matches(&server.base).to_owned();

    let created = revoke_one(&server, "polly").await;
    let poll = |body: Value| call(&server, Method::POST, &poll_path, Some(body));
    let mut sets = json!({});
    for _ in 0..50 {
        let (status, answer) = poll(json!({"maxEvents": 10, "returnImmediately": true})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        if !answer["sets"].as_object().unwrap().is_empty() {
            sets = answer["sets"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (jti, set) = sets.as_object().unwrap().iter().next().expect("a SET to poll");
    let (_, jwks) = server.get("/api/{sid}/jwks").await;
    let (_, claims) =
        pyjwt_verifies(&jwks, set.as_str().unwrap(), &format!("{}/api/{}", server.base, server.sid()));
    assert_eq!(claims["sub_id"]["format"], "complex", "{claims}");
    assert_eq!(claims["sub_id"]["user"]["id"], "polly");
    assert_eq!(claims["sub_id"]["session"]["id"], created["tokenId"]);
    // Not acknowledged: served again; acknowledged: gone.
    let (_, again) = poll(json!({})).await;
    assert!(again["sets"].get(jti).is_some(), "{again}");
    let (_, after) = poll(json!({"ack": [jti]})).await;
    assert!(after["sets"].as_object().unwrap().is_empty(), "{after}");
    assert_eq!(after["moreAvailable"], false);

    // Read, list, update, replace, delete.
    let one = format!("/api/{{sid}}/ssf/stream?stream_id={stream_id}");
    let (status, read_back) = call(&server, Method::GET, &one, None).await;
    assert_eq!((status, &read_back["description"]), (StatusCode::OK, &json!("rp")));
    let (_, all) = call(&server, Method::GET, "/api/{sid}/ssf/stream", None).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let (status, patched) = call(
        &server,
        Method::PATCH,
        "/api/{sid}/ssf/stream",
        Some(json!({"stream_id": stream_id, "description": "changed"})),
    )
    .await;
    assert_eq!(
        (status, &patched["description"], &patched["format"]),
        (StatusCode::OK, &json!("changed"), &json!("complex"))
    );
    let (status, replaced) = call(
        &server,
        Method::PUT,
        "/api/{sid}/ssf/stream",
        Some(json!({"stream_id": stream_id, "delivery": {"method": "urn:ietf:rfc:8936"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert!(replaced.get("description").is_none() && replaced["format"] == "opaque", "{replaced}");

    // Bad requests, named.
    for (body, member) in [
        (json!({}), "delivery"),
        (json!({"delivery": {"method": "urn:example:carrier-pigeon"}}), "delivery.method"),
        (json!({"delivery": {"method": "urn:ietf:rfc:8935"}}), "delivery.endpoint_url"),
        (json!({"delivery": {"method": "urn:ietf:rfc:8936"}, "aud": 7}), "aud"),
    ] {
        let (status, answer) = call(&server, Method::POST, "/api/{sid}/ssf/stream", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["resultMessage"].as_str().unwrap().contains(member), "{member}: {answer}");
    }
    // Push is off with an empty allow-list; a URL not allowed is refused.
    let push = json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://127.0.0.1:1/x"}});
    let (status, answer) = call(&server, Method::POST, "/api/{sid}/ssf/stream", Some(push)).await;
    assert_eq!(
        (status, answer["resultCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("A700203")),
        "{answer}"
    );
    // Unknown streams: 404; a malformed ID: 400.
    let (status, _) =
        call(&server, Method::GET, "/api/{sid}/ssf/stream?stream_id=00000000000000000000000000000000", None)
            .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&server, Method::GET, "/api/{sid}/ssf/stream?stream_id=nope", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Another tenant sees nothing of it.
    let other = server.state.tenancy().create_organization("other").await.unwrap();
    let _ = other;
    let (status, _) =
        read(server.http.get(server.url(&one)).bearer_auth("sat_not-a-credential").send().await.unwrap())
            .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // At most ten streams per service.
    for _ in 0..9 {
        let (status, _) = call(
            &server,
            Method::POST,
            "/api/{sid}/ssf/stream",
            Some(json!({"delivery": {"method": "urn:ietf:rfc:8936"}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, answer) = call(
        &server,
        Method::POST,
        "/api/{sid}/ssf/stream",
        Some(json!({"delivery": {"method": "urn:ietf:rfc:8936"}})),
    )
    .await;
    assert_eq!((status, answer["resultCode"].as_str()), (StatusCode::CONFLICT, Some("A701301")), "{answer}");

    let (status, _) = call(&server, Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&server, Method::GET, &one, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Measured: a receiver down for 60 s gets every SET, in order, once it is back (the backoff is at
/// most a minute), and the metrics say what waited, what failed and what was delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_a_minute_gets_everything_in_order_and_the_metrics_say_so() {
    let (origin, inbox) = receiver().await;
    let server = server_allowing(&[&origin]).await;
    let stream = push_stream(&server, &format!("{origin}/events"), json!({})).await;
    let stream_id = stream["stream_id"].as_str().unwrap().to_owned();
    inbox.lock().unwrap().down = true;
    let down_at = Instant::now();
    for n in 0..10 {
        revoke_one(&server, &format!("m-{n}")).await;
    }
    let metric = |text: &str, name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && l.contains(&stream_id))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let scrape =
        || async { server.http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = scrape().await;
    assert_eq!(metric(&during, "ssf_sets_queued"), 10.0, "{during}");
    assert!(metric(&during, "ssf_push_failures_total") >= 1.0, "{during}");
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(down_at.elapsed())).await;
    inbox.lock().unwrap().down = false;
    let back_at = Instant::now();
    let sets = wait_for(&inbox, 10, Duration::from_secs(90)).await;
    let subjects: Vec<String> =
        sets.iter().map(|(_, set, _)| claims_of(set)["sub_id"]["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(subjects, (0..10).map(|n| format!("m-{n}")).collect::<Vec<_>>(), "every SET, in order");
    eprintln!(
        "down 60 s; all delivered {:?} after the receiver returned",
        sets[9].0.saturating_duration_since(back_at)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = scrape().await;
    assert_eq!(metric(&after, "ssf_sets_delivered_total"), 10.0, "{after}");
    assert_eq!(metric(&after, "ssf_sets_queued"), 0.0, "{after}");
}

/// A receiver that holds every push until the transmitter's timeout delays its own stream only:
/// another stream's SETs arrive within a second all the while.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_delays_only_its_own_stream() {
    let (slow_origin, slow) = receiver().await;
    let (origin, inbox) = receiver().await;
    slow.lock().unwrap().hang = true;
    let server = server_allowing(&[&slow_origin, &origin]).await;
    push_stream(&server, &format!("{slow_origin}/events"), json!({})).await;
    push_stream(&server, &format!("{origin}/events"), json!({})).await;
    for n in 0..5 {
        let before = inbox.lock().unwrap().sets.len();
        revoke_one(&server, &format!("h-{n}")).await;
        let answered = Instant::now();
        let sets = wait_for(&inbox, before + 1, Duration::from_secs(5)).await;
        assert_eq!(sets.len(), before + 1);
        let latency = sets[before].0.saturating_duration_since(answered);
        assert!(latency <= Duration::from_secs(1), "{n}: {latency:?} behind a hanging receiver");
    }
    assert!(slow.lock().unwrap().sets.is_empty());
}

/// Redirects are not followed: a receiver cannot send the transmitter on to another URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let (origin, inbox) = receiver().await;
    let server = server_allowing(&[&origin]).await;
    push_stream(&server, &format!("{origin}/moved"), json!({})).await;
    revoke_one(&server, "r").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(inbox.lock().unwrap().sets.is_empty(), "the redirect was not followed");
    let metrics = server.http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("ssf_push_failures_total") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

/// A token update is a CAEP `token-claims-change` carrying the claims as the token holds them now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_update_is_a_token_claims_change_with_its_new_claims() {
    let server = server_allowing(&[]).await;
    let claims_change = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change";
    let body = json!({"delivery": {"method": "urn:ietf:rfc:8936"}, "events_requested": [claims_change]});
    let (status, stream) = call(&server, Method::POST, "/api/{sid}/ssf/stream", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{stream}");
    let poll_path =
        stream["delivery"]["endpoint_url"].as_str().unwrap().trim_start_matches(&server.base).to_owned();
    let created = server.create(server.create_body()).await;
    let update = json!({"accessToken": created["accessToken"], "scopes": ["history.read"]});
    let (status, answer) = server.post("/api/{sid}/auth/token/update", update).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut set = None;
    for _ in 0..50 {
        let (_, answer) = call(&server, Method::POST, &poll_path, Some(json!({}))).await;
        if let Some((_, one)) = answer["sets"].as_object().unwrap().iter().next() {
            set = Some(one.as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let claims = claims_of(&set.expect("a SET for the update"));
    let event = &claims["events"][claims_change];
    assert_eq!(event["claims"]["scope"], "history.read", "{claims}");
    assert!(event["claims"]["exp"].is_i64(), "{claims}");
    assert_eq!(claims["sub_id"]["id"], "john");
}

/// However many streams have work (210 here, over 21 services of one organization), each round
/// goes on after the last: a revocation's SET still arrives within a second or two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_busy_streams_do_not_starve_a_tenants_stream() {
    use token_core::ssf::{DELIVERY_POLL, Delivery, StreamRequest};
    let (origin, inbox) = receiver().await;
    let config = Config {
        ssf_receiver_allowlist: vec![origin.clone()],
        key_generations_per_organization: 100,
        ..Config::default()
    };
    let server = TestServer::start_with(config, spec()).await;
    let poll = StreamRequest {
        delivery: Some(Delivery { method: DELIVERY_POLL.into(), ..Delivery::default() }),
        ..StreamRequest::default()
    };
    let mut others = Vec::new();
    for _ in 0..21 {
        let service = server
            .state
            .tenancy()
            .create_service(server.tenant.org.id, &spec(), &token_server::store::Actor::cli())
            .await
            .unwrap();
        for _ in 0..10 {
            server.state.ssf().create(service.id, "http://busy", &poll).await.unwrap();
        }
        others.push(service.id);
    }
    push_stream(&server, &format!("{origin}/events"), json!({})).await;
    // Every other stream has work: an event in its service after it was made.
    for service in &others {
        let path = format!("/api/{service}/custom-token/generate");
        let (status, _) = server
            .post_as(&server.tenant.org_token.clone(), &path, json!({"userId": "u", "identity": "r"}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let created = revoke_one(&server, "starved?").await;
    let _ = created;
    let answered = Instant::now();
    let sets = wait_for(&inbox, 1, Duration::from_secs(5)).await;
    assert_eq!(sets.len(), 1, "the tenant's SET arrived");
    let latency = sets[0].0.saturating_duration_since(answered);
    assert!(latency <= Duration::from_secs(2), "{latency:?}");
}

/// Another tenant's receivers that all hang take that tenant's share of the places at work, not
/// the instance's: 70 hanging streams of another organization, and this tenant's SET still
/// arrives within two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_hanging_receivers_take_only_its_share() {
    use token_core::ssf::{DELIVERY_PUSH, Delivery, StreamRequest};
    let (slow_origin, slow) = receiver().await;
    slow.lock().unwrap().hang = true;
    let (origin, inbox) = receiver().await;
    let server = server_allowing(&[&slow_origin, &origin]).await;
    let other = crate::common::provision(&server.state, &spec()).await;
    let push = StreamRequest {
        delivery: Some(Delivery {
            method: DELIVERY_PUSH.into(),
            endpoint_url: Some(format!("{slow_origin}/events")),
            authorization_header: None,
        }),
        ..StreamRequest::default()
    };
    let mut services = vec![other.service.id];
    for _ in 0..6 {
        let made = server
            .state
            .tenancy()
            .create_service(other.org.id, &spec(), &token_server::store::Actor::cli())
            .await
            .unwrap();
        services.push(made.id);
    }
    for service in &services {
        for _ in 0..10 {
            server.state.ssf().create(*service, "http://other", &push).await.unwrap();
        }
        // A session revoked in each: a SET for every stream, each pushed to a receiver that hangs.
        let generate = format!("/api/{service}/custom-token/generate");
        let (status, generated) =
            server.post_as(&other.org_token, &generate, json!({"userId": "victim", "identity": "r"})).await;
        assert_eq!(status, StatusCode::OK, "{generated}");
        let exchange = format!("/api/{service}/custom-token/exchange");
        let (status, pair) = server
            .post_as(&other.org_token, &exchange, json!({"customToken": generated["data"]["customToken"]}))
            .await;
        assert_eq!(status, StatusCode::OK, "{pair}");
        let revoke = format!("/api/{service}/auth/token/revoke");
        let (status, answer) = server.post_as(&other.org_token, &revoke, json!({"subject": "victim"})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    // They are at it: the hanging receiver is being pushed to.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .matches("ssf_sets_queued{")
        .count()
        < 8
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    push_stream(&server, &format!("{origin}/events"), json!({})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    revoke_one(&server, "mine").await;
    let answered = Instant::now();
    let sets = wait_for(&inbox, 1, Duration::from_secs(8)).await;
    assert_eq!(sets.len(), 1, "this tenant's SET arrived");
    let latency = sets[0].0.saturating_duration_since(answered);
    assert!(latency <= Duration::from_secs(2), "{latency:?} behind another tenant's hanging receivers");
}
