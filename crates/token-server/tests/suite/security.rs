//! Security properties, one test per promise of docs/security.md: each of these failed on the
//! server before the hardening it names.

use std::time::{Duration, Instant};

use crate::common::{TestServer, spec};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use token_core::custom_token::{CUSTOM_TOKEN_TYP, exchange_audience};
use token_core::grant::GrantType;
use token_core::property::Property;
use token_server::Config;
use token_server::keys::SignAlg;
use token_server::store::{Principal, TokenChanges};
use token_server::tenancy::ServiceSpec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn generate(server: &TestServer, body: Value) -> String {
    let (status, answer) = server.post("/api/{sid}/custom-token/generate", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["customToken"].as_str().unwrap().to_owned()
}

async fn exchange(server: &TestServer, token: &str) -> (StatusCode, Value) {
    let response = server
        .http
        .post(server.url("/api/{sid}/custom-token/exchange"))
        .json(&json!({"customToken": token}))
        .send()
        .await
        .unwrap();
    crate::common::read(response).await
}

/// A refresh by the service's authorization server (its credential: any token of the service).
async fn refresh(server: &TestServer, token: &str) -> (StatusCode, Value) {
    let response = server
        .http
        .post(server.url("/api/{sid}/auth/token/refresh"))
        .bearer_auth(&server.tenant.service_token)
        .json(&json!({"refreshToken": token}))
        .send()
        .await
        .unwrap();
    crate::common::read(response).await
}

fn jwt_spec() -> ServiceSpec {
    let mut spec = spec();
    spec.settings.access_token_sign_alg = Some(SignAlg::EdDsa);
    spec
}

// ---------------------------------------------------------------- 1. hashes are not tokens

#[tokio::test]
async fn a_stored_hash_never_passes_for_the_token() {
    let server = TestServer::start().await;
    let created = server
        .create(json!({
            "grantType": "AUTHORIZATION_CODE", "clientId": server.tenant.client.client_id,
            "subject": "john", "scopes": ["openid"], "refreshTokenDuration": 600
        }))
        .await;
    let access = created["accessToken"].as_str().unwrap();
    let (_, listed) = server.get("/api/{sid}/auth/token/get/list").await;
    let access_hash = listed["accessTokens"][0]["accessTokenHash"].as_str().unwrap().to_owned();
    let refresh_hash = listed["accessTokens"][0]["refreshTokenHash"].as_str().unwrap().to_owned();

    // The value works; its hash does not, on either introspection form.
    assert_eq!(server.introspect(access).await["action"], "OK");
    let answer = server.introspect(&access_hash).await;
    assert_eq!(answer["resultCode"], "A056202", "{answer}");
    assert_eq!(answer["action"], "UNAUTHORIZED");
    let (_, standard) = server
        .post("/api/{sid}/auth/introspection/standard", json!({"parameters": format!("token={access_hash}")}))
        .await;
    assert_eq!(standard["responseContent"], r#"{"active":false}"#, "{standard}");

    // RFC 7009 revocation by hash does nothing; the end-user refresh by hash is refused.
    let client = server.tenant.client.client_id.get().to_string();
    let body = json!({"parameters": format!("token={access_hash}"), "clientId": client});
    let (status, _) = server.post("/api/{sid}/auth/revocation", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.introspect(access).await["action"], "OK", "revocation by hash must not revoke");
    let (status, answer) = refresh(&server, &refresh_hash).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().starts_with("[A404202]"), "{answer}");

    // The operator endpoints still take the hash (documented in docs/api.md).
    let (status, answer) = server
        .post("/api/{sid}/auth/token/update", json!({"accessToken": access_hash, "scopes": ["profile"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

// ---------------------------------------------------------------- 2. connection limits

fn short_timeouts() -> Config {
    Config { header_read_timeout_secs: 1, request_timeout_secs: 2, idle_timeout_secs: 2, ..Config::default() }
}

/// Reads until the peer closes or `limit` passes; returns what was read and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut buffer = Vec::new();
    let deadline = Instant::now() + limit;
    loop {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&buffer).into_owned(), true),
            Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
            Err(_) => return (String::from_utf8_lossy(&buffer).into_owned(), false),
        }
    }
}

async fn healthz_ok(server: &TestServer) {
    let response = server.http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_half_sent_request_line_is_cut_off_at_the_header_timeout() {
    let server = TestServer::start_with(short_timeouts(), spec()).await;
    let mut slow = TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap();
    slow.write_all(b"POST /api/1/auth/tok").await.unwrap();
    let started = Instant::now();
    // Others are served meanwhile.
    healthz_ok(&server).await;
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed, "the slow connection must be closed");
    assert!(started.elapsed() < Duration::from_secs(4), "closed after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_others_are_served() {
    let server = TestServer::start_with(short_timeouts(), spec()).await;
    let mut slow = TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/{}/auth/token/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"grantType\":",
        server.sid(),
        server.tenant.service_token
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    healthz_ok(&server).await;
    let (answer, _) = read_until_closed(&mut slow, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("A001213"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("cache-control: no-store"), "no cache keeps it: {answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.token_count().await, 0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let server =
        TestServer::start_with(Config { header_read_timeout_secs: 30, ..short_timeouts() }, spec()).await;
    let mut idle = TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let started = Instant::now();
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "an idle connection must be closed after the idle timeout");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(5), "{elapsed:?}");
}

/// At the cap, a newcomer takes the slot of the connection idle the longest (which is closed): one
/// client keeping every slot open, with a request now and then, cannot lock everyone else out
/// (#36: with 96 slots held that way, new clients waited forever). A connection with a request in
/// flight is never closed for a newcomer (`denial_of_service::slow_readers_at_the_cap_…`).
#[tokio::test]
async fn at_the_cap_a_newcomer_takes_the_slot_of_the_longest_idle_connection() {
    let config = Config {
        max_connections: 2,
        header_read_timeout_secs: 30,
        idle_timeout_secs: 30,
        ..Config::default()
    };
    let server = TestServer::start_with(config, spec()).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut first = TcpStream::connect(&address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = TcpStream::connect(&address).await.unwrap();
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let mut third = TcpStream::connect(&address).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let (answer, _) = read_until_closed(&mut third, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "the newcomer is served: {answer}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "at once, not after a timeout: {:?}",
        started.elapsed()
    );
    let (answer, closed) = read_until_closed(&mut first, Duration::from_secs(2)).await;
    assert!(answer.is_empty() && closed, "the longest idle connection made room: {answer}");
    // The second one, idle for less long, is still open and served.
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let (answer, _) = read_until_closed(&mut second, Duration::from_secs(3)).await;
    assert!(answer.contains("HTTP/1.1 200"), "{answer}");
}

// ---------------------------------------------------------------- 3. update never undoes a revocation

#[tokio::test]
async fn a_revoked_token_stays_revoked_through_updates_even_concurrent_ones() {
    let server = TestServer::start().await;
    // Sequential: revoke, then update.
    let created = server.create(server.create_body()).await;
    let token = created["accessToken"].as_str().unwrap().to_owned();
    let (status, _) =
        server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": token})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .post("/api/{sid}/auth/token/update", json!({"accessToken": token, "scopes": ["openid"]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.introspect(&token).await["resultCode"], "A056203");

    // Concurrent: every revocation must hold, whatever the interleaving.
    for round in 0..60 {
        let created = server.create(server.create_body()).await;
        let token = created["accessToken"].as_str().unwrap().to_owned();
        let revoke = server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": token}));
        let update = server.post(
            "/api/{sid}/auth/token/update",
            json!({"accessToken": token, "scopes": ["openid"], "accessTokenExpiresAt": 4_000_000_000_000i64}),
        );
        let ((revoked, _), (updated, _)) = tokio::join!(revoke, update);
        assert_eq!((revoked, updated), (StatusCode::OK, StatusCode::OK));
        let answer = server.introspect(&token).await;
        assert_eq!(answer["resultCode"], "A056203", "round {round}: revocation lost: {answer}");
    }
}

#[tokio::test]
async fn update_is_confined_to_the_callers_service_in_the_store() {
    let server = TestServer::start().await;
    let created = server.create(server.create_body()).await;
    let hash = token_core::TokenHash::of(created["accessToken"].as_str().unwrap());
    let other = crate::common::provision(&server.state, &spec()).await;
    let changes = TokenChanges { scopes: Some(vec![]), ..TokenChanges::default() };
    assert!(
        server
            .store
            .tokens
            .update_token(
                other.service.id,
                &hash,
                &changes,
                &token_server::store::Audit::new(token_server::store::Actor::cli(), 0)
            )
            .await
            .unwrap()
            .is_none()
    );
    let stored =
        server.store.tokens.token_by_access_hash(server.tenant.service.id, &hash).await.unwrap().unwrap();
    assert_eq!(stored.scopes, vec!["history.read", "timeline.read"]);
}

// ---------------------------------------------------------------- 4. an access token is no custom token

#[tokio::test]
async fn a_jwt_access_token_cannot_be_exchanged_as_a_custom_token() {
    let server = TestServer::start_with(Config::default(), jwt_spec()).await;
    let audience = exchange_audience(&server.tenant.service.issuer, server.tenant.service.id);
    // The custom-token claim names are reserved in jwtAtClaims.
    for name in ["identity", "claims", "accessTokenTTL", "refreshTokenTTL"] {
        let mut body = server.create_body();
        body["jwtAtClaims"] = json!(json!({name: "x"}).to_string());
        let (status, answer) = server.post("/api/{sid}/auth/token/create", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {answer}");
        assert_eq!(answer["resultCode"], "A109209");
    }
    // An access token whose audience is the exchange endpoint, exchanged: refused by its typ.
    let mut body = server.create_body();
    body["resources"] = json!([audience]);
    body["jwtAtClaims"] = json!(json!({"role": "admin"}).to_string());
    let created = server.create(body).await;
    let jwt = created["jwtAccessToken"].as_str().unwrap();
    assert_eq!(jsonwebtoken::decode_header(jwt).unwrap().typ.as_deref(), Some("at+jwt"));
    let (status, answer) = exchange(&server, jwt).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().starts_with("[A403202]"), "{answer}");

    // Custom tokens carry their own typ.
    let custom = generate(&server, json!({"userId": "u", "identity": "r"})).await;
    assert_eq!(jsonwebtoken::decode_header(&custom).unwrap().typ.as_deref(), Some(CUSTOM_TOKEN_TYP));
}

#[tokio::test]
async fn exchange_rechecks_lifetimes_identity_and_claims_of_a_signed_token() {
    let server = TestServer::start().await;
    let key = server.store.keys.current_signing_key(server.tenant.service.id).await.unwrap().unwrap();
    let now = token_server::clock::now_ms() / 1000;
    let audience = exchange_audience(&server.tenant.service.issuer, server.tenant.service.id);
    let base = json!({
        "iss": server.tenant.service.issuer, "sub": "u", "aud": audience, "iat": now, "exp": now + 300,
        "jti": "j", "identity": "r", "accessTokenTTL": 60, "refreshTokenTTL": 120
    });
    let cases = [
        ("accessTokenTTL", json!(i64::MAX), "[A401203]"),
        ("refreshTokenTTL", json!(i64::MAX), "[A401204]"),
        ("accessTokenTTL", json!(-5), "[A401203]"),
        ("identity", json!(""), "[A401202]"),
        ("claims", json!({"sub": "admin"}), "[A401206]"),
        ("exp", json!(now + 365 * 86_400), "[A403205]"),
    ];
    for (n, (field, value, code)) in cases.into_iter().enumerate() {
        let mut claims = base.clone();
        claims[field] = value;
        claims["jti"] = json!(format!("j{n}"));
        let token = token_server::keys::sign(&key, CUSTOM_TOKEN_TYP, &claims).unwrap();
        let (status, answer) = exchange(&server, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        assert!(answer["error"].as_str().unwrap().starts_with(code), "{field}: {answer}");
    }
    assert_eq!(server.token_count().await, 0);
}

// ---------------------------------------------------------------- 5. retired and revoked keys

#[tokio::test]
async fn exchange_accepts_only_the_current_key_and_keys_retired_moments_ago() {
    let server = TestServer::start().await;
    let sid = server.tenant.service.id;
    let store = &server.store;
    // Signed just before a rotation: still exchangeable.
    let recent = generate(&server, json!({"userId": "a", "identity": "r"})).await;
    server
        .state
        .tenancy()
        .rotate_key(sid, Some(SignAlg::EdDsa), &token_server::store::Actor::cli())
        .await
        .unwrap();
    assert_eq!(exchange(&server, &recent).await.0, StatusCode::OK);

    // A key retired longer ago than a custom token lives: what it signs now is refused, although
    // the key is still published (JWT access tokens may name it).
    let old = store.keys.current_signing_key(sid).await.unwrap().unwrap();
    let long_ago = token_server::clock::now_ms() - 400_000;
    let newer = token_server::keys::generate(sid, SignAlg::EdDsa, long_ago).unwrap();
    store
        .keys
        .add_signing_key(
            &newer,
            token_server::keys::RETIRED_KEY_GRACE_MS,
            &token_server::store::Audit::new(token_server::store::Actor::cli(), 0),
        )
        .await
        .unwrap();
    let now = token_server::clock::now_ms() / 1000;
    let claims = json!({
        "iss": server.tenant.service.issuer, "sub": "u", "aud": exchange_audience(&server.tenant.service.issuer, sid),
        "iat": now, "exp": now + 300, "jti": "late", "identity": "r", "accessTokenTTL": 60, "refreshTokenTTL": 120
    });
    let late = token_server::keys::sign(&old, CUSTOM_TOKEN_TYP, &claims).unwrap();
    let (status, answer) = exchange(&server, &late).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"].as_str().unwrap().starts_with("[A403202]"));
}

#[tokio::test]
async fn a_revoked_key_leaves_the_jwk_set_and_its_tokens_fail_at_once() {
    let server = TestServer::start().await;
    let sid = server.tenant.service.id;
    let token = generate(&server, json!({"userId": "a", "identity": "r"})).await;
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let revocation =
        server.state.tenancy().revoke_key(sid, &kid, &token_server::store::Actor::cli()).await.unwrap();
    let replacement = revocation.replacement.expect("revoking the current key makes a new one current");
    let (_, set) =
        crate::common::read(server.http.get(server.url("/api/{sid}/jwks")).send().await.unwrap()).await;
    let kids: Vec<&str> =
        set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![replacement.kid.as_str()], "the revoked key is unpublished at once");
    let (status, answer) = exchange(&server, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().starts_with("[A403202]"), "{answer}");
    // The service keeps working with its new key.
    let fresh = generate(&server, json!({"userId": "a", "identity": "r"})).await;
    assert_eq!(exchange(&server, &fresh).await.0, StatusCode::OK);
}

// ---------------------------------------------------------------- 6. properties never forge RFC 7662 members

#[tokio::test]
async fn reserved_property_keys_are_refused_and_never_shadow_rfc_7662_members() {
    let server = TestServer::start().await;
    for key in
        ["sub", "cnf", "active", "scope", "client_id", "exp", "acr", "amr", "auth_time", "act", "may_act"]
            .into_iter()
            .chain(["roles", "groups", "entitlements", "authorization_details", "nbf", "identity"])
    {
        let mut body = server.create_body();
        body["properties"] = json!([{"key": key, "value": "forged"}]);
        let (status, answer) = server.post("/api/{sid}/auth/token/create", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{key}: {answer}");
        assert_eq!(answer["resultCode"], "A109211", "{key}");
    }
    let mut body = server.create_body();
    body["acr"] = json!("urn:mace:incommon:iap:silver");
    body["authTime"] = json!(1_700_000_000);
    let created = server.create(body).await;
    let token = created["accessToken"].as_str().unwrap();
    let (status, answer) = server
        .post(
            "/api/{sid}/auth/token/update",
            json!({"accessToken": token, "properties": [{"key": "cnf", "value": "x"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    // A row that holds such keys anyway (stored before the rule) does not shadow anything.
    let hash = token_core::TokenHash::of(token);
    let forged = ["sub", "cnf", "active", "acr", "amr", "auth_time", "act"]
        .map(|k| Property { key: k.into(), value: "forged".into(), hidden: false })
        .to_vec();
    let changes = TokenChanges { properties: Some(forged), ..TokenChanges::default() };
    server
        .store
        .tokens
        .update_token(
            server.tenant.service.id,
            &hash,
            &changes,
            &token_server::store::Audit::new(token_server::store::Actor::cli(), 0),
        )
        .await
        .unwrap()
        .unwrap();
    let (_, answer) = server
        .post("/api/{sid}/auth/introspection/standard", json!({"parameters": format!("token={token}")}))
        .await;
    let text = answer["responseContent"].as_str().unwrap();
    for member in ["\"sub\":", "\"active\":", "\"acr\":", "\"auth_time\":"] {
        assert_eq!(text.matches(member).count(), 1, "{member} in {text}");
    }
    assert!(!text.contains("forged"), "{text}");
    let parsed: Value = serde_json::from_str(text).unwrap();
    assert_eq!(parsed["active"], true);
    assert_eq!(parsed["sub"], "john");
    // The token's own acr and auth_time are the members; the forged properties are not.
    assert_eq!(parsed["acr"], "urn:mace:incommon:iap:silver", "{text}");
    assert_eq!(parsed["auth_time"], 1_700_000_000, "{text}");
    assert!(parsed.get("amr").is_none() && parsed.get("act").is_none(), "{text}");
}

// ---------------------------------------------------------------- 7. credentials

#[tokio::test]
async fn revoked_and_expired_credentials_get_401_and_use_is_recorded() {
    let server = TestServer::start().await;
    let store = &server.store;
    let principal = Principal::Service(server.tenant.service.id);
    let issued = server
        .state
        .tenancy()
        .issue_credential(principal, "to revoke", None, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let path = "/api/{sid}/auth/token/get/list";
    let (status, _) = server.post_as_get(issued.secret.secret(), path).await;
    assert_eq!(status, StatusCode::OK);
    // Last use is recorded (in the background).
    let mut recorded = false;
    for _ in 0..50 {
        let listed = store.credentials.list_credentials().await.unwrap();
        if listed.iter().any(|c| c.id == issued.record.id && c.last_used_at.is_some()) {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(recorded, "last use must be recorded");
    server
        .state
        .tenancy()
        .revoke_credential(issued.record.id, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let (status, answer) = server.post_as_get(issued.secret.secret(), path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["resultCode"], "A001202");

    let past = token_server::clock::now_ms() - 1;
    let expired = server
        .state
        .tenancy()
        .issue_credential_expiring_at(principal, "expired", Some(past), &token_server::store::Actor::cli())
        .await
        .unwrap();
    let (status, _) = server.post_as_get(expired.secret.secret(), path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let future = token_server::clock::now_ms() + 60_000;
    let valid = server
        .state
        .tenancy()
        .issue_credential_expiring_at(principal, "valid", Some(future), &token_server::store::Actor::cli())
        .await
        .unwrap();
    assert_eq!(server.post_as_get(valid.secret.secret(), path).await.0, StatusCode::OK);
}

// ---------------------------------------------------------------- 8. secrets at rest

fn file_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap_or_default();
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        bytes.extend(std::fs::read(std::path::PathBuf::from(name)).unwrap_or_default());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn private_keys_are_encrypted_at_rest_and_the_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let kek_a = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let kek_b = URL_SAFE_NO_PAD.encode([9u8; 32]);
    let dir = tempfile::tempdir().unwrap();
    let open = |current: Option<&str>, previous: &[&str], db: &str| {
        let config = Config {
            database: dir.path().join(db),
            key_encryption_key: current.map(token_core::Secret::new),
            previous_key_encryption_keys: previous.iter().map(|k| token_core::Secret::new(*k)).collect(),
            ..Config::default()
        };
        token_server::open_store(&config)
    };

    // Without a key-encryption key the DER is in the file (what the test would catch).
    let plain = open(None, &[], "plain.sqlite").unwrap();
    let tenant = crate::common::provision_store(plain.clone(), &spec()).await;
    let key = plain.keys.current_signing_key(tenant.service.id).await.unwrap().unwrap();
    assert!(contains(&file_bytes(&dir.path().join("plain.sqlite")), &key.private_der.0));
    assert!(!format!("{key:?}").contains(&format!("{:?}", &key.private_der.0[..8])), "Debug leaks the key");

    // With one: only ciphertext on disk, and the key still signs.
    let sealed = open(Some(&kek_a), &[], "sealed.sqlite").unwrap();
    let tenant = crate::common::provision_store(sealed.clone(), &spec()).await;
    let key = sealed.keys.current_signing_key(tenant.service.id).await.unwrap().unwrap();
    let path = dir.path().join("sealed.sqlite");
    assert!(!contains(&file_bytes(&path), &key.private_der.0));
    assert!(token_server::keys::sign(&key, "JWT", &json!({"a": 1})).is_ok());
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    drop(sealed);

    // Rotating the key-encryption key: the previous one still opens, rows are re-sealed.
    let rotated = open(Some(&kek_b), &[&kek_a], "sealed.sqlite").unwrap();
    assert_eq!(
        rotated.keys.current_signing_key(tenant.service.id).await.unwrap().unwrap().private_der,
        key.private_der
    );
    drop(rotated);
    let only_new = open(Some(&kek_b), &[], "sealed.sqlite").unwrap();
    assert_eq!(
        only_new.keys.current_signing_key(tenant.service.id).await.unwrap().unwrap().private_der,
        key.private_der
    );
    drop(only_new);
    // Without the key, the store refuses to start (and says why) rather than fail later.
    let error = open(None, &[], "sealed.sqlite").unwrap_err().to_string();
    assert!(error.contains("not configured"), "{error}");
}

// ---------------------------------------------------------------- 9. refresh families end

#[tokio::test]
async fn a_refresh_family_never_outlives_its_original_lifetime() {
    let server = TestServer::start().await;
    let custom = generate(
        &server,
        json!({"userId": "u", "identity": "r", "accessTokenTTL": 60, "refreshTokenTTL": 120}),
    )
    .await;
    let (_, pair) = exchange(&server, &custom).await;
    let original_end = pair["refreshTokenExpiresAt"].as_i64().unwrap();
    let mut refresh_token = pair["refreshToken"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (status, next) = refresh(&server, &refresh_token).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        assert!(next["refreshTokenExpiresAt"].as_i64().unwrap() <= original_end, "the family slid: {next}");
        refresh_token = next["refreshToken"].as_str().unwrap().to_owned();
    }
}

#[tokio::test]
async fn refresh_is_refused_once_the_client_no_longer_allows_it() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["refreshTokenDuration"] = json!(600);
    let created = server.create(body).await;
    let refresh_token = created["refreshToken"].as_str().unwrap();
    let grants: Vec<GrantType> =
        GrantType::ALL.iter().copied().filter(|g| *g != GrantType::RefreshToken).collect();
    server
        .state
        .tenancy()
        .set_client_grant_types(
            server.tenant.service.id,
            server.tenant.client.client_id,
            &grants,
            &token_server::store::Actor::cli(),
        )
        .await
        .unwrap();
    let (status, answer) = refresh(&server, refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().starts_with("[A404204]"), "{answer}");
}

// ---------------------------------------------------------------- 10. no caching of token answers

#[tokio::test]
async fn every_answer_carrying_a_token_is_no_store() {
    let server = TestServer::start().await;
    let no_store = |response: &reqwest::Response| {
        response.headers().get("cache-control").and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    let bearer = server.tenant.service_token.clone();
    let post =
        |path: &str, body: Value| server.http.post(server.url(path)).bearer_auth(&bearer).json(&body).send();

    let response = post("/api/{sid}/auth/token/create", server.create_body()).await.unwrap();
    assert_eq!(no_store(&response).as_deref(), Some("no-store"));
    let response =
        post("/api/{sid}/custom-token/generate", json!({"userId": "u", "identity": "r"})).await.unwrap();
    assert_eq!(no_store(&response).as_deref(), Some("no-store"));
    let custom = response.json::<Value>().await.unwrap()["data"]["customToken"].as_str().unwrap().to_owned();
    let response = post(
        "/api/{sid}/pipeline",
        json!([{"op": "generateCustomToken", "input": {"userId": "u", "identity": "r"}}]),
    )
    .await
    .unwrap();
    assert_eq!(no_store(&response).as_deref(), Some("no-store"));
    let response = post("/api/{sid}/custom-token/exchange", json!({"customToken": custom})).await.unwrap();
    assert_eq!(no_store(&response).as_deref(), Some("no-store"));
    let pair = response.json::<Value>().await.unwrap();
    let response =
        post("/api/{sid}/auth/token/refresh", json!({"refreshToken": pair["refreshToken"]})).await.unwrap();
    assert_eq!(no_store(&response).as_deref(), Some("no-store"));
    let response = server
        .http
        .post(server.url("/api/{sid}/oauth/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_store(&response).as_deref(), Some("no-store"));
    // The public JWK Set is meant to be cached, briefly, and revalidated by its ETag.
    let response = server.http.get(server.url("/api/{sid}/jwks")).send().await.unwrap();
    assert_eq!(no_store(&response).as_deref(), Some("public, max-age=30"));
    let etag = response.headers().get("etag").unwrap().to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let again =
        server.http.get(server.url("/api/{sid}/jwks")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers().get("etag").unwrap().to_str().unwrap(), etag);
    let other = server
        .http
        .get(server.url("/api/{sid}/jwks"))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    // A rotation changes the set, hence the tag.
    server
        .state
        .tenancy()
        .rotate_key(server.tenant.service.id, None, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let rotated =
        server.http.get(server.url("/api/{sid}/jwks")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    assert_ne!(rotated.headers().get("etag").unwrap().to_str().unwrap(), etag);
}

// ---------------------------------------------------------------- 11. canonical IDs only

#[tokio::test]
async fn service_ids_must_be_canonical() {
    let server = TestServer::start().await;
    let sid = server.sid();
    for raw in [format!("+{sid}"), format!("0{sid}"), format!("{sid} "), format!("00{sid}")] {
        let path = format!("/api/{}/auth/token/create", raw.replace(' ', "%20"));
        let (status, answer) = server.post(&path, server.create_body()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}: {answer}");
        assert_eq!(answer["resultCode"], "A001208", "{raw}");
        let (status, _) = crate::common::read(
            server.http.get(server.url(&format!("/api/{raw}/jwks"))).send().await.unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}");
    }
    assert_eq!(server.token_count().await, 0);
}
