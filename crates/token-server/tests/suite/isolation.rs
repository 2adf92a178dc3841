//! The isolation matrix: every authenticated route of the router's own table × every kind of
//! credential → the expected status, and nothing stored changes for the refused ones. A route added
//! to the table without a row here fails `request_for`.

use crate::common::{TestServer, spec};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use token_core::api::Auth as Access;
use token_server::http::route_table;
use token_server::store::Principal;
use token_server::tenancy::NewClient;

/// Who a credential case is, relative to the server's service and organization.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No usable credential: 401 everywhere.
    Nobody,
    OwnService,
    OwnOrganization,
    SiblingService,
    ForeignService,
    ForeignOrganization,
}

/// One credential case: the `Authorization` header (if any) and who it is.
struct Case {
    name: &'static str,
    authorization: Option<String>,
    who: Who,
}

/// The status a case must get on a route: 401 without a usable credential; a route of the
/// service (`Credential`) lets its own Service Access Token and its organization's token in; an
/// organization route lets Organization Tokens in — of the path's service's organization when the
/// path names one, else any (it acts on its own organization) — and no Service Access Token.
fn expected(route: &token_server::http::Route, who: Who) -> Option<StatusCode> {
    let names_service = route.endpoint.path.contains("{serviceId}");
    let allowed = match (route.endpoint.auth, who) {
        (_, Who::Nobody) => return Some(StatusCode::UNAUTHORIZED),
        (Access::Credential, Who::OwnService | Who::OwnOrganization) => true,
        (Access::Organization, Who::OwnOrganization) => true,
        (Access::Organization, Who::ForeignOrganization) => !names_service,
        _ => false,
    };
    if allowed { None } else { Some(StatusCode::FORBIDDEN) }
}

/// Whether `path` is an instance of the route `template` (`{name}` segments match any segment).
fn instance_of(path: &str, template: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let path: Vec<&str> = path.split('/').collect();
    let template: Vec<&str> = template.split('/').collect();
    path.len() == template.len()
        && path
            .iter()
            .zip(&template)
            .all(|(p, t)| t.starts_with('{') || p == t || (*p == "{sid}" && *t == "{serviceId}"))
}

