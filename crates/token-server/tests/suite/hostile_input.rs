//! Hostile input over HTTP: 20,000+ generated requests (fixed seed, so a failure replays) at every
//! route — wrong types, huge numbers, 10,000-deep nesting, 1 MB strings, invalid UTF-8, NUL bytes,
//! duplicate keys, malformed paths and headers, and forged JWTs at exchange (truncated, `alg: none`,
//! HS256 keyed with the public key). Never a 5xx, never a dropped connection, and a rejected request
//! never changes what is stored. `HOSTILE_REQUESTS=n` runs more.

use crate::common::TestServer;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};
use token_server::http::route_table;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::BODY_KEYS as KEYS;

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn leaf(rng: &mut StdRng, server: &TestServer) -> Value {
    match rng.gen_range(0..12) {
        0 => Value::Null,
        1 => json!(rng.gen_bool(0.5)),
        2 => json!(rng.r#gen::<i64>()),
        3 => json!(*pick(rng, &[0i64, -1, 1, 3600, 3601, i64::MAX, i64::MIN])),
        4 => json!(rng.r#gen::<f64>() * 1e300),
        5 => json!(*pick(
            rng,
            &[
                "AUTHORIZATION_CODE",
                "CLIENT_CREDENTIALS",
                "REFRESH_TOKEN",
                "createToken",
                "generateCustomToken"
            ]
        )),
        6 => json!(server.tenant.client.client_id),
        7 => json!(*pick(rng, &["", " ", "\u{0}", "a\u{0}b", "é", "🦀", "openid", "history.read"])),
        8 => json!("x".repeat(rng.gen_range(0..300))),
        9 => json!(*pick(
            rng,
            &["token=abc", "token=", "token=a&token=b", "%ZZ", "token_type_hint=refresh_token"]
        )),
        10 => json!(*pick(rng, &["{\"a\":1}", "[]", "{", "{\"sub\":\"x\"}", "{\"identity\":\"admin\"}"])),
        _ => json!(rng.gen_range(-5i64..5)),
    }
}

fn value(rng: &mut StdRng, server: &TestServer, depth: u32) -> Value {
    if depth == 0 || rng.gen_bool(0.45) {
        return leaf(rng, server);
    }
    if rng.gen_bool(0.3) {
        let n = rng.gen_range(0..4);
        Value::Array((0..n).map(|_| value(rng, server, depth - 1)).collect())
    } else {
        let n = rng.gen_range(0..6);
        Value::Object(
            (0..n).map(|_| ((*pick(rng, KEYS)).to_owned(), value(rng, server, depth - 1))).collect(),
        )
    }
}

/// JWTs an attacker would try at exchange.
async fn hostile_jwts(server: &TestServer, genuine: &str) -> Vec<String> {
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let parts: Vec<&str> = genuine.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let kid = jsonwebtoken::decode_header(genuine).unwrap().kid.unwrap();
    let none =
        format!("{}.{}.", b64(&json!({"alg": "none", "typ": "custom-token+jwt", "kid": kid})), parts[1]);
    // HS256 keyed with the public key's bytes: the classic algorithm confusion.
    let public =
        server.store.keys.current_signing_key(server.tenant.service.id).await.unwrap().unwrap().public_jwk;
    let secret = public["x"].as_str().unwrap_or("x").to_owned();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.clone());
    header.typ = Some("custom-token+jwt".into());
    let hs256 =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))
            .unwrap();
    let mut huge_claims = claims.clone();
    huge_claims["accessTokenTTL"] = json!(i64::MAX);
    vec![
        genuine[..genuine.len() / 2].to_owned(),
        genuine[..genuine.len() - 1].to_owned(),
        none,
        hs256,
        format!("{}.{}.{}", parts[0], b64(&huge_claims), parts[2]),
        format!("{}.{}", parts[0], parts[1]),
        "a.b.c".into(),
        "....".into(),
        format!("{}.{}.{}", b64(&json!({"alg": "EdDSA"})), parts[1], parts[2]),
    ]
}

