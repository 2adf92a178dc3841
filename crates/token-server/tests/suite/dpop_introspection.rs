//! Proof-of-possession at introspection (RFC 9449 §7, Authlete's `dpop`, `htm`, `htu`): the
//! resource server hands over the `DPoP` header its client sent, and the answer's `action` and
//! `responseContent` (the `WWW-Authenticate` value) say what to do. Proofs are made by PyJWT and
//! the certificate by openssl — independent implementations, not our signer.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::TestServer;
use crate::refresh_holder::{jose, keygen, now_secs, proof};

const INTROSPECTION: &str = "/api/{sid}/auth/introspection";

/// The resource the client called, as the resource server sees it.
const HTU: &str = "https://api.example.com/v1/orders";

/// RFC 9449 §4.2 `ath`: base64url SHA-256 of the access token, computed here, not by the server.
pub(crate) fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

async fn introspect(server: &TestServer, body: Value) -> Value {
    let (status, answer) = server.post(INTROSPECTION, body).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{answer}");
    answer
}

/// The introspection request of a resource server that received `token` with `dpop` for `GET HTU`.
fn with_proof(token: &str, dpop: &str) -> Value {
    json!({"token": token, "dpop": dpop, "htm": "GET", "htu": HTU})
}

fn challenge(answer: &Value) -> &str {
    answer["responseContent"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_dpop_bound_token_is_accepted_only_with_a_valid_proof_for_this_request() {
    let server = TestServer::start().await;
    let key = keygen("ES256");
    let mut body = server.create_body();
    body["dpopKeyThumbprint"] = json!(key.jkt);
    let token = server.create(body).await["accessToken"].as_str().unwrap().to_owned();
    let claims = |extra: Value| {
        let mut all = json!({"htm": "GET", "ath": ath(&token)});
        for (name, value) in extra.as_object().unwrap() {
            all[name] = value.clone();
        }
        all
    };

    // A valid proof: OK, and the answer says what the token is bound to.
    let valid = proof(&key, HTU, claims(json!({})));
    let answer = introspect(&server, with_proof(&token, &valid)).await;
    assert_eq!(
        (answer["action"].as_str(), answer["resultCode"].as_str()),
        (Some("OK"), Some("A056001")),
        "{answer}"
    );
    assert_eq!(answer["dpopKeyThumbprint"], json!(key.jkt));
    // The query of the resource's URL is not compared (RFC 9449 §4.3, point 9).
    let answer = introspect(
        &server,
        json!({"token": token, "dpop": proof(&key, HTU, claims(json!({}))), "htm": "GET", "htu": format!("{HTU}?page=2")}),
    )
    .await;
    assert_eq!(answer["action"], "OK", "{answer}");

    // No proof at all: said as such (#38), not as a key that "does not match".
    let bare = introspect(&server, json!({"token": token})).await;
    assert_eq!(bare["action"], "UNAUTHORIZED", "{bare}");
    assert!(bare["resultMessage"].as_str().unwrap().contains("no DPoP proof"), "{bare}");

    // The same proof again: replayed.
    let replayed = introspect(&server, with_proof(&token, &valid)).await;
    assert_eq!(replayed["resultCode"], "A056207", "{replayed}");
    assert!(challenge(&replayed).contains("already used"), "{replayed}");

    // Each bad proof: UNAUTHORIZED with `DPoP error="invalid_dpop_proof"` and the accepted algs.
    let other_key = keygen("EdDSA");
    let header = json!({"typ": "dpop+jwt", "jwk": key.jwk}).to_string();
    let raw_claims =
        json!({"htm": "GET", "htu": HTU, "iat": now_secs(), "jti": "fixed", "ath": ath(&token)}).to_string();
    let mut without_ath = claims(json!({}));
    without_ath.as_object_mut().unwrap().remove("ath");
    let invalid: Vec<(&str, String)> = vec![
        ("wrong htu", proof(&key, "https://api.example.com/v1/other", claims(json!({})))),
        ("wrong htm", proof(&key, HTU, claims(json!({"htm": "POST"})))),
        ("stale iat", proof(&key, HTU, claims(json!({"iat": now_secs() - 120})))),
        ("future iat", proof(&key, HTU, claims(json!({"iat": now_secs() + 120})))),
        ("missing ath", proof(&key, HTU, without_ath)),
        ("wrong ath", proof(&key, HTU, claims(json!({"ath": ath("another token")})))),
        ("alg none", jose(&["sign", "none", "", &header, &raw_claims])),
        ("HS256", jose(&["sign", "HS256", "a-shared-secret-of-enough-length!", &header, &raw_claims])),
        ("garbage", "not.a.proof".to_owned()),
    ];
    for (case, dpop) in &invalid {
        let answer = introspect(&server, with_proof(&token, dpop)).await;
        assert_eq!(answer["action"], "UNAUTHORIZED", "{case}: {answer}");
        assert_eq!(answer["resultCode"], "A056207", "{case}: {answer}");
        assert_eq!(answer["usable"], true, "{case}: the token itself is fine: {answer}");
        assert_eq!(answer["sufficient"], false, "{case}: {answer}");
        let content = challenge(&answer);
        assert!(
            content.starts_with(r#"DPoP error="invalid_dpop_proof", error_description=""#),
            "{case}: {content}"
        );
        assert!(content.contains(r#"algs="ES256 "#), "{case}: {content}");
    }

    // Another key's valid proof, a thumbprint of another key, or nothing at all: the binding
    // does not hold — `DPoP error="invalid_token"`.
    let mismatched = vec![
        ("another key's proof", with_proof(&token, &proof(&other_key, HTU, claims(json!({}))))),
        ("another thumbprint", json!({"token": token, "dpopKeyThumbprint": other_key.jkt})),
        ("no proof", json!({"token": token})),
    ];
    for (case, body) in mismatched {
        let answer = introspect(&server, body).await;
        assert_eq!(
            (answer["action"].as_str(), answer["resultCode"].as_str()),
            (Some("UNAUTHORIZED"), Some("A056206")),
            "{case}: {answer}"
        );
        assert!(challenge(&answer).starts_with(r#"DPoP error="invalid_token""#), "{case}: {answer}");
        assert!(challenge(&answer).contains("algs="), "{case}: {answer}");
    }

    // A proof without the request it proves: the resource server's mistake, BAD_REQUEST.
    let answer = introspect(
        &server,
        json!({"token": token, "dpop": proof(&key, HTU, claims(json!({}))), "htm": "GET"}),
    )
    .await;
    assert_eq!(
        (answer["action"].as_str(), answer["resultCode"].as_str()),
        (Some("BAD_REQUEST"), Some("A056208")),
        "{answer}"
    );

    // The resource server that checked the proof itself still passes the thumbprint.
    let answer = introspect(&server, json!({"token": token, "dpopKeyThumbprint": key.jkt})).await;
    assert_eq!(answer["action"], "OK", "{answer}");

    // A revoked token is inactive whatever the proof (and the proof is not spent on it).
    server.post("/api/{sid}/auth/token/revoke", json!({"accessTokenIdentifier": token})).await;
    let answer = introspect(&server, with_proof(&token, &proof(&key, HTU, claims(json!({}))))).await;
    assert_eq!(answer["resultCode"], "A056203", "{answer}");
}

/// A proof for an unbound token is not checked (RFC 9449 §7.2 leaves a Bearer token's request to
/// the Bearer rules), and a certificate-bound token needs its certificate (made by openssl).
#[tokio::test]
async fn unbound_tokens_ignore_proofs_and_certificate_bound_tokens_need_their_certificate() {
    let server = TestServer::start().await;
    let key = keygen("EdDSA");
    let plain = server.create(server.create_body()).await["accessToken"].as_str().unwrap().to_owned();
    let answer = introspect(&server, with_proof(&plain, &proof(&key, HTU, json!({"htm": "GET"})))).await;
    assert_eq!(answer["action"], "OK", "{answer}");

    let dir = tempfile::tempdir().unwrap();
    let (x5t, pem) = crate::pki::client_certificate(dir.path(), "client.example");
    let other = crate::pki::client_certificate(&dir.path().join("other"), "other.example").1;
    let mut body = server.create_body();
    body["certificateThumbprint"] = json!(x5t);
    let bound = server.create(body).await["accessToken"].as_str().unwrap().to_owned();
    let answer = introspect(&server, json!({"token": bound, "clientCertificate": pem})).await;
    assert_eq!(answer["action"], "OK", "{answer}");
    assert_eq!(answer["certificateThumbprint"], json!(x5t));
    for (case, body) in [
        ("no certificate", json!({"token": bound})),
        ("another certificate", json!({"token": bound, "clientCertificate": other})),
    ] {
        let answer = introspect(&server, body).await;
        assert_eq!(
            (answer["action"].as_str(), answer["resultCode"].as_str()),
            (Some("UNAUTHORIZED"), Some("A056206")),
            "{case}: {answer}"
        );
        assert!(challenge(&answer).starts_with(r#"Bearer error="invalid_token""#), "{case}: {answer}");
    }
}