/// What an effectful request of `operation` looks like, against a fresh token of the service (and,
/// for the routes that delete or revoke one thing, a fresh thing of the service to act on).
async fn request_for(server: &TestServer, operation: &str, token: &str) -> (Method, String, Option<Value>) {
    let client = server.tenant.client.client_id.get().to_string();
    let hash = token_core::TokenHash::of(token).as_str().to_owned();
    let post = |path: &str, body: Value| (Method::POST, path.to_owned(), Some(body));
    let get = |path: &str| (Method::GET, path.to_owned(), None);
    let services = &server.state;
    let sid = server.tenant.service.id;
    match operation {
        "custom_token_generate" => {
            post("/api/{sid}/custom-token/generate", json!({"userId": "u", "identity": "r"}))
        }
        "pipeline" => {
            post("/api/{sid}/pipeline", json!([{"op": "createToken", "input": server.create_body()}]))
        }
        "auth_token_create_api" => post("/api/{sid}/auth/token/create", server.create_body()),
        "auth_token_get_list_api" => get("/api/{sid}/auth/token/get/list"),
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
        "service_jwks_get_api" => get("/api/{sid}/service/jwks/get"),
        "service_create_api" => post("/api/service/create", json!({"serviceName": "made by the matrix"})),
        "service_get_list_api" => get("/api/service/get/list"),
        "service_events_api" => get("/api/{sid}/events"),
        "organization_events_api" => get("/api/events"),
        "service_get_api" => get("/api/{sid}/service/get"),
        "service_update_api" => post("/api/{sid}/service/update", json!({"accessTokenDuration": 3600})),
        // A service of the organization made for the case: deleting the server's own would end
        // the matrix (who may act on it is the same for every service of the organization).
        "service_delete_api" => {
            let doomed = services
                .tenancy()
                .create_service(
                    server.tenant.org.id,
                    &crate::common::spec(),
                    &token_server::store::Actor::cli(),
                )
                .await
                .unwrap();
            (Method::DELETE, format!("/api/{}/service/delete", doomed.id), None)
        }
        "client_create_api" => post("/api/{sid}/client/create", json!({"clientName": "made by the matrix"})),
        "client_get_api" => get(&format!("/api/{{sid}}/client/get/{client}")),
        "client_get_list_api" => get("/api/{sid}/client/get/list"),
        "client_update_api" => {
            post(&format!("/api/{{sid}}/client/update/{client}"), json!({"clientName": "app"}))
        }
        "client_delete_api" => {
            let doomed = services
                .tenancy()
                .create_client(sid, NewClient::new("doomed", vec![]), &token_server::store::Actor::cli())
                .await
                .unwrap();
            (Method::DELETE, format!("/api/{{sid}}/client/delete/{}", doomed.client_id), None)
        }
        "client_authorization_get_list_api" => get("/api/{sid}/client/authorization/get/list/john"),
        "client_authorization_delete_api" => {
            (Method::DELETE, format!("/api/{{sid}}/client/authorization/delete/{client}/john"), None)
        }
        "keys_list_api" => get("/api/{sid}/keys/list"),
        "keys_rotate_api" => post("/api/{sid}/keys/rotate", json!({})),
        "keys_revoke_api" => {
            // Through the store: the matrix makes more keys than rotations allows a minute.
            let doomed =
                token_server::keys::generate(sid, token_server::keys::SignAlg::EdDsa, services.now_ms())
                    .unwrap();
            let grace = token_server::keys::RETIRED_KEY_GRACE_MS;
            services
                .store()
                .keys
                .add_signing_key(
                    &doomed,
                    grace,
                    &token_server::store::Audit::new(token_server::store::Actor::cli(), 0),
                )
                .await
                .unwrap();
            post(&format!("/api/{{sid}}/keys/revoke/{}", doomed.kid), json!({}))
        }
        "ssf_stream_create" => {
            post("/api/{sid}/ssf/stream", json!({"delivery": {"method": "urn:ietf:rfc:8936"}}))
        }
        "ssf_stream_get" => get(&format!("/api/{{sid}}/ssf/stream?stream_id={}", fresh_stream(server).await)),
        "ssf_stream_update" => (
            Method::PATCH,
            "/api/{sid}/ssf/stream".to_owned(),
            Some(json!({"stream_id": fresh_stream(server).await, "description": "matrix"})),
        ),
        "ssf_stream_replace" => (
            Method::PUT,
            "/api/{sid}/ssf/stream".to_owned(),
            Some(
                json!({"stream_id": fresh_stream(server).await, "delivery": {"method": "urn:ietf:rfc:8936"}}),
            ),
        ),
        "ssf_stream_delete" => (
            Method::DELETE,
            format!("/api/{{sid}}/ssf/stream?stream_id={}", fresh_stream(server).await),
            None,
        ),
        "ssf_status_get" => get(&format!("/api/{{sid}}/ssf/status?stream_id={}", fresh_stream(server).await)),
        "ssf_status_update" => post(
            "/api/{sid}/ssf/status",
            json!({"stream_id": fresh_stream(server).await, "status": "paused"}),
        ),
        "ssf_verify" => post("/api/{sid}/ssf/verify", json!({"stream_id": fresh_stream(server).await})),
        "ssf_poll" => post(&format!("/api/{{sid}}/ssf/poll/{}", fresh_stream(server).await), json!({})),
        other => panic!("the route {other} has no row in the isolation matrix; add one"),
    }
}

/// A new poll stream of the server's service (made through the service layer; the service's
/// streams are deleted first when it has as many as it may).
async fn fresh_stream(server: &TestServer) -> String {
    use token_core::ssf::{DELIVERY_POLL, Delivery, StreamQuery, StreamRead, StreamRequest};
    let sid = server.tenant.service.id;
    let ssf = server.state.ssf();
    let request = StreamRequest {
        delivery: Some(Delivery { method: DELIVERY_POLL.into(), ..Delivery::default() }),
        ..StreamRequest::default()
    };
    if let Ok(created) = ssf.create(sid, "http://matrix", &request).await {
        return created.stream_id;
    }
    if let Ok(StreamRead::All(all)) = ssf.read(sid, &StreamQuery::default()).await {
        for stream in all {
            let query = StreamQuery { stream_id: Some(stream.stream_id) };
            ssf.delete(sid, &query).await.unwrap();
        }
    }
    ssf.create(sid, "http://matrix", &request).await.unwrap().stream_id
}

