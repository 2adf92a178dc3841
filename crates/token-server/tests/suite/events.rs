//! The event log over HTTP: every change recorded with who made it, read back through the cursor.

use crate::common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn events(server: &TestServer, query: &str) -> Value {
    let (status, page) = server.get(&format!("/api/{{sid}}/events?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

#[tokio::test]
async fn a_created_and_revoked_token_is_in_the_log_with_its_actor() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["subject"] = json!("alice");
    let created = server.create(body).await;
    let token_id = created["tokenId"].as_str().unwrap().to_owned();
    let (status, revoked) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let page = events(&server, "after=0").await;
    let list = page["events"].as_array().unwrap();
    let created_event = list.iter().find(|e| e["type"] == "token.created").expect("token.created");
    assert_eq!(created_event["tokenId"], token_id.as_str());
    assert_eq!(created_event["subject"], "alice");
    assert_eq!(created_event["actor"]["kind"], "service_credential");
    let revoked_event = list.iter().find(|e| e["type"] == "token.revoked").expect("token.revoked");
    assert_eq!(revoked_event["reason"], "by_subject");
    assert_eq!(revoked_event["count"], 1);
    assert!(list.iter().any(|e| e["type"] == "user.revoked"));
    let ids: Vec<u64> = list.iter().map(|e| e["eventId"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    assert_eq!(page["next"], *ids.last().unwrap());
    let empty = events(&server, &format!("after={}", page["next"])).await;
    assert_eq!(empty["events"].as_array().unwrap().len(), 0);
    assert_eq!(empty["next"], page["next"]);
}
