//! Revocation without holes and storage one session cannot grow (#37), over HTTP on both
//! backends: a session refreshing in a loop adds a bounded number of rows; no token is issued
//! with a key revoked by the CLI in another process; revoking a user ends the custom tokens
//! generated for them before.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use token_server::Config;
use token_server::store::ServiceSettings;
use token_server::tenancy::ServiceSpec;

use crate::common::{SCOPES, TestServer};
use crate::refresh_holder::{REFRESH, create, keygen, proofs, refresh_as_holder};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

/// A DPoP-bound session refreshed 10,000 times in a loop, each attempt with a fresh valid proof:
/// the family's rate bound (30 a minute by default) answers the rest 429 with `Retry-After`
/// before the proof is even checked, so the store holds at most 30 rotations' values and 30
/// proof `jti`s. Before: each attempt added a proof row, two rotated values and a status bit.
#[tokio::test]
async fn a_session_refreshing_in_a_loop_adds_a_bounded_number_of_rows() {
    let server = TestServer::start().await;
    let per_minute = server.config.refreshes_per_family_per_minute;
    assert_eq!(per_minute, 30, "the documented default");
    let key = keygen("ES256");
    let created = create(&server, json!({"dpopKeyThumbprint": key.jkt})).await;
    let token_id = created["tokenId"].as_str().unwrap().to_owned();
    let htu = server.url(REFRESH);
    let mut refresh = created["refreshToken"].clone();
    let (mut rotated, mut limited) = (0u32, 0u32);
    let mut retry_after = None;
    for dpop in proofs(&key, &htu, 10_000) {
        let mut request = server.http.post(&htu).json(&json!({"refreshToken": refresh}));
        request = request.header("DPoP", dpop);
        let response = request.send().await.unwrap();
        let status = response.status();
        let header = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let answer: Value = response.json().await.unwrap();
        match status {
            StatusCode::OK => {
                rotated += 1;
                refresh = answer["refreshToken"].clone();
            }
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                // The refresh endpoint speaks the custom-token family: `{success: false, error}`.
                assert_eq!(answer["error"].as_str().unwrap().get(1..8), Some("A001209"), "{answer}");
                retry_after = header;
            }
            other => panic!("attempt {}: {other} {answer}", rotated + limited),
        }
    }
    assert_eq!(rotated, per_minute, "refreshes within the minute: {rotated}");
    assert_eq!(limited, 10_000 - per_minute);
    let retry_after: u64 = retry_after.expect("429 says when").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let rotated_rows = server
        .query_number(&format!("SELECT COUNT(*) FROM rotated_refresh_tokens WHERE token_id = '{token_id}'"))
        .await;
    assert_eq!(rotated_rows, 2 * i64::from(per_minute), "a refresh and an access value per rotation");
    let proof_rows = server.query_number("SELECT COUNT(*) FROM dpop_proof_uses").await;
    assert_eq!(proof_rows, i64::from(per_minute), "one proof jti per refresh done, none per refused attempt");
    // The holder still refreshes once the window allows; the session was never harmed.
    let live = server.introspect(created["accessToken"].as_str().unwrap()).await;
    assert_eq!(live["usable"], false, "the first access value was rotated away: {live}");
    let (status, answer) = refresh_as_holder(&server, &refresh, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "still within the minute: {answer}");

    // Through the RFC 6749 endpoint too: 429 with `Retry-After`, in its own error shape.
    let oauth = server.url("/api/{sid}/oauth/token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str().unwrap())];
    let response =
        server.http.post(&oauth).header("DPoP", &proofs(&key, &oauth, 1)[0]).form(&form).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
}

/// A service issuing JWT access tokens, with the tenancy cache at its longest (the window in
/// which an instance may still hold a key revoked elsewhere).
async fn jwt_server() -> TestServer {
    let config = Config { tenancy_cache_ms: token_server::config::MAX_TENANCY_CACHE_MS, ..Config::default() };
    let spec = ServiceSpec::from(ServiceSettings {
        supported_scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        access_token_sign_alg: Some(token_server::keys::SignAlg::EdDsa),
        ..ServiceSettings::default()
    });
    TestServer::start_with(config, spec).await
}

