//! CORS: off by default; with allowed origins, browser apps of those origins (and no other) may
//! call the end-user endpoints, and never the Bearer-authenticated management API.

use reqwest::{Method, StatusCode};
use serde_json::json;
use token_server::Config;

use crate::common::{TestServer, spec};

const APP: &str = "https://app.example";

async fn preflight(server: &TestServer, path: &str, origin: &str) -> reqwest::Response {
    server
        .http
        .request(Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

fn allowed_origin(response: &reqwest::Response) -> Option<&str> {
    response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let server = TestServer::start().await;
    let answer = preflight(&server, "/api/{sid}/custom-token/exchange", APP).await;
    assert_eq!(allowed_origin(&answer), None);
}

#[tokio::test]
async fn allowed_origins_may_redeem_custom_tokens_from_a_browser() {
    let config = Config { cors_allowed_origins: vec![APP.into()], ..Config::default() };
    let server = TestServer::start_with(config, spec()).await;
    for path in [
        "/api/{sid}/custom-token/exchange",
        "/api/{sid}/auth/token/refresh",
        "/api/{sid}/oauth/token",
        "/api/{sid}/jwks",
    ] {
        let answer = preflight(&server, path, APP).await;
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        assert_eq!(allowed_origin(&answer), Some(APP), "{path}");
        let methods = answer.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
        assert!(methods.contains("POST"), "{path}: {methods}");
        // Another origin gets no permission.
        let other = preflight(&server, path, "https://evil.example").await;
        assert_eq!(allowed_origin(&other), None, "{path}");
    }
    // The management API is never opened to browsers.
    for path in
        ["/api/{sid}/auth/token/create", "/api/{sid}/custom-token/generate", "/api/{sid}/auth/introspection"]
    {
        let answer = preflight(&server, path, APP).await;
        assert_eq!(allowed_origin(&answer), None, "{path}");
    }

    // The real request from the browser: the answer names the origin and exposes the request ID.
    let (_, generated) =
        server.post("/api/{sid}/custom-token/generate", json!({"userId": "u", "identity": "r"})).await;
    let custom_token = generated["data"]["customToken"].as_str().unwrap();
    let answer = server
        .http
        .post(server.url("/api/{sid}/custom-token/exchange"))
        .header("origin", APP)
        .json(&json!({"customToken": custom_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(allowed_origin(&answer), Some(APP));
    let exposed = answer.headers()["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

#[test]
fn a_malformed_origin_is_a_configuration_error_naming_the_key() {
    for bad in ["app.example", "https://app.example/", "https://app.example/path", "ftp://app.example", "*"] {
        let error = Config::load_with(None, |name| {
            (name == "TOKEN_SERVER_CORS_ALLOWED_ORIGINS").then(|| bad.to_owned())
        })
        .unwrap_err();
        assert!(error.to_string().contains("cors_allowed_origins"), "{bad}: {error}");
    }
}
