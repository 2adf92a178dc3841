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
