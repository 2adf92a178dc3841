//! OpenTelemetry trace export (feature `otlp`): the real binary sends one span per request to an
//! OTLP/HTTP collector — here a fake one that keeps what it receives — and flushes at SIGTERM.
//! Without the feature, setting `otlp_endpoint` is a configuration error that names the key.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

#[cfg(feature = "otlp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_exported_as_a_span_named_by_its_route_and_flushed_at_shutdown() {
    use std::sync::{Arc, Mutex};

    use axum::routing::post;

    // The fake collector: keeps every OTLP/HTTP body (protobuf; strings in it are plain UTF-8).
    let received: Arc<Mutex<Vec<u8>>> = Arc::default();
    let kept = Arc::clone(&received);
    let collector = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                kept.lock().unwrap().extend_from_slice(&body);
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{collector_address}/v1/traces");
    let (mut child, base) = crate::durability::start_with_env(
        &dir.path().join("otel.sqlite"),
        &[("TOKEN_SERVER_OTLP_ENDPOINT", &endpoint), ("RUST_LOG", "info")],
    );
    let http = reqwest::Client::new();
    let answer = http
        .get(format!("{base}/api/4711/jwks"))
        .header("x-request-id", "otel-trace-1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    let answer = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), 200);

    // SIGTERM: the server stops and the exporter sends what it buffered (the collector keeps
    // answering on the runtime's other thread while this one waits).
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());

    let received = String::from_utf8_lossy(&received.lock().unwrap()).into_owned();
    for expected in
        ["token-server", "GET /api/{serviceId}/jwks", "GET /healthz", "otel-trace-1", "A001204", "4711"]
    {
        assert!(received.contains(expected), "the exported spans lack {expected:?}: {received:?}");
    }
}

#[cfg(not(feature = "otlp"))]
#[test]
fn without_the_feature_an_otlp_endpoint_is_a_configuration_error() {
    let stderr = config_check_refuses("http://127.0.0.1:4318/v1/traces");
    assert!(stderr.contains("otlp_endpoint") && stderr.contains("--features otlp"), "{stderr}");
}

#[test]
fn a_malformed_otlp_endpoint_is_refused_naming_the_key() {
    let stderr = config_check_refuses("collector:4318");
    assert!(stderr.contains("otlp_endpoint") && stderr.contains("not an http(s) URL"), "{stderr}");
}

/// `token-server config check` with `endpoint` as the OTLP endpoint: asserts exit code 2 and
/// returns what it printed on stderr.
fn config_check_refuses(endpoint: &str) -> String {
    let output = Command::new(BIN)
        .args(["config", "check"])
        .env("TOKEN_SERVER_OTLP_ENDPOINT", endpoint)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// No log level prints a secret (#37): at `RUST_LOG=trace`, on SQLite and on PostgreSQL, with no
/// key-encryption key (private keys stored unsealed), the server rotates keys, creates and revokes
/// tokens, generates and exchanges a custom token; its log holds no credential, token value,
/// custom token or private key (in hex, base64 or as a list of bytes, as a driver's `Debug` prints
/// it). Before: tokio-postgres logged each statement's parameters at debug, private keys included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_level_prints_a_secret() {
    use base64::Engine as _;
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut databases = vec![(dir.path().join("trace.sqlite").display().to_string(), None)];
    let postgres = crate::multi_instance::database().await;
    if let Some((url, _)) = &postgres {
        databases.push((url.clone(), Some(url.clone())));
    }
    for (database, postgres_url) in databases {
        let admin = |args: &[&str]| crate::multi_instance::admin(&database, args);
        let org = admin(&["org", "create", "--name", "trace"])["id"].to_string();
        let service = admin(&["service", "create", "--org", &org, "--sign-alg", "ES256"])["id"].to_string();
        let client = admin(&["client", "create", "--service", &service])["clientId"].clone();
        let service_secret =
            admin(&["credential", "create", "--service", &service, "--label", "t"])["secret"]
                .as_str()
                .unwrap()
                .to_owned();
        let org_secret = admin(&["credential", "create", "--org", &org, "--label", "t"])["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let log_path = dir.path().join(format!("trace-{}.log", postgres_url.is_some()));
        let mut child = Command::new(BIN)
            .args(["--database", &database, "serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "trace")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("listening").unwrap();
            if let Some(rest) = line.strip_prefix("token-server listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        let http = reqwest::Client::new();
        let call = |path: &str, secret: &str, body: serde_json::Value| {
            let request = http.post(format!("{base}/api/{service}/{path}")).bearer_auth(secret).json(&body);
            let path = path.to_owned();
            async move {
                let response = request.send().await.unwrap();
                assert!(response.status().is_success(), "{path}: {}", response.status());
                response.json::<serde_json::Value>().await.unwrap()
            }
        };
        let mut secrets = vec![service_secret.clone(), org_secret.clone()];
        for alg in ["EdDSA", "RS256", "ES256"] {
            call("keys/rotate", &org_secret, serde_json::json!({"alg": alg})).await;
        }
        let created = call(
            "auth/token/create",
            &service_secret,
            serde_json::json!({"grantType": "AUTHORIZATION_CODE", "clientId": client, "subject": "u", "refreshTokenDuration": 3600}),
        )
        .await;
        for value in ["accessToken", "refreshToken", "jwtAccessToken"] {
            secrets.push(created[value].as_str().unwrap().to_owned());
        }
        call(
            "auth/token/revoke",
            &service_secret,
            serde_json::json!({"accessTokenIdentifier": created["accessToken"]}),
        )
        .await;
        let generated = call(
            "custom-token/generate",
            &service_secret,
            serde_json::json!({"userId": "u", "identity": "i"}),
        )
        .await;
        let custom = generated["data"]["customToken"].as_str().unwrap().to_owned();
        let exchanged =
            call("custom-token/exchange", &service_secret, serde_json::json!({"customToken": custom})).await;
        secrets.push(custom);
        for value in ["accessToken", "refreshToken"] {
            secrets.push(exchanged[value].as_str().unwrap().to_owned());
        }
        let _ = child.kill();
        let _ = child.wait();

        // The private keys as stored (unsealed: no key-encryption key).
        let keys: Vec<Vec<u8>> = match &postgres_url {
            None => {
                let conn = rusqlite::Connection::open(&database).unwrap();
                let mut statement = conn.prepare("SELECT private_der FROM signing_keys").unwrap();
                statement.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
            }
            Some(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                let rows = client.query("SELECT private_der FROM signing_keys", &[]).await.unwrap();
                rows.iter().map(|r| r.get(0)).collect()
            }
        };
        assert!(keys.len() >= 4, "{} keys", keys.len());
        let log = std::fs::read_to_string(&log_path).unwrap();
        assert!(log.contains("auth/token/create"), "the requests are in the log");
        for secret in &secrets {
            assert!(!log.contains(secret.as_str()), "a secret is in the log: {secret:.12}…");
        }
        for key in &keys {
            // The key's last 24 bytes (the private scalar's end, in every format).
            let tail = &key[key.len() - 24..];
            let decimal = tail.iter().map(u8::to_string).collect::<Vec<_>>().join(", ");
            let hex: String = tail.iter().map(|b| format!("{b:02x}")).collect();
            let base64 = base64::engine::general_purpose::STANDARD.encode(&key[..]);
            let base64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&key[..]);
            for (form, text) in [
                ("bytes", &decimal),
                ("hex", &hex),
                ("base64", &base64[8..40].to_owned()),
                ("base64url", &base64url[8..40].to_owned()),
            ] {
                assert!(!log.contains(text.as_str()), "a private key is in the log ({form})");
            }
        }
    }
}