fn kid_of(jwt: &str) -> String {
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// 8 issuers creating tokens while `admin key revoke` runs in another process on the same store:
/// every token whose JWT the revoked key signed is revoked, whenever it was issued — the store
/// refuses to keep a token signed by a revoked key, and the issuer signs again with the key that
/// replaced it. Before: tokens issued up to the cache window after the revoke stayed live.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_token_is_issued_with_a_key_the_cli_revoked_in_another_process() {
    let server = Arc::new(jwt_server().await);
    let first = server.create(server.create_body()).await;
    let revoked_kid = kid_of(first["jwtAccessToken"].as_str().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let issuers: Vec<_> = (0..8)
        .map(|_| {
            let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut issued = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (status, created) =
                        server.post("/api/{sid}/auth/token/create", server.create_body()).await;
                    assert_eq!(status, StatusCode::OK, "{created}");
                    issued.push((Instant::now(), created));
                }
                issued
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (database, service, kid) = (server.database_for_cli(), server.sid().to_string(), revoked_kid.clone());
    let revoked_at = tokio::task::spawn_blocking(move || {
        let output = Command::new(BIN)
            .args(["--database", &database, "--json", "admin", "key", "revoke", "--service", &service, &kid])
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(output.status.success(), "key revoke: {}", String::from_utf8_lossy(&output.stderr));
        Instant::now()
    })
    .await
    .unwrap();
    // Past the cache window, so that every issuer has met the revocation one way or another.
    let window = Duration::from_millis(server.config.tenancy_cache_ms);
    tokio::time::sleep(window + Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut issued = Vec::new();
    for issuer in issuers {
        issued.extend(issuer.await.unwrap());
    }
    let after = issued.iter().filter(|(at, _)| *at > revoked_at).count();
    assert!(after > 20, "tokens were issued after the revoke returned: {after}");
    let mut survivors = Vec::new();
    let mut signed_by_revoked = 0;
    for (_, created) in &issued {
        if kid_of(created["jwtAccessToken"].as_str().unwrap()) != revoked_kid {
            continue;
        }
        signed_by_revoked += 1;
        let answer = server.introspect(created["accessToken"].as_str().unwrap()).await;
        if answer["usable"] != false {
            survivors.push(created["tokenId"].clone());
        }
    }
    assert!(signed_by_revoked > 0, "the race was run: some tokens were signed before the revoke");
    let first: Vec<_> = survivors.iter().take(5).collect();
    assert!(
        survivors.is_empty(),
        "{} of {signed_by_revoked} tokens signed by the revoked key live, e.g. {first:?}",
        survivors.len()
    );
    // Every token issued after the revoke returned was signed by the replacement.
    for (at, created) in &issued {
        if *at > revoked_at + Duration::from_millis(50) {
            assert_ne!(kid_of(created["jwtAccessToken"].as_str().unwrap()), revoked_kid, "{created}");
        }
    }
}

const GENERATE: &str = "/api/{sid}/custom-token/generate";
const EXCHANGE: &str = "/api/{sid}/custom-token/exchange";

async fn custom_token(server: &TestServer, user: &str) -> String {
    let (status, answer) = server.post(GENERATE, json!({"userId": user, "identity": "enduser"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["customToken"].as_str().unwrap().to_owned()
}

async fn exchange(server: &TestServer, token: &str) -> (StatusCode, Value) {
    let response = server.http.post(server.url(EXCHANGE)).json(&json!({"customToken": token})).send().await;
    crate::common::read(response.unwrap()).await
}

/// Revoking every token of a user (management revoke by subject, the SDK's `revoke_user`, the
/// CLI's `token revoke --subject`) ends the custom tokens generated for them until then: their
/// exchange is refused, a custom token generated afterwards exchanges, other users are
/// untouched, and the listing of the user says when (`tokensValidAfterTime`). Before: a custom
/// token generated before the revoke was still exchanged afterwards, within its 300 s.
#[tokio::test]
async fn revoking_a_user_ends_the_custom_tokens_generated_for_them_before() {
    let server = TestServer::start().await;
    let before = custom_token(&server, "mallory").await;
    let bystander = custom_token(&server, "bob").await;
    let (_, listed) = server.get("/api/{sid}/auth/token/get/list?subject=mallory").await;
    assert!(listed.get("tokensValidAfterTime").is_none(), "never revoked: {listed}");
    let at = token_server::clock::now_ms();
    let (status, answer) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "mallory"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = exchange(&server, &before).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"].as_str().unwrap().get(1..8), Some("A403207"), "{answer}");
    let (status, answer) = exchange(&server, &bystander).await;
    assert_eq!(status, StatusCode::OK, "another user is untouched: {answer}");
    let after = custom_token(&server, "mallory").await;
    let (status, answer) = exchange(&server, &after).await;
    assert_eq!(status, StatusCode::OK, "a custom token generated after the revoke exchanges: {answer}");
    let (_, listed) = server.get("/api/{sid}/auth/token/get/list?subject=mallory").await;
    let cutoff = listed["tokensValidAfterTime"].as_i64().unwrap_or_else(|| panic!("{listed}"));
    assert!((at..at + 5_000).contains(&cutoff), "{cutoff} vs {at}");
    assert_eq!(listed["totalCount"], 1, "the session from the later custom token: {listed}");
    let (_, listed) = server.get("/api/{sid}/auth/token/get/list?subject=bob").await;
    assert!(listed.get("tokensValidAfterTime").is_none(), "{listed}");

    // The CLI in another process (SQLite: the same file; PostgreSQL: the same database).
    let pending = custom_token(&server, "carol").await;
    let output = Command::new(BIN)
        .args(["--database", &server.database_for_cli(), "--json", "token", "revoke"])
        .args(["--service", &server.sid().to_string(), "--subject", "carol"])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (status, answer) = exchange(&server, &pending).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

/// A NUL character in a value (#37 review): refused with 400 on both backends, and on PostgreSQL
/// it no longer fails the group of creates it was committed with — another tenant creating at the
/// same moment is never answered 503. A subject is printable ASCII everywhere: create, revoke and
/// listing refuse one with a control character, and a revocation's subject is bounded like
/// create's (a revocation by subject records a cutoff).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nul_in_a_value_is_refused_and_fails_no_other_tenants_create() {
    let server = Arc::new(TestServer::start().await);
    let other = crate::common::provision(&server.state, &crate::common::spec()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let bystanders: Vec<_> = (0..6)
        .map(|_| {
            let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
            let (token, service, client) =
                (other.service_token.clone(), other.service.id, other.client.client_id);
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let body =
                        json!({"grantType": "CLIENT_CREDENTIALS", "clientId": client, "scopes": ["openid"]});
                    let path = format!("/api/{service}/auth/token/create");
                    statuses.push(server.post_as(&token, &path, body).await.0);
                }
                statuses
            })
        })
        .collect();
    for round in 0..40 {
        let mut body = server.create_body();
        match round % 3 {
            0 => body["subject"] = json!("a\u{0}b"),
            1 => body["acr"] = json!("urn:\u{0}acr"),
            _ => body["sessionId"] = json!("s\u{0}"),
        }
        let (status, answer) = server.post("/api/{sid}/auth/token/create", body).await;
        assert!(!status.is_server_error(), "round {round}: {status} {answer}");
        if round % 3 == 0 || server.on_postgres() {
            assert_eq!(status, StatusCode::BAD_REQUEST, "round {round}: {answer}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    for bystander in bystanders {
        let statuses = bystander.await.unwrap();
        assert!(statuses.iter().all(|s| *s == StatusCode::OK), "another tenant's creates: {statuses:?}");
    }
    for (path, body) in [
        ("/api/{sid}/auth/token/revoke", json!({"subject": "a\u{0}b"})),
        ("/api/{sid}/auth/token/revoke", json!({"subject": "x".repeat(101)})),
        ("/api/{sid}/auth/token/revoke", json!({"subject": "x".repeat(65_000)})),
    ] {
        let (status, answer) = server.post(path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["resultCode"], "A109202", "{answer}");
    }
    let cutoffs = server.query_number("SELECT COUNT(*) FROM subject_cutoffs").await;
    assert_eq!(cutoffs, 0, "no refused revocation recorded a cutoff");
    let (status, answer) = server.get("/api/{sid}/auth/token/get/list?subject=a%00b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

/// A DPoP-bound family that has ended (revoked) answers before any proof is checked, whether
/// presented by its current or an old refresh value: a loop of refreshes with fresh proofs adds no
/// proof row (#37 review: each added one).
#[tokio::test]
async fn an_ended_dpop_family_records_no_proof() {
    let server = TestServer::start().await;
    let key = keygen("ES256");
    let created = create(&server, json!({"dpopKeyThumbprint": key.jkt})).await;
    let htu = server.url(REFRESH);
    let mut proofs = proofs(&key, &htu, 41).into_iter();
    let (status, rotated) =
        refresh_as_holder(&server, &created["refreshToken"], proofs.next().as_deref()).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let hash = rotated["accessToken"].as_str().unwrap();
    let (status, _) =
        server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": hash})).await;
    assert_eq!(status, StatusCode::OK);
    let before = server.query_number("SELECT COUNT(*) FROM dpop_proof_uses").await;
    for (n, proof) in proofs.enumerate() {
        let value = if n % 2 == 0 { &rotated["refreshToken"] } else { &created["refreshToken"] };
        let (status, answer) = refresh_as_holder(&server, value, Some(&proof)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }
    let after = server.query_number("SELECT COUNT(*) FROM dpop_proof_uses").await;
    assert_eq!(after, before, "no proof of an ended family was recorded");
}