/// A body: mostly generated JSON, sometimes one of the classic attacks.
fn body(rng: &mut StdRng, server: &TestServer, jwts: &[String]) -> Vec<u8> {
    match rng.gen_range(0..20) {
        0 => "[".repeat(10_000).into_bytes(),
        1 => format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000)).into_bytes(),
        2 => format!("{{\"userId\":\"{}\",\"identity\":\"r\"}}", "x".repeat(1 << 20)).into_bytes(),
        3 => b"{\"userId\":\"\xff\xfe\",\"identity\":\"\xc3\x28\"}".to_vec(),
        4 => b"{\"token\":\"a\0b\",\0\"x\":1}".to_vec(),
        5 => br#"{"userId":"a","userId":"b","identity":"r","identity":"s"}"#.to_vec(),
        6 => br#"{"grantType":"PASSWORD","clientId":1e400,"subject":99999999999999999999999999}"#.to_vec(),
        7 => json!({"customToken": pick(rng, jwts)}).to_string().into_bytes(),
        8 => format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
            pick(rng, jwts)
        )
        .into_bytes(),
        9 => b"\x00\x01\x02\xff".to_vec(),
        10 => Vec::new(),
        _ => value(rng, server, 4).to_string().into_bytes(),
    }
}

fn service_segment(rng: &mut StdRng, sid: u64) -> String {
    match rng.gen_range(0..14) {
        0 => format!("+{sid}"),
        1 => format!("0{sid}"),
        2 => "18446744073709551616".into(),
        3 => "-1".into(),
        4 => "abc".into(),
        5 => "%00".into(),
        6 => "%FF%FE".into(),
        7 => "1".repeat(2000),
        8 => "0".into(),
        _ => sid.to_string(),
    }
}

