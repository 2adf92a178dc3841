//! POST /api/{serviceId}/auth/token/create against a running server: every rule of `004_…`.

use crate::common::{TestServer, spec};
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use reqwest::StatusCode;
use serde_json::{Value, json};
use token_core::grant::GrantType;
use token_server::Config;
use token_server::keys::SignAlg;

const THUMB: &str = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0";

#[tokio::test]
async fn creates_a_token_in_the_documents_shape() {
    let server = TestServer::start().await;
    let before = token_server::clock::now_ms();
    let answer = server.create(server.create_body()).await;
    assert_eq!(answer["resultCode"], "A109001");
    assert_eq!(answer["action"], "OK");
    let client = server.tenant.client.client_id;
    assert_eq!(
        answer["resultMessage"],
        format!("[A109001] An access token was created successfully: authorization_code, client = {client}")
    );
    assert_eq!(answer["clientId"], json!(client));
    assert_eq!(answer["grantType"], "AUTHORIZATION_CODE");
    assert_eq!(answer["subject"], "john");
    assert_eq!(answer["tokenType"], "Bearer");
    assert_eq!(answer["scopes"], json!(["history.read", "timeline.read"]));
    assert_eq!(answer["refreshTokenScopes"], json!(["history.read", "timeline.read"]));
    assert_eq!(answer["expiresIn"], 3600);
    let expires_at = answer["expiresAt"].as_i64().unwrap();
    assert!(expires_at >= before + 3_600_000 && expires_at < before + 3_700_000, "expiresAt is in ms");
    assert_eq!(answer["accessToken"].as_str().unwrap().len(), 80, "atk_, token ID, 256 bits, check");
    assert!(answer["refreshToken"].is_string());
    assert!(answer["tokenId"].is_string());
    assert!(answer.get("jwtAccessToken").is_none(), "no JWT unless the service signs access tokens");

    // The store keeps only the hash, and the token introspects as issued.
    let access = answer["accessToken"].as_str().unwrap();
    let stored = server
        .store
        .tokens
        .token_by_access_hash(server.tenant.service.id, &token_core::TokenHash::of(access))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.access_hash.as_str(), access);
    let info = server.introspect(access).await;
    assert_eq!(info["action"], "OK");
    assert_eq!(info["subject"], "john");
}

#[tokio::test]
async fn all_ten_grant_types_and_the_refresh_token_rule() {
    let server = TestServer::start().await;
    for grant in GrantType::ALL {
        let mut body = server.create_body();
        body["grantType"] = json!(grant.as_str());
        let answer = server.create(body).await;
        assert_eq!(answer["grantType"], grant.as_str());
        let has_refresh = answer.get("refreshToken").is_some();
        let expected = !matches!(grant, GrantType::Implicit | GrantType::ClientCredentials);
        assert_eq!(has_refresh, expected, "{grant:?}");
        assert_eq!(answer.get("refreshTokenScopes").is_some(), expected, "{grant:?}");
    }
    // CLIENT_CREDENTIALS needs no subject.
    let answer = server
        .create(json!({"grantType": "CLIENT_CREDENTIALS", "clientId": server.tenant.client.client_id, "scopes": ["write"]}))
        .await;
    assert!(answer.get("subject").is_none());
}

#[tokio::test]
async fn no_refresh_token_when_the_service_does_not_support_refresh_token() {
    let mut spec = spec();
    spec.settings.supported_grant_types = vec![GrantType::AuthorizationCode, GrantType::Password];
    let server = TestServer::start_with(Config::default(), spec).await;
    let answer = server.create(server.create_body()).await;
    assert!(answer.get("refreshToken").is_none(), "{answer}");
    let mut body = server.create_body();
    body["grantType"] = json!("CIBA");
    let (status, answer) = server.post("/api/{sid}/auth/token/create", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["resultCode"], "A109208");
}

#[tokio::test]
async fn durations_default_and_persistent_tokens() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["accessTokenDuration"] = json!(120);
    body["refreshTokenDuration"] = json!(600);
    let answer = server.create(body).await;
    assert_eq!(answer["expiresIn"], 120);

    let mut body = server.create_body();
    body["accessTokenDuration"] = json!(0);
    assert_eq!(server.create(body).await["expiresIn"], 3600);

    // Persistent: the duration is ignored and expiresAt/expiresIn are 0 (= never expires).
    let mut body = server.create_body();
    body["accessTokenPersistent"] = json!(true);
    body["accessTokenDuration"] = json!(5);
    let answer = server.create(body).await;
    assert_eq!((answer["expiresAt"].as_i64(), answer["expiresIn"].as_i64()), (Some(0), Some(0)));
    let info = server.introspect(answer["accessToken"].as_str().unwrap()).await;
    assert_eq!(info["action"], "OK");
    assert_eq!(info["expiresAt"], 0);
}

