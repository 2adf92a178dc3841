//! The reference server answers each of its routes as `cargo xtask bench` uses them, and the
//! storing routes store a row per answer (the yardstick does the work it claims to).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn post(port: u16, path: &str) -> (u16, serde_json::Value) {
    let body = r#"{"client_id":"bench","scope":"api:read","uid":"user-42"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(serde_json::Value::Null))
}

#[test]
fn every_route_answers_and_the_storing_ones_store() {
    let dir = std::env::temp_dir().join(format!("reference-server-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("tokens.db");
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    let key = dir.join("ed25519.pem");
    let made = Command::new("openssl").args(["genpkey", "-algorithm", "ed25519", "-out"]).arg(&key).status();
    assert!(made.unwrap().success(), "openssl makes the key");
    let mut server = Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .env("PORT", port.to_string())
        .env("DB", &db)
        .env("KEY", &key)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the reference server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, noop) = post(port, "/noop");
    assert_eq!((status, noop["ok"].as_bool()), (200, Some(true)), "{noop}");
    for path in ["/sign", "/store", "/store_batch"] {
        let (status, answer) = post(port, path);
        assert_eq!(status, 200, "{path}: {answer}");
        let jwt = answer["custom_token"].as_str().unwrap();
        assert_eq!(jwt.split('.').count(), 3, "{path}: an EdDSA JWT");
        assert_eq!(answer["access_token"].as_str().unwrap().len(), 43, "{path}: 32 random bytes");
    }
    let rows: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2, "/store and /store_batch each stored their row");
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
