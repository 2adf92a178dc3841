//! The isolation matrix: every authenticated route of the router's own table × every kind of
//! credential → the expected status, and nothing stored changes for the refused ones. A route added
//! to the table without a row here fails `request_for`.

use crate::common::{TestServer, spec};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use token_server::http::{Access, route_table};
use token_server::store::Principal;

/// One credential case: the `Authorization` header (if any) and whether it may act on the service.
struct Case {
    name: &'static str,
    authorization: Option<String>,
    allowed: bool,
}

/// What an effectful request of `operation` looks like, against a fresh token of the service.
fn request_for(server: &TestServer, operation: &str, token: &str) -> (Method, String, Option<Value>) {
    let client = server.tenant.client.client_id.get().to_string();
    let hash = token_core::TokenHash::of(token).as_str().to_owned();
    let post = |path: &str, body: Value| (Method::POST, path.to_owned(), Some(body));
    match operation {
        "custom_token_generate" => {
            post("/api/{sid}/custom-token/generate", json!({"userId": "u", "identity": "r"}))
        }
        "pipeline" => {
            post("/api/{sid}/pipeline", json!([{"op": "createToken", "input": server.create_body()}]))
        }
        "auth_token_create_api" => post("/api/{sid}/auth/token/create", server.create_body()),
        "auth_token_get_list_api" => (Method::GET, "/api/{sid}/auth/token/get/list".into(), None),
        "auth_token_update_api" => {
            post("/api/{sid}/auth/token/update", json!({"accessToken": token, "scopes": ["openid"]}))
        }
        "auth_token_delete_api" => (Method::DELETE, format!("/api/{{sid}}/auth/token/delete/{hash}"), None),
        "auth_token_revoke_api" => {
            post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": token}))
        }
        "auth_introspection_api" => post("/api/{sid}/auth/introspection", json!({"token": token})),
        "auth_introspection_standard_api" => {
            post("/api/{sid}/auth/introspection/standard", json!({"parameters": format!("token={token}")}))
        }
        "auth_revocation_api" => post(
            "/api/{sid}/auth/revocation",
            json!({"parameters": format!("token={token}"), "clientId": client}),
        ),
        "service_jwks_get_api" => (Method::GET, "/api/{sid}/service/jwks/get".into(), None),
        other => panic!("the route {other} has no row in the isolation matrix; add one"),
    }
}

/// Everything stored for the service, as a comparable value.
async fn fingerprint(server: &TestServer) -> String {
    let (total, tokens) = server
        .store
        .tokens
        .list_tokens(server.tenant.service.id, &Default::default(), 0, 1000)
        .await
        .unwrap();
    let rows: Vec<String> = tokens
        .iter()
        .map(|t| {
            format!(
                "{}|{}|{:?}|{:?}|{}",
                t.token_id, t.access_hash, t.revoked_at, t.scopes, t.access_expires_at
            )
        })
        .collect();
    format!("{total}:{}", rows.join(","))
}

#[tokio::test]
async fn every_authenticated_route_against_every_kind_of_credential() {
    let server = TestServer::start().await;
    let services = &server.state;
    let own = Principal::Service(server.tenant.service.id);
    // Another service of the same organization, and another organization with its service.
    let sibling = services.create_service(server.tenant.org.id, &spec()).await.unwrap();
    let sibling_token =
        services.issue_credential(Principal::Service(sibling.id), "sibling", None).await.unwrap();
    let foreign = crate::common::provision(services, &spec()).await;
    let revoked = services.issue_credential(own, "revoked", None).await.unwrap();
    services.revoke_credential(revoked.record.id).await.unwrap();
    let expired =
        services.issue_credential_expiring_at(own, "expired", Some(services.now_ms() - 1)).await.unwrap();

    let bearer = |secret: &str| Some(format!("Bearer {secret}"));
    let cases = [
        Case { name: "no credential", authorization: None, allowed: false },
        Case { name: "malformed header", authorization: Some("Basic dXNlcjpwYXNz".into()), allowed: false },
        Case { name: "empty bearer", authorization: Some("Bearer ".into()), allowed: false },
        Case { name: "unknown credential", authorization: bearer("sat_unknown"), allowed: false },
        Case { name: "revoked credential", authorization: bearer(revoked.secret.secret()), allowed: false },
        Case { name: "expired credential", authorization: bearer(expired.secret.secret()), allowed: false },
        Case {
            name: "service token of another service",
            authorization: bearer(sibling_token.secret.secret()),
            allowed: false,
        },
        Case {
            name: "service token of another organization",
            authorization: bearer(&foreign.service_token),
            allowed: false,
        },
        Case {
            name: "organization token of another organization",
            authorization: bearer(&foreign.org_token),
            allowed: false,
        },
        Case {
            name: "organization token of the organization",
            authorization: bearer(&server.tenant.org_token),
            allowed: true,
        },
        Case {
            name: "service token of the service",
            authorization: bearer(&server.tenant.service_token),
            allowed: true,
        },
    ];
    let routes: Vec<_> = route_table().into_iter().filter(|r| r.access == Access::Credential).collect();
    assert!(routes.len() >= 11, "the table lists every authenticated route");
    let mut checked = 0;
    for route in &routes {
        for case in &cases {
            let fresh = server.create(server.create_body()).await;
            let token = fresh["accessToken"].as_str().unwrap().to_owned();
            let (method, path, body) = request_for(&server, route.endpoint.operation_id, &token);
            assert_eq!(
                path.replace("{sid}", "{serviceId}").split("/delete/").next(),
                route.endpoint.path.split("/delete/").next(),
                "the matrix row of {} names its route",
                route.endpoint.operation_id
            );
            let before = fingerprint(&server).await;
            let mut request = server.http.request(method, server.url(&path));
            if let Some(value) = &case.authorization {
                request = request.header("authorization", value);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let (status, answer) = crate::common::read(request.send().await.unwrap()).await;
            let what = format!("{} × {}: {status} {answer}", route.endpoint.operation_id, case.name);
            if case.allowed {
                assert!(status.is_success(), "{what}");
            } else {
                let expected = if case.name.contains("another") {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::UNAUTHORIZED
                };
                assert_eq!(status, expected, "{what}");
                assert_eq!(fingerprint(&server).await, before, "a refused request changed the store: {what}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * cases.len());
}
