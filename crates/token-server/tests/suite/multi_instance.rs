//! Two server processes on one PostgreSQL database (the deployment model for N instances): tokens,
//! revocations, single use, refresh rotation and keys are shared at once, with no in-process state.

use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

/// A schema of its own in the test PostgreSQL, as a database URL the binary takes.
pub(crate) async fn database() -> Option<(String, crate::common::PostgresSchema)> {
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

pub(crate) fn admin(database: &str, args: &[&str]) -> Value {
    let output =
        Command::new(BIN).args(["--database", database, "--json", "admin"]).args(args).output().unwrap();
    assert!(output.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

pub(crate) struct Instance {
    child: Child,
    pub(crate) base: String,
}

impl Instance {
    /// SIGKILL: the process ends at once, mid-whatever.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(database: &str) -> Instance {
    start_with_env(database, &[])
}

/// [`start`] with `env` set for the process.
pub(crate) fn start_with_env(database: &str, env: &[(&str, &str)]) -> Instance {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args(["--database", database, "serve", "--listen", "127.0.0.1:0"])
        .envs(env.iter().copied())
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

    // A DPoP proof checked at introspection on A is a replay on B (its jti is in the shared store).
    let key = crate::refresh_holder::keygen("ES256");
    let bound = json!({"grantType": "AUTHORIZATION_CODE", "clientId": client["clientId"], "subject": "ann",
        "scopes": ["openid"], "dpopKeyThumbprint": key.jkt});
    let created = json_of(post(&a.base, "/auth/token/create", bound).await.unwrap()).await;
    let bound_token = created["accessToken"].as_str().unwrap();
    let claims = json!({"htm": "GET", "ath": crate::dpop_introspection::ath(bound_token)});
    let htu = "https://api.example.com/orders";
    let dpop = crate::refresh_holder::proof(&key, htu, claims);
    let body = json!({"token": bound_token, "dpop": dpop, "htm": "GET", "htu": htu});
    let first = json_of(post(&a.base, "/auth/introspection", body.clone()).await.unwrap()).await;
    assert_eq!(first["action"], "OK", "{first}");
    let again = json_of(post(&b.base, "/auth/introspection", body).await.unwrap()).await;
    assert_eq!(again["resultCode"], "A056207", "{again}");

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

    // Both publish the same JWK Set; a rotation made outside either (the CLI) is published by both
    // once their rendering is older than tenancy_cache_ms (the bound of every change made elsewhere).
    let jwks = |base: String| {
        let (http, sid) = (http.clone(), sid.clone());
        async move {
            http.get(format!("{base}/api/{sid}/jwks")).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    assert_eq!(jwks(a.base.clone()).await, jwks(b.base.clone()).await);
    let rotated_key = admin(&database, &["key", "rotate", "--service", &sid]);
    tokio::time::sleep(std::time::Duration::from_millis(token_server::config::MAX_TENANCY_CACHE_MS + 100))
        .await;
    for base in [&a.base, &b.base] {
        let set = jwks(base.clone()).await;
        assert_eq!(set["keys"][0]["kid"], rotated_key["kid"], "{set}");
    }

    // Clients are read through the tenancy cache. A client deleted on B while A holds it (A just
    // issued for it): A's very next create for it is refused as for an unknown client and stores
    // nothing, and what A issued before is revoked.
    let second = admin(&database, &["client", "create", "--service", &sid]);
    let create =
        json!({"grantType": "CLIENT_CREDENTIALS", "clientId": second["clientId"], "scopes": ["openid"]});
    let before = json_of(post(&a.base, "/auth/token/create", create.clone()).await.unwrap()).await;
    assert_eq!(before["action"], "OK", "{before}");
    let deleted = http
        .delete(format!("{}/api/{sid}/client/delete/{}", b.base, second["clientId"]))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let after = post(&a.base, "/auth/token/create", create).await.unwrap();
    assert_eq!(after.status(), 403);
    let after = json_of(after).await;
    assert_eq!(after["resultCode"], "A109302", "{after}");
    let old =
        json_of(post(&a.base, "/auth/introspection", json!({"token": before["accessToken"]})).await.unwrap())
            .await;
    assert_eq!(old["resultCode"], "A056203", "revoked with its client: {old}");
    let listed = http
        .get(format!("{}/api/{sid}/events?type=token.created&clientId={}", a.base, second["clientId"]))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let created_for_second = listed["events"].as_array().map(Vec::len).unwrap_or_default();
    assert_eq!(created_for_second, 1, "only the token issued before the delete: {listed}");

    // A client's grant types narrowed elsewhere (the CLI) bind A within the bound.
    let narrowed = json!({"grantType": "AUTHORIZATION_CODE", "clientId": client["clientId"], "subject": "ann",
        "scopes": ["openid"]});
    let allowed = json_of(post(&a.base, "/auth/token/create", narrowed.clone()).await.unwrap()).await;
    assert_eq!(allowed["action"], "OK", "{allowed}");
    let client_id = client["clientId"].to_string();
    admin(
        &database,
        &["client", "update", "--service", &sid, "--client", &client_id, "--grant-types", "PASSWORD"],
    );
    tokio::time::sleep(std::time::Duration::from_millis(token_server::config::MAX_TENANCY_CACHE_MS + 100))
        .await;
    let refused = json_of(post(&a.base, "/auth/token/create", narrowed).await.unwrap()).await;
    assert_ne!(refused["action"], "OK", "{refused}");
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

/// A rolling upgrade to the selector format (#26) on one PostgreSQL database: a database the
/// previous version made (migrations up to 0006, a token issued then) is migrated by the new
/// version, which keeps issuing values the previous version finds — through its own statement,
/// still on an index — until `migrate --finish`; then new values carry their token's ID, and the
/// old token and a caller's own value keep working (its uniqueness per service too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_issues_selector_values_only_after_finish() {
    let Some((database, schema)) = database().await else { return };
    let url = crate::common::postgres_url();
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = schema.name().to_owned();
    let previous = &token_server::store::postgres::MIGRATIONS[..6];
    assert_eq!(previous.last().unwrap().1, "0006_holder_and_tenant_values");
    let mut setup = format!(
        "SET search_path TO {name}; CREATE TABLE schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL);"
    );
    for (version, migration, sql) in previous {
        setup.push_str(sql);
        setup.push_str(&format!("INSERT INTO schema_migrations VALUES ({version}, '{migration}');"));
    }
    db.batch_execute(&setup).await.unwrap();

    // The new version migrates (0007 only) and provisions; the database was not new: no finish.
    let migrated = Command::new(BIN).args(["--database", &database, "migrate"]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let org = admin(&database, &["org", "create", "--name", "rolling"]);
    let sid = admin(&database, &["service", "create", "--org", &org["id"].to_string()])["id"].to_string();
    let client = admin(&database, &["client", "create", "--service", &sid])["clientId"].to_string();
    let bearer =
        admin(&database, &["credential", "create", "--service", &sid])["secret"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let post = |base: String, path: &str, body: Value| {
        http.post(format!("{base}/api/{sid}{path}")).bearer_auth(&bearer).json(&body).send()
    };
    let create = json!({"grantType": "CLIENT_CREDENTIALS", "clientId": client.parse::<u64>().unwrap()});
    // The previous version's lookup, as it reads: the whole value's hash on its unique constraint.
    let previous_lookup =
        format!("SELECT token_id FROM {name}.tokens WHERE access_hash = $1 AND service_id = $2");
    let service_id: i64 = sid.parse().unwrap();

    let before = start(&database);
    let created: Value =
        post(before.base.clone(), "/auth/token/create", create.clone()).await.unwrap().json().await.unwrap();
    let value = created["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(value.len(), 43, "hashed values until the upgrade is finished: {value}");
    let hash = token_core::TokenHash::of(&value);
    let rows = db.query(&previous_lookup, &[&hash.as_str(), &service_id]).await.unwrap();
    assert_eq!(rows.len(), 1, "the previous version finds what the new one issues");
    let plan = db
        .query(&format!("EXPLAIN {previous_lookup}"), &[&hash.as_str(), &service_id])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plan.contains("Index"), "the previous version still reads through an index: {plan}");

    let finished = Command::new(BIN).args(["--database", &database, "migrate", "--finish"]).output().unwrap();
    let said = String::from_utf8_lossy(&finished.stdout);
    assert!(finished.status.success() && said.contains("upgrades finished"), "{said}");
    let constraints = db
        .query(
            "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE n.nspname = $1 AND conname IN ('tokens_access_hash', 'tokens_refresh_hash')",
            &[&name],
        )
        .await
        .unwrap();
    assert!(constraints.is_empty(), "the whole-hash constraints are gone after finish");
    let again = Command::new(BIN).args(["--database", &database, "migrate", "--finish"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("no upgrade waits"));

    let after = start(&database);
    let created: Value =
        post(after.base.clone(), "/auth/token/create", create.clone()).await.unwrap().json().await.unwrap();
    let generated = created["accessToken"].as_str().unwrap().to_owned();
    let token_id = created["tokenId"].as_str().unwrap();
    assert!(generated.starts_with(&format!("atk_{token_id}")), "{generated}");
    for (base, token) in
        [(after.base.clone(), &generated), (after.base.clone(), &value), (before.base.clone(), &value)]
    {
        let answer: Value =
            post(base, "/auth/introspection", json!({"token": token})).await.unwrap().json().await.unwrap();
        assert_eq!(answer["action"], "OK", "{answer}");
    }
    // A caller's own value is still unique in its service, through the partial index.
    let own = json!({"grantType": "CLIENT_CREDENTIALS", "clientId": client.parse::<u64>().unwrap(),
                     "accessToken": "callers-own-value-1"});
    let first = post(after.base.clone(), "/auth/token/create", own.clone()).await.unwrap();
    assert_eq!(first.status(), 200);
    let second: Value =
        post(after.base.clone(), "/auth/token/create", own).await.unwrap().json().await.unwrap();
    assert_eq!(second["resultCode"], "A109213", "{second}");
}

/// `token-server backup` on PostgreSQL runs the real pg_dump: a custom-format dump that pg_restore
/// restores into an empty database, where the CLI finds the tenant and its token again.
#[tokio::test]
async fn backup_on_postgresql_is_a_restorable_pg_dump() {
    let url = crate::common::postgres_url();
    let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "PostgreSQL is required in CI");
        return;
    };
    tokio::spawn(connection);
    let suffix = format!("{:012x}", rand::random::<u64>() >> 16);
    let (source, restored) = (format!("backup_src_{suffix}"), format!("backup_dst_{suffix}"));
    for name in [&source, &restored] {
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    }
    let on = |name: &str| {
        let mut parsed = url::Url::parse(&url).unwrap();
        parsed.set_path(&format!("/{name}"));
        parsed.to_string()
    };
    let org = admin(&on(&source), &["org", "create", "--name", "backed-up"]);
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("tokens.dump");
    let out = Command::new(BIN).args(["--database", &on(&source), "backup"]).arg(&dump).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = Command::new("pg_restore").arg("--list").arg(&dump).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("TABLE public tokens"), "a pg_dump archive");
    let restore =
        Command::new("pg_restore").args(["--dbname", &on(&restored), "--no-owner"]).arg(&dump).output();
    let restore = restore.unwrap();
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let orgs = admin(&on(&restored), &["org", "list"]);
    assert_eq!(orgs[0]["id"], org["id"], "{orgs}");
    for name in [&source, &restored] {
        client.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
    }
}
