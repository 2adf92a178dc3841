//! The OpenAPI document and the router agree: every documented operation is served.

use crate::common::TestServer;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let server = TestServer::start().await;
    let document: serde_json::Value = serde_json::from_str(&token_core::openapi::document_json()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 14);
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url =
                server.url(&path.replace("{serviceId}", "{sid}").replace("{accessTokenIdentifier}", "x"));
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = server
                .http
                .request(method.clone(), &url)
                .bearer_auth(&server.tenant.service_token)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let (_, body) = crate::common::read(response).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(status.as_u16() < 500, "{method} {path}: {status} {body}");
            let text = body.to_string();
            assert!(!text.contains("A001210"), "{method} {path} is documented but not routed: {text}");
        }
    }
}
