//! `GET /metrics`: scraped before and after a flow, parsed, and every counter the flow should move
//! moved by exactly what it did.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::json;
use token_core::ResultCode;

use crate::common::TestServer;

/// `name{labels}` → value, from the Prometheus text format.
async fn scrape(server: &TestServer) -> HashMap<String, f64> {
    let response = server.http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.unwrap();
    let mut samples = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        samples
            .insert(key.to_owned(), value.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {line}")));
    }
    samples
}

fn moved(before: &HashMap<String, f64>, after: &HashMap<String, f64>, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn counters_move_by_what_a_flow_did() {
    let server = TestServer::start().await;
    let before = scrape(&server).await;

    let first = server.create(server.create_body()).await;
    server.create(server.create_body()).await;
    let (_, generated) =
        server.post("/api/{sid}/custom-token/generate", json!({"userId": "u", "identity": "r"})).await;
    let custom_token = generated["data"]["customToken"].as_str().unwrap();
    let (status, _) =
        server.post("/api/{sid}/custom-token/exchange", json!({"customToken": custom_token})).await;
    assert_eq!(status, StatusCode::OK);
    let old_refresh = first["refreshToken"].as_str().unwrap();
    let (status, _) =
        server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": old_refresh})).await;
    assert_eq!(status, StatusCode::OK);
    // The rotated-away value again: reuse.
    let (status, _) =
        server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": old_refresh})).await;
    assert!(status.is_client_error());
    let (status, _) =
        server.post_as("sat_not-a-credential", "/api/{sid}/auth/token/create", server.create_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server
        .state
        .maintenance()
        .run_janitor(0, 25, token_server::service::maintenance::JanitorPacing::FlatOut)
        .await
        .unwrap();

    let after = scrape(&server).await;
    let create_ok =
        r#"token_http_requests_total{method="POST",route="/api/{serviceId}/auth/token/create",status="200"}"#;
    let create_401 =
        r#"token_http_requests_total{method="POST",route="/api/{serviceId}/auth/token/create",status="401"}"#;
    let invalid = format!(r#"token_errors_total{{result_code="{}"}}"#, ResultCode::CREDENTIAL_INVALID.code);
    for (key, expected) in [
        (r#"token_tokens_issued_total{grant_type="AUTHORIZATION_CODE"}"#, 2.0),
        ("token_custom_tokens_generated_total", 1.0),
        ("token_custom_tokens_exchanged_total", 1.0),
        ("token_refreshes_total", 1.0),
        ("token_refresh_reuse_detected_total", 1.0),
        (create_ok, 2.0),
        (create_401, 1.0),
        (invalid.as_str(), 1.0),
        ("token_janitor_runs_total", 1.0),
        (r#"token_http_request_duration_seconds_count{route="/api/{serviceId}/auth/token/create"}"#, 3.0),
    ] {
        assert_eq!(moved(&before, &after, key), expected, "{key}");
    }
    assert_eq!(after["token_custom_token_generations_in_flight"], 0.0);
    // The store's group committer (SQLite): every write was committed in some batch.
    if std::env::var("TOKEN_SERVER_TEST_BACKEND").as_deref() != Ok("postgres") {
        let writes = moved(&before, &after, "token_store_batch_writes_sum");
        // 2 creates, 1 exchange, 1 rotation, 1 reuse revocation, janitor batches: at least 5.
        assert!(writes >= 5.0, "{writes}");
        assert!(moved(&before, &after, "token_store_commit_duration_seconds_count") >= 1.0);
    }
}
