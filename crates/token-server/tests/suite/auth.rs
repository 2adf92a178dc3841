//! Bearer authentication and tenant isolation: a credential for one service or organization can
//! never act on another.

use crate::common::TestServer;
use reqwest::StatusCode;
use serde_json::json;

const CREATE: &str = "/api/{sid}/auth/token/create";

#[tokio::test]
async fn missing_or_malformed_header_is_401_with_a_challenge() {
    let server = TestServer::start().await;
    let before = server.token_count().await;
    for header in
        [None, Some("Basic dXNlcjpwYXNz"), Some("Bearer"), Some("Bearer    "), Some("token-without-scheme")]
    {
        let mut request = server.http.post(server.url(CREATE)).json(&server.create_body());
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let (_, answer) = crate::common::read(response).await;
        assert_eq!(answer["resultCode"], "A001201", "{header:?}");
    }
    assert_eq!(server.token_count().await, before);
}

#[tokio::test]
async fn unknown_credential_is_401_invalid_token() {
    let server = TestServer::start().await;
    for bad in ["sat_not-a-real-credential", &format!("{}x", server.tenant.service_token)] {
        let response = server
            .http
            .post(server.url(CREATE))
            .bearer_auth(bad)
            .json(&server.create_body())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
        let (_, answer) = crate::common::read(response).await;
        assert_eq!(answer["resultCode"], "A001202");
        assert!(!answer.to_string().contains(bad), "the credential must not be echoed");
    }
}

#[tokio::test]
async fn credentials_act_only_within_their_scope() {
    let server = TestServer::start().await;
    let other = crate::common::provision(&server.state, &crate::common::spec()).await;
    let other_path = format!("/api/{}/auth/token/create", other.service.id);
    let other_body = json!({
        "grantType": "PASSWORD", "clientId": other.client.client_id, "subject": "eve", "scopes": ["openid"]
    });

    // Service token of A on service B, and organization token of A on B's service: 403, nothing stored.
    for bearer in [&server.tenant.service_token, &server.tenant.org_token] {
        let (status, answer) = server.post_as(bearer, &other_path, other_body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert_eq!(answer["resultCode"], "A001203");
        assert_eq!(answer["action"], "FORBIDDEN");
    }
    assert_eq!(
        server.store.tokens.list_tokens(other.service.id, &Default::default(), 0, 1).await.unwrap().0.total,
        0
    );

    // B's own credentials work on B, and B's tokens are invisible from A.
    let (status, created) = server.post_as(&other.org_token, &other_path, other_body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (status, _) = server.post_as(&other.service_token, &other_path, other_body).await;
    assert_eq!(status, StatusCode::OK);
    let token = created["accessToken"].as_str().unwrap();
    let info = server.introspect(token).await;
    assert_eq!(info["action"], "UNAUTHORIZED", "a token of B must not exist for A");
    let (status, _) = server.delete(&format!("/api/{{sid}}/auth/token/delete/{token}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, revoked) =
        server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": token})).await;
    assert_eq!(revoked["count"], 0);
    let (status, _) = server
        .post_as(
            &server.tenant.service_token,
            &format!("/api/{}/auth/introspection", other.service.id),
            json!({"token": token}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn organization_token_acts_on_every_service_of_its_organization() {
    let server = TestServer::start().await;
    let second = server
        .state
        .tenancy()
        .create_service(server.tenant.org.id, &crate::common::spec(), &token_server::store::Actor::cli())
        .await
        .unwrap();
    let client = token_server::tenancy::NewClient::new("c", token_core::grant::GrantType::ALL.to_vec());
    let client = server
        .state
        .tenancy()
        .create_client(second.id, client, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let path = format!("/api/{}/auth/token/create", second.id);
    let body = json!({"grantType": "PASSWORD", "clientId": client.client_id, "subject": "ann"});
    let (status, answer) = server.post_as(&server.tenant.org_token.clone(), &path, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // …but the first service's own token may not.
    let (status, _) = server.post_as(&server.tenant.service_token.clone(), &path, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn credentials_are_stored_only_as_hashes() {
    let server = TestServer::start().await;
    let haystack = server.stored_text().await;
    assert!(!haystack.contains(&server.tenant.service_token));
    assert!(!haystack.contains(&server.tenant.org_token));
    let created = server.create(server.create_body()).await;
    let haystack = server.stored_text().await;
    assert!(
        haystack.contains(token_core::TokenHash::of(created["accessToken"].as_str().unwrap()).as_str()),
        "the hash is stored"
    );
    assert!(!haystack.contains(created["accessToken"].as_str().unwrap()));
    assert!(!haystack.contains(created["refreshToken"].as_str().unwrap()));
}
