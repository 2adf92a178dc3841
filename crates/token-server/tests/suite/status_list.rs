//! Token Status Lists end to end over HTTP (on PostgreSQL too when the suite runs there): the
//! `status` claim of JWT access tokens, the list each names (decompressed here with flate2 and its
//! signature verified by PyJWT through the public JWK Set), and every way a token ends setting its
//! bit before the call answers.

use std::io::Read as _;
use std::process::Command;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use token_server::Config;
use token_server::store::ServiceSettings;
use token_server::tenancy::ServiceSpec;

use crate::common::{SCOPES, TestServer, read};

const BASE: &str = "https://tokens.example";

fn b64(part: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()
}

fn jwt_part(jwt: &str, n: usize) -> Value {
    serde_json::from_slice(&b64(jwt.split('.').nth(n).unwrap())).unwrap()
}

async fn server() -> TestServer {
    let config = Config {
        public_base_url: Some(BASE.into()),
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
    TestServer::start_with(config, spec).await
}

/// The `status` claim of a JWT access token: (list path on this server, index).
fn entry(jwt: &str) -> (String, u64) {
    let claim = &jwt_part(jwt, 1)["status"]["status_list"];
    let uri = claim["uri"].as_str().unwrap();
    (uri.strip_prefix(BASE).unwrap().to_owned(), claim["idx"].as_u64().unwrap())
}

/// Fetches a list: the Status List Token and its decompressed bytes.
async fn fetch(server: &TestServer, path: &str) -> (String, Vec<u8>) {
    let response = server.http.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/statuslist+jwt");
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwt = response.text().await.unwrap();
    let lst = jwt_part(&jwt, 1)["status_list"]["lst"].as_str().unwrap().to_owned();
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(&b64(&lst)[..]).read_to_end(&mut bytes).unwrap();
    (jwt, bytes)
}

async fn status_of(server: &TestServer, jwt: &str) -> u8 {
    let (path, idx) = entry(jwt);
    let (_, bytes) = fetch(server, &path).await;
    token_core::status_list::status(&bytes, idx).unwrap()
}

/// PyJWT verifies a Status List Token with the service's public JWK Set.
fn pyjwt_verifies(jwks: &Value, jwt: &str) -> Value {
    const VERIFY: &str = r#"
import json, sys, jwt
jwks, token = json.loads(sys.argv[1]), sys.argv[2]
kid = jwt.get_unverified_header(token)["kid"]
key = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid)
print(json.dumps(jwt.decode(token, key, algorithms=["ES256", "EdDSA", "RS256"])))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(VERIFY)
        .arg(jwks.to_string())
        .arg(jwt)
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "PyJWT: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn a_jwt_names_its_entry_and_the_signed_list_says_valid_until_it_is_revoked() {
    let server = server().await;
    let created = server.create(server.create_body()).await;
    let jwt = created["jwtAccessToken"].as_str().unwrap().to_owned();
    let (path, idx) = entry(&jwt);
    assert_eq!(path, format!("/api/{}/statuslists/1", server.sid()));

    let (list, bytes) = fetch(&server, &path).await;
    assert_eq!(jwt_part(&list, 0)["typ"], "statuslist+jwt");
    assert_eq!(bytes.len(), (token_core::status_list::LIST_SIZE / 8) as usize);
    assert_eq!(token_core::status_list::status(&bytes, idx), Some(0));
    let (_, jwks) = server.get("/api/{sid}/jwks").await;
    let claims = pyjwt_verifies(&jwks, &list);
    assert_eq!(claims["sub"], format!("{BASE}{path}"));
    assert_eq!(claims["ttl"], 300);
    assert_eq!(claims["status_list"]["bits"], 1);
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // An unchanged list revalidates with its ETag.
    let response = server.http.get(server.url(&path)).send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let response = server.http.get(server.url(&path)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);

    let (status, answer) = server
        .post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": created["accessToken"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(status_of(&server, &jwt).await, 1, "the bit is set when the revocation answers");
    let response = server.http.get(server.url(&path)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "a changed list is sent again");
    let (list, _) = fetch(&server, &path).await;
    pyjwt_verifies(&jwks, &list);

    // The ETag is the served token's: re-signed by a new key (same bits), the list is sent again,
    // so a cache never keeps a token past its `exp` on a 304.
    let response = server.http.get(server.url(&path)).send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    server
        .state
        .tenancy()
        .rotate_key(server.tenant.service.id, None, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let response = server.http.get(server.url(&path)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "re-signed: sent again");
    let (resigned, _) = fetch(&server, &path).await;
    assert_ne!(resigned, list);
}

#[tokio::test]
async fn every_way_a_token_ends_sets_its_bit() {
    let server = server().await;
    let mut body = server.create_body();
    body["refreshTokenDuration"] = json!(3600);
    let fresh = || {
        let body = body.clone();
        let server = &server;
        async move { server.create(body).await }
    };

    // A refresh replaces the JWT: the old one's bit is set, the new one has its own index.
    let first = fresh().await;
    let old_jwt = first["jwtAccessToken"].as_str().unwrap().to_owned();
    let (status, refreshed) =
        server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": first["refreshToken"]})).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let new_jwt = refreshed["jwtAccessToken"].as_str().unwrap().to_owned();
    assert_ne!(entry(&old_jwt).1, entry(&new_jwt).1, "each JWT its own index");
    assert_eq!(status_of(&server, &old_jwt).await, 1, "the replaced JWT");
    assert_eq!(status_of(&server, &new_jwt).await, 0, "the new JWT");

    // Reuse of the rotated-away refresh token revokes the family: the new JWT's bit.
    let (status, _) =
        server.post("/api/{sid}/auth/token/refresh", json!({"refreshToken": first["refreshToken"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(status_of(&server, &new_jwt).await, 1, "reuse detection");

    // Delete, user revoke, client revoke, key revoke.
    let deleted = fresh().await;
    let (status, _) = server
        .delete(&format!("/api/{{sid}}/auth/token/delete/{}", deleted["accessToken"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&server, deleted["jwtAccessToken"].as_str().unwrap()).await, 1, "delete");

    let user = fresh().await;
    let (status, _) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "john"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(status_of(&server, user["jwtAccessToken"].as_str().unwrap()).await, 1, "user revoke");

    let by_client = fresh().await;
    let client = server.tenant.client.client_id.to_string();
    let (status, _) = server.post("/api/{sid}/auth/token/revoke", json!({"clientIdentifier": client})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(status_of(&server, by_client["jwtAccessToken"].as_str().unwrap()).await, 1, "client revoke");

    let by_key = fresh().await;
    let kid = jwt_part(by_key["jwtAccessToken"].as_str().unwrap(), 0)["kid"].as_str().unwrap().to_owned();
    server
        .state
        .tenancy()
        .revoke_key(server.tenant.service.id, &kid, &token_server::store::Actor::cli())
        .await
        .unwrap();
    assert_eq!(status_of(&server, by_key["jwtAccessToken"].as_str().unwrap()).await, 1, "key revoke");
    let live = fresh().await;
    assert_eq!(status_of(&server, live["jwtAccessToken"].as_str().unwrap()).await, 0, "a live one stays 0");

    // Deleting the client revokes its tokens.
    let of_client = fresh().await;
    let (status, _) = server.delete(&format!("/api/{{sid}}/client/delete/{client}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&server, of_client["jwtAccessToken"].as_str().unwrap()).await, 1, "client delete");
}

#[tokio::test]
async fn lists_are_refused_where_they_do_not_exist_and_need_a_public_base_url() {
    let server = server().await;
    let created = server.create(server.create_body()).await;
    let (path, _) = entry(created["jwtAccessToken"].as_str().unwrap());
    for (bad, expected) in [
        (path.replace("/statuslists/1", "/statuslists/0"), StatusCode::BAD_REQUEST),
        (path.replace("/statuslists/1", "/statuslists/abc"), StatusCode::BAD_REQUEST),
        // One list, one URL: no sign, no leading zero (each would be another cache entry).
        (path.replace("/statuslists/1", "/statuslists/01"), StatusCode::BAD_REQUEST),
        (path.replace("/statuslists/1", "/statuslists/+1"), StatusCode::BAD_REQUEST),
        (path.replace("/statuslists/1", "/statuslists/99"), StatusCode::NOT_FOUND),
        ("/api/1/statuslists/1".to_owned(), StatusCode::NOT_FOUND),
    ] {
        let (status, answer) = read(server.http.get(server.url(&bad)).send().await.unwrap()).await;
        assert_eq!(status, expected, "{bad}: {answer}");
        let code = if expected == StatusCode::BAD_REQUEST {
            "A001208"
        } else if bad.starts_with("/api/1/") {
            "A001204"
        } else {
            "A406201"
        };
        assert_eq!(answer["resultCode"], code, "{bad}: {answer}");
    }
    // Turned off: new JWTs carry no status claim, but the lists JWTs already name are still
    // served (#37): a verifier must still learn that a JWT issued before was revoked.
    let (status, answer) = server
        .post_as(
            &server.tenant.org_token.clone(),
            "/api/{sid}/service/update",
            json!({"extension": {"statusListTTL": 0}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["extension"].get("statusListTTL").is_none(), "{answer}");
    let plain = server.create(server.create_body()).await;
    assert!(jwt_part(plain["jwtAccessToken"].as_str().unwrap(), 1).get("status").is_none());
    let jwt = created["jwtAccessToken"].as_str().unwrap();
    assert_eq!(status_of(&server, jwt).await, 0, "still served, the JWT valid");
    let hash = created["accessToken"].as_str().unwrap();
    let (status, answer) =
        server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": hash})).await;
    assert_eq!((status, answer["count"].as_u64()), (StatusCode::OK, Some(1)), "{answer}");
    assert_eq!(status_of(&server, jwt).await, 1, "its revocation still shows");
    let (status, answer) = server
        .post_as(
            &server.tenant.org_token.clone(),
            "/api/{sid}/service/update",
            json!({"extension": {"statusListTTL": 86_401}}),
        )
        .await;
    assert_eq!(
        (status, answer["resultCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("A210203")),
        "{answer}"
    );

    // A server without public_base_url cannot turn them on.
    let bare = TestServer::start().await;
    let (status, answer) = bare
        .post_as(
            &bare.tenant.org_token.clone(),
            "/api/{sid}/service/update",
            json!({"extension": {"statusListTTL": 300}}),
        )
        .await;
    assert_eq!(
        (status, answer["resultCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("A210203")),
        "{answer}"
    );
    assert!(answer["resultMessage"].as_str().unwrap().contains("public_base_url"), "{answer}");
}

/// A replayed custom token is refused before any work (#37): no signature, no status index, no
/// write. 50 replays between two token creates leave the creates' indexes two apart (the
/// exchange's own JWT takes the one between). Before: each replay signed a JWT and burnt an index.
#[tokio::test]
async fn a_replayed_custom_token_costs_no_status_index() {
    let server = server().await;
    let first = server.create(server.create_body()).await;
    let (_, generated) =
        server.post("/api/{sid}/custom-token/generate", json!({"userId": "u", "identity": "r"})).await;
    let custom = generated["data"]["customToken"].clone();
    let (status, exchanged) =
        server.post("/api/{sid}/custom-token/exchange", json!({"customToken": custom})).await;
    assert_eq!(status, StatusCode::OK, "{exchanged}");
    for _ in 0..50 {
        let (status, replay) =
            server.post("/api/{sid}/custom-token/exchange", json!({"customToken": custom})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{replay}");
        assert!(replay["error"].as_str().unwrap().contains("already"), "{replay}");
    }
    let second = server.create(server.create_body()).await;
    let (_, a) = entry(first["jwtAccessToken"].as_str().unwrap());
    let (_, b) = entry(second["jwtAccessToken"].as_str().unwrap());
    assert_eq!(b, a + 2, "only the exchange took an index between them");
}
