//! Custom tokens end to end (`000_…`): generate, the parallel limit, pipeline, exchange, refresh,
//! and the RFC 6749 / RFC 7523 token endpoint — all against a running server.

use std::time::Duration;

use crate::common::{TestServer, spec};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use token_core::{ResultCode, TokenHash};
use token_server::Config;
use token_server::keys::SignAlg;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const GENERATE: &str = "/api/{sid}/custom-token/generate";
const EXCHANGE: &str = "/api/{sid}/custom-token/exchange";
const REFRESH: &str = "/api/{sid}/auth/token/refresh";
const PIPELINE: &str = "/api/{sid}/pipeline";

async fn generate(server: &TestServer, input: Value) -> (StatusCode, Value) {
    server.post(GENERATE, input).await
}

async fn custom_token(server: &TestServer, input: Value) -> String {
    let (status, answer) = generate(server, input).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["success"], true);
    answer["data"]["customToken"].as_str().unwrap().to_owned()
}

async fn exchange(server: &TestServer, token: &str) -> (StatusCode, Value) {
    let response =
        server.http.post(server.url(EXCHANGE)).json(&json!({"customToken": token})).send().await.unwrap();
    crate::common::read(response).await
}

fn b64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).unwrap()
}

/// Verifies a compact JWS against the service's JWKS with the RustCrypto primitives directly —
/// independent of the JWT library the server signs with. Returns the claims.
async fn verify_independently(server: &TestServer, jwt: &str) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    let jwks: Value =
        server.http.get(server.url("/api/{sid}/jwks")).send().await.unwrap().json().await.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid in JWKS")
        .clone();
    let message = format!("{}.{}", parts[0], parts[1]);
    let signature = b64(parts[2]);
    match header["alg"].as_str().unwrap() {
        "EdDSA" => {
            let x: [u8; 32] = b64(jwk["x"].as_str().unwrap()).try_into().unwrap();
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
            let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
            key.verify_strict(message.as_bytes(), &signature).expect("EdDSA signature verifies");
        }
        "ES256" => {
            use p256::ecdsa::signature::Verifier;
            let mut point = vec![4u8];
            point.extend(b64(jwk["x"].as_str().unwrap()));
            point.extend(b64(jwk["y"].as_str().unwrap()));
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
            let signature = p256::ecdsa::Signature::from_slice(&signature).unwrap();
            key.verify(message.as_bytes(), &signature).expect("ES256 signature verifies");
        }
        other => panic!("unexpected alg {other}"),
    }
    serde_json::from_slice(&b64(parts[1])).unwrap()
}