#[tokio::test]
async fn caller_supplied_values_are_used_and_never_overwritten() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["accessToken"] = json!("imported-access-token-0001");
    body["refreshToken"] = json!("imported-refresh-token-0001");
    let answer = server.create(body.clone()).await;
    assert_eq!(answer["accessToken"], "imported-access-token-0001");
    assert_eq!(answer["refreshToken"], "imported-refresh-token-0001");
    let first_id = answer["tokenId"].clone();

    // The same value again is rejected and the first token is untouched.
    body["subject"] = json!("mallory");
    let count = server.token_count().await;
    let (status, answer) = server.post("/api/{sid}/auth/token/create", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["resultCode"], "A109213");
    assert_eq!(server.token_count().await, count);
    let info = server.introspect("imported-access-token-0001").await;
    assert_eq!(info["subject"], "john");
    let listed = server.get("/api/{sid}/auth/token/get/list").await.1;
    assert!(listed["accessTokens"].as_array().unwrap().iter().any(|t| t["tokenId"] == first_id));
}

/// A caller-chosen value is unique within its service only: another organization choosing the
/// same value is served, and learns nothing about the first ("value in use" would tell it).
#[tokio::test]
async fn a_chosen_value_is_unique_per_service_and_tells_other_tenants_nothing() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["accessToken"] = json!("tenant-chosen-access-0001");
    body["refreshToken"] = json!("tenant-chosen-refresh-0001");
    server.create(body.clone()).await;

    let other = crate::common::provision(&server.state, &crate::common::spec()).await;
    body["clientId"] = json!(other.client.client_id);
    body["subject"] = json!("someone-else");
    let path = format!("/api/{}/auth/token/create", other.service.id);
    let (status, answer) = server.post_as(&other.service_token, &path, body).await;
    assert_eq!(status, StatusCode::OK, "another tenant may choose the same value: {answer}");
    // Each service sees its own token under the value.
    let mine = server.introspect("tenant-chosen-access-0001").await;
    assert_eq!(mine["subject"], "john");
    let path = format!("/api/{}/auth/introspection", other.service.id);
    let (_, theirs) =
        server.post_as(&other.service_token, &path, json!({"token": "tenant-chosen-access-0001"})).await;
    assert_eq!(theirs["subject"], "someone-else", "{theirs}");
}

#[tokio::test]
async fn properties_are_stored_and_hidden_ones_are_not_returned() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["properties"] = json!([
        {"key": "shown", "value": "1"},
        {"key": "secret", "value": "2", "hidden": true}
    ]);
    let answer = server.create(body).await;
    assert_eq!(answer["properties"], json!([{"key": "shown", "value": "1", "hidden": false}]));
    let token = answer["accessToken"].as_str().unwrap();
    // RFC 7662 answers show only the visible property unless hidden ones are asked for.
    let (_, standard) = server
        .post("/api/{sid}/auth/introspection/standard", json!({"parameters": format!("token={token}")}))
        .await;
    let content: Value = serde_json::from_str(standard["responseContent"].as_str().unwrap()).unwrap();
    assert_eq!(content["shown"], "1");
    assert!(content.get("secret").is_none());
    let (_, standard) = server
        .post(
            "/api/{sid}/auth/introspection/standard",
            json!({"parameters": format!("token={token}"), "withHiddenProperties": true}),
        )
        .await;
    let content: Value = serde_json::from_str(standard["responseContent"].as_str().unwrap()).unwrap();
    assert_eq!(content["secret"], "2");
}

#[tokio::test]
async fn client_identifier_echoes() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["clientIdAliasUsed"] = json!(true);
    assert_eq!(server.create(body).await["clientIdentifier"], json!(server.tenant.client.alias));
    let mut body = server.create_body();
    body["clientEntityIdUsed"] = json!(true);
    assert_eq!(server.create(body).await["clientIdentifier"], "https://rp.example.com");
    let mut body = server.create_body();
    body["clientIdentifier"] = json!("given-id");
    body["sessionId"] = json!("sess-1");
    let answer = server.create(body).await;
    assert_eq!(answer["clientIdentifier"], "given-id");
    assert_eq!(answer["sessionId"], "sess-1");
    assert!(server.create(server.create_body()).await.get("clientIdentifier").is_none());
}

