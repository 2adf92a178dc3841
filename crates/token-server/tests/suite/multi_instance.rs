//! Two server processes on one PostgreSQL database (the deployment model for N instances): tokens,
//! revocations, single use, refresh rotation and keys are shared at once, with no in-process state.

use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

/// A schema of its own in the test PostgreSQL, as a database URL the binary takes.
async fn database() -> Option<(String, crate::common::PostgresSchema)> {
    let url = crate::common::postgres_url();
    let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "PostgreSQL is required in CI");
        eprintln!("skipped: no PostgreSQL at {url}");
        return None;
    };
    tokio::spawn(connection);
    let schema = format!("multi_{:016x}", rand::random::<u64>());
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let with_path = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    Some((with_path, crate::common::PostgresSchema::named(schema)))
}

fn admin(database: &str, args: &[&str]) -> Value {
    let output =
        Command::new(BIN).args(["--database", database, "--json", "admin"]).args(args).output().unwrap();
    assert!(output.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database: &str) -> Instance {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args(["--database", database, "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the instance exited before listening").unwrap();
        if let Some(rest) = line.strip_prefix("token-server listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    Instance { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_everything_at_once() {
    let Some((database, _schema)) = database().await else { return };
    let org = admin(&database, &["org", "create", "--name", "multi"]);
    let service =
        admin(&database, &["service", "create", "--org", &org["id"].to_string(), "--sign-alg", "EdDSA"]);
    let sid = service["id"].to_string();
    let client = admin(&database, &["client", "create", "--service", &sid, "--alias", "web"]);
    let bearer =
        admin(&database, &["credential", "create", "--service", &sid])["secret"].as_str().unwrap().to_owned();
    let (a, b) = (start(&database), start(&database));
    let http = reqwest::Client::new();
    let post = |base: &str, path: &str, body: Value| {
        http.post(format!("{base}/api/{sid}{path}")).bearer_auth(&bearer).json(&body).send()
    };
    let json_of = |r: reqwest::Response| async move { r.json::<Value>().await.unwrap() };

    // A token created on A is active on B; revoked on B, it is inactive on A at once.
    let create = json!({"grantType": "AUTHORIZATION_CODE", "clientId": client["clientId"], "subject": "ann",
        "scopes": ["openid"], "refreshTokenDuration": 600});
    let created = json_of(post(&a.base, "/auth/token/create", create).await.unwrap()).await;
    let token = created["accessToken"].as_str().unwrap().to_owned();
    let on_b = json_of(post(&b.base, "/auth/introspection", json!({"token": token})).await.unwrap()).await;
    assert_eq!(on_b["action"], "OK", "{on_b}");
    post(&b.base, "/auth/token/revoke", json!({"accessTokenIdentifier": token})).await.unwrap();
    let on_a = json_of(post(&a.base, "/auth/introspection", json!({"token": token})).await.unwrap()).await;
    assert_eq!(on_a["resultCode"], "A056203", "{on_a}");

    // A custom token exchanged on A and B at the same moment succeeds exactly once.
    let generated = json_of(
        post(&a.base, "/custom-token/generate", json!({"userId": "u", "identity": "r"})).await.unwrap(),
    )
    .await;
    let custom = generated["data"]["customToken"].as_str().unwrap().to_owned();
    let exchange = |base: String| {
        let (http, custom, sid) = (http.clone(), custom.clone(), sid.clone());
        async move {
            http.post(format!("{base}/api/{sid}/custom-token/exchange"))
                .json(&json!({"customToken": custom}))
                .send()
                .await
                .unwrap()
        }
    };
    let (first, second) = tokio::join!(exchange(a.base.clone()), exchange(b.base.clone()));
    let statuses = [first.status().as_u16(), second.status().as_u16()];
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    let pair = if first.status() == 200 { json_of(first).await } else { json_of(second).await };

    // A refresh token rotated on A cannot be reused on B, and the reuse revokes the family on A.
    let refresh = |base: &str, value: &str| {
        http.post(format!("{base}/api/{sid}/auth/token/refresh")).json(&json!({"refreshToken": value})).send()
    };
    let old = pair["refreshToken"].as_str().unwrap();
    let rotated = json_of(refresh(&a.base, old).await.unwrap()).await;
    assert_eq!(rotated["success"], true, "{rotated}");
    let reused = json_of(refresh(&b.base, old).await.unwrap()).await;
    assert!(reused["error"].as_str().unwrap().starts_with("[A404203]"), "{reused}");
    let family = json_of(
        post(&a.base, "/auth/introspection", json!({"token": rotated["accessToken"]})).await.unwrap(),
    )
    .await;
    assert_eq!(family["resultCode"], "A056203", "the family is revoked everywhere: {family}");

    // Both publish the same JWK Set; a rotation through either is published by both at once.
    let jwks = |base: String| {
        let (http, sid) = (http.clone(), sid.clone());
        async move {
            http.get(format!("{base}/api/{sid}/jwks")).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    assert_eq!(jwks(a.base.clone()).await, jwks(b.base.clone()).await);
    let rotated_key = admin(&database, &["key", "rotate", "--service", &sid]);
    for base in [&a.base, &b.base] {
        let set = jwks(base.clone()).await;
        assert_eq!(set["keys"][0]["kid"], rotated_key["kid"], "{set}");
    }
}

/// Logs at the default level (no RUST_LOG) carry what the operator should act on, once: the
/// missing key-encryption key is a warning of `serve` only, never of an admin command, and
/// PostgreSQL's NOTICEs ("relation already exists, skipping" at every start) stay out.
#[tokio::test]
async fn default_logs_warn_once_per_start_and_carry_no_postgres_notices() {
    let Some((database, _schema)) = database().await else { return };
    let quiet = |args: &[&str]| {
        Command::new(BIN).args(["--database", &database]).args(args).env_remove("RUST_LOG").output().unwrap()
    };
    // The first run migrates; the second finds every relation there (the NOTICE case).
    for _ in 0..2 {
        let output = quiet(&["admin", "org", "create", "--name", "quiet"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("key-encryption key"), "an admin command warned: {stderr}");
        assert!(!stderr.contains("NOTICE") && !stderr.contains("already exists"), "{stderr}");
    }
    let mut server = Command::new(BIN)
        .args(["--database", &database, "serve", "--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0, "the server exited");
    }
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("no key-encryption key is configured").count(), 1, "{stderr}");
    assert!(!stderr.contains("NOTICE") && !stderr.contains("already exists"), "{stderr}");
}

/// A connection that cannot be made says why, not "db error": a missing database, nothing
/// listening, a server that never answers.
#[tokio::test]
async fn connection_failures_name_their_cause() {
    let Some((_database, _schema)) = database().await else { return };
    let url = crate::common::postgres_url();
    let base = url.split('?').next().unwrap();
    let missing = format!("{}/no_such_database_for_tokens", base.rsplit_once('/').unwrap().0);
    // A listener that accepts and never answers: the connect timeout ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    for (database, cause) in [
        (missing, "the database does not exist"),
        ("postgres://postgres@127.0.0.1:1/test".to_owned(), "connection refused"),
        (format!("postgres://postgres@127.0.0.1:{silent_port}/test"), "timed out connecting"),
    ] {
        let output = Command::new(BIN)
            .args(["--database", &database, "admin", "org", "list"])
            .env("TOKEN_SERVER_DATABASE_CONNECT_TIMEOUT_SECS", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{database}");
        assert!(stderr.contains(cause), "{database}: expected '{cause}' in: {stderr}");
    }
}

/// Checked upgrades on PostgreSQL: a database of the first schema (0001 only, recorded the old way,
/// with a token) migrates to the current schema with the token intact; an applied migration whose
/// recorded checksum disagrees is then refused at start, by name.
#[tokio::test]
async fn a_first_schema_database_upgrades_with_its_tokens_and_edited_migrations_are_refused() {
    let Some((database, schema)) = database().await else { return };
    let url = crate::common::postgres_url();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = schema.name().to_owned();
    let value = "token-issued-by-the-first-schema";
    client
        .batch_execute(&format!(
            "SET search_path TO {name}; {first}
             CREATE TABLE schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, '0001_initial');
             INSERT INTO organizations (id, name, created_at) VALUES (5001, 'old', 0);
             INSERT INTO services (id, organization_id, name, issuer, supported_scopes, supported_grant_types,
               access_token_duration, refresh_token_duration, access_token_sign_alg, custom_token_access_ttl,
               custom_token_refresh_ttl, created_at)
             VALUES (700000001, 5001, 'old', 'https://old.example', '[\"openid\"]', '[\"PASSWORD\"]', 3600, 86400,
               NULL, 3600, 7200, 0);
             INSERT INTO clients (client_id, service_id, name, grant_types) VALUES (42, 700000001, 'app', '[\"PASSWORD\"]');
             INSERT INTO tokens (token_id, service_id, access_hash, client_id, subject, grant_type, scopes,
               created_at, access_expires_at, last_refreshed_at, properties, token_type, resources, extra)
             VALUES ('t-old', 700000001, '{hash}', 42, 'olduser', 'PASSWORD', '[\"openid\"]', 0, 0, 0, '[]', 'Bearer',
               '[]', '{{}}');",
            first = token_server::store::postgres::MIGRATIONS[0].2,
            hash = token_core::TokenHash::of(value).as_str(),
        ))
        .await
        .unwrap();
    let migrated = Command::new(BIN).args(["--database", &database, "migrate"]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let status =
        Command::new(BIN).args(["--database", &database, "--json", "migrate", "--status"]).output().unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status.as_array().unwrap().iter().all(|m| m["applied"] == true), "{status}");
    let out = Command::new(BIN)
        .args(["--database", &database, "--json", "token", "introspect", "--service", "700000001", value])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((info["usable"].as_bool(), info["subject"].as_str()), (Some(true), Some("olduser")), "{info}");

    client
        .batch_execute(&format!(
            "UPDATE {name}.schema_migrations SET checksum = 'sha256:edited' WHERE version = 1"
        ))
        .await
        .unwrap();
    let refused = Command::new(BIN).args(["--database", &database, "admin", "org", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("0001_initial") && stderr.contains("changed"),
        "{stderr}"
    );
}
