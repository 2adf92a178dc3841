//! List, update, delete, revoke, both introspections, JWKS rotation and health, over HTTP.

use crate::common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use token_core::TokenHash;

async fn issue(server: &TestServer, subject: &str) -> Value {
    let mut body = server.create_body();
    body["subject"] = json!(subject);
    server.create(body).await
}

fn token_of(answer: &Value) -> String {
    answer["accessToken"].as_str().unwrap().to_owned()
}

async fn standard(server: &TestServer, parameters: &str) -> Value {
    let (status, answer) =
        server.post("/api/{sid}/auth/introspection/standard", json!({"parameters": parameters})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn rfc7662(server: &TestServer, token: &str) -> Value {
    let answer = standard(server, &format!("token={token}")).await;
    assert_eq!(answer["resultCode"], "A145001");
    serde_json::from_str(answer["responseContent"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn list_filters_and_pages_without_token_values() {
    let server = TestServer::start().await;
    let mut issued = Vec::new();
    for i in 0..7 {
        issued.push(issue(&server, if i % 2 == 0 { "alice" } else { "bob" }).await);
    }
    let other = token_server::tenancy::NewClient {
        alias: Some("other-app".into()),
        ..token_server::tenancy::NewClient::new("other", token_core::grant::GrantType::ALL.to_vec())
    };
    let other = server
        .state
        .tenancy()
        .create_client(server.tenant.service.id, other, &token_server::store::Actor::cli())
        .await
        .unwrap();
    server.create(json!({"grantType": "PASSWORD", "clientId": other.client_id, "subject": "alice"})).await;

    let (status, page) = server.get("/api/{sid}/auth/token/get/list").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["totalCount"], 8);
    assert_eq!((page["start"].as_u64(), page["end"].as_u64()), (Some(0), Some(5)));
    assert_eq!(page["accessTokens"].as_array().unwrap().len(), 5, "default page is [0, 5)");
    let text = page.to_string();
    for answer in &issued {
        assert!(!text.contains(&token_of(answer)), "list must never return token values");
    }
    let first = &page["accessTokens"][0];
    // A generated value's hash leads with its token ID (docs/api.md, "Token values").
    let listed_hash = first["accessTokenHash"].as_str().unwrap();
    assert_eq!(listed_hash.split_once('.').map(|(id, _)| id), first["tokenId"].as_str(), "{first}");
    assert!(first["createdAt"].as_i64().unwrap() > 0);

    let (_, page) = server.get("/api/{sid}/auth/token/get/list?start=5&end=10").await;
    assert_eq!(page["accessTokens"].as_array().unwrap().len(), 3);
    let (_, page) = server.get("/api/{sid}/auth/token/get/list?subject=alice&end=100").await;
    assert_eq!(page["totalCount"], 5);
    assert!(page["accessTokens"].as_array().unwrap().iter().all(|t| t["subject"] == "alice"));
    let alias = server.tenant.client.alias.clone().unwrap();
    let (_, page) =
        server.get(&format!("/api/{{sid}}/auth/token/get/list?clientIdentifier={alias}&subject=alice")).await;
    assert_eq!(page["totalCount"], 4);
    assert_eq!(page["client"]["clientId"], json!(server.tenant.client.client_id));
    let (_, page) =
        server.get(&format!("/api/{{sid}}/auth/token/get/list?clientIdentifier={}", other.client_id)).await;
    assert_eq!(page["totalCount"], 1);

    for (query, code) in [
        ("start=5&end=2", "A131201"),
        ("start=0&end=5000", "A131201"),
        ("start=-1", "A001212"),
        ("clientIdentifier=nobody", "A131301"),
    ] {
        let (status, answer) = server.get(&format!("/api/{{sid}}/auth/token/get/list?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        assert_eq!(answer["resultCode"], code, "{query}");
    }
}

#[tokio::test]
async fn update_changes_expiry_scopes_properties_and_value() {
    let server = TestServer::start().await;
    let created = issue(&server, "carol").await;
    let token = token_of(&created);
    let new_expiry = token_server::clock::now_ms() + 10 * 60 * 1000;
    let (status, answer) = server
        .post(
            "/api/{sid}/auth/token/update",
            json!({
                "accessToken": token,
                "accessTokenExpiresAt": new_expiry,
                "scopes": ["openid"],
                "properties": [{"key": "plan", "value": "gold"}]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["resultCode"], "A135001");
    assert_eq!(answer["accessTokenExpiresAt"], new_expiry);
    let info = server.introspect(&token).await;
    assert_eq!(info["expiresAt"], new_expiry);
    assert_eq!(info["scopes"], json!(["openid"]));
    assert_eq!(info["properties"], json!([{"key": "plan", "value": "gold", "hidden": false}]));

    // By hash, asking for a new value: the old value stops working, the new one works.
    let hash = TokenHash::of(&token).as_str().to_owned();
    let (_, answer) = server
        .post("/api/{sid}/auth/token/update", json!({"accessToken": hash, "accessTokenValueUpdated": true}))
        .await;
    assert_eq!(answer["resultCode"], "A135001", "{answer}");
    let new_token = token_of(&answer);
    assert_ne!(new_token, token);
    assert_eq!(server.introspect(&token).await["action"], "UNAUTHORIZED");
    assert_eq!(server.introspect(&new_token).await["action"], "OK");

    // Expiring it through update makes it inactive.
    let (_, answer) = server
        .post("/api/{sid}/auth/token/update", json!({"accessToken": new_token, "accessTokenExpiresAt": 1}))
        .await;
    assert_eq!(answer["action"], "OK");
    assert_eq!(server.introspect(&new_token).await["resultCode"], "A056203");

    for (body, status, code) in [
        (json!({"accessToken": "no-such-token"}), StatusCode::NOT_FOUND, "A135202"),
        (json!({"accessToken": ""}), StatusCode::BAD_REQUEST, "A135201"),
        (json!({"accessToken": new_token, "accessTokenExpiresAt": -1}), StatusCode::BAD_REQUEST, "A135201"),
        (json!({"accessToken": new_token, "scopes": ["admin"]}), StatusCode::BAD_REQUEST, "A109207"),
        (json!({"accessToken": new_token, "dpopKeyThumbprint": "short"}), StatusCode::BAD_REQUEST, "A109204"),
        (json!({"scopes": []}), StatusCode::BAD_REQUEST, "A001205"),
    ] {
        let (got, answer) = server.post("/api/{sid}/auth/token/update", body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["resultCode"], code, "{body}");
    }
    assert_eq!(
        server.introspect(&new_token).await["scopes"],
        json!(["openid"]),
        "rejected updates change nothing"
    );
}

/// The selector format (#26): `atk_`/`rtk_`, the token ID, 256 random bits, a check. A value with
/// one changed character is no token (the check, then the whole hash, decide), a listed hash is not
/// a value, and a caller may not choose a value with a reserved prefix.
#[tokio::test]
async fn generated_values_carry_their_token_id_and_a_check() {
    let server = TestServer::start().await;
    let created = issue(&server, "grace").await;
    let (access, refresh) = (token_of(&created), created["refreshToken"].as_str().unwrap().to_owned());
    let token_id = created["tokenId"].as_str().unwrap();
    assert!(access.starts_with(&format!("atk_{token_id}")) && access.len() == 80, "{access}");
    assert!(refresh.starts_with(&format!("rtk_{token_id}")) && refresh.len() == 80, "{refresh}");
    assert_eq!(
        token_core::token_value::parse(&access),
        Some((token_core::token_value::ValueKind::Access, token_id))
    );
    assert_eq!(server.introspect(&access).await["action"], "OK");

    // One character changed in the secret part, or its check, or a refresh value presented as
    // access: nothing there.
    let mut typo = access.clone();
    let at = 4 + 27 + 5;
    let replacement = if &typo[at..=at] == "A" { "B" } else { "A" };
    typo.replace_range(at..=at, replacement);
    let mut check_typo = access.clone();
    check_typo.pop();
    check_typo.push(if access.ends_with('A') { 'B' } else { 'A' });
    for presented in [&typo, &check_typo, &refresh] {
        let answer = server.introspect(presented).await;
        assert_eq!(
            (answer["action"].as_str(), answer["existent"].as_bool()),
            (Some("UNAUTHORIZED"), Some(false))
        );
    }
    // The listed hash names the token for management, but is not the token.
    let hash = TokenHash::of(&access).as_str().to_owned();
    assert!(hash.starts_with(&format!("{token_id}.")), "{hash}");
    assert_eq!(server.introspect(&hash).await["existent"], false);
    let (_, answer) =
        server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": hash})).await;
    assert_eq!(answer["count"], 1, "{answer}");
    assert_eq!(server.introspect(&access).await["usable"], false);

    for field in ["accessToken", "refreshToken"] {
        let mut body = server.create_body();
        body[field] = json!("atk_my-own-value");
        let (status, answer) = server.post("/api/{sid}/auth/token/create", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["resultCode"], "A109212");
        assert!(answer["resultMessage"].as_str().unwrap().contains("reserved"), "{answer}");
    }
}

#[tokio::test]
async fn delete_by_value_or_hash() {
    let server = TestServer::start().await;
    let a = token_of(&issue(&server, "dave").await);
    let b = token_of(&issue(&server, "dave").await);
    let (status, body) = server.delete(&format!("/api/{{sid}}/auth/token/delete/{a}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    assert_eq!(server.introspect(&a).await["existent"], false);
    let hash = TokenHash::of(&b).as_str().to_owned();
    let (status, _) = server.delete(&format!("/api/{{sid}}/auth/token/delete/{hash}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(rfc7662(&server, &b).await, json!({"active": false}));
    let (status, answer) = server.delete(&format!("/api/{{sid}}/auth/token/delete/{a}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["resultCode"], "A137202");
}

#[tokio::test]
async fn revoke_by_token_by_refresh_token_and_by_client_subject() {
    let server = TestServer::start().await;
    let one = issue(&server, "erin").await;
    let two = issue(&server, "erin").await;
    let three = issue(&server, "erin").await;
    let other = issue(&server, "frank").await;

    let (_, answer) =
        server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": token_of(&one)})).await;
    assert_eq!(answer["resultCode"], "A312001");
    assert_eq!(answer["resultMessage"], "[A312001] Revoked 1 access token(s).");
    assert_eq!(answer["count"], 1);
    assert_eq!(server.introspect(&token_of(&one)).await["resultCode"], "A056203");
    assert_eq!(rfc7662(&server, &token_of(&one)).await, json!({"active": false}));

    let (_, answer) = server
        .post("/api/{sid}/auth/token/revoke", json!({"refreshTokenIdentifier": two["refreshToken"]}))
        .await;
    assert_eq!(answer["count"], 1);
    assert_eq!(server.introspect(&token_of(&two)).await["usable"], false);

    let alias = server.tenant.client.alias.clone().unwrap();
    let (_, answer) = server
        .post("/api/{sid}/auth/token/revoke", json!({"clientIdentifier": alias, "subject": "erin"}))
        .await;
    assert_eq!(answer["count"], 1, "only the one still active: {answer}");
    assert_eq!(server.introspect(&token_of(&three)).await["usable"], false);
    assert_eq!(server.introspect(&token_of(&other)).await["action"], "OK", "other subjects untouched");

    let (status, answer) = server.post("/api/{sid}/auth/token/revoke", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["resultCode"], "A312201");
    let (status, answer) =
        server.post("/api/{sid}/auth/token/revoke", json!({"clientIdentifier": "ghost"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["resultCode"], "A312301");
    let (_, answer) =
        server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": "unknown-token"})).await;
    assert_eq!(answer["count"], 0);
}

/// A user revoked everywhere (Firebase's `revokeRefreshTokens(uid)`): `subject` alone reaches every
/// family of the subject — a custom-token session refreshed once and a token of the service's
/// client — at both introspections and at refresh; the answer counts them.
#[tokio::test]
async fn revoke_by_subject_alone_ends_every_session_of_the_user() {
    let server = TestServer::start().await;
    let (_, generated) = server
        .post("/api/{sid}/custom-token/generate", json!({"userId": "gina", "identity": "member"}))
        .await;
    let exchange = server.http.post(server.url("/api/{sid}/custom-token/exchange"));
    let exchange =
        exchange.json(&json!({"customToken": generated["data"]["customToken"]})).send().await.unwrap();
    let (_, first) = crate::common::read(exchange).await;
    let refresh = |value: &Value| {
        let request = server.http.post(server.url("/api/{sid}/auth/token/refresh"));
        request.json(&json!({"refreshToken": value})).send()
    };
    let (_, second) = crate::common::read(refresh(&first["refreshToken"]).await.unwrap()).await;
    assert!(second["accessToken"].is_string(), "{second}");
    let created = issue(&server, "gina").await;
    let other = issue(&server, "hank").await;

    let (status, answer) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "gina"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["count"], 2, "the session's family and the created token: {answer}");
    assert_eq!(server.introspect(second["accessToken"].as_str().unwrap()).await["resultCode"], "A056203");
    for value in [&first["accessToken"], &second["accessToken"], &created["accessToken"]] {
        let value = value.as_str().unwrap();
        // Revoked (A056203); the value the rotation replaced was already unknown (A056202).
        let answer = server.introspect(value).await;
        assert_eq!(
            (answer["action"].as_str(), answer["usable"].as_bool()),
            (Some("UNAUTHORIZED"), Some(false)),
            "{answer}"
        );
        assert_eq!(rfc7662(&server, value).await, json!({"active": false}));
    }
    for value in [&first["refreshToken"], &second["refreshToken"]] {
        let (status, answer) = crate::common::read(refresh(value).await.unwrap()).await;
        assert_ne!(status, StatusCode::OK, "a revoked family never refreshes: {answer}");
    }
    assert_eq!(server.introspect(&token_of(&other)).await["action"], "OK", "other users untouched");
    // The listing shows where each stands.
    let (_, listed) = server.get("/api/{sid}/auth/token/get/list?subject=gina").await;
    let states: Vec<&Value> =
        listed["accessTokens"].as_array().unwrap().iter().map(|t| &t["state"]).collect();
    assert_eq!(states, [&json!("revoked"), &json!("revoked")], "{listed}");
    let (_, listed) = server.get("/api/{sid}/auth/token/get/list?subject=hank").await;
    assert_eq!(listed["accessTokens"][0]["state"], "active", "{listed}");
    let (_, again) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "gina"})).await;
    assert_eq!(again["count"], 0);
    let (status, answer) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": ""})).await;
    assert_eq!((status, answer["resultCode"].as_str()), (StatusCode::BAD_REQUEST, Some("A312201")));
}

#[tokio::test]
async fn introspection_checks_scopes_subject_and_lifetime() {
    let server = TestServer::start().await;
    let created = issue(&server, "gina").await;
    let token = token_of(&created);
    let info = server.introspect(&token).await;
    assert_eq!(info["resultCode"], "A056001");
    assert_eq!(
        (
            info["existent"].as_bool(),
            info["usable"].as_bool(),
            info["sufficient"].as_bool(),
            info["refreshable"].as_bool()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    assert_eq!(info["clientId"], json!(server.tenant.client.client_id));
    assert!(info.get("responseContent").is_none());

    let (_, info) = server
        .post("/api/{sid}/auth/introspection", json!({"token": token, "scopes": ["history.read", "write"]}))
        .await;
    assert_eq!(info["action"], "FORBIDDEN");
    assert_eq!(info["resultCode"], "A056204");
    assert!(info["responseContent"].as_str().unwrap().contains("insufficient_scope"));
    let (_, info) =
        server.post("/api/{sid}/auth/introspection", json!({"token": token, "subject": "other"})).await;
    assert_eq!(info["resultCode"], "A056205");
    let (_, info) = server.post("/api/{sid}/auth/introspection", json!({"token": "nope"})).await;
    assert_eq!((info["action"].as_str(), info["existent"].as_bool()), (Some("UNAUTHORIZED"), Some(false)));
    assert!(info["responseContent"].as_str().unwrap().contains("invalid_token"));
    let (_, info) = server.post("/api/{sid}/auth/introspection", json!({"token": ""})).await;
    assert_eq!(info["action"], "BAD_REQUEST");

    // An expired token is inactive.
    let mut body = server.create_body();
    body["accessTokenDuration"] = json!(1);
    let short = token_of(&server.create(body).await);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(server.introspect(&short).await["resultCode"], "A056203");
    assert_eq!(rfc7662(&server, &short).await, json!({"active": false}));
}

#[tokio::test]
async fn standard_introspection_is_rfc_7662() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["resources"] = json!(["https://api.example.com/"]);
    let created = server.create(body).await;
    let content = rfc7662(&server, &token_of(&created)).await;
    assert_eq!(content["active"], true);
    assert_eq!(content["scope"], "history.read timeline.read");
    assert_eq!(content["client_id"], server.tenant.client.client_id.to_string());
    assert_eq!(content["sub"], "john");
    assert_eq!(content["username"], "john");
    assert_eq!(content["token_type"], "Bearer");
    assert_eq!(content["exp"].as_i64().unwrap(), created["expiresAt"].as_i64().unwrap() / 1000);
    assert_eq!(content["aud"], json!(["https://api.example.com/"]));
    assert_eq!(content["iss"], server.tenant.service.issuer);
    assert!(content["iat"].is_i64());

    // The refresh token can be introspected too (hint or not).
    let refresh = created["refreshToken"].as_str().unwrap();
    let answer = standard(&server, &format!("token={refresh}&token_type_hint=refresh_token")).await;
    let content: Value = serde_json::from_str(answer["responseContent"].as_str().unwrap()).unwrap();
    assert_eq!(content["token_type"], "refresh_token");

    for parameters in ["", "token_type_hint=access_token", "token=%zz"] {
        let answer = standard(&server, parameters).await;
        assert_eq!(answer["action"], "BAD_REQUEST", "{parameters}");
        assert_eq!(answer["resultCode"], "A145201");
        let content: Value = serde_json::from_str(answer["responseContent"].as_str().unwrap()).unwrap();
        assert_eq!(content["error"], "invalid_request");
    }
    assert_eq!(rfc7662(&server, "never-issued").await, json!({"active": false}));
}

#[tokio::test]
async fn jwks_keeps_the_old_key_while_tokens_signed_by_it_live() {
    let mut spec = crate::common::spec();
    spec.settings.access_token_sign_alg = Some(token_server::keys::SignAlg::Es256);
    let server = TestServer::start_with(token_server::Config::default(), spec).await;
    let jwks = || async {
        let (status, body) =
            crate::common::read(server.http.get(server.url("/api/{sid}/jwks")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let first = jwks().await;
    assert_eq!(first.len(), 1);
    let created = server.create(server.create_body()).await;
    let old_kid =
        jsonwebtoken::decode_header(created["jwtAccessToken"].as_str().unwrap()).unwrap().kid.unwrap();
    assert_eq!(first[0], old_kid);

    let new_key = server
        .state
        .tenancy()
        .rotate_key(
            server.tenant.service.id,
            Some(token_server::keys::SignAlg::Es256),
            &token_server::store::Actor::cli(),
        )
        .await
        .unwrap();
    let keys = jwks().await;
    assert_eq!(keys, vec![new_key.kid.clone(), old_kid.clone()], "current first, old still published");
    let created = server.create(server.create_body()).await;
    let kid = jsonwebtoken::decode_header(created["jwtAccessToken"].as_str().unwrap()).unwrap().kid.unwrap();
    assert_eq!(kid, new_key.kid, "new tokens are signed with the new key");

    // The authenticated path of the hosted API serves the same set; unknown services are 404.
    let (status, body) = server.get("/api/{sid}/service/jwks/get").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["keys"].as_array().unwrap().len(), 2);
    let (status, body) =
        crate::common::read(server.http.get(server.url("/api/1/jwks")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["resultCode"], "A001204");
}

#[tokio::test]
async fn a_retired_key_leaves_the_set_once_its_tokens_are_gone() {
    let server = TestServer::start().await;
    let store = &server.store;
    let sid = server.tenant.service.id;
    let old = store.keys.current_signing_key(sid).await.unwrap().unwrap();
    server
        .state
        .tenancy()
        .rotate_key(sid, Some(token_server::keys::SignAlg::EdDsa), &token_server::store::Actor::cli())
        .await
        .unwrap();
    let now = token_server::clock::now_ms();
    // Within the grace period the old key is published; well after it, with no live token, not.
    assert_eq!(store.keys.published_signing_keys(sid, now).await.unwrap().len(), 2);
    assert_eq!(store.keys.published_signing_keys(sid, now + 3_600_000).await.unwrap().len(), 1);
    let _ = old;
}

#[tokio::test]
async fn health_and_readiness() {
    let server = TestServer::start().await;
    let (status, body) =
        crate::common::read(server.http.get(server.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, body) =
        crate::common::read(server.http.get(server.url("/readyz")).send().await.unwrap()).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")));
    let (status, body) =
        crate::common::read(server.http.get(server.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["openapi"], "3.1.0");
}

#[tokio::test]
async fn rfc_7009_revocation_wrapper() {
    let server = TestServer::start().await;
    let created = issue(&server, "hana").await;
    let token = token_of(&created);
    let client_id = server.tenant.client.client_id.get().to_string();
    let server = &server;
    let revoke = |body: Value| async move {
        let (status, answer) = server.post("/api/{sid}/auth/revocation", body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    };

    // Another client may not revoke it: answered OK (RFC 7009), token untouched.
    let other = token_server::tenancy::NewClient::new("other", token_core::grant::GrantType::ALL.to_vec());
    let other = server
        .state
        .tenancy()
        .create_client(server.tenant.service.id, other, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let answer =
        revoke(json!({"parameters": format!("token={token}"), "clientId": other.client_id.to_string()}))
            .await;
    assert_eq!(answer["action"], "OK");
    assert_eq!(server.introspect(&token).await["action"], "OK");

    // Its own client revokes it (client_id in the parameters works too).
    let answer = revoke(json!({"parameters": format!("token={token}&client_id={client_id}")})).await;
    assert_eq!((answer["resultCode"].as_str(), answer["action"].as_str()), (Some("A113001"), Some("OK")));
    assert!(answer.get("responseContent").is_none());
    assert_eq!(server.introspect(&token).await["usable"], false);

    // By refresh token, with the hint.
    let second = issue(server, "hana").await;
    let refresh = second["refreshToken"].as_str().unwrap();
    revoke(json!({"parameters": format!("token={refresh}&token_type_hint=refresh_token"), "clientId": client_id}))
        .await;
    assert_eq!(server.introspect(&token_of(&second)).await["usable"], false);

    // Unknown tokens are OK too; a missing token or client is not.
    let answer = revoke(json!({"parameters": "token=never-issued", "clientId": client_id})).await;
    assert_eq!(answer["action"], "OK");
    let answer = revoke(json!({"parameters": "token_type_hint=access_token", "clientId": client_id})).await;
    assert_eq!(
        (answer["action"].as_str(), answer["resultCode"].as_str()),
        (Some("BAD_REQUEST"), Some("A113201"))
    );
    let content: Value = serde_json::from_str(answer["responseContent"].as_str().unwrap()).unwrap();
    assert_eq!(content["error"], "invalid_request");
    let answer = revoke(json!({"parameters": "token=x"})).await;
    assert_eq!(answer["action"], "INVALID_CLIENT");
    let answer = revoke(json!({"parameters": "token=x", "clientId": "nobody"})).await;
    assert_eq!(answer["action"], "INVALID_CLIENT");
    let content: Value = serde_json::from_str(answer["responseContent"].as_str().unwrap()).unwrap();
    assert_eq!(content["error"], "invalid_client");
}

#[tokio::test]
async fn authorization_details_are_answered_in_the_familys_object_form() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["authorizationDetails"] = json!([{"type": "payment"}]);
    let created = server.create(body).await;
    assert_eq!(created["authorizationDetails"], json!({"elements": [{"type": "payment"}]}));
    let info = server.introspect(&token_of(&created)).await;
    assert_eq!(info["authorizationDetails"], json!({"elements": [{"type": "payment"}]}));
}

/// RFC 7009 §2.1: a revocation naming any value a family ever had reaches the family. After a
/// thief refreshed, the owner revoking the old access or refresh value (management revoke, RFC
/// 7009, the CLI) ends the thief's new pair too.
#[tokio::test]
async fn revoking_a_rotated_away_value_revokes_the_family() {
    let server = TestServer::start().await;
    let refresh = |value: Value| {
        let server = &server;
        async move {
            let (status, answer) =
                server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": value})).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer
        }
    };
    let revoke = |body: Value| {
        let server = &server;
        async move { server.post("/api/{sid}/auth/token/revoke", body).await.1 }
    };

    // By the old access value, and by its hash.
    for by_hash in [false, true] {
        let old = issue(&server, "victim").await;
        let stolen = refresh(old["refreshToken"].clone()).await;
        let identifier =
            if by_hash { TokenHash::of(&token_of(&old)).as_str().to_owned() } else { token_of(&old) };
        let answer = revoke(json!({"accessTokenIdentifier": identifier})).await;
        assert_eq!(answer["count"], 1, "{answer}");
        assert_eq!(server.introspect(stolen["accessToken"].as_str().unwrap()).await["usable"], false);
    }

    // By the old refresh value.
    let old = issue(&server, "victim").await;
    let stolen = refresh(old["refreshToken"].clone()).await;
    let answer = revoke(json!({"refreshTokenIdentifier": old["refreshToken"]})).await;
    assert_eq!(answer["count"], 1, "{answer}");
    assert_eq!(server.introspect(stolen["accessToken"].as_str().unwrap()).await["usable"], false);

    // RFC 7009, with the old refresh value and with the old access value.
    for which in ["refreshToken", "accessToken"] {
        let old = issue(&server, "victim").await;
        let stolen = refresh(old["refreshToken"].clone()).await;
        let parameters = format!("token={}", old[which].as_str().unwrap());
        let client = server.tenant.client.client_id.to_string();
        let (status, answer) = server
            .post("/api/{sid}/auth/revocation", json!({"parameters": parameters, "clientId": client}))
            .await;
        assert_eq!((status, answer["action"].as_str()), (StatusCode::OK, Some("OK")), "{answer}");
        assert_eq!(
            server.introspect(stolen["accessToken"].as_str().unwrap()).await["usable"],
            false,
            "{which}"
        );
    }

    // A value never issued still revokes nothing.
    let answer = revoke(json!({"accessTokenIdentifier": "never-issued-value"})).await;
    assert_eq!(answer["count"], 0, "{answer}");
}

/// A revocation naming a value the family had before wins every race with a thief refreshing in a
/// loop (#37): the family is found by that value and revoked by its ID in one statement, so a
/// refresh between the two cannot make it miss. 100 races, by the old refresh value, the old access
/// value and RFC 7009: the count is always 1 and the thief's session always ends. Before: 13 of
/// 100 answered `count: 0` and the thief kept a live session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_by_an_old_value_wins_every_race_with_a_refresh() {
    let server = TestServer::start().await;
    let refresh_url = server.url("/api/{sid}/auth/token/refresh");
    for round in 0..100u64 {
        let old = issue(&server, "victim").await;
        let (status, stolen) =
            server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": old["refreshToken"]})).await;
        assert_eq!(status, StatusCode::OK, "{stolen}");
        // The thief refreshes in a loop until refused; answers the last access value it held.
        let thief = {
            let (http, url, secret) =
                (server.http.clone(), refresh_url.clone(), server.tenant.service_token.clone());
            let mut current = stolen;
            tokio::spawn(async move {
                for _ in 0..200 {
                    let response = http
                        .post(&url)
                        .bearer_auth(&secret)
                        .json(&json!({"refreshToken": current["refreshToken"]}))
                        .send()
                        .await
                        .unwrap();
                    if response.status() != StatusCode::OK {
                        break;
                    }
                    current = response.json().await.unwrap();
                }
                token_of(&current)
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(round % 5)).await;
        match round % 3 {
            0 => {
                let (_, answer) = server
                    .post(
                        "/api/{sid}/auth/token/revoke",
                        json!({"refreshTokenIdentifier": old["refreshToken"]}),
                    )
                    .await;
                assert_eq!(answer["count"], 1, "round {round}: {answer}");
            }
            1 => {
                let (_, answer) = server
                    .post(
                        "/api/{sid}/auth/token/revoke",
                        json!({"accessTokenIdentifier": old["accessToken"]}),
                    )
                    .await;
                assert_eq!(answer["count"], 1, "round {round}: {answer}");
            }
            _ => {
                let parameters = format!("token={}", old["refreshToken"].as_str().unwrap());
                let client = server.tenant.client.client_id.to_string();
                let (status, answer) = server
                    .post("/api/{sid}/auth/revocation", json!({"parameters": parameters, "clientId": client}))
                    .await;
                assert_eq!((status, answer["action"].as_str()), (StatusCode::OK, Some("OK")), "{answer}");
            }
        }
        let last = thief.await.unwrap();
        assert_eq!(
            server.introspect(&last).await["usable"],
            false,
            "round {round}: the thief's session survived"
        );
    }
}
