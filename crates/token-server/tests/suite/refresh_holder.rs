//! Only the holder refreshes (RFC 6749 §6, RFC 9449 §5): at the public refresh endpoints, without
//! a credential only custom-token sessions and DPoP-bound tokens with a valid proof refresh; with
//! the service's credential (its authorization server) any token of the service does, a
//! certificate-bound one only with its certificate. DPoP proofs are made by PyJWT and the
//! certificate by openssl — independent implementations, not our signer.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestServer;

pub(crate) const REFRESH: &str = "/api/{sid}/auth/token/refresh";

/// PyJWT: `keygen ALG` prints `{pem, jwk, jkt}` (jkt computed per RFC 7638 here, in Python);
/// `sign ALG KEY HEADER CLAIMS` prints a compact JWS (ALG `none` and `HS256` included).
const JOSE: &str = r#"
import base64, hashlib, json, sys
import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

def b64(raw): return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

cmd = sys.argv[1]
if cmd == "keygen":
    if sys.argv[2] == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        members = ["crv", "kty", "x", "y"]
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
        members = ["crv", "kty", "x"]
    canonical = json.dumps({m: jwk[m] for m in sorted(members)}, separators=(",", ":"))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    print(json.dumps({"pem": pem, "jwk": jwk, "jkt": b64(hashlib.sha256(canonical.encode()).digest())}))
elif cmd == "sign-many":
    # N proofs with the claims given, each with its own jti (the given one + "-" + its number).
    alg, key, header, claims, n = sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), json.loads(sys.argv[5]), int(sys.argv[6])
    jti = claims["jti"]
    for i in range(n):
        claims["jti"] = f"{jti}-{i}"
        print(jwt.encode(claims, key, algorithm=alg, headers=header))
else:
    alg, key, header, claims = sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), json.loads(sys.argv[5])
    key = None if alg == "none" else key
    print(jwt.encode(claims, key, algorithm=alg, headers=header))
"#;

