//! Tenancy over HTTP in the Authlete shape, against the real server (on PostgreSQL too when the
//! suite runs there): services with the Organization Token, clients, a user's grants, keys — the
//! happy paths, the round trip of everything we store, and the refusals.

use crate::common::{TestServer, read};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

impl TestServer {
    /// A request with the Organization Token.
    async fn as_org(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(&self.tenant.org_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }
}

fn code(answer: &Value) -> &str {
    answer["resultCode"].as_str().unwrap_or("")
}

#[tokio::test]
async fn services_are_created_read_updated_listed_and_deleted_with_the_organization_token() {
    let server = TestServer::start().await;
    let org = server.tenant.org.id.get();
    let (status, created) = server
        .as_org(
            Method::POST,
            "/api/service/create",
            Some(json!({
                "serviceName": "shop",
                "issuer": "https://shop.example",
                "supportedScopes": [{"name": "orders.read"}, {"name": "orders.write", "defaultEntry": false}],
                "supportedGrantTypes": ["CLIENT_CREDENTIALS", "REFRESH_TOKEN"],
                "accessTokenDuration": 600,
                "refreshTokenDuration": 3600,
                "accessTokenSignAlg": "ES256",
                "extension": {"customTokenAccessTokenTTL": 300, "customTokenRefreshTokenTTL": 900},
                // Members Authlete has and we do not store, with values that say "unused".
                "pkceRequired": false, "tosUri": "", "metadata": [], "jwks": null
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["apiKey"].as_u64().unwrap();
    assert_eq!(created["serviceOwnerNumber"], json!(org));
    assert_eq!(created["supportedScopes"], json!([{"name": "orders.read"}, {"name": "orders.write"}]));
    assert_eq!(created["accessTokenSignAlg"], "ES256");
    assert_eq!(created["extension"]["customTokenRefreshTokenTTL"], 900);

    // What get answers is what create stored, and sending it back changes nothing.
    let path = format!("/api/{id}/service/get");
    let (status, got) = server.as_org(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, created);
    let update = format!("/api/{id}/service/update");
    let (status, same) = server.as_org(Method::POST, &update, Some(got.clone())).await;
    assert_eq!((status, &same), (StatusCode::OK, &got));

    // The new service works at once: its JWT access tokens are ES256 and its key is listed.
    let (_, keys) = server.as_org(Method::GET, &format!("/api/{id}/keys/list"), None).await;
    assert_eq!(keys["keys"][0]["alg"], "ES256", "{keys}");
    assert_eq!(keys["keys"][0]["state"], "current");
    assert!(keys["keys"][0]["publicJwk"].get("d").is_none(), "public parts only: {keys}");

    // Absent members stay; NONE turns JWT access tokens off.
    let (status, updated) = server
        .as_org(Method::POST, &update, Some(json!({"serviceName": "shop 2", "accessTokenSignAlg": "NONE"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["serviceName"], "shop 2");
    assert_eq!(updated["accessTokenSignAlg"], "NONE");
    assert_eq!(updated["issuer"], "https://shop.example");

    let (status, list) = server.as_org(Method::GET, "/api/service/get/list", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["totalCount"], 2, "{list}");
    let ids: Vec<u64> =
        list["services"].as_array().unwrap().iter().map(|s| s["apiKey"].as_u64().unwrap()).collect();
    assert!(ids.contains(&id) && ids.contains(&server.sid()), "{list}");
    let (_, page) = server.as_org(Method::GET, "/api/service/get/list?start=1&end=2", None).await;
    assert_eq!((page["start"].as_u64(), page["end"].as_u64()), (Some(1), Some(2)));
    assert_eq!(page["services"].as_array().unwrap().len(), 1);

    let (status, _) = server.as_org(Method::DELETE, &format!("/api/{id}/service/delete"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = server.as_org(Method::GET, &path, None).await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, "A001204"));
    let (status, answer) = server.as_org(Method::DELETE, &format!("/api/{id}/service/delete"), None).await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, "A001204"));
    let (_, list) = server.as_org(Method::GET, "/api/service/get/list", None).await;
    assert_eq!(list["totalCount"], 1, "{list}");
}

#[tokio::test]
async fn service_bodies_we_cannot_honour_are_refused_by_name_and_change_nothing() {
    let server = TestServer::start().await;
    let update = "/api/{sid}/service/update";
    let (_, before) = server.as_org(Method::GET, "/api/{sid}/service/get", None).await;
    let cases = [
        (
            json!({"serviceName": "x", "parRequired": true, "idTokenDuration": 300}),
            "A210201",
            "idTokenDuration, parRequired",
        ),
        (
            json!({"supportedScopes": [{"name": "a", "description": "A"}]}),
            "A210201",
            "supportedScopes[0].description",
        ),
        (json!({"jwks": "{\"keys\":[]}"}), "A210202", "keys/"),
        (json!({"apiSecret": "s"}), "A210202", "apiSecret"),
        (json!({"apiKey": 1}), "A210202", "apiKey"),
        (json!({"serviceOwnerNumber": 1}), "A210202", "serviceOwnerNumber"),
        (json!({"accessTokenSignAlg": "HS256"}), "A210202", "accessTokenSignAlg"),
        (json!({"accessTokenDuration": 0}), "A210202", "accessTokenDuration"),
        (json!({"supportedGrantTypes": ["NOT_A_GRANT"]}), "A210202", "supportedGrantTypes"),
        (json!({"supportedScopes": [{"name": "two words"}]}), "A210202", "scope token"),
        (json!({"supportedGrantTypes": []}), "A210203", "grant type"),
        (json!({"serviceName": " "}), "A210203", "name"),
        (json!({"issuer": "not a url"}), "A210203", "issuer"),
        (json!({"extension": {"customTokenAccessTokenTTL": 7200}}), "A210203", "accessTokenTTL"),
        (json!({"extension": {"parallel": 3}}), "A210202", "extension"),
        (json!([1, 2]), "A210202", "JSON object"),
    ];
    for (body, expected, names) in cases {
        let (status, answer) = server.as_org(Method::POST, update, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(code(&answer), expected, "{body}: {answer}");
        assert!(answer["resultMessage"].as_str().unwrap().contains(names), "{body}: {answer}");
    }
    let (status, answer) =
        server.as_org(Method::POST, "/api/service/create", Some(json!({"issuer": "https://a"}))).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A210203"), "a name is required: {answer}");
    let (status, answer) = server
        .as_org(Method::POST, "/api/service/create", Some(json!({"serviceName": "s", "apiKey": 5})))
        .await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A210202"), "{answer}");
    let (_, after) = server.as_org(Method::GET, "/api/{sid}/service/get", None).await;
    assert_eq!(after, before, "no refused update changed the service");
    let (_, list) = server.as_org(Method::GET, "/api/service/get/list", None).await;
    assert_eq!(list["totalCount"], 1, "no refused create made a service: {list}");
    let (status, answer) = server.as_org(Method::GET, "/api/service/get/list?start=5&end=2", None).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A210202"), "{answer}");

    // A Service Access Token manages neither services nor keys, even its own.
    for (method, path) in [
        (Method::GET, "/api/service/get/list"),
        (Method::GET, "/api/{sid}/service/get"),
        (Method::GET, "/api/{sid}/keys/list"),
    ] {
        let (status, answer) = server.post_as_get_method(method, path).await;
        assert_eq!((status, code(&answer)), (StatusCode::FORBIDDEN, "A001214"), "{path}: {answer}");
    }
}

#[tokio::test]
async fn clients_round_trip_by_id_and_alias_and_deleting_one_revokes_its_tokens() {
    let server = TestServer::start().await;
    let (status, created) = server
        .post(
            "/api/{sid}/client/create",
            json!({"clientName": "mobile", "clientIdAlias": "mobile-app", "entityId": "https://rp.example/m",
                   "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"], "clientSecret": "", "redirectUris": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["clientId"].as_i64().unwrap();
    assert_eq!(created["clientIdAliasEnabled"], true);
    for identifier in [id.to_string(), "mobile-app".to_owned()] {
        let (status, got) = server.get(&format!("/api/{{sid}}/client/get/{identifier}")).await;
        assert_eq!((status, &got), (StatusCode::OK, &created), "{identifier}");
    }
    // Sent back as it is, nothing changes; members given change, the rest stays.
    let (status, same) = server.post(&format!("/api/{{sid}}/client/update/{id}"), created.clone()).await;
    assert_eq!((status, &same), (StatusCode::OK, &created));
    let (status, updated) = server
        .post("/api/{sid}/client/update/mobile-app", json!({"clientIdAlias": "", "clientName": "m"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["clientIdAliasEnabled"], false);
    assert!(updated.get("clientIdAlias").is_none(), "{updated}");
    assert_eq!(updated["grantTypes"], json!(["AUTHORIZATION_CODE", "REFRESH_TOKEN"]));
    let (status, answer) = server.get("/api/{sid}/client/get/mobile-app").await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, "A210205"), "the alias is gone: {answer}");

    // A client moving from another server keeps its ID; an ID or alias taken is a 409.
    let (status, moved) =
        server.post("/api/{sid}/client/create", json!({"clientId": 4242, "clientName": "legacy"})).await;
    assert_eq!((status, moved["clientId"].as_i64()), (StatusCode::OK, Some(4242)), "{moved}");
    assert_eq!(moved["grantTypes"], json!(["AUTHORIZATION_CODE"]), "Authlete's default");
    let (status, answer) = server.post("/api/{sid}/client/create", json!({"clientId": 4242})).await;
    assert_eq!((status, code(&answer)), (StatusCode::CONFLICT, "A210204"), "{answer}");
    let alias = server.tenant.client.alias.clone().unwrap();
    let (status, answer) =
        server.post("/api/{sid}/client/update/4242", json!({"clientIdAlias": alias})).await;
    assert_eq!((status, code(&answer)), (StatusCode::CONFLICT, "A210204"), "{answer}");

    let (status, list) = server.get("/api/{sid}/client/get/list").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["totalCount"], 3, "{list}");
    let ids: Vec<i64> =
        list["clients"].as_array().unwrap().iter().map(|c| c["clientId"].as_i64().unwrap()).collect();
    assert!(ids.is_sorted() && ids.contains(&4242), "by ID: {list}");
    let (_, page) = server.get("/api/{sid}/client/get/list?start=1&end=2").await;
    assert_eq!(page["clients"], json!([list["clients"][1]]), "{page}");

    for (body, expected) in [
        (json!({"clientSecret": "s3cret"}), "A210202"),
        (json!({"redirectUris": ["https://a"]}), "A210201"),
        (json!({"clientIdAlias": "123"}), "A210202"),
        // Reserved: it names the service's custom-token sessions (#37).
        (json!({"clientIdAlias": "custom-token"}), "A210203"),
        (json!({"clientId": -1}), "A210202"),
        (json!({"clientName": "x".repeat(201)}), "A210202"),
        (json!({"grantTypes": "CLIENT_CREDENTIALS"}), "A210202"),
    ] {
        let (status, answer) = server.post("/api/{sid}/client/create", body.clone()).await;
        assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, expected), "{body}: {answer}");
    }
    let (status, answer) = server.post("/api/{sid}/client/update/4242", json!({"clientId": 1})).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A210202"), "{answer}");
    let (status, answer) =
        server.post("/api/{sid}/client/update/4242", json!({"clientIdAlias": "custom-token"})).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A210203"), "{answer}");
    let (status, answer) = server.post("/api/{sid}/client/update/nobody", json!({"clientName": "n"})).await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, "A210205"), "{answer}");

    // Deleting the provisioned client by its alias revokes what it held.
    let token = server.create(server.create_body()).await["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(server.introspect(&token).await["action"], "OK");
    let (status, _) = server.delete(&format!("/api/{{sid}}/client/delete/{alias}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.introspect(&token).await["action"], "UNAUTHORIZED");
    let (status, answer) = server.delete(&format!("/api/{{sid}}/client/delete/{alias}")).await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, "A210205"), "{answer}");
}

#[tokio::test]
async fn a_users_grants_are_listed_per_client_and_revoked_per_client() {
    let server = TestServer::start().await;
    let (_, other) = server
        .post("/api/{sid}/client/create", json!({"clientName": "tv", "grantTypes": ["DEVICE_CODE"]}))
        .await;
    let other_id = other["clientId"].as_i64().unwrap();
    let web = server.create(server.create_body()).await["accessToken"].as_str().unwrap().to_owned();
    let tv = server
        .create(json!({"grantType": "DEVICE_CODE", "clientId": other_id, "subject": "john"}))
        .await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, list) = server.get("/api/{sid}/client/authorization/get/list/john").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["subject"], "john");
    assert_eq!(list["totalCount"], 2, "{list}");
    let ids: Vec<i64> =
        list["clients"].as_array().unwrap().iter().map(|c| c["clientId"].as_i64().unwrap()).collect();
    assert!(ids.contains(&other_id) && ids.contains(&server.tenant.client.client_id.get()), "{list}");

    let path = format!("/api/{{sid}}/client/authorization/delete/{other_id}/john");
    let (status, answer) = server.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((code(&answer), answer["count"].as_u64()), ("A210001", Some(1)), "{answer}");
    assert_eq!(answer["serviceApiKey"], json!(server.sid()));
    assert_eq!(server.introspect(&tv).await["action"], "UNAUTHORIZED");
    assert_eq!(server.introspect(&web).await["action"], "OK", "another client's grant stays");
    let (_, list) = server.get("/api/{sid}/client/authorization/get/list/john").await;
    assert_eq!(list["totalCount"], 1, "{list}");
    let (_, nobody) = server.get("/api/{sid}/client/authorization/get/list/nobody").await;
    assert_eq!(nobody["totalCount"], 0);

    let (status, answer) = server.delete("/api/{sid}/client/authorization/delete/nobody/john").await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, "A210205"), "{answer}");
    let long = "s".repeat(101);
    let (status, answer) = server.get(&format!("/api/{{sid}}/client/authorization/get/list/{long}")).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A109202"), "{answer}");
}

#[tokio::test]
async fn keys_are_listed_rotated_and_revoked_over_http() {
    let server = TestServer::start().await;
    let (status, rotated) =
        server.as_org(Method::POST, "/api/{sid}/keys/rotate", Some(json!({"alg": "ES256"}))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_kid = rotated["key"]["kid"].as_str().unwrap().to_owned();
    assert_eq!(
        (rotated["key"]["alg"].as_str(), rotated["key"]["state"].as_str()),
        (Some("ES256"), Some("current"))
    );
    let (_, list) = server.as_org(Method::GET, "/api/{sid}/keys/list", None).await;
    let states: Vec<&str> =
        list["keys"].as_array().unwrap().iter().map(|k| k["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["current", "retired"], "newest first: {list}");
    assert!(list["keys"][1]["retiredAt"].is_i64(), "{list}");

    // Revoking the current key makes a new one current and leaves the JWK Set at once.
    let (status, revoked) =
        server.as_org(Method::POST, &format!("/api/{{sid}}/keys/revoke/{new_kid}"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["revoked"], new_kid.as_str());
    assert_eq!(revoked["replacement"]["state"], "current");
    assert_eq!(revoked["tokensRevoked"], 0);
    let (_, jwks) = server.get("/api/{sid}/service/jwks/get").await;
    assert!(!jwks.to_string().contains(&new_kid), "{jwks}");
    let (status, answer) =
        server.as_org(Method::POST, &format!("/api/{{sid}}/keys/revoke/{new_kid}"), Some(json!({}))).await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, "A210206"), "revoked once: {answer}");
    for body in [json!({"alg": "HS256"}), json!([]), json!({"extra": 1})] {
        let (status, answer) =
            server.as_org(Method::POST, "/api/{sid}/keys/rotate", Some(body.clone())).await;
        assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A210202"), "{body}: {answer}");
    }
}

impl TestServer {
    /// A request with the Service Access Token and no body.
    async fn post_as_get_method(&self, method: Method, path: &str) -> (StatusCode, Value) {
        let request = self.http.request(method, self.url(path)).bearer_auth(&self.tenant.service_token);
        read(request.send().await.unwrap()).await
    }
}

/// A rotation to another algorithm changes what a JWT-issuing service says it signs with (#38:
/// the service kept describing the old algorithm while its JWTs switched); `keys/rotate` with no
/// body at all is `{}` (the same algorithm).
#[tokio::test]
async fn a_rotation_to_another_algorithm_is_what_the_service_says_and_no_body_is_empty() {
    let spec = token_server::tenancy::ServiceSpec::from(token_server::store::ServiceSettings {
        supported_scopes: crate::common::SCOPES.iter().map(|s| s.to_string()).collect(),
        access_token_sign_alg: Some(token_server::keys::SignAlg::EdDsa),
        ..token_server::store::ServiceSettings::default()
    });
    let server = TestServer::start_with(token_server::Config::default(), spec).await;
    let response = server
        .http
        .post(server.url("/api/{sid}/keys/rotate"))
        .bearer_auth(&server.tenant.org_token)
        .send()
        .await
        .unwrap();
    let (status, rotated) = read(response).await;
    assert_eq!((status, rotated["key"]["alg"].as_str()), (StatusCode::OK, Some("EdDSA")), "{rotated}");
    let (status, rotated) =
        server.as_org(Method::POST, "/api/{sid}/keys/rotate", Some(json!({"alg": "ES256"}))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (_, service) = server.as_org(Method::GET, "/api/{sid}/service/get", None).await;
    assert_eq!(service["accessTokenSignAlg"], "ES256", "{service}");
    let created = server.create(server.create_body()).await;
    let jwt = created["jwtAccessToken"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwt.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256", "{header}");
}

/// Rotations to different algorithms at once (#38 review): whichever wins, the service says the
/// algorithm of the key that is current — the store moves both in one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_leave_the_service_saying_its_current_keys_algorithm() {
    let spec = token_server::tenancy::ServiceSpec::from(token_server::store::ServiceSettings {
        access_token_sign_alg: Some(token_server::keys::SignAlg::EdDsa),
        ..token_server::store::ServiceSettings::default()
    });
    let config =
        token_server::Config { tenancy_cache_ms: 0, key_generations_per_service: 100, ..Default::default() };
    let server = std::sync::Arc::new(TestServer::start_with(config, spec).await);
    for round in 0..3 {
        let rotations: Vec<_> = ["ES256", "EdDSA", "ES256", "EdDSA", "RS256", "ES256"]
            .into_iter()
            .map(|alg| {
                let server = std::sync::Arc::clone(&server);
                tokio::spawn(async move {
                    server.as_org(Method::POST, "/api/{sid}/keys/rotate", Some(json!({"alg": alg}))).await
                })
            })
            .collect();
        for rotation in rotations {
            let (status, answer) = rotation.await.unwrap();
            assert!(status == StatusCode::OK || status == StatusCode::TOO_MANY_REQUESTS, "{answer}");
        }
        let (_, service) = server.as_org(Method::GET, "/api/{sid}/service/get", None).await;
        let (_, keys) = server.as_org(Method::GET, "/api/{sid}/keys/list", None).await;
        let current = keys["keys"].as_array().unwrap().iter().find(|k| k["state"] == "current").unwrap();
        assert_eq!(service["accessTokenSignAlg"], current["alg"], "round {round}: {service} {keys}");
    }
}