#[tokio::test]
async fn dpop_and_mtls_bindings() {
    let server = TestServer::start().await;
    let mut body = server.create_body();
    body["dpopKeyThumbprint"] = json!(THUMB);
    let answer = server.create(body).await;
    assert_eq!(answer["tokenType"], "DPoP");
    let token = answer["accessToken"].as_str().unwrap().to_owned();
    // Introspection without the matching key is refused; with it, accepted.
    let (_, info) = server.post("/api/{sid}/auth/introspection", json!({"token": token})).await;
    assert_eq!(info["action"], "UNAUTHORIZED");
    assert!(info["responseContent"].as_str().unwrap().starts_with("DPoP "));
    let (_, info) = server
        .post("/api/{sid}/auth/introspection", json!({"token": token, "dpopKeyThumbprint": THUMB}))
        .await;
    assert_eq!(info["action"], "OK");

    // mTLS: a certificate's x5t#S256 is the SHA-256 of its DER.
    let der = b"not really a certificate, but DER bytes all the same";
    use base64::Engine as _;
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
        base64::engine::general_purpose::STANDARD.encode(der)
    );
    let thumb = token_server::service::introspection::certificate_thumbprint(&pem).unwrap();
    let mut body = server.create_body();
    body["certificateThumbprint"] = json!(thumb);
    let token = server.create(body).await["accessToken"].as_str().unwrap().to_owned();
    let (_, info) = server.post("/api/{sid}/auth/introspection", json!({"token": token})).await;
    assert_eq!(info["resultCode"], "A056206");
    let (_, info) =
        server.post("/api/{sid}/auth/introspection", json!({"token": token, "clientCertificate": pem})).await;
    assert_eq!(info["action"], "OK");
    assert_eq!(info["certificateThumbprint"], json!(thumb));
}

async fn verify_with_jwks(server: &TestServer, jwt: &str, alg: jsonwebtoken::Algorithm) -> Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, alg);
    let jwks: JwkSet =
        server.http.get(server.url("/api/{sid}/jwks")).send().await.unwrap().json().await.unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("kid published");
    let mut validation = Validation::new(alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &validation).unwrap().claims
}

#[tokio::test]
async fn jwt_access_tokens_follow_rfc_9068_for_every_algorithm() {
    for (alg, jwt_alg) in [
        (SignAlg::EdDsa, jsonwebtoken::Algorithm::EdDSA),
        (SignAlg::Es256, jsonwebtoken::Algorithm::ES256),
        (SignAlg::Rs256, jsonwebtoken::Algorithm::RS256),
    ] {
        let mut spec = spec();
        spec.settings.access_token_sign_alg = Some(alg);
        let server = TestServer::start_with(Config::default(), spec).await;
        let mut body = server.create_body();
        body["resources"] = json!(["https://api.example.com/a", "https://api.example.com/b"]);
        body["certificateThumbprint"] = json!(THUMB);
        body["authorizationDetails"] = json!([{"type": "payment", "amount": "10"}]);
        body["jwtAtClaims"] = json!(r#"{"tenant": "acme"}"#);
        body["acr"] = json!("urn:mace:incommon:iap:silver");
        body["authTime"] = json!(1_700_000_000);
        let answer = server.create(body).await;
        let claims = verify_with_jwks(&server, answer["jwtAccessToken"].as_str().unwrap(), jwt_alg).await;
        assert_eq!(claims["iss"], server.tenant.service.issuer);
        assert_eq!(claims["sub"], "john");
        assert_eq!(claims["aud"], json!(["https://api.example.com/a", "https://api.example.com/b"]));
        assert_eq!(claims["client_id"], server.tenant.client.client_id.to_string());
        assert_eq!(claims["scope"], "history.read timeline.read");
        assert_eq!(claims["jti"], answer["tokenId"]);
        assert_eq!(claims["exp"].as_i64().unwrap(), answer["expiresAt"].as_i64().unwrap() / 1000);
        assert!(claims["iat"].is_i64());
        assert_eq!(claims["cnf"], json!({"x5t#S256": THUMB}));
        assert_eq!(claims["authorization_details"], json!([{"type": "payment", "amount": "10"}]));
        assert_eq!(claims["tenant"], "acme");
        assert_eq!(claims["auth_time"], 1_700_000_000);
    }
}

#[tokio::test]
async fn dpop_bound_jwt_carries_jkt_and_jwt_at_claims_cannot_override() {
    let mut spec = spec();
    spec.settings.access_token_sign_alg = Some(SignAlg::EdDsa);
    let server = TestServer::start_with(Config::default(), spec).await;
    let mut body = server.create_body();
    body["dpopKeyThumbprint"] = json!(THUMB);
    let answer = server.create(body).await;
    let claims =
        verify_with_jwks(&server, answer["jwtAccessToken"].as_str().unwrap(), jsonwebtoken::Algorithm::EdDSA)
            .await;
    assert_eq!(claims["cnf"], json!({"jkt": THUMB}));

    // Registered claims, and the status-list reference the server writes (#37), are refused.
    for (claims, name) in [
        (r#"{"sub": "admin"}"#, "'sub'"),
        (r#"{"status": {"status_list": {"idx": 0, "uri": "https://evil.example/l"}}}"#, "'status'"),
    ] {
        let mut body = server.create_body();
        body["jwtAtClaims"] = json!(claims);
        let (status, answer) = server.post("/api/{sid}/auth/token/create", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["resultCode"], "A109209");
        assert!(answer["resultMessage"].as_str().unwrap().contains(name), "{answer}");
    }
}