/// Everything stored for the organization's services, as a comparable value: tokens, settings,
/// clients and keys.
async fn fingerprint(server: &TestServer) -> String {
    let sid = server.tenant.service.id;
    let (token_server::store::ListingVersion { total, .. }, tokens) =
        server.store.tokens.list_tokens(sid, &Default::default(), 0, 1000).await.unwrap();
    let rows: Vec<String> = tokens
        .iter()
        .map(|t| {
            format!(
                "{}|{}|{:?}|{:?}|{}",
                t.token_id, t.access_hash, t.revoked_at, t.scopes, t.access_expires_at
            )
        })
        .collect();
    let services = server.state.tenancy().list_services(Some(server.tenant.org.id)).await.unwrap();
    let clients = server.state.tenancy().list_clients(sid).await.unwrap();
    let keys = server.state.tenancy().list_keys(sid).await.unwrap();
    format!("{total}:{}\n{services:?}\n{clients:?}\n{keys:?}", rows.join(","))
}

#[tokio::test]
async fn every_authenticated_route_against_every_kind_of_credential() {
    let server = TestServer::start().await;
    let services = &server.state;
    let own = Principal::Service(server.tenant.service.id);
    // Another service of the same organization, and another organization with its service.
    let sibling = services
        .tenancy()
        .create_service(server.tenant.org.id, &spec(), &token_server::store::Actor::cli())
        .await
        .unwrap();
    let sibling_token = services
        .tenancy()
        .issue_credential(Principal::Service(sibling.id), "sibling", None, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let foreign = crate::common::provision(services, &spec()).await;
    let revoked = services
        .tenancy()
        .issue_credential(own, "revoked", None, &token_server::store::Actor::cli())
        .await
        .unwrap();
    services
        .tenancy()
        .revoke_credential(revoked.record.id, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let expired = services
        .tenancy()
        .issue_credential_expiring_at(
            own,
            "expired",
            Some(services.now_ms() - 1),
            &token_server::store::Actor::cli(),
        )
        .await
        .unwrap();

    let bearer = |secret: &str| Some(format!("Bearer {secret}"));
    let cases = [
        Case { name: "no credential", authorization: None, who: Who::Nobody },
        Case { name: "malformed header", authorization: Some("Basic dXNlcjpwYXNz".into()), who: Who::Nobody },
        Case { name: "empty bearer", authorization: Some("Bearer ".into()), who: Who::Nobody },
        Case { name: "unknown credential", authorization: bearer("sat_unknown"), who: Who::Nobody },
        Case { name: "revoked credential", authorization: bearer(revoked.secret.secret()), who: Who::Nobody },
        Case { name: "expired credential", authorization: bearer(expired.secret.secret()), who: Who::Nobody },
        Case {
            name: "service token of another service",
            authorization: bearer(sibling_token.secret.secret()),
            who: Who::SiblingService,
        },
        Case {
            name: "service token of another organization",
            authorization: bearer(&foreign.service_token),
            who: Who::ForeignService,
        },
        Case {
            name: "organization token of another organization",
            authorization: bearer(&foreign.org_token),
            who: Who::ForeignOrganization,
        },
        Case {
            name: "organization token of the organization",
            authorization: bearer(&server.tenant.org_token),
            who: Who::OwnOrganization,
        },
        Case {
            name: "service token of the service",
            authorization: bearer(&server.tenant.service_token),
            who: Who::OwnService,
        },
    ];
    let routes: Vec<_> = route_table().into_iter().filter(|r| r.endpoint.auth != Access::Public).collect();
    assert!(routes.len() >= 26, "the table lists every authenticated route");
    assert!(
        routes.iter().any(|r| r.endpoint.auth == Access::Organization),
        "organization routes are in the matrix"
    );
    let mut checked = 0;
    for route in &routes {
        for case in &cases {
            let fresh = server.create(server.create_body()).await;
            let token = fresh["accessToken"].as_str().unwrap().to_owned();
            let (method, path, body) = request_for(&server, route.endpoint.operation_id, &token).await;
            assert!(
                instance_of(&path, route.endpoint.path),
                "the matrix row of {} names its route: {path}",
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
            match expected(route, case.who) {
                None => assert!(status.is_success(), "{what}"),
                Some(refused) => {
                    assert_eq!(status, refused, "{what}");
                    assert_eq!(
                        fingerprint(&server).await,
                        before,
                        "a refused request changed the store: {what}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * cases.len());
}

/// Identifiers a tenant chooses are unique per service, never across tenants (#36): another
/// organization's client ID, DPoP proof `jti` or rotated-away refresh value is neither refused
/// (an existence oracle) nor taken from under it (squatting on IDs it migrates).
#[tokio::test]
async fn identifiers_a_tenant_chooses_are_unique_per_service_only() {
    use crate::refresh_holder::{keygen, proof};
    let server = TestServer::start().await;
    let other = crate::common::provision(&server.state, &spec()).await;
    let other_path = |path: &str| path.replace("{sid}", &other.service.id.to_string());

    // The same client ID in both organizations, each its own client; one going leaves the other.
    let (status, mine) =
        server.post("/api/{sid}/client/create", json!({"clientId": 4242, "clientName": "mine"})).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let (status, theirs) = server
        .post_as(
            &other.service_token,
            &other_path("/api/{sid}/client/create"),
            json!({"clientId": 4242, "clientName": "theirs"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "another organization's ID is not taken from this one: {theirs}");
    let (status, again) =
        server.post("/api/{sid}/client/create", json!({"clientId": 4242, "clientName": "twice"})).await;
    assert_eq!((status, again["resultCode"].as_str()), (StatusCode::CONFLICT, Some("A210204")), "{again}");
    let (status, _) = server.delete("/api/{sid}/client/delete/4242").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, kept) =
        server.post_as_get(&other.service_token, &other_path("/api/{sid}/client/get/4242")).await;
    assert_eq!((status, kept["clientName"].as_str()), (StatusCode::OK, Some("theirs")), "{kept}");

    // One DPoP proof `jti` presented to each service: each accepts it once.
    let key = keygen("ES256");
    let bound = |service_token: String, sid: u64| {
        let (server, key_jkt) = (&server, key.jkt.clone());
        async move {
            let mut body = server.create_body();
            body["dpopKeyThumbprint"] = json!(key_jkt);
            if sid != server.sid() {
                body["clientId"] = json!(other.client.client_id.get());
            }
            let path = format!("/api/{sid}/auth/token/create");
            let (status, created) = server.post_as(&service_token, &path, body).await;
            assert_eq!(status, StatusCode::OK, "{created}");
            created["refreshToken"].as_str().unwrap().to_owned()
        }
    };
    let refresh = |sid: u64, refresh_token: String, dpop: String| {
        let server = &server;
        async move {
            let url = format!("{}/api/{sid}/auth/token/refresh", server.base);
            let response = server
                .http
                .post(&url)
                .header("DPoP", dpop)
                .json(&json!({"refreshToken": refresh_token}))
                .send()
                .await
                .unwrap();
            crate::common::read(response).await
        }
    };
    let jti = json!({"jti": format!("shared-{:x}", rand::random::<u64>())});
    for (token, sid) in [
        (server.tenant.service_token.clone(), server.sid()),
        (other.service_token.clone(), other.service.id.get()),
    ] {
        let value = bound(token.clone(), sid).await;
        let htu = format!("{}/api/{sid}/auth/token/refresh", server.base);
        let (status, answer) = refresh(sid, value, proof(&key, &htu, jti.clone())).await;
        assert_eq!(status, StatusCode::OK, "service {sid} accepts the jti once: {answer}");
        let value = bound(token, sid).await;
        let (status, answer) = refresh(sid, value, proof(&key, &htu, jti.clone())).await;
        assert_ne!(status, StatusCode::OK, "and not twice in service {sid}: {answer}");
    }

    // One chosen refresh value in both services, each rotated away: neither collides.
    let value = format!("shared-refresh-{:x}", rand::random::<u64>());
    for (token, sid, client) in [
        (server.tenant.service_token.clone(), server.sid(), server.tenant.client.client_id.get()),
        (other.service_token.clone(), other.service.id.get(), other.client.client_id.get()),
    ] {
        let mut body = server.create_body();
        body["clientId"] = json!(client);
        body["refreshToken"] = json!(value);
        let (status, created) = server.post_as(&token, &format!("/api/{sid}/auth/token/create"), body).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let (status, refreshed) = server
            .post_as(&token, &format!("/api/{sid}/auth/token/refresh"), json!({"refreshToken": value}))
            .await;
        assert_eq!(status, StatusCode::OK, "service {sid}: {refreshed}");
    }
}