pub(crate) fn jose(args: &[&str]) -> String {
    let output = Command::new("python3").arg("-c").arg(JOSE).args(args).output().expect("python3 runs");
    assert!(
        output.status.success(),
        "PyJWT ({args:?}) failed — `pip install 'pyjwt[crypto]'` (cargo xtask test installs it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

pub(crate) struct Key {
    alg: &'static str,
    pem: String,
    pub(crate) jwk: Value,
    pub(crate) jkt: String,
}

pub(crate) fn keygen(alg: &'static str) -> Key {
    let made: Value = serde_json::from_str(&jose(&["keygen", alg])).unwrap();
    Key {
        alg,
        pem: made["pem"].as_str().unwrap().to_owned(),
        jwk: made["jwk"].clone(),
        jkt: made["jkt"].as_str().unwrap().to_owned(),
    }
}

pub(crate) fn now_secs() -> i64 {
    token_server::clock::now_ms() / 1000
}

/// A proof by `key` with `claims` (defaults filled in: htm POST, iat now, a fresh jti).
pub(crate) fn proof(key: &Key, htu: &str, claims: Value) -> String {
    let mut full = json!({"htm": "POST", "htu": htu, "iat": now_secs(), "jti": format!("{:032x}", rand::random::<u128>())});
    for (name, value) in claims.as_object().unwrap() {
        full[name] = value.clone();
    }
    let header = json!({"typ": "dpop+jwt", "jwk": key.jwk});
    jose(&["sign", key.alg, &key.pem, &header.to_string(), &full.to_string()])
}

/// `n` proofs by `key` for POST `htu`, each with its own `jti` (PyJWT, one process for all).
pub(crate) fn proofs(key: &Key, htu: &str, n: usize) -> Vec<String> {
    let claims = json!({"htm": "POST", "htu": htu, "iat": now_secs(), "jti": format!("{:032x}", rand::random::<u128>())});
    let header = json!({"typ": "dpop+jwt", "jwk": key.jwk});
    let made =
        jose(&["sign-many", key.alg, &key.pem, &header.to_string(), &claims.to_string(), &n.to_string()]);
    made.lines().map(str::to_owned).collect()
}

/// A token of the test client, created with `extra` fields, with its refresh token.
pub(crate) async fn create(server: &TestServer, extra: Value) -> Value {
    let mut body = server.create_body();
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    let created = server.create(body).await;
    assert!(created["refreshToken"].is_string(), "{created}");
    created
}

/// POST to the refresh endpoint without a credential, with an optional DPoP header.
pub(crate) async fn refresh_as_holder(
    server: &TestServer,
    refresh_token: &Value,
    dpop: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = server.http.post(server.url(REFRESH)).json(&json!({"refreshToken": refresh_token}));
    if let Some(dpop) = dpop {
        request = request.header("DPoP", dpop);
    }
    crate::common::read(request.send().await.unwrap()).await
}

fn code(answer: &Value) -> &str {
    answer["error"].as_str().unwrap_or_default().get(1..8).unwrap_or_default()
}

#[tokio::test]
async fn without_a_credential_only_custom_token_sessions_and_dpop_holders_refresh() {
    let server = TestServer::start().await;
    let htu = server.url(REFRESH);

    // A token from token create, unbound: the holder alone cannot refresh it, and the refused
    // attempt leaves the family alone; the authorization server (credential) can.
    let plain = create(&server, json!({})).await;
    let (status, answer) = refresh_as_holder(&server, &plain["refreshToken"], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(code(&answer), "A404205", "{answer}");
    let (status, answer) = server.post(REFRESH, json!({"refreshToken": plain["refreshToken"]})).await;
    assert_eq!(status, StatusCode::OK, "the credential's refresh works: {answer}");

    // A custom-token session: the holder refreshes it (the end user's app has no credential).
    let (_, generated) =
        server.post("/api/{sid}/custom-token/generate", json!({"userId": "u", "identity": "r"})).await;
    let (_, session) = crate::common::read(
        server
            .http
            .post(server.url("/api/{sid}/custom-token/exchange"))
            .json(&json!({"customToken": generated["data"]["customToken"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (status, answer) = refresh_as_holder(&server, &session["refreshToken"], None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // A DPoP-bound token (ES256 key made by PyJWT): refreshed only with a valid proof.
    let key = keygen("ES256");
    let bound = create(&server, json!({"dpopKeyThumbprint": key.jkt})).await;
    let refresh = &bound["refreshToken"];
    let other_key = keygen("EdDSA");
    let hmac_header = json!({"typ": "dpop+jwt", "jwk": key.jwk}).to_string();
    let hmac_claims = json!({"htm": "POST", "htu": htu, "iat": now_secs(), "jti": "hmac"}).to_string();
    let refused: Vec<(&str, Option<String>)> = vec![
        ("no proof", None),
        ("wrong htu", Some(proof(&key, "https://elsewhere.example/api/1/auth/token/refresh", json!({})))),
        ("wrong htm", Some(proof(&key, &htu, json!({"htm": "GET"})))),
        ("stale iat", Some(proof(&key, &htu, json!({"iat": now_secs() - 120})))),
        ("future iat", Some(proof(&key, &htu, json!({"iat": now_secs() + 120})))),
        ("another key", Some(proof(&other_key, &htu, json!({})))),
        ("alg none", Some(jose(&["sign", "none", "", &hmac_header, &hmac_claims]))),
        (
            "HS256",
            Some(jose(&["sign", "HS256", "a-shared-secret-of-enough-length!", &hmac_header, &hmac_claims])),
        ),
        (
            "typ jwt",
            Some({
                let header = json!({"typ": "JWT", "jwk": key.jwk}).to_string();
                jose(&["sign", "ES256", &key.pem, &header, &hmac_claims])
            }),
        ),
        ("garbage", Some("not.a.proof".to_owned())),
    ];
    for (case, dpop) in &refused {
        let (status, answer) = refresh_as_holder(&server, refresh, dpop.as_deref()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {answer}");
        assert_eq!(code(&answer), "A404206", "{case}: {answer}");
    }
    // None of the refused attempts touched the family: a valid proof refreshes it.
    let valid = proof(&key, &htu, json!({}));
    let (status, answer) = refresh_as_holder(&server, refresh, Some(&valid)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["tokenType"], "DPoP", "the new pair stays bound: {answer}");
    // The same proof again (its jti): a replay.
    let (status, answer) = refresh_as_holder(&server, &answer["refreshToken"], Some(&valid)).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A404206"), "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("already used"), "{answer}");

    // The RFC 6749 endpoint follows the same rule; its htu is its own URL.
    let again = create(&server, json!({"dpopKeyThumbprint": key.jkt})).await;
    let oauth = server.url("/api/{sid}/oauth/token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", again["refreshToken"].as_str().unwrap())];
    let response = server.http.post(&oauth).form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_dpop_proof");
    let response = server
        .http
        .post(&oauth)
        .header("DPoP", proof(&key, &oauth, json!({})))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let plain = create(&server, json!({})).await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", plain["refreshToken"].as_str().unwrap())];
    let response = server.http.post(&oauth).form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_client");
}

/// `public_base_url`: behind a proxy the proof's `htu` is the URL clients use, not the socket's.
#[tokio::test]
async fn the_proofs_htu_is_the_public_base_url() {
    let config = token_server::Config {
        public_base_url: Some("https://tokens.example.com/prefix/".into()),
        ..token_server::Config::default()
    };
    let server = TestServer::start_with(config, crate::common::spec()).await;
    let key = keygen("EdDSA");
    let bound = create(&server, json!({"dpopKeyThumbprint": key.jkt})).await;
    let direct = proof(&key, &server.url(REFRESH), json!({}));
    let (status, answer) = refresh_as_holder(&server, &bound["refreshToken"], Some(&direct)).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "A404206"), "{answer}");
    let public = format!("https://tokens.example.com/prefix/api/{}/auth/token/refresh", server.sid());
    let (status, answer) =
        refresh_as_holder(&server, &bound["refreshToken"], Some(&proof(&key, &public, json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// A certificate-bound token (RFC 8705) is refreshed by the authorization server with its
/// credential and the bound certificate (made and hashed by openssl); never by the holder alone.
#[tokio::test]
async fn a_certificate_bound_token_refreshes_with_the_credential_and_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (x5t, pem) = crate::pki::client_certificate(dir.path(), "client.example");

    let server = TestServer::start().await;
    let bound = create(&server, json!({"certificateThumbprint": x5t})).await;
    let (status, answer) = refresh_as_holder(&server, &bound["refreshToken"], None).await;
    assert_eq!((status, code(&answer)), (StatusCode::UNAUTHORIZED, "A404205"), "{answer}");
    let (status, answer) = server.post(REFRESH, json!({"refreshToken": bound["refreshToken"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"].as_str().unwrap().starts_with("[A404207]"), "{answer}");
    let (status, answer) =
        server.post(REFRESH, json!({"refreshToken": bound["refreshToken"], "clientCertificate": pem})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // A credential that is not valid is refused as such, whatever the token.
    let response = server
        .http
        .post(server.url(REFRESH))
        .bearer_auth("not-a-credential")
        .json(&json!({"refreshToken": answer["refreshToken"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Reuse detection follows the holder rule (#37): an old refresh value of a token that only the
/// service's credential refreshes, presented without it, is refused and revokes nothing; with the
/// credential, the same reuse revokes the family. Before: anyone holding an old value ended the
/// session.
#[tokio::test]
async fn reuse_without_the_right_to_refresh_revokes_nothing() {
    let server = TestServer::start().await;
    let issued = create(&server, json!({})).await;
    let (status, rotated) = server.post(REFRESH, json!({"refreshToken": issued["refreshToken"]})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, answer) = refresh_as_holder(&server, &issued["refreshToken"], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(code(&answer), "A404205", "{answer}");
    let live = server.introspect(rotated["accessToken"].as_str().unwrap()).await;
    assert_eq!(live["usable"], true, "the family is untouched: {live}");
    // The authorization server presenting the old value: reuse, and the family ends.
    let (status, answer) = server.post(REFRESH, json!({"refreshToken": issued["refreshToken"]})).await;
    assert!(status.is_client_error(), "{answer}");
    let ended = server.introspect(rotated["accessToken"].as_str().unwrap()).await;
    assert_eq!(ended["usable"], false, "reuse by the one who may refresh revokes: {ended}");
}