/// Everything stored, as a comparable value.
async fn fingerprint(server: &TestServer) -> String {
    let (token_server::store::ListingVersion { total, .. }, tokens) =
        server.store.tokens.list_tokens(server.tenant.service.id, &Default::default(), 0, 50).await.unwrap();
    let rows: Vec<String> = tokens
        .iter()
        .map(|t| {
            format!("{}|{}|{:?}|{:?}|{:?}", t.token_id, t.access_hash, t.revoked_at, t.scopes, t.refresh_hash)
        })
        .collect();
    let credentials = server
        .store
        .credentials
        .list_credentials()
        .await
        .unwrap()
        .iter()
        .filter(|c| c.revoked_at.is_some())
        .count();
    let keys =
        server.store.keys.published_signing_keys(server.tenant.service.id, i64::MAX / 2).await.unwrap().len();
    format!("{total}:{credentials}:{keys}:{}", rows.join(","))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_hostile_requests_never_break_the_server_nor_the_store() {
    let total: usize = std::env::var("HOSTILE_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let server = TestServer::start().await;
    let mut rng = StdRng::seed_from_u64(0x5EC0_0001);
    let (_, generated) =
        server.post("/api/{sid}/custom-token/generate", json!({"userId": "u", "identity": "r"})).await;
    let genuine = generated["data"]["customToken"].as_str().unwrap().to_owned();
    let jwts = hostile_jwts(&server, &genuine).await;
    // Deleting or reconfiguring the service, or rotating its key, is a legitimate request of its
    // Organization Token that the final check (the genuine custom token still exchanges) could not
    // survive; who may make them is the isolation matrix's, their bad bodies `bad_input`'s.
    let routes: Vec<_> = route_table()
        .into_iter()
        .filter(|r| {
            !["service_delete_api", "service_update_api", "keys_rotate_api"]
                .contains(&r.endpoint.operation_id)
        })
        .collect();
    let sid = server.sid();
    let authorizations = [
        format!("Bearer {}", server.tenant.service_token),
        format!("Bearer {}", server.tenant.org_token),
        "Bearer sat_forged".to_owned(),
        "Basic YTpi".to_owned(),
        format!("Bearer {}", "A".repeat(8_000)),
        "bearer\t".to_owned(),
    ];
    let content_types = [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/json; charset=latin1",
        "",
    ];
    let mut baseline = fingerprint(&server).await;
    let (mut rejected, mut accepted) = (0usize, 0usize);
    for n in 0..total {
        let route = pick(&mut rng, &routes);
        let method = if rng.gen_bool(0.9) {
            match route.endpoint.method {
                token_core::api::Method::Get => Method::GET,
                token_core::api::Method::Post => Method::POST,
                token_core::api::Method::Delete => Method::DELETE,
                token_core::api::Method::Patch => Method::PATCH,
                token_core::api::Method::Put => Method::PUT,
            }
        } else {
            pick(&mut rng, &[Method::GET, Method::POST, Method::DELETE, Method::PUT, Method::PATCH]).clone()
        };
        let segment = service_segment(&mut rng, sid);
        let identifiers = ["x", "%00", "%FF", "a%2Fb", jwts[0].as_str()];
        let identifier: &str = identifiers[rng.gen_range(0..identifiers.len())];
        let path = route
            .endpoint
            .path
            .replace("{serviceId}", &segment)
            .replace("{accessTokenIdentifier}", identifier);
        let mut request = server.http.request(method.clone(), format!("{}{}", server.base, path));
        if rng.gen_bool(0.85) {
            request = request.header("authorization", pick(&mut rng, &authorizations));
        }
        if rng.gen_bool(0.05) {
            // Invalid UTF-8 in a header value (obs-text bytes are legal on the wire).
            request = request.header(
                "authorization",
                reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
            );
        }
        let content_type = *pick(&mut rng, &content_types);
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        if method != Method::GET || rng.gen_bool(0.1) {
            request = request.body(body(&mut rng, &server, &jwts));
        }
        let what = format!("request #{n}: {method} {}", path.chars().take(120).collect::<String>());
        let response = request.send().await.unwrap_or_else(|e| panic!("{what}: connection failed: {e}"));
        let status = response.status();
        let _ = response.bytes().await.unwrap_or_else(|e| panic!("{what}: answer cut: {e:?}"));
        assert!(status.as_u16() < 500, "{what}: {status}");
        let now = fingerprint(&server).await;
        if status.is_success() {
            accepted += 1;
            baseline = now;
        } else {
            rejected += 1;
            assert_eq!(now, baseline, "{what}: a rejected request ({status}) changed the store");
        }
    }
    assert!(rejected > total / 2, "the generator must mostly produce bad input: {rejected} of {total}");
    eprintln!("hostile input: {total} requests, {rejected} rejected, {accepted} accepted");
    // The genuine custom token survived every forgery attempt unused.
    let (status, _) = crate::common::read(
        server
            .http
            .post(server.url("/api/{sid}/custom-token/exchange"))
            .json(&json!({"customToken": genuine}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK);
}

/// Malformed HTTP itself (not only bad bodies): garbage request lines, NUL bytes in headers,
/// conflicting lengths. The server answers with a status (never a 5xx) or closes a connection it
/// cannot parse — and keeps serving everyone else.
#[tokio::test]
async fn malformed_http_is_answered_or_closed_and_the_server_lives_on() {
    let server = TestServer::start().await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let sid = server.sid();
    let raw: Vec<Vec<u8>> = vec![
        b"GARBAGE\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        format!("POST /api/{sid}/auth/token/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\0b\r\nContent-Length: 2\r\n\r\n{{}}").into_bytes(),
        format!("POST /api/{sid}/auth/token/create HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{{}}").into_bytes(),
        format!("POST /api/{sid}/auth/token/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n").into_bytes(),
        format!("GET /api/{sid}/jwks\u{0}x HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
        [format!("GET /api/{sid}/").into_bytes(), b"\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()].concat(),
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n", "y".repeat(200_000)).into_bytes(),
    ];
    for bytes in raw {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let _ = stream.write_all(&bytes).await;
        let mut answer = Vec::new();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        let text = String::from_utf8_lossy(&answer);
        if let Some(status) = text.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)) {
            assert!(
                status.as_bytes()[0] != b'5',
                "{status} for {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
            );
        }
        let response = server.http.get(server.url("/healthz")).send().await.unwrap();
        assert!(response.status().is_success());
    }
    assert_eq!(server.token_count().await, 0);
}
