//! Every event type, produced by the real operation over HTTP (the CLI for credentials, the janitor
//! in-process) and read back through `GET /api/{serviceId}/events` or `GET /api/events`: who acted
//! (kind and credential ID), and what it touched — and nothing more: no secret, nor its hash, in
//! any event.

use std::process::Command;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use token_core::TokenHash;
use token_server::Config;
use token_server::store::{Principal, ServiceSettings};
use token_server::tenancy::ServiceSpec;

use crate::common::{SCOPES, TestServer, read};
use crate::events::{
    as_org, credential_ids, get_as, members, names, now_ms, of_type, only, org_log, service_log, stream, text,
};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

/// `token-server --json <args>` on the server's database, in another process.
async fn cli(server: &TestServer, args: &[&str]) -> Value {
    let database = server.database_for_cli();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = Command::new(BIN)
            .args(["--database", &database, "--json"])
            .args(&args)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    })
    .await
    .unwrap()
}

fn actor(kind: &str, id: &str) -> Value {
    json!({"kind": kind, "id": id})
}

/// A token of the test client for `subject`.
async fn token_for(server: &TestServer, subject: &str) -> Value {
    let mut body = server.create_body();
    body["subject"] = json!(subject);
    server.create(body).await
}

async fn post_ok(server: &TestServer, path: &str, body: Value) -> Value {
    let (status, answer) = server.post(path, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{path} {body}: {answer}");
    answer
}

/// POST without a credential (the holder's app).
async fn post_anonymous(server: &TestServer, path: &str, body: Value) -> (StatusCode, Value) {
    read(server.http.post(server.url(path)).json(&body).send().await.unwrap()).await
}

/// Asserts `event` was made between `from` and now.
fn made_since(event: &Value, from: i64) {
    let at = event["at"].as_i64().unwrap();
    assert!(from <= at && at <= now_ms(), "{event}: at {at} not in [{from}, now]");
}

/// A server whose service signs JWT access tokens (EdDSA).
async fn jwt_server(config: Config) -> TestServer {
    let spec = ServiceSpec::from(ServiceSettings {
        supported_scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        access_token_sign_alg: Some(token_server::keys::SignAlg::EdDsa),
        ..ServiceSettings::default()
    });
    TestServer::start_with(config, spec).await
}

#[tokio::test]
async fn a_tokens_creation_update_refresh_and_deletion_name_it_and_who_acted() {
    let server = TestServer::start().await;
    let (sat, _) = credential_ids(&server).await;
    let from = now_ms();
    let created = token_for(&server, "alice").await;
    let token_id = text(&created["tokenId"]);
    post_ok(
        &server,
        "/api/{sid}/auth/token/update",
        json!({"accessToken": created["accessToken"], "scopes": ["history.read"]}),
    )
    .await;
    // Refreshed by the authorization server (its credential): the holder, through that credential.
    let refreshed =
        post_ok(&server, "/api/{sid}/auth/token/refresh", json!({"refreshToken": created["refreshToken"]}))
            .await;
    let (status, _) =
        server.delete(&format!("/api/{{sid}}/auth/token/delete/{}", text(&refreshed["accessToken"]))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let log = service_log(&server).await;
    let client = server.tenant.client.client_id.get();
    let mut ids = Vec::new();
    for (event_type, kind) in [
        ("token.created", "service_credential"),
        ("token.updated", "service_credential"),
        ("token.refreshed", "holder"),
        ("token.deleted", "service_credential"),
    ] {
        let event = only(&log, event_type, |_| true);
        assert_eq!(event["actor"], actor(kind, &sat), "{event}");
        assert_eq!(
            (&event["tokenId"], &event["subject"], &event["clientId"]),
            (&json!(token_id), &json!("alice"), &json!(client)),
            "{event}"
        );
        assert_eq!(
            members(event),
            names(&["eventId", "at", "type", "actor", "subject", "clientId", "tokenId"]),
            "{event}"
        );
        made_since(event, from);
        ids.push(event["eventId"].as_u64().unwrap());
    }
    assert!(ids.is_sorted(), "in the order they happened: {ids:?}");
    // Deleting a token that is gone, or updating one, changes nothing and records nothing.
    let (status, _) =
        server.delete(&format!("/api/{{sid}}/auth/token/delete/{}", text(&refreshed["accessToken"]))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(service_log(&server).await, log);
}

#[tokio::test]
async fn every_way_of_revoking_is_recorded_with_its_reason_and_count() {
    let server = TestServer::start().await;
    let (sat, _) = credential_ids(&server).await;
    let sat_actor = actor("service_credential", &sat);
    let client = server.tenant.client.client_id.get();
    let alias = server.tenant.client.alias.clone().unwrap();

    // By value: the access value, the refresh value, the RFC 7009 endpoint.
    let by_access = token_for(&server, "v-access").await;
    let answer = post_ok(
        &server,
        "/api/{sid}/auth/token/revoke",
        json!({"accessTokenIdentifier": by_access["accessToken"]}),
    )
    .await;
    assert_eq!(answer["count"], 1);
    let by_refresh = token_for(&server, "v-refresh").await;
    post_ok(
        &server,
        "/api/{sid}/auth/token/revoke",
        json!({"refreshTokenIdentifier": by_refresh["refreshToken"]}),
    )
    .await;
    let by_rfc = token_for(&server, "v-rfc").await;
    let (status, answer) = server
        .post(
            "/api/{sid}/auth/revocation",
            json!({"parameters": format!("token={}", text(&by_rfc["accessToken"])), "clientId": client.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // By client: the client's tokens of one subject (revoke, and deleting the user's grant).
    token_for(&server, "carol").await;
    token_for(&server, "carol").await;
    let answer = post_ok(
        &server,
        "/api/{sid}/auth/token/revoke",
        json!({"clientIdentifier": alias, "subject": "carol"}),
    )
    .await;
    assert_eq!(answer["count"], 2);
    token_for(&server, "grant").await;
    let (status, answer) =
        server.delete(&format!("/api/{{sid}}/client/authorization/delete/{client}/grant")).await;
    assert!(status.is_success(), "{answer}");
    // By subject: every token of the subject, every client; the user signed out everywhere.
    token_for(&server, "dave").await;
    token_for(&server, "dave").await;
    token_for(&server, "dave").await;
    let answer = post_ok(&server, "/api/{sid}/auth/token/revoke", json!({"subject": "dave"})).await;
    assert_eq!(answer["count"], 3);
    // Family reuse: a rotated-away refresh value presented again (by the credential's holder).
    let family = token_for(&server, "erin").await;
    post_ok(&server, "/api/{sid}/auth/token/refresh", json!({"refreshToken": family["refreshToken"]})).await;
    let (status, answer) =
        server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": family["refreshToken"]})).await;
    assert!(status.is_client_error(), "{answer}");
    // Revoking what is not there records nothing.
    let answer = post_ok(
        &server,
        "/api/{sid}/auth/token/revoke",
        json!({"accessTokenIdentifier": "no-such-token-value"}),
    )
    .await;
    assert_eq!(answer["count"], 0);

    let log = service_log(&server).await;
    let revoked = |subject: &str| only(&log, "token.revoked", |e| e["subject"] == subject);
    let one_token =
        names(&["eventId", "at", "type", "actor", "subject", "clientId", "tokenId", "count", "reason"]);
    for (subject, token) in [("v-access", &by_access), ("v-refresh", &by_refresh), ("v-rfc", &by_rfc)] {
        let event = revoked(subject);
        assert_eq!((&event["reason"], &event["count"]), (&json!("by_value"), &json!(1)), "{event}");
        assert_eq!((&event["tokenId"], &event["clientId"]), (&token["tokenId"], &json!(client)), "{event}");
        assert_eq!(event["actor"], sat_actor, "{event}");
        assert_eq!(members(event), one_token, "{event}");
    }
    let many = names(&["eventId", "at", "type", "actor", "subject", "clientId", "count", "reason"]);
    for (subject, count) in [("carol", 2), ("grant", 1)] {
        let event = revoked(subject);
        assert_eq!(
            (&event["reason"], &event["count"], &event["clientId"]),
            (&json!("by_client"), &json!(count), &json!(client)),
            "{event}"
        );
        assert_eq!(event["actor"], sat_actor, "{event}");
        assert_eq!(members(event), many, "{event}");
    }
    let event = revoked("dave");
    assert_eq!(
        (&event["reason"], &event["count"], &event["actor"]),
        (&json!("by_subject"), &json!(3), &sat_actor),
        "{event}"
    );
    assert_eq!(
        members(event),
        names(&["eventId", "at", "type", "actor", "subject", "count", "reason"]),
        "{event}"
    );
    let signed_out = only(&log, "user.revoked", |e| e["subject"] == "dave");
    assert_eq!(signed_out["actor"], sat_actor);
    assert_eq!(members(signed_out), names(&["eventId", "at", "type", "actor", "subject"]), "{signed_out}");
    assert!(signed_out["eventId"].as_u64() < event["eventId"].as_u64(), "the cutoff first");
    let event = revoked("erin");
    assert_eq!(
        (&event["reason"], &event["count"], &event["tokenId"]),
        (&json!("family_reuse"), &json!(1), &family["tokenId"]),
        "{event}"
    );
    assert_eq!(event["actor"], actor("holder", &sat), "{event}");
    assert_eq!(members(event), one_token, "{event}");
    assert_eq!(of_type(&log, "token.revoked").len(), 7, "nothing for a revocation of nothing: {log:?}");
}

#[tokio::test]
async fn custom_tokens_are_recorded_when_generated_and_exchanged() {
    let server = TestServer::start().await;
    let (sat, _) = credential_ids(&server).await;
    let generated =
        post_ok(&server, "/api/{sid}/custom-token/generate", json!({"userId": "frank", "identity": "r"}))
            .await;
    let custom = text(&generated["data"]["customToken"]);
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            custom.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let (status, session) =
        post_anonymous(&server, "/api/{sid}/custom-token/exchange", json!({"customToken": custom})).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    // The session refreshed by its holder, without a credential.
    let (status, again) = post_anonymous(
        &server,
        "/api/{sid}/auth/token/refresh",
        json!({"refreshToken": session["refreshToken"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    // A replayed exchange changes nothing.
    let (status, _) =
        post_anonymous(&server, "/api/{sid}/custom-token/exchange", json!({"customToken": custom})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let log = service_log(&server).await;
    let made = only(&log, "custom_token.generated", |_| true);
    assert_eq!(made["actor"], actor("service_credential", &sat), "{made}");
    assert_eq!((&made["subject"], &made["kid"]), (&json!("frank"), &header["kid"]), "{made}");
    assert!(made["clientId"].is_i64(), "the custom-token sessions' client: {made}");
    assert_eq!(
        members(made),
        names(&["eventId", "at", "type", "actor", "subject", "clientId", "kid"]),
        "{made}"
    );
    let exchanged = only(&log, "custom_token.exchanged", |_| true);
    assert_eq!(exchanged["actor"], json!({"kind": "holder"}), "no credential, no ID: {exchanged}");
    assert_eq!(
        (&exchanged["subject"], &exchanged["tokenId"]),
        (&json!("frank"), &session["tokenId"]),
        "{exchanged}"
    );
    assert_eq!(exchanged["clientId"], made["clientId"]);
    assert_eq!(
        members(exchanged),
        names(&["eventId", "at", "type", "actor", "subject", "clientId", "tokenId"]),
        "{exchanged}"
    );
    let refreshed = only(&log, "token.refreshed", |_| true);
    assert_eq!(refreshed["actor"], json!({"kind": "holder"}), "{refreshed}");
    assert_eq!(refreshed["tokenId"], session["tokenId"]);
    assert!(of_type(&log, "token.created").is_empty(), "an exchange is not a create: {log:?}");
}

#[tokio::test]
async fn a_clients_creation_update_and_deletion_are_recorded() {
    let server = TestServer::start().await;
    let (sat, _) = credential_ids(&server).await;
    let created = post_ok(
        &server,
        "/api/{sid}/client/create",
        json!({"clientName": "mobile", "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"]}),
    )
    .await;
    let id = created["clientId"].as_i64().unwrap();
    post_ok(&server, &format!("/api/{{sid}}/client/update/{id}"), json!({"clientName": "mobile 2"})).await;
    for subject in ["m1", "m2"] {
        server
            .create(json!({"grantType": "AUTHORIZATION_CODE", "clientId": id, "subject": subject, "scopes": ["openid"]}))
            .await;
    }
    let (status, _) = server.delete(&format!("/api/{{sid}}/client/delete/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let log = service_log(&server).await;
    for event_type in ["client.created", "client.updated"] {
        let event = only(&log, event_type, |e| e["clientId"] == id);
        assert_eq!(event["actor"], actor("service_credential", &sat), "{event}");
        assert_eq!(members(event), names(&["eventId", "at", "type", "actor", "clientId"]), "{event}");
    }
    // Its tokens are revoked first (in bounded batches, each recorded once per subject it reached),
    // then it is deleted with whatever was left live (none here).
    for subject in ["m1", "m2"] {
        let revoked = only(&log, "token.revoked", |e| e["clientId"] == id && e["subject"] == subject);
        assert_eq!(
            (&revoked["count"], &revoked["reason"]),
            (&json!(1), &json!("by_client")),
            "its tokens: {revoked}"
        );
        assert_eq!(revoked["actor"], actor("service_credential", &sat));
        assert_eq!(
            members(revoked),
            names(&["eventId", "at", "type", "actor", "subject", "clientId", "count", "reason"])
        );
    }
    let deleted = only(&log, "client.deleted", |e| e["clientId"] == id);
    assert_eq!((&deleted["count"], &deleted["reason"]), (&json!(0), &json!("by_client")), "{deleted}");
    assert_eq!(deleted["actor"], actor("service_credential", &sat));
    assert_eq!(members(deleted), names(&["eventId", "at", "type", "actor", "clientId", "count", "reason"]));
    for revoked in of_type(&log, "token.revoked") {
        assert!(revoked["eventId"].as_u64() < deleted["eventId"].as_u64(), "revoked, then deleted");
    }
    // The provisioned client was recorded too, by the command line.
    let provisioned = only(&log, "client.created", |e| e["clientId"] == server.tenant.client.client_id.get());
    assert_eq!(provisioned["actor"], json!({"kind": "cli"}));
}

#[tokio::test]
async fn keys_rotated_and_revoked_are_recorded_with_the_tokens_they_signed() {
    let server = jwt_server(Config::default()).await;
    let (_, org) = credential_ids(&server).await;
    let org_actor = actor("organization_token", &org);
    let first_kid =
        server.store.keys.current_signing_key(server.tenant.service.id).await.unwrap().unwrap().kid;
    let (status, rotated) = as_org(&server, Method::POST, "/api/{sid}/keys/rotate", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let kid = text(&rotated["key"]["kid"]);
    token_for(&server, "gina").await;
    token_for(&server, "hal").await;
    let (status, revoked) =
        as_org(&server, Method::POST, &format!("/api/{{sid}}/keys/revoke/{kid}"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["tokensRevoked"], 2, "{revoked}");
    let replacement = text(&revoked["replacement"]["kid"]);

    let log = service_log(&server).await;
    let first = only(&log, "key.rotated", |e| e["kid"] == first_kid.as_str());
    assert_eq!(first["actor"], json!({"kind": "cli"}), "the service's first key, provisioned: {first}");
    for (event_type, kid) in [("key.rotated", &kid), ("key.revoked", &kid), ("key.rotated", &replacement)] {
        let event = only(&log, event_type, |e| e["kid"] == kid.as_str());
        assert_eq!(event["actor"], org_actor, "{event}");
        assert_eq!(members(event), names(&["eventId", "at", "type", "actor", "kid"]), "{event}");
    }
    // What the key signed, recorded once per subject it reached.
    let position = |e: &Value| e["eventId"].as_u64().unwrap();
    let key_revoked = only(&log, "key.revoked", |_| true);
    for subject in ["gina", "hal"] {
        let tokens = only(&log, "token.revoked", |e| e["subject"] == subject);
        assert_eq!(
            (&tokens["reason"], &tokens["count"], &tokens["kid"]),
            (&json!("key_revoke"), &json!(1), &json!(kid)),
            "{tokens}"
        );
        assert_eq!(tokens["actor"], org_actor);
        assert_eq!(
            members(tokens),
            names(&["eventId", "at", "type", "actor", "subject", "kid", "count", "reason"]),
            "{tokens}"
        );
        assert!(position(key_revoked) < position(tokens), "the key, then what it signed");
    }
}

#[tokio::test]
async fn the_organizations_stream_records_its_services_and_credentials() {
    let server = TestServer::start().await;
    let (sat, org) = credential_ids(&server).await;
    let org_actor = actor("organization_token", &org);
    let sid = server.sid();

    // Provisioned by the command line: the service and both credentials.
    let log = org_log(&server).await;
    let first = only(&log, "service.created", |_| true);
    assert_eq!((&first["serviceId"], &first["actor"]), (&json!(sid), &json!({"kind": "cli"})), "{first}");
    let made = only(&log, "credential.created", |e| e["credentialId"] == sat.as_str());
    assert_eq!((&made["serviceId"], &made["actor"]), (&json!(sid), &json!({"kind": "cli"})), "{made}");
    let made = only(&log, "credential.created", |e| e["credentialId"] == org.as_str());
    assert_eq!(members(made), names(&["eventId", "at", "type", "actor", "credentialId"]), "{made}");

    // Over HTTP with the organization token: a service created, updated and deleted.
    let (status, created) =
        as_org(&server, Method::POST, "/api/service/create", Some(json!({"serviceName": "shop"}))).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let shop = created["apiKey"].as_u64().unwrap();
    let (status, answer) = as_org(
        &server,
        Method::POST,
        &format!("/api/{shop}/service/update"),
        Some(json!({"serviceName": "shop 2"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // With the command line: credentials of the new service and of the organization; one revoked.
    let shop_credential =
        cli(&server, &["admin", "credential", "create", "--service", &shop.to_string()]).await;
    let shop_credential_id = shop_credential["credential"]["id"].to_string();
    let org_credential =
        cli(&server, &["admin", "credential", "create", "--org", &server.tenant.org.id.get().to_string()])
            .await;
    let org_credential_id = org_credential["credential"]["id"].to_string();
    let answer = cli(&server, &["admin", "credential", "revoke", &org_credential_id]).await;
    assert_eq!(answer["revoked"], true, "{answer}");
    // The new service's stream exists while it does; deleting it revokes its credential.
    let (status, shop_events) =
        get_as(&server, Some(&server.tenant.org_token), &format!("/api/{shop}/events")).await;
    assert_eq!(status, StatusCode::OK, "{shop_events}");
    let (status, _) = as_org(&server, Method::DELETE, &format!("/api/{shop}/service/delete"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let log = org_log(&server).await;
    let for_shop = |event_type: &str| only(&log, event_type, |e| e["serviceId"] == shop);
    for event_type in ["service.created", "service.updated"] {
        let event = for_shop(event_type);
        assert_eq!(event["actor"], org_actor, "{event}");
        assert_eq!(members(event), names(&["eventId", "at", "type", "actor", "serviceId"]), "{event}");
    }
    let deleted = for_shop("service.deleted");
    assert_eq!(
        (&deleted["actor"], &deleted["count"]),
        (&org_actor, &json!(1)),
        "its credential revoked: {deleted}"
    );
    assert_eq!(members(deleted), names(&["eventId", "at", "type", "actor", "serviceId", "count"]));
    let made = only(&log, "credential.created", |e| e["credentialId"] == shop_credential_id.as_str());
    assert_eq!((&made["actor"], &made["serviceId"]), (&json!({"kind": "cli"}), &json!(shop)), "{made}");
    assert_eq!(members(made), names(&["eventId", "at", "type", "actor", "serviceId", "credentialId"]));
    let made = only(&log, "credential.created", |e| e["credentialId"] == org_credential_id.as_str());
    assert!(made.get("serviceId").is_none(), "an Organization Token: {made}");
    let revoked = only(&log, "credential.revoked", |_| true);
    assert_eq!(
        (&revoked["credentialId"], &revoked["actor"]),
        (&json!(org_credential_id), &json!({"kind": "cli"})),
        "{revoked}"
    );
    assert_eq!(members(revoked), names(&["eventId", "at", "type", "actor", "credentialId"]));
    let ids: Vec<u64> = [for_shop("service.created"), for_shop("service.updated"), revoked, deleted]
        .iter()
        .map(|e| e["eventId"].as_u64().unwrap())
        .collect();
    assert!(ids.is_sorted(), "{ids:?}");

    // The organization's events are on its stream only, and a service's on the service's only.
    let service_types: Vec<String> = service_log(&server).await.iter().map(|e| text(&e["type"])).collect();
    assert!(
        service_types.iter().all(|t| !t.starts_with("service.") && !t.starts_with("credential.")),
        "{service_types:?}"
    );
    assert!(
        log.iter().all(|e| {
            let t = e["type"].as_str().unwrap();
            t.starts_with("service.") || t.starts_with("credential.")
        }),
        "{log:?}"
    );
    // A deleted service's stream is gone with it.
    let (status, answer) =
        get_as(&server, Some(&server.tenant.org_token), &format!("/api/{shop}/events")).await;
    assert_eq!((status, &answer["resultCode"]), (StatusCode::NOT_FOUND, &json!("A001204")), "{answer}");
    let kept = shop_events["events"].as_array().unwrap();
    assert!(kept.iter().any(|e| e["type"] == "key.rotated"), "its first key, while it lived: {shop_events}");
}

#[tokio::test]
async fn the_janitor_records_each_batch_of_purged_tokens_and_the_retired_status_lists() {
    let config = Config {
        public_base_url: Some("https://tokens.example".into()),
        tenancy_cache_ms: 0,
        status_list_refresh_ms: 0,
        ..Config::default()
    };
    let spec = ServiceSpec::from(ServiceSettings {
        supported_scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        access_token_sign_alg: Some(token_server::keys::SignAlg::Es256),
        status_list_ttl: Some(300),
        ..ServiceSettings::default()
    });
    let server = TestServer::start_with(config, spec).await;
    let mut revoked = Vec::new();
    for subject in ["p1", "p2", "p3", "p4"] {
        let created = token_for(&server, subject).await;
        assert!(created["jwtAccessToken"].as_str().unwrap().contains('.'), "a JWT with a status entry");
        revoked.push(created);
    }
    let answer = post_ok(&server, "/api/{sid}/auth/token/revoke", json!({"subject": "p1"})).await;
    assert_eq!(answer["count"], 1);
    for created in &revoked[1..] {
        post_ok(
            &server,
            "/api/{sid}/auth/token/revoke",
            json!({"accessTokenIdentifier": created["accessToken"]}),
        )
        .await;
    }
    // The list full and every JWT naming it expired: what months of issuance would leave.
    server
        .execute_sql(
            &format!(
                "UPDATE status_lists SET next_idx = size, jwt_expires_by = 0 WHERE service_id = {}",
                server.sid()
            ),
            false,
        )
        .await;
    let before = service_log(&server).await.len();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let run = server
        .state
        .maintenance()
        .run_janitor(0, 3, token_server::service::maintenance::JanitorPacing::FlatOut)
        .await
        .unwrap();
    assert_eq!((run.purged.tokens, run.purged.status_lists), (4, 1), "{run:?}");

    let log = service_log(&server).await;
    let new = &log[before..];
    let purged: Vec<&Value> = new.iter().filter(|e| e["type"] == "tokens.purged").collect();
    let counts: Vec<u64> = purged.iter().map(|e| e["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [3, 1], "one event per batch of at most 3: {new:?}");
    let retired = only(new, "status_list.retired", |_| true);
    assert_eq!(retired["count"], 1, "{retired}");
    for event in purged.iter().copied().chain([retired]) {
        assert_eq!(event["actor"], json!({"kind": "janitor"}), "{event}");
        assert_eq!(members(event), names(&["eventId", "at", "type", "actor", "count"]), "{event}");
    }
    assert_eq!(new.len(), 3, "nothing else: {new:?}");
    // A run with nothing to do records nothing.
    server
        .state
        .maintenance()
        .run_janitor(0, 3, token_server::service::maintenance::JanitorPacing::FlatOut)
        .await
        .unwrap();
    assert_eq!(stream(&server, &server.tenant.service_token, "/api/{sid}/events").await, log);
}

// ---------------------------------------------------------------- no secret in any event

#[tokio::test]
async fn no_event_holds_a_secret_or_its_hash() {
    let server = TestServer::start().await;
    let mut secrets: Vec<(String, String)> = Vec::new();
    let mut keep = |what: &str, value: &Value| {
        let value = text(value);
        assert!(value.len() >= 32, "{what}: too short to search for: {value}");
        secrets.push((what.to_owned(), value));
    };
    keep("service token", &json!(server.tenant.service_token));
    keep("organization token", &json!(server.tenant.org_token));

    // JWT access tokens too.
    let (status, answer) = as_org(
        &server,
        Method::POST,
        "/api/{sid}/service/update",
        Some(json!({"accessTokenSignAlg": "ES256"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let created = token_for(&server, "secretive").await;
    keep("access token", &created["accessToken"]);
    keep("refresh token", &created["refreshToken"]);
    keep("JWT access token", &created["jwtAccessToken"]);
    let imported = format!("imported-{:032x}", rand::random::<u128>());
    let mut body = server.create_body();
    body["subject"] = json!("secretive");
    body["accessToken"] = json!(imported);
    body["refreshToken"] = json!(format!("imported-refresh-{:032x}", rand::random::<u128>()));
    let imported_token = server.create(body).await;
    keep("imported access token", &imported_token["accessToken"]);
    keep("imported refresh token", &imported_token["refreshToken"]);
    // A new value by update, a rotation, then the reuse of the rotated-away value.
    let (status, updated) = server
        .post(
            "/api/{sid}/auth/token/update",
            json!({"accessToken": created["accessToken"], "accessTokenValueUpdated": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    keep("updated access token", &updated["accessToken"]);
    let (status, refreshed) =
        server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": created["refreshToken"]})).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    keep("refreshed access token", &refreshed["accessToken"]);
    keep("refreshed refresh token", &refreshed["refreshToken"]);
    keep("refreshed JWT", &refreshed["jwtAccessToken"]);
    let (status, _) =
        server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": created["refreshToken"]})).await;
    assert!(status.is_client_error());
    // Custom tokens: generated, exchanged, the session refreshed by its holder.
    let (status, generated) = server
        .post("/api/{sid}/custom-token/generate", json!({"userId": "secretive", "identity": "r"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{generated}");
    keep("custom token", &generated["data"]["customToken"]);
    let (status, session) = read(
        server
            .http
            .post(server.url("/api/{sid}/custom-token/exchange"))
            .json(&json!({"customToken": generated["data"]["customToken"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    keep("session access token", &session["accessToken"]);
    keep("session refresh token", &session["refreshToken"]);
    // Revocations by value and by hash, a deletion by value.
    let imported_hash = TokenHash::of(&imported).as_str().to_owned();
    let (status, answer) =
        server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": imported_hash})).await;
    assert_eq!((status, answer["count"].as_u64()), (StatusCode::OK, Some(1)), "{answer}");
    let (status, answer) = server
        .post("/api/{sid}/auth/token/revoke", json!({"refreshTokenIdentifier": session["refreshToken"]}))
        .await;
    assert_eq!((status, answer["count"].as_u64()), (StatusCode::OK, Some(1)), "{answer}");
    let doomed = token_for(&server, "secretive").await;
    keep("deleted access token", &doomed["accessToken"]);
    keep("deleted refresh token", &doomed["refreshToken"]);
    let (status, _) =
        server.delete(&format!("/api/{{sid}}/auth/token/delete/{}", text(&doomed["accessToken"]))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Credentials made and revoked.
    for principal in
        [Principal::Service(server.tenant.service.id), Principal::Organization(server.tenant.org.id)]
    {
        let issued = server
            .state
            .tenancy()
            .issue_credential(principal, "extra", None, &token_server::store::Actor::cli())
            .await
            .unwrap();
        keep("extra credential", &json!(issued.secret.secret()));
        server
            .state
            .tenancy()
            .revoke_credential(issued.record.id, &token_server::store::Actor::cli())
            .await
            .unwrap();
    }
    // Keys: a rotation, then the key revoked with what it signed; its private part kept first.
    let (status, rotated) = as_org(&server, Method::POST, "/api/{sid}/keys/rotate", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let signed = token_for(&server, "secretive").await;
    keep("JWT of the revoked key", &signed["jwtAccessToken"]);
    let key = server.store.keys.current_signing_key(server.tenant.service.id).await.unwrap().unwrap();
    assert_eq!(key.kid, text(&rotated["key"]["kid"]));
    let der = &key.private_der.0;
    assert!(der.len() >= 32);
    let (status, answer) =
        as_org(&server, Method::POST, &format!("/api/{{sid}}/keys/revoke/{}", key.kid), Some(json!({})))
            .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    server
        .state
        .maintenance()
        .run_janitor(0, 100, token_server::service::maintenance::JanitorPacing::FlatOut)
        .await
        .unwrap();

    let service_events = service_log(&server).await;
    let org_events = org_log(&server).await;
    let dump = format!("{}\n{}", Value::from(service_events.clone()), Value::from(org_events.clone()));
    // What was done is there (so that the search below searches something).
    let types: std::collections::BTreeSet<&str> =
        service_events.iter().chain(&org_events).map(|e| e["type"].as_str().unwrap()).collect();
    for expected in [
        "token.created",
        "token.updated",
        "token.refreshed",
        "token.revoked",
        "token.deleted",
        "custom_token.generated",
        "custom_token.exchanged",
        "key.rotated",
        "key.revoked",
        "credential.created",
        "credential.revoked",
        "service.updated",
    ] {
        assert!(types.contains(expected), "{expected} missing: {types:?}");
    }
    assert!(dump.contains(&text(&created["tokenId"])) && dump.contains(&key.kid), "IDs are named");

    let mut searched = Vec::new();
    for (what, value) in &secrets {
        searched.push((what.clone(), value.clone()));
        searched.push((format!("hash of {what}"), TokenHash::of(value).as_str().to_owned()));
    }
    let engines = [
        ("private key (base64url)", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(der)),
        ("private key (base64)", base64::engine::general_purpose::STANDARD.encode(der)),
        ("private key (hex)", der.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    ];
    searched.extend(engines.into_iter().map(|(what, value)| (what.to_owned(), value)));
    for (what, value) in &searched {
        // A JWT's header and claims are not secret on their own: its signature is.
        let needle = match value.rsplit_once('.') {
            Some((_, signature)) if value.matches('.').count() == 2 => signature,
            _ => value.as_str(),
        };
        assert!(!dump.contains(needle), "{what} is in an event: {needle}");
        // Nor a part of it: its last 32 characters are secret in every format (a generated value
        // leads with its token ID, a generated value's hash too).
        let tail = &needle[needle.len() - 32..];
        assert!(!dump.contains(tail), "a part of {what} is in an event: {tail}");
    }
    // The dump is only what the records hold: identifiers, kinds, counts, reasons, times.
    let allowed = names(&[
        "eventId",
        "at",
        "type",
        "actor",
        "serviceId",
        "subject",
        "clientId",
        "tokenId",
        "kid",
        "credentialId",
        "count",
        "reason",
    ]);
    for event in service_events.iter().chain(&org_events) {
        assert!(members(event).iter().all(|m| allowed.contains(m)), "{event}");
        assert!(event["actor"].as_object().unwrap().keys().all(|k| k == "kind" || k == "id"), "{event}");
    }
}