#[tokio::test]
async fn generate_answers_the_documents_shape_and_a_verifiable_jwt() {
    for alg in [SignAlg::EdDsa, SignAlg::Es256] {
        let mut spec = spec();
        spec.key_alg = alg;
        let server = TestServer::start_with(Config::default(), spec).await;
        let (status, answer) = generate(
            &server,
            json!({"userId": "user00", "identity": "enduser", "claims": {"name": "John Doe"}, "accessTokenTTL": 3600, "refreshTokenTTL": 86400}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["data", "success"]);
        let token = answer["data"]["customToken"].as_str().unwrap();
        let claims = verify_independently(&server, token).await;
        let service = &server.tenant.service;
        assert_eq!(claims["iss"], service.issuer);
        assert_eq!(claims["sub"], "user00");
        assert_eq!(claims["aud"], format!("{}/api/{}/custom-token/exchange", service.issuer, service.id));
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
        assert!(claims["jti"].as_str().unwrap().len() >= 16);
        assert_eq!(claims["identity"], "enduser");
        assert_eq!(claims["claims"], json!({"name": "John Doe"}));
        assert_eq!(
            (claims["accessTokenTTL"].as_i64(), claims["refreshTokenTTL"].as_i64()),
            (Some(3600), Some(86400))
        );
    }
}

#[tokio::test]
async fn every_bad_input_is_success_false_naming_the_field() {
    let server = TestServer::start().await;
    let cases = [
        (json!({"userId": "", "identity": "r"}), StatusCode::BAD_REQUEST, "A401201", "userId"),
        (json!({"userId": "u".repeat(129), "identity": "r"}), StatusCode::BAD_REQUEST, "A401201", "userId"),
        (json!({"userId": "u", "identity": " "}), StatusCode::BAD_REQUEST, "A401202", "identity"),
        (
            json!({"userId": "u", "identity": "r", "accessTokenTTL": 3601}),
            StatusCode::BAD_REQUEST,
            "A401203",
            "accessTokenTTL",
        ),
        (
            json!({"userId": "u", "identity": "r", "accessTokenTTL": 0}),
            StatusCode::BAD_REQUEST,
            "A401203",
            "accessTokenTTL",
        ),
        (
            json!({"userId": "u", "identity": "r", "accessTokenTTL": 600, "refreshTokenTTL": 600}),
            StatusCode::BAD_REQUEST,
            "A401204",
            "refreshTokenTTL",
        ),
        (
            json!({"userId": "u", "identity": "r", "refreshTokenTTL": 100}),
            StatusCode::BAD_REQUEST,
            "A401204",
            "refreshTokenTTL",
        ),
        (
            json!({"userId": "u", "identity": "r", "claims": [1]}),
            StatusCode::BAD_REQUEST,
            "A401205",
            "claims",
        ),
        (
            json!({"userId": "u", "identity": "r", "claims": {"exp": 1}}),
            StatusCode::BAD_REQUEST,
            "A401206",
            "exp",
        ),
        (
            json!({"userId": "u", "identity": "r", "claims": {"big": "x".repeat(2000)}}),
            StatusCode::BAD_REQUEST,
            "A401207",
            "claims",
        ),
        (json!({"identity": "r"}), StatusCode::BAD_REQUEST, "A001205", "userId"),
        (
            json!({"userId": "u", "identity": "r", "accessTokenTTL": "60"}),
            StatusCode::BAD_REQUEST,
            "A001205",
            "accessTokenTTL",
        ),
        (
            json!({"userId": "u", "identity": "r", "accessTokenTTL": 1.5}),
            StatusCode::BAD_REQUEST,
            "A001205",
            "accessTokenTTL",
        ),
    ];
    for (input, status, code, field) in cases {
        let (got, answer) = generate(&server, input.clone()).await;
        assert_eq!(got, status, "{input}: {answer}");
        assert_eq!(answer["success"], false, "{input}");
        assert!(answer.get("data").is_none());
        let error = answer["error"].as_str().unwrap();
        assert!(error.starts_with(&format!("[{code}] ")), "{input}: {error}");
        assert!(error.contains(field), "{input}: {error}");
    }
    // Auth failures keep the family's shape too.
    let response = server
        .http
        .post(server.url(GENERATE))
        .json(&json!({"userId": "u", "identity": "r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let (_, answer) = crate::common::read(response).await;
    assert_eq!(answer["success"], false);
    assert!(answer["error"].as_str().unwrap().starts_with("[A001201]"));
}

/// Opens a generate request whose body never finishes: it holds one slot until dropped.
async fn stalled_generate(server: &TestServer, bearer: &str) -> TcpStream {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let path = format!("/api/{}/custom-token/generate", server.sid());
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {bearer}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"userId\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

async fn wait_for_in_flight(server: &TestServer, credential: &str, expected: usize) {
    let key = TokenHash::of(credential);
    for _ in 0..200 {
        if server.state.limiter().in_flight(key.as_str()) == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("in-flight never reached {expected} (now {})", server.state.limiter().in_flight(key.as_str()));
}

#[tokio::test]
async fn the_eleventh_concurrent_generation_is_429_and_slots_never_leak() {
    let server = TestServer::start().await;
    let credential = server.tenant.service_token.clone();
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(stalled_generate(&server, &credential).await);
    }
    wait_for_in_flight(&server, &credential, 10).await;

    let response = server
        .http
        .post(server.url(GENERATE))
        .bearer_auth(&credential)
        .json(&json!({"userId": "u11", "identity": "r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    let (_, answer) = crate::common::read(response).await;
    assert_eq!(answer["success"], false);
    assert!(answer["error"].as_str().unwrap().starts_with("[A001209]"), "{answer}");

    // Another credential (the organization token) has its own 10 slots.
    let (status, _) = server
        .post_as(&server.tenant.org_token.clone(), GENERATE, json!({"userId": "o", "identity": "r"}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Clients that disconnect give their slots back.
    drop(held);
    wait_for_in_flight(&server, &credential, 0).await;
    custom_token(&server, json!({"userId": "after", "identity": "r"})).await;

    // Failing requests give theirs back too.
    for _ in 0..25 {
        let (status, _) = generate(&server, json!({"userId": "", "identity": "r"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    wait_for_in_flight(&server, &credential, 0).await;

    // A real burst: every answer is a success or a clean 429, and nothing stays held.
    let burst = (0..60).map(|i| {
        let server = &server;
        async move { generate(server, json!({"userId": format!("burst{i}"), "identity": "r"})).await }
    });
    let answers = futures_join_all(burst).await;
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert!(ok >= 10, "at least the first ten succeed ({ok})");
    for (status, answer) in &answers {
        assert!(*status == StatusCode::OK || *status == StatusCode::TOO_MANY_REQUESTS, "{status}: {answer}");
    }
    wait_for_in_flight(&server, &credential, 0).await;
}

/// `join_all` without an extra dependency: spawn-free, polls all futures concurrently.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in set.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => outputs[i] = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}

#[tokio::test]
async fn the_limit_is_configurable() {
    let config = Config { custom_token_parallel_limit: 2, ..Config::default() };
    let server = TestServer::start_with(config, spec()).await;
    let credential = server.tenant.service_token.clone();
    let _held = [stalled_generate(&server, &credential).await, stalled_generate(&server, &credential).await];
    wait_for_in_flight(&server, &credential, 2).await;
    let (status, _) = generate(&server, json!({"userId": "u", "identity": "r"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn pipeline_keeps_order_isolates_failures_and_caps_size() {
    let config = Config { pipeline_max_operations: 5, ..Config::default() };
    let server = TestServer::start_with(config, spec()).await;
    let (status, answer) = server
        .post(
            PIPELINE,
            json!([
                {"op": "generateCustomToken", "input": {"userId": "user01", "identity": "enduser", "claims": {"name": "John Doe"}}},
                {"op": "generateCustomToken", "input": {"userId": "user02", "identity": "enduser", "accessTokenTTL": 9999}},
                {"op": "createToken", "input": server.create_body()},
                {"op": "createToken", "input": {"grantType": "PASSWORD", "clientId": server.tenant.client.client_id}},
                {"op": "generateCustomToken", "input": {"userId": "user03"}}
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer.as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0]["success"], true);
    let claims = verify_independently(&server, results[0]["data"]["customToken"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "user01", "results are in order");
    assert_eq!(results[1]["success"], false);
    assert!(results[1]["error"].as_str().unwrap().starts_with("[A401203]"));
    assert_eq!(results[2]["resultCode"], "A109001");
    assert!(results[2]["accessToken"].is_string());
    assert_eq!(results[3]["resultCode"], "A109201", "missing subject fails only its operation");
    assert_eq!(results[4]["success"], false, "a malformed input fails only its operation");

    // A batch of the wrong shape (an unknown operation, an input that is not an object) is a bug
    // in the caller: refused whole, before anything runs.
    let stored = server.token_count().await;
    for (batch, needle) in [
        (
            json!([{"op": "createToken", "input": server.create_body()}, {"op": "somethingElse", "input": {}}]),
            "Unknown operation 'somethingElse' of operation 1",
        ),
        (
            json!([{"op": "generateCustomToken", "input": [null]}]),
            "input of operation 0 must be a JSON object",
        ),
        (json!([{"input": {}}]), "Operation 0 is not an object"),
        (json!({"createToken": [server.create_body()], "nope": []}), "Unknown operation 'nope'"),
        (json!({"createToken": ["text"]}), "input 0 of 'createToken' must be a JSON object"),
    ] {
        let (status, answer) = server.post(PIPELINE, batch).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["resultCode"], "A402203");
        let message = answer["resultMessage"].as_str().unwrap();
        assert!(message.contains(needle) && message.contains("Nothing ran"), "{message}");
    }
    assert_eq!(server.token_count().await, stored, "nothing of a refused batch ran");

    let six: Vec<Value> = (0..6)
        .map(|i| json!({"op": "generateCustomToken", "input": {"userId": format!("u{i}"), "identity": "r"}}))
        .collect();
    let (status, answer) = server.post(PIPELINE, Value::Array(six)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["resultCode"], "A402202");
    let (status, answer) = server.post(PIPELINE, json!("nope")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["resultCode"], "A402201");

    // The RDK's shape: an object keyed by operation, answered with the same keys, in order.
    let (status, answer) = server
        .post(
            PIPELINE,
            json!({"generateCustomToken": [
                {"userId": "user01", "identity": "enduser", "claims": {"name": "John Doe"}},
                {"userId": "user02", "identity": "enduser", "claims": {"name": "Jane Doe"}}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["generateCustomToken"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let second = verify_independently(&server, results[1]["data"]["customToken"].as_str().unwrap()).await;
    assert_eq!(second["sub"], "user02");
    assert_eq!(second["claims"]["name"], "Jane Doe");
}

#[tokio::test]
async fn pipeline_generations_queue_for_slots_instead_of_failing() {
    let server = TestServer::start().await;
    let credential = server.tenant.service_token.clone();
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(stalled_generate(&server, &credential).await);
    }
    wait_for_in_flight(&server, &credential, 10).await;
    let request = server
        .post(PIPELINE, json!([{"op": "generateCustomToken", "input": {"userId": "q", "identity": "r"}}]));
    tokio::pin!(request);
    // While every slot is held the pipeline waits…
    assert!(tokio::time::timeout(Duration::from_millis(300), &mut request).await.is_err());
    // …and completes once one frees up.
    held.pop();
    let (status, answer) = tokio::time::timeout(Duration::from_secs(5), request).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer[0]["success"], true);
}

#[tokio::test]
async fn exchange_applies_ttls_carries_identity_and_is_single_use() {
    let server = TestServer::start().await;
    let token = custom_token(
        &server,
        json!({"userId": "user00", "identity": "enduser", "claims": {"name": "John Doe"}, "accessTokenTTL": 600, "refreshTokenTTL": 1200}),
    )
    .await;
    let before = token_server::clock::now_ms();
    let (status, pair) = exchange(&server, &token).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(pair["success"], true);
    let access_at = pair["accessTokenExpiresAt"].as_i64().unwrap();
    let refresh_at = pair["refreshTokenExpiresAt"].as_i64().unwrap();
    assert!((before + 600_000..before + 610_000).contains(&access_at), "accessTokenTTL applied");
    assert!((before + 1_200_000..before + 1_210_000).contains(&refresh_at), "refreshTokenTTL applied");
    let expires_in = pair["expiresIn"].as_i64().unwrap();
    assert!(
        (590..=600).contains(&expires_in),
        "expiresIn in seconds, as token create answers it: {expires_in}"
    );

    let info = server.introspect(pair["accessToken"].as_str().unwrap()).await;
    assert_eq!(info["action"], "OK");
    assert_eq!(info["subject"], "user00");
    assert_eq!(info["identity"], "enduser");
    assert_eq!(info["claims"], json!({"name": "John Doe"}));
    let (_, standard) = server
        .post(
            "/api/{sid}/auth/introspection/standard",
            json!({"parameters": format!("token={}", pair["accessToken"].as_str().unwrap())}),
        )
        .await;
    let content: Value = serde_json::from_str(standard["responseContent"].as_str().unwrap()).unwrap();
    assert_eq!((content["active"].as_bool(), content["sub"].as_str()), (Some(true), Some("user00")));
    assert_eq!(content["identity"], "enduser");

    let (status, again) = exchange(&server, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(again["success"], false);
    assert!(again["error"].as_str().unwrap().starts_with("[A403204]"), "{again}");

    // Defaults of the service when the custom token names no TTL.
    let token = custom_token(&server, json!({"userId": "u2", "identity": "r"})).await;
    let before = token_server::clock::now_ms();
    let (_, pair) = exchange(&server, &token).await;
    let expected = server.tenant.service.custom_token_access_ttl * 1000;
    assert!(
        (before + expected..before + expected + 10_000)
            .contains(&pair["accessTokenExpiresAt"].as_i64().unwrap())
    );
}

#[tokio::test]
async fn tampered_expired_foreign_and_garbage_custom_tokens_are_rejected() {
    let server = TestServer::start().await;
    let token = custom_token(&server, json!({"userId": "u", "identity": "r"})).await;

    // Tampered: change the payload, keep the signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&b64(parts[1])).unwrap();
    claims["sub"] = json!("admin");
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
    let (status, answer) = exchange(&server, &forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().starts_with("[A403202]"), "{answer}");

    // Expired: signed with the service's own key, exp in the past.
    let key = server.store.keys.current_signing_key(server.tenant.service.id).await.unwrap().unwrap();
    let now = token_server::clock::now_ms() / 1000;
    let mut old = claims.clone();
    old["sub"] = json!("u");
    old["iat"] = json!(now - 1000);
    old["exp"] = json!(now - 600);
    old["jti"] = json!("expired-jti");
    let expired = token_server::keys::sign(&key, token_core::custom_token::CUSTOM_TOKEN_TYP, &old).unwrap();
    let (_, answer) = exchange(&server, &expired).await;
    assert!(answer["error"].as_str().unwrap().starts_with("[A403203]"), "{answer}");

    // Another service's custom token.
    let other = crate::common::provision(&server.state, &spec()).await;
    let foreign = {
        let path = format!("/api/{}/custom-token/generate", other.service.id);
        let (_, answer) =
            server.post_as(&other.service_token, &path, json!({"userId": "u", "identity": "r"})).await;
        answer["data"]["customToken"].as_str().unwrap().to_owned()
    };
    let (_, answer) = exchange(&server, &foreign).await;
    assert!(answer["error"].as_str().unwrap().starts_with("[A403202]"), "{answer}");

    for garbage in ["", "not-a-jwt", "a.b.c"] {
        let (status, answer) = exchange(&server, garbage).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{garbage}");
        assert_eq!(answer["success"], false);
    }
    let (status, answer) = crate::common::read(
        server
            .http
            .post(server.url("/api/1/custom-token/exchange"))
            .json(&json!({"customToken": token}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(answer["error"].as_str().unwrap().starts_with("[A001204]"));
    assert_eq!(server.token_count().await, 0, "no rejected exchange stored a token");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let mut spec = spec();
    spec.settings.access_token_sign_alg = Some(SignAlg::EdDsa);
    let server = TestServer::start_with(Config::default(), spec).await;
    let token =
        custom_token(&server, json!({"userId": "ria", "identity": "member", "claims": {"tier": "gold"}}))
            .await;
    let (_, first) = exchange(&server, &token).await;
    let jwt = verify_independently(&server, first["jwtAccessToken"].as_str().unwrap()).await;
    assert_eq!((jwt["sub"].as_str(), jwt["identity"].as_str()), (Some("ria"), Some("member")));
    assert_eq!(jwt["claims"], json!({"tier": "gold"}));

    let refresh = |value: Value| {
        let server = &server;
        async move {
            let response = server
                .http
                .post(server.url(REFRESH))
                .json(&json!({"refreshToken": value}))
                .send()
                .await
                .unwrap();
            crate::common::read(response).await
        }
    };
    let (status, second) = refresh(first["refreshToken"].clone()).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(second["accessToken"], first["accessToken"]);
    assert_ne!(second["refreshToken"], first["refreshToken"]);
    assert_eq!(server.introspect(second["accessToken"].as_str().unwrap()).await["action"], "OK");
    assert_eq!(
        server.introspect(first["accessToken"].as_str().unwrap()).await["existent"],
        false,
        "old access token replaced"
    );

    // Reusing the rotated refresh token revokes the family: the newest tokens stop working too.
    let (status, reuse) = refresh(first["refreshToken"].clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reuse["error"].as_str().unwrap().starts_with("[A404203]"), "{reuse}");
    assert_eq!(server.introspect(second["accessToken"].as_str().unwrap()).await["usable"], false);
    let (_, after) = refresh(second["refreshToken"].clone()).await;
    assert!(after["error"].as_str().unwrap().starts_with("[A404202]"), "{after}");

    let (_, unknown) = refresh(json!("never-issued")).await;
    assert!(unknown["error"].as_str().unwrap().starts_with("[A404202]"));
    let (_, empty) = refresh(json!("")).await;
    assert!(empty["error"].as_str().unwrap().starts_with("[A404201]"));

    // Tokens from token create refresh too, keeping their lifetime: with the service's credential
    // (its authorization server refreshing for the client; the holder alone may not).
    let mut body = server.create_body();
    body["accessTokenDuration"] = json!(120);
    let created = server.create(body).await;
    let (status, answer) = refresh(created["refreshToken"].clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, pair) = server.post(REFRESH, json!({"refreshToken": created["refreshToken"]})).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let left = pair["accessTokenExpiresAt"].as_i64().unwrap() - token_server::clock::now_ms();
    assert!((100_000..=120_000).contains(&left), "{left}");
    let expires_in = pair["expiresIn"].as_i64().unwrap();
    assert!((100..=120).contains(&expires_in), "the refresh answer carries expiresIn too: {expires_in}");
    assert_eq!(server.introspect(pair["accessToken"].as_str().unwrap()).await["subject"], "john");
}

#[tokio::test]
async fn rfc_6749_token_endpoint_with_rfc_7523_assertions() {
    let server = TestServer::start().await;
    let post_form = |body: String, content_type: &'static str| {
        let server = &server;
        async move {
            let response = server
                .http
                .post(server.url("/api/{sid}/oauth/token"))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let cache = response.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned());
            let (status, body) = crate::common::read(response).await;
            (status, body, cache)
        }
    };
    const FORM: &str = "application/x-www-form-urlencoded";
    let token =
        custom_token(&server, json!({"userId": "oidc-user", "identity": "r", "accessTokenTTL": 900})).await;
    let (status, answer, cache) = post_form(
        format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={token}"),
        FORM,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert_eq!(answer["token_type"], "Bearer");
    assert!((890..=900).contains(&answer["expires_in"].as_i64().unwrap()));
    assert!(answer["access_token"].is_string() && answer["refresh_token"].is_string());
    assert_eq!(server.introspect(answer["access_token"].as_str().unwrap()).await["subject"], "oidc-user");

    let (status, refreshed, _) = post_form(
        format!("grant_type=refresh_token&refresh_token={}", answer["refresh_token"].as_str().unwrap()),
        FORM,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_ne!(refreshed["access_token"], answer["access_token"]);

    for (body, content_type, error) in [
        (
            format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={token}"),
            FORM,
            "invalid_grant",
        ),
        ("grant_type=password&username=a".to_owned(), FORM, "unsupported_grant_type"),
        ("grant_type=refresh_token".to_owned(), FORM, "invalid_request"),
        ("assertion=abc".to_owned(), FORM, "invalid_request"),
        (
            "grant_type=refresh_token&grant_type=refresh_token&refresh_token=x".to_owned(),
            FORM,
            "invalid_request",
        ),
        ("grant_type=refresh_token&refresh_token=unknown".to_owned(), FORM, "invalid_grant"),
        ("{\"grant_type\":\"refresh_token\"}".to_owned(), "application/json", "invalid_request"),
    ] {
        let (status, answer, _) = post_form(body.clone(), content_type).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"], error, "{body}");
        assert!(answer["error_description"].is_string());
    }
}

/// Every failure of the RFC 6749 endpoint is RFC 6749's, the path's included (a service ID that is
/// not UTF-8 is a malformed request, not a bad grant); a 401 names the scheme to authenticate with;
/// and its errors are counted by code like every other family's.
#[tokio::test]
async fn the_token_endpoint_answers_every_failure_in_its_own_shape_and_counts_it() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let form = |path: String, body: &'static str| {
        http.post(path).header("content-type", "application/x-www-form-urlencoded").body(body).send()
    };
    let answer =
        form(server.url("/api/%FF/oauth/token"), "grant_type=refresh_token&refresh_token=x").await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");

    let path = server.url(&format!("/api/{}/oauth/token", server.sid()));
    let answer = http
        .post(&path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Bearer sat_not-a-credential")
        .body("grant_type=refresh_token&refresh_token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers().contains_key("www-authenticate"), "{:?}", answer.headers());
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");

    let answer = form(path, "grant_type=password&username=a").await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let metrics = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let unsupported = ResultCode::OAUTH_GRANT_TYPE_UNSUPPORTED.code;
    assert!(
        metrics.lines().any(|l| l.contains(&format!("\"{unsupported}\"")) && l.ends_with(" 1")),
        "the refusal is counted by its code: {metrics}"
    );
}

/// Custom tokens are exchanged by the JWT_BEARER grant: once a service no longer allows it, it
/// neither generates nor exchanges them (custom tokens minted before included), each refusal in
/// the family's shape with its own code.
#[tokio::test]
async fn a_service_without_jwt_bearer_neither_generates_nor_exchanges_custom_tokens() {
    let server = TestServer::start().await;
    let minted = custom_token(&server, json!({"userId": "u1", "identity": "member"})).await;
    let without: Vec<_> = token_core::grant::GrantType::ALL
        .into_iter()
        .filter(|g| *g != token_core::grant::GrantType::JwtBearer)
        .collect();
    let patch = token_server::tenancy::ServicePatch { grant_types: Some(without), ..Default::default() };
    server
        .state
        .tenancy()
        .update_service(server.tenant.service.id, patch, &token_server::store::Actor::cli())
        .await
        .unwrap();

    let (status, answer) = generate(&server, json!({"userId": "u2", "identity": "member"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["success"], false);
    assert!(answer["error"].as_str().unwrap().starts_with("[A401208] "), "{answer}");

    let (status, answer) = exchange(&server, &minted).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["success"], false);
    assert!(answer["error"].as_str().unwrap().starts_with("[A403206] "), "{answer}");
}

/// Revoking a key ends every session it let in: those exchanged from a custom token it signed and
/// the tokens whose JWT access token it signed, in batches; sessions of other keys live on.
/// Custom-token sessions are listed and revoked by their pseudo-client, `custom-token`.
#[tokio::test]
async fn revoking_a_key_ends_the_sessions_it_let_in_and_custom_token_sessions_are_a_client() {
    let spec = token_server::tenancy::ServiceSpec::from(token_server::store::ServiceSettings {
        access_token_sign_alg: Some(SignAlg::EdDsa),
        ..spec().settings
    });
    let server = TestServer::start_with(Config::default(), spec).await;
    let sid = server.tenant.service.id;
    let first = custom_token(&server, json!({"userId": "u1", "identity": "member"})).await;
    let kid = jsonwebtoken::decode_header(&first).unwrap().kid.unwrap();
    let (_, session) = exchange(&server, &first).await;
    let created = server.create(server.create_body()).await;
    assert!(created["jwtAccessToken"].is_string(), "{created}");
    server.state.tenancy().rotate_key(sid, None, &token_server::store::Actor::cli()).await.unwrap();
    let second = custom_token(&server, json!({"userId": "u2", "identity": "member"})).await;
    let (_, other_session) = exchange(&server, &second).await;

    let (_, listed) = server.get("/api/{sid}/auth/token/get/list?clientIdentifier=custom-token").await;
    assert_eq!(listed["totalCount"], 2, "{listed}");
    assert_eq!(listed["client"]["clientIdAlias"], "custom-token", "{listed}");

    let revocation =
        server.state.tenancy().revoke_key(sid, &kid, &token_server::store::Actor::cli()).await.unwrap();
    assert_eq!(revocation.tokens_revoked, 2, "the custom-token session and the JWT-signed token");
    assert!(revocation.replacement.is_none(), "the key was no longer current");
    let (status, answer) = server.post(REFRESH, json!({"refreshToken": session["refreshToken"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(server.introspect(session["accessToken"].as_str().unwrap()).await["usable"], false);
    assert_eq!(server.introspect(created["accessToken"].as_str().unwrap()).await["usable"], false);
    assert_eq!(server.introspect(other_session["accessToken"].as_str().unwrap()).await["usable"], true);

    let (_, answer) =
        server.post("/api/{sid}/auth/token/revoke", json!({"clientIdentifier": "custom-token"})).await;
    assert_eq!(answer["count"], 1, "{answer}");
    assert_eq!(server.introspect(other_session["accessToken"].as_str().unwrap()).await["usable"], false);
}
