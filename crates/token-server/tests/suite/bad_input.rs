//! Every kind of bad input gets a specific resultCode and HTTP status, never a 500, and changes
//! nothing stored.

use crate::common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use token_server::Config;

const CREATE: &str = "/api/{sid}/auth/token/create";

/// Sends `body` (raw) to create; asserts the status and code and that no token was stored.
async fn rejected_raw(
    server: &TestServer,
    content_type: &str,
    body: String,
    status: StatusCode,
    code: &str,
) -> Value {
    let before = server.token_count().await;
    let response = server
        .http
        .post(server.url(CREATE))
        .bearer_auth(&server.tenant.service_token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let (got, answer) = crate::common::read(response).await;
    assert_eq!(got, status, "{answer}");
    assert_eq!(answer["resultCode"], code, "{answer}");
    assert!(answer["resultMessage"].as_str().unwrap().starts_with(&format!("[{code}] ")));
    assert!(answer["action"].is_string());
    assert_eq!(server.token_count().await, before, "a rejected request must not store anything");
    answer
}

async fn rejected(
    server: &TestServer,
    edit: impl FnOnce(&mut Value),
    status: StatusCode,
    code: &str,
) -> String {
    let mut body = server.create_body();
    edit(&mut body);
    let answer = rejected_raw(server, "application/json", body.to_string(), status, code).await;
    answer["resultMessage"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn malformed_and_mistyped_json() {
    let server = TestServer::start().await;
    rejected_raw(&server, "application/json", "{not json".into(), StatusCode::BAD_REQUEST, "A001205").await;
    rejected_raw(&server, "application/json", "".into(), StatusCode::BAD_REQUEST, "A001205").await;
    rejected_raw(&server, "application/json", "[]".into(), StatusCode::BAD_REQUEST, "A001205").await;
    let message =
        rejected(&server, |b| b["clientId"] = json!("abc"), StatusCode::BAD_REQUEST, "A001205").await;
    assert!(message.contains("clientId"), "{message}");
    let message =
        rejected(&server, |b| b["scopes"] = json!("read"), StatusCode::BAD_REQUEST, "A001205").await;
    assert!(message.contains("scopes"), "{message}");
    let message =
        rejected(&server, |b| b["grantType"] = json!("MAGIC"), StatusCode::BAD_REQUEST, "A001205").await;
    assert!(message.contains("grantType") && message.contains("MAGIC"), "{message}");
    let message = rejected(
        &server,
        |b| {
            b.as_object_mut().unwrap().remove("grantType");
        },
        StatusCode::BAD_REQUEST,
        "A001205",
    )
    .await;
    assert!(message.contains("grantType"), "{message}");
}

#[tokio::test]
async fn wrong_content_type_and_oversized_body() {
    let server = TestServer::start().await;
    let body = server.create_body().to_string();
    rejected_raw(&server, "text/plain", body.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "A001207").await;
    rejected_raw(
        &server,
        "application/x-www-form-urlencoded",
        "grantType=PASSWORD".into(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "A001207",
    )
    .await;
    rejected_raw(&server, "application/json; charset=utf-8", "{".into(), StatusCode::BAD_REQUEST, "A001205")
        .await;

    let limit = Config::default().max_body_bytes;
    let mut big = server.create_body();
    big["sessionId"] = json!("x".repeat(limit + 1));
    rejected_raw(&server, "application/json", big.to_string(), StatusCode::PAYLOAD_TOO_LARGE, "A001206")
        .await;
}

#[tokio::test]
async fn subject_rules() {
    let server = TestServer::start().await;
    let m = rejected(&server, |b| b["subject"] = json!("jöhn"), StatusCode::BAD_REQUEST, "A109202").await;
    assert!(m.contains("ASCII"), "{m}");
    let m = rejected(&server, |b| b["subject"] = json!("x".repeat(101)), StatusCode::BAD_REQUEST, "A109202")
        .await;
    assert!(m.contains("101"), "{m}");
    rejected(
        &server,
        |b| {
            b.as_object_mut().unwrap().remove("subject");
        },
        StatusCode::BAD_REQUEST,
        "A109201",
    )
    .await;
    server
        .create({
            let mut b = server.create_body();
            b["subject"] = json!("x".repeat(100));
            b
        })
        .await;
}

#[tokio::test]
async fn field_rules() {
    let server = TestServer::start().await;
    let m =
        rejected(&server, |b| b["accessTokenDuration"] = json!(-1), StatusCode::BAD_REQUEST, "A109203").await;
    assert!(m.contains("accessTokenDuration"), "{m}");
    let m = rejected(&server, |b| b["refreshTokenDuration"] = json!(-60), StatusCode::BAD_REQUEST, "A109203")
        .await;
    assert!(m.contains("refreshTokenDuration"), "{m}");
    rejected(&server, |b| b["accessTokenDuration"] = json!(i64::MAX), StatusCode::BAD_REQUEST, "A109203")
        .await;
    rejected(&server, |b| b["certificateThumbprint"] = json!("abc"), StatusCode::BAD_REQUEST, "A109204")
        .await;
    rejected(&server, |b| b["resources"] = json!(["relative/path"]), StatusCode::BAD_REQUEST, "A109205")
        .await;
    rejected(&server, |b| b["authTime"] = json!(-5), StatusCode::BAD_REQUEST, "A109206").await;
    rejected(
        &server,
        |b| b["authorizationDetails"] = json!([{"no": "type"}]),
        StatusCode::BAD_REQUEST,
        "A109210",
    )
    .await;
    rejected(
        &server,
        |b| b["properties"] = json!([{"key": "", "value": "v"}]),
        StatusCode::BAD_REQUEST,
        "A109211",
    )
    .await;
    rejected(&server, |b| b["accessToken"] = json!("has spaces in it"), StatusCode::BAD_REQUEST, "A109212")
        .await;
}

#[tokio::test]
async fn unsupported_scope_and_unknown_client() {
    let server = TestServer::start().await;
    let m = rejected(
        &server,
        |b| b["scopes"] = json!(["history.read", "admin"]),
        StatusCode::BAD_REQUEST,
        "A109207",
    )
    .await;
    assert!(m.contains("'admin'"), "{m}");
    let answer = {
        let mut b = server.create_body();
        b["clientId"] = json!(12345);
        rejected_raw(&server, "application/json", b.to_string(), StatusCode::FORBIDDEN, "A109302").await
    };
    assert_eq!(answer["action"], "FORBIDDEN");
    rejected(
        &server,
        |b| {
            b.as_object_mut().unwrap().remove("clientId");
        },
        StatusCode::BAD_REQUEST,
        "A109301",
    )
    .await;
}

#[tokio::test]
async fn a_client_of_another_service_is_unknown_here() {
    let server = TestServer::start().await;
    let other = crate::common::provision(&server.state, &crate::common::spec()).await;
    rejected(&server, |b| b["clientId"] = json!(other.client.client_id), StatusCode::FORBIDDEN, "A109302")
        .await;
}

#[tokio::test]
async fn unknown_service_and_bad_paths() {
    let server = TestServer::start().await;
    let body = server.create_body();
    // An organization token on a service that does not exist.
    let (status, answer) =
        server.post_as(&server.tenant.org_token.clone(), "/api/999/auth/token/create", body.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["resultCode"], "A001204");
    let (status, answer) =
        server.post_as(&server.tenant.org_token.clone(), "/api/abc/auth/token/create", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["resultCode"], "A001208");
    let (status, answer) = server.get("/api/{sid}/auth/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["resultCode"], "A001210");
    let (status, answer) = server.get("/api/{sid}/auth/token/create").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer["resultCode"], "A001211");
}

/// `/oauth/token` answers an oversized body like every other of its errors: RFC 6749 JSON
/// (`error`, `error_description`), with 413, and stores nothing.
#[tokio::test]
async fn an_oversized_oauth_token_request_gets_an_rfc_6749_error() {
    let server = TestServer::start().await;
    let before = server.token_count().await;
    let limit = Config::default().max_body_bytes;
    let body = format!("grant_type=refresh_token&refresh_token={}", "x".repeat(limit + 1));
    let response = server
        .http
        .post(server.url("/api/{sid}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, answer) = crate::common::read(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["error"], "invalid_request", "{answer}");
    assert!(answer["error_description"].as_str().unwrap().contains("limit"), "{answer}");
    assert!(answer.get("resultCode").is_none(), "{answer}");
    assert_eq!(server.token_count().await, before);
}

/// serde reads a struct from a JSON array too (`[""]` as the first field): every typed body of the
/// API is an object, so an array is refused before it is read (schemathesis found one accepted).
#[tokio::test]
async fn an_array_where_an_object_is_meant_is_refused() {
    let server = TestServer::start().await;
    for path in [
        "/api/{sid}/auth/introspection/standard",
        "/api/{sid}/auth/introspection",
        "/api/{sid}/auth/token/create",
        "/api/{sid}/auth/token/revoke",
        "/api/{sid}/auth/revocation",
    ] {
        let (status, answer) = server.post(path, serde_json::json!([""])).await;
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{path}: {answer}");
        assert_eq!(answer["resultCode"], "A001205", "{path}: {answer}");
    }
}
