//! A 200 means committed: create tokens on the real binary, `kill -9` it, restart on the same file,
//! and every acknowledged token still introspects as active. Also drives the admin CLI end to end.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

/// Waits out the documented delay for a change made by the CLI (another process) to reach a
/// running server: its tenancy cache keeps what it read for at most `tenancy_cache_ms`.
pub fn wait_out_the_tenancy_cache() {
    let bound = token_server::config::MAX_TENANCY_CACHE_MS;
    std::thread::sleep(std::time::Duration::from_millis(bound + 20));
}

pub(crate) fn admin(db: &Path, args: &[&str]) -> Value {
    let output =
        Command::new(BIN).arg("--database").arg(db).args(["--json", "admin"]).args(args).output().unwrap();
    assert!(output.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Starts the server on a free port; returns the child and its base URL.
pub(crate) fn start(db: &Path) -> (Child, String) {
    start_with_env(db, &[])
}

/// A new organization named `org` with one default service, made by the CLI; the service's ID.
pub(crate) fn org_and_service(db: &Path, org: &str) -> String {
    let org = admin(db, &["org", "create", "--name", org]);
    admin(db, &["service", "create", "--org", &org["id"].to_string()])["id"].to_string()
}

/// [`start`] with extra environment variables.
pub(crate) fn start_with_env(db: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("server exited before listening").unwrap();
        if let Some(rest) = line.strip_prefix("token-server listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, base)
}

#[tokio::test]
async fn acknowledged_tokens_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("durable.sqlite");

    let org = admin(&db, &["org", "create", "--name", "acme"]);
    let org_id = org["id"].to_string();
    let service =
        admin(&db, &["service", "create", "--org", &org_id, "--name", "api", "--scopes", "read,write"]);
    let service_id = service["id"].to_string();
    let client = admin(&db, &["client", "create", "--service", &service_id, "--alias", "web"]);
    let credential = admin(&db, &["credential", "create", "--service", &service_id, "--label", "ci"]);
    let secret = credential["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sat_"));
    let listed = admin(&db, &["credential", "list"]);
    assert!(!listed.to_string().contains(&secret), "list never shows secrets");
    let clients = admin(&db, &["client", "list", "--service", &service_id]);
    assert_eq!(clients[0]["alias"], "web");

    let (mut server, base) = start(&db);
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for i in 0..40 {
        let response = http
            .post(format!("{base}/api/{service_id}/auth/token/create"))
            .bearer_auth(&secret)
            .json(&json!({
                "grantType": "PASSWORD", "clientId": client["clientId"], "subject": format!("user{i}"), "scopes": ["read"]
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        tokens.push((body["accessToken"].as_str().unwrap().to_owned(), format!("user{i}")));
    }
    // SIGKILL: no shutdown hook runs.
    server.kill().unwrap();
    server.wait().unwrap();

    let (mut server, base) = start(&db);
    for (token, subject) in &tokens {
        let response = http
            .post(format!("{base}/api/{service_id}/auth/introspection"))
            .bearer_auth(&secret)
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["action"], "OK", "{body}");
        assert_eq!(&body["subject"], subject);
    }
    // Key rotation through the CLI is visible to the running server.
    let rotated = admin(&db, &["key", "rotate", "--service", &service_id, "--alg", "ES256"]);
    let jwks: Value =
        http.get(format!("{base}/api/{service_id}/jwks")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kid"], rotated["kid"]);
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// On a terminal (a pseudo-terminal made by `script`) the first start shows the credentials and
/// writes the same 0600 file as on a pipe, so the README's flow (which reads the file) works
/// wherever the server runs.
#[test]
fn on_a_terminal_the_credentials_are_shown_and_written_alike() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tty.sqlite");
    let command = format!("{BIN} --database {} serve --listen 127.0.0.1:0", db.display());
    let mut child = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut shown = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        shown.push_str(&line);
        shown.push('\n');
        if line.contains("token-server listening on") {
            break;
        }
    }
    let _ = Command::new("pkill").args(["-f", "--", &format!("--database {} serve", db.display())]).status();
    let _ = child.kill();
    let _ = child.wait();
    assert!(shown.contains("service access token:   sat_"), "shown on the terminal: {shown}");
    let file = db.with_file_name("tty.sqlite.credentials");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("service access token:   sat_"), "{written}");
    let shown_token = shown.split("service access token:").nth(1).unwrap().split_whitespace().next().unwrap();
    assert!(written.contains(shown_token), "the file holds what the terminal showed");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
}

/// A port that is taken fails the start before anything is provisioned: no organization, no
/// credentials file.
#[test]
fn a_taken_port_bootstraps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("taken.sqlite");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", &address])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot listen"), "{output:?}");
    assert!(!db.with_file_name("taken.sqlite.credentials").exists(), "no credentials handed out");
    let listed = admin(&db, &["org", "list"]);
    assert_eq!(listed, serde_json::json!([]), "nothing provisioned: {listed}");
}

/// A credentials file left by an earlier first start beside an empty store is refused before
/// anything is provisioned, saying what to do (#37: credentials were provisioned that could not be
/// handed out, then the start failed); once it is moved, the first start provisions as usual.
#[test]
fn a_stale_credentials_file_is_refused_before_provisioning() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stale.sqlite");
    let stale = dir.path().join("stale.sqlite.credentials");
    std::fs::write(&stale, "service access token:   sat_from_another_store\n").unwrap();
    let output = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("move or delete it") && said.contains("nothing was provisioned"), "{said}");
    assert_eq!(admin(&db, &["org", "list"]), serde_json::json!([]), "nothing provisioned");
    assert_eq!(std::fs::read_to_string(&stale).unwrap(), "service access token:   sat_from_another_store\n");
    std::fs::remove_file(&stale).unwrap();
    let (mut child, _) = start(&db);
    let _ = child.kill();
    let _ = child.wait();
    assert!(stale.exists(), "the first start wrote its own credentials");
    assert_eq!(admin(&db, &["org", "list"]).as_array().unwrap().len(), 1);
}

/// A first start interrupted at any point (SIGTERM, SIGHUP — a closed terminal —, SIGKILL, from 0
/// to 500 ms after launch), then started again: either a full first start whose credentials work,
/// or a clear message and, once it is followed, a full first start. Never a store that starts
/// silently without a usable credential (before: an organization without a service, or a service
/// with one of its two credentials and no file).
#[tokio::test]
async fn an_interrupted_first_start_ends_whole_or_with_a_clear_message() {
    let http = reqwest::Client::new();
    let signals = ["TERM", "HUP", "KILL"];
    for (n, delay_ms) in (0..=500).step_by(25).enumerate() {
        let signal = signals[n % signals.len()];
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("first.sqlite");
        let file = dir.path().join("first.sqlite.credentials");
        let mut first = Command::new(BIN)
            .arg("--database")
            .arg(&db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let killed = Command::new("kill").args([&format!("-{signal}"), &first.id().to_string()]).status();
        assert!(killed.unwrap().success());
        first.wait().unwrap();

        let case = format!("SIG{signal} at {delay_ms} ms");
        let (mut server, base) = match start_or_refusal(&db) {
            Ok(started) => started,
            Err(said) => {
                assert!(said.contains("move or delete it"), "{case}: refused without saying why: {said}");
                std::fs::remove_file(&file).unwrap();
                start_or_refusal(&db).unwrap_or_else(|said| panic!("{case}: after the advice: {said}"))
            }
        };
        let credentials =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{case}: no credentials file: {e}"));
        let field = |name: &str| {
            let line =
                credentials.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{case}: {name}"));
            line.split_whitespace()
                .nth(if name == "service access token:" { 3 } else { 2 })
                .unwrap()
                .to_owned()
        };
        let (service, token) = (field("service id:"), field("service access token:"));
        let response = http
            .get(format!("{base}/api/{service}/auth/token/get/list"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{case}: the first start's credential works");
        let orgs = admin(&db, &["org", "list"]);
        assert_eq!(orgs.as_array().unwrap().len(), 1, "{case}: one first start: {orgs}");
        let _ = server.kill();
        let _ = server.wait();
    }
}

/// `sqlite:PATH` (a documented form of `--database`) starts like PATH: its credentials file is
/// PATH.credentials, not a file named after the prefixed text.
#[test]
fn a_sqlite_prefixed_database_makes_its_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prefixed.sqlite");
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(format!("sqlite:{}", db.display()))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines.any(|l| l.unwrap().starts_with("token-server listening on "));
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening, "the first start went through");
    assert!(dir.path().join("prefixed.sqlite.credentials").exists());
}

/// A store that cannot be used over HTTP (made by the CLI without a credential, or all revoked)
/// says so at every start, with the command that recovers it.
#[test]
fn a_store_without_a_usable_credential_says_so_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bare.sqlite");
    let org = admin(&db, &["org", "create", "--name", "acme"]);
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().starts_with("token-server listening on ")));
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
    assert!(
        said.contains("no usable credential") && said.contains("admin credential create --org"),
        "{said}"
    );
    // Following the advice makes it usable: the message is gone.
    admin(&db, &["credential", "create", "--org", &org["id"].to_string()]);
    let output = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = output;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().starts_with("token-server listening on ")));
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
    assert!(!said.contains("no usable credential"), "{said}");
}

/// Starts the server; `Err(stderr)` when it exits before listening.
fn start_or_refusal(db: &Path) -> Result<(Child, String), String> {
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("token-server listening on ") {
            let base = rest.split_whitespace().next().unwrap().to_owned();
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok((child, base));
        }
    }
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
    child.wait().unwrap();
    Err(said)
}

#[test]
fn first_start_bootstraps_once_and_admin_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("boot.sqlite");
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("token-server listening on") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // stdout is a pipe, not a terminal: the credentials must not be printed (log collectors read
    // pipes), only written to a file only the owner can read, whose path is printed.
    assert!(!banner.contains("sat_") && !banner.contains("ort_"), "{banner}");
    let file = db.with_file_name("boot.sqlite.credentials");
    assert!(banner.contains(&file.display().to_string()), "{banner}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("service access token:   sat_"), "{written}");
    assert!(written.contains("organization token:     ort_"), "{written}");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // A second start prints no credentials.
    let (mut child, _) = start(&db);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(admin(&db, &["org", "list"]).as_array().unwrap().len(), 1);

    let bad = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["admin", "client", "create", "--service", "1"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not exist"));
    let bad = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["admin", "service", "create", "--org", "1", "--grant-types", "NOPE"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[tokio::test]
async fn secrets_never_reach_the_logs_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("logs.sqlite");
    let service_id = org_and_service(&db, "logs");
    let client = admin(&db, &["client", "create", "--service", &service_id]);
    let secret = admin(&db, &["credential", "create", "--service", &service_id])["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    let log = dir.path().join("server.log");
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("token-server listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/api/{service_id}/auth/token/create"))
        .bearer_auth(&secret)
        .json(&json!({"grantType": "PASSWORD", "clientId": client["clientId"], "subject": "s"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["accessToken"].as_str().unwrap().to_owned();
    let custom: Value = http
        .post(format!("{base}/api/{service_id}/custom-token/generate"))
        .bearer_auth(&secret)
        .json(&json!({"userId": "u", "identity": "r"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let custom_token = custom["data"]["customToken"].as_str().unwrap().to_owned();
    // A token value in a path, a rejected credential, a bad body.
    let deleted = http
        .delete(format!("{base}/api/{service_id}/auth/token/delete/{token}"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let _ = http
        .post(format!("{base}/api/{service_id}/auth/token/create"))
        .bearer_auth("sat_leaked-guess")
        .send()
        .await;
    let _ = http
        .post(format!("{base}/api/{service_id}/custom-token/exchange"))
        .json(&json!({"customToken": custom_token}))
        .send()
        .await;

    // SIGTERM: graceful shutdown, exit status 0.
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("request"), "trace logging was on: {logs}");
    for secret_value in [
        secret.as_str(),
        token.as_str(),
        custom_token.as_str(),
        "sat_leaked-guess",
        created["refreshToken"].as_str().unwrap(),
    ] {
        assert!(!logs.contains(secret_value), "a secret reached the log");
    }
}

/// The admin commands of the security hardening, on the real binary against a running server:
/// credential expiry and revocation, last use, key revocation, taking a grant away from a client.
#[tokio::test]
async fn admin_revokes_credentials_and_keys_on_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("admin.sqlite");
    let service_id = org_and_service(&db, "acme");
    let client = admin(&db, &["client", "create", "--service", &service_id]);
    let credential = admin(&db, &["credential", "create", "--service", &service_id, "--expires-in", "30d"]);
    let secret = credential["secret"].as_str().unwrap().to_owned();
    let id = credential["credential"]["id"].to_string();
    let expires_at = credential["credential"]["expiresAt"].as_i64().unwrap();
    let in_30_days = token_server::clock::now_ms() + 30 * 86_400_000;
    assert!((in_30_days - 60_000..=in_30_days).contains(&expires_at), "{credential}");
    let bad = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["admin", "credential", "create", "--service", &service_id, "--expires-in", "soon"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--expires-in"));

    let (mut server, base) = start(&db);
    let http = reqwest::Client::new();
    let list = |bearer: String| {
        let http = http.clone();
        let url = format!("{base}/api/{service_id}/auth/token/get/list");
        async move { http.get(url).bearer_auth(bearer).send().await.unwrap().status() }
    };
    assert_eq!(list(secret.clone()).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let listed = admin(&db, &["credential", "list"]);
    assert!(listed[0]["lastUsedAt"].is_i64(), "{listed}");

    // A generated custom token, then its key revoked through the CLI: unpublished, not exchangeable.
    let generated: Value = http
        .post(format!("{base}/api/{service_id}/custom-token/generate"))
        .bearer_auth(&secret)
        .json(&json!({"userId": "u", "identity": "r"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let custom = generated["data"]["customToken"].as_str().unwrap().to_owned();
    let kid = jsonwebtoken::decode_header(&custom).unwrap().kid.unwrap();
    // A session let in by the same key, before it is revoked.
    let exchange = |token: Value| {
        let (http, url) = (http.clone(), format!("{base}/api/{service_id}/custom-token/exchange"));
        async move { http.post(url).json(&json!({"customToken": token})).send().await.unwrap() }
    };
    let other: Value = http
        .post(format!("{base}/api/{service_id}/custom-token/generate"))
        .bearer_auth(&secret)
        .json(&json!({"userId": "v", "identity": "r"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session: Value = exchange(other["data"]["customToken"].clone()).await.json().await.unwrap();
    let revoked = admin(&db, &["key", "revoke", "--service", &service_id, &kid]);
    assert!(revoked["newCurrentKid"].is_string(), "{revoked}");
    // `admin key list` shows every key with its state and times, and public parts only.
    let keys = admin(&db, &["key", "list", "--service", &service_id]);
    let state_of = |kid: &Value| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| &k["kid"] == kid)
            .map(|k| k["state"].clone())
            .unwrap_or_default()
    };
    assert_eq!(state_of(&json!(kid)), "revoked", "{keys}");
    assert_eq!(state_of(&revoked["newCurrentKid"]), "current", "{keys}");
    let listed_revoked = keys.as_array().unwrap().iter().find(|k| k["kid"] == json!(kid)).unwrap();
    assert!(listed_revoked["revokedAt"].as_i64().unwrap() >= listed_revoked["createdAt"].as_i64().unwrap());
    assert!(!keys.to_string().contains("\"d\":") && !keys.to_string().contains("private"), "{keys}");
    assert_eq!(revoked["tokensRevoked"], 1, "the session the key let in is revoked: {revoked}");
    let refreshed = http
        .post(format!("{base}/api/{service_id}/auth/token/refresh"))
        .json(&json!({"refreshToken": session["refreshToken"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 400, "a session of a revoked key no longer refreshes");
    let jwks: Value =
        http.get(format!("{base}/api/{service_id}/jwks")).send().await.unwrap().json().await.unwrap();
    assert!(!jwks.to_string().contains(&kid), "{jwks}");
    let exchanged = http
        .post(format!("{base}/api/{service_id}/custom-token/exchange"))
        .json(&json!({"customToken": custom}))
        .send()
        .await
        .unwrap();
    assert_eq!(exchanged.status(), 400);

    let update = admin(
        &db,
        &[
            "client",
            "update",
            "--service",
            &service_id,
            "--client",
            &client["clientId"].to_string(),
            "--grant-types",
            "AUTHORIZATION_CODE",
        ],
    );
    assert_eq!(update["grantTypes"], json!(["AUTHORIZATION_CODE"]));

    admin(&db, &["credential", "revoke", &id]);
    wait_out_the_tenancy_cache();
    assert_eq!(list(secret.clone()).await, 401, "a revoked credential is refused within the bound");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn migrate_applies_the_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("migrate.sqlite");
    let run = || Command::new(BIN).arg("--database").arg(&db).arg("migrate").output().unwrap();
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let printed = String::from_utf8_lossy(&first.stdout);
    assert!(printed.contains("applied 0001_initial, 0002_security"), "{printed}");
    let second = run();
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
    // The migrated file serves: the admin CLI works on it.
    assert_eq!(admin(&db, &["org", "list"]), json!([]));
}

#[test]
fn the_janitor_command_reports_what_it_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("janitor.sqlite");
    admin(&db, &["org", "create", "--name", "j"]);
    let output = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["--json", "janitor", "--retention-secs", "0"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let purged: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        purged,
        json!({"tokens": 0, "customTokenUses": 0, "rotatedRefreshTokens": 0, "proofUses": 0, "statusLists": 0,
            "events": 0})
    );
    // For people, a table like every other command's.
    let output = Command::new(BIN).arg("--database").arg(&db).args(["janitor"]).output().unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && table.lines().any(|l| l.starts_with("tokens ")), "{table}");
    assert!(!table.contains('{'), "{table}");
}

/// The CLI speaks with one voice (#38): times in RFC 3339 in every table (`admin org list`'s
/// `created_at` too), no JSON in table cells, `--json` only where there is a result to shape, and
/// a manual page with ENVIRONMENT and FILES that names no page it does not ship.
#[test]
fn the_cli_speaks_with_one_voice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("voice.sqlite");
    admin(&db, &["org", "create", "--name", "acme"]);
    let output =
        Command::new(BIN).arg("--database").arg(&db).args(["admin", "org", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    let row = table.lines().nth(1).unwrap();
    assert!(row.contains('T') && row.contains('Z') && row.contains('-'), "an RFC 3339 time: {table}");
    let service =
        admin(&db, &["service", "create", "--org", &admin(&db, &["org", "list"])[0]["id"].to_string()]);
    let output =
        Command::new(BIN).arg("--database").arg(&db).args(["admin", "service", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        !table.contains('{') && !table.contains('[') && !table.contains('"'),
        "no JSON in cells: {table}"
    );
    assert!(table.contains(&service["id"].to_string()), "{table}");
    for args in
        [&["--json", "serve"][..], &["--json", "config", "check"], &["--json", "migrate"], &["--json", "man"]]
    {
        let output = Command::new(BIN).arg("--database").arg(&db).args(args).output().unwrap();
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains("--json"), "{said}");
    }
    let man = String::from_utf8(Command::new(BIN).arg("man").output().unwrap().stdout).unwrap();
    for section in [".SH COMMANDS", ".SH ENVIRONMENT", ".SH FILES", "TOKEN_SERVER_DATABASE"] {
        assert!(man.contains(section), "the page has {section}");
    }
    assert!(
        !man.contains("(1)\n") && !man.contains("token\\-server\\-serve(1)"),
        "no page that is not generated"
    );
}

/// Starts the real binary on `db` with `env`, logging to `log`; returns it and its base URL.
fn start_logging(db: &Path, log: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("token-server listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, base)
}

/// A SIGTERM sent the moment the server says it listens stops it gracefully, every time: the signal
/// listeners exist before that line is printed (a signal in between used to be lost, leaving the
/// server running).
#[test]
fn a_sigterm_right_after_listening_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("term.sqlite");
    for attempt in 0..10 {
        let log = dir.path().join(format!("term-{attempt}.log"));
        let (mut child, _) = start_logging(&db, &log, &[("RUST_LOG", "info")]);
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("attempt {attempt}: the server ignored SIGTERM");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(status.success(), "attempt {attempt}: {status:?}");
        let logs = std::fs::read_to_string(&log).unwrap();
        assert!(logs.contains("shutting down"), "attempt {attempt}: {logs}");
    }
}

/// Every answer carries `x-request-id` (the client's when sane, else a new one) and every request
/// has one access log line with its ID, route template, status, latency, service and result code,
/// in text and in JSON (`TOKEN_SERVER_LOG_FORMAT=json`).
#[tokio::test]
async fn every_request_has_an_id_echoed_and_one_log_line_in_text_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ids.sqlite");
    let service_id = org_and_service(&db, "ids");
    let client = admin(&db, &["client", "create", "--service", &service_id]);
    let secret = admin(&db, &["credential", "create", "--service", &service_id])["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let create = json!({"grantType": "CLIENT_CREDENTIALS", "clientId": client["clientId"]});

    for format in ["text", "json"] {
        let log = dir.path().join(format!("{format}.log"));
        let (mut child, base) =
            start_logging(&db, &log, &[("TOKEN_SERVER_LOG_FORMAT", format), ("RUST_LOG", "info")]);
        let url = format!("{base}/api/{service_id}/auth/token/create");
        let given = format!("trace-{format}-42");
        let ok = http
            .post(&url)
            .bearer_auth(&secret)
            .header("x-request-id", &given)
            .json(&create)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["x-request-id"], given.as_str(), "the client's ID is echoed");
        // An ID that is not a sane token is replaced; a rejected request is logged with its code.
        let refused = http
            .post(&url)
            .bearer_auth("sat_wrong")
            .header("x-request-id", "two words")
            .json(&create)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        let generated = refused.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(generated != "two words" && generated.len() >= 16, "{generated}");
        let without = http.get(format!("{base}/healthz")).send().await.unwrap();
        assert!(!without.headers()["x-request-id"].is_empty());

        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        child.wait().unwrap();
        let logs = std::fs::read_to_string(&log).unwrap();
        let access: Vec<&str> = logs.lines().filter(|l| l.contains("token_server::access")).collect();
        assert_eq!(access.len(), 3, "one line per request: {logs}");
        let line_of = |id: &str| {
            *access.iter().find(|l| l.contains(id)).unwrap_or_else(|| panic!("no line for {id}: {logs}"))
        };
        if format == "json" {
            let ok: Value = serde_json::from_str(line_of(&given)).unwrap();
            assert_eq!(ok["request_id"], given.as_str());
            assert_eq!(ok["route"], "/api/{serviceId}/auth/token/create");
            assert_eq!(ok["status"], 200);
            assert_eq!(ok["service_id"], service_id.as_str());
            assert!(ok["latency_ms"].as_f64().unwrap() >= 0.0);
            let refused: Value = serde_json::from_str(line_of(&generated)).unwrap();
            assert_eq!(refused["status"], 401);
            assert!(refused["result_code"].as_str().unwrap().starts_with('A'), "{refused}");
        } else {
            let ok = line_of(&given);
            for part in [
                format!("request_id={given}"),
                "route=/api/{serviceId}/auth/token/create".to_owned(),
                "status=200".to_owned(),
                format!("service_id={service_id}"),
            ] {
                assert!(ok.contains(&part), "{part} in {ok}");
            }
            assert!(line_of(&generated).contains("status=401"));
        }
        assert!(!logs.contains(&secret), "a secret reached the log");
    }
}

/// `token-server config check`: exit 0 with the effective settings for a good configuration; exit
/// 2 naming the key for an unknown key, a bad value in the file or in the environment; `serve`
/// refuses the same configurations the same way.
#[test]
fn config_check_names_the_bad_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let good = write(
        "good.toml",
        "listen = \"127.0.0.1:9999\"\nlog_format = \"json\"\nkey_encryption_key = \"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnk=\"\n",
    );
    let out = Command::new(BIN).arg("--config").arg(&good).args(["config", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("listen = \"127.0.0.1:9999\"") && stdout.contains("log_format = \"json\""),
        "{stdout}"
    );
    assert!(stdout.contains("key_encryption_key = \"(set)\"") && !stdout.contains("c2VjcmV0"), "{stdout}");

    let unknown = write("unknown.toml", "listen = \"127.0.0.1:9999\"\nmax_body_byte = 3\n");
    let bad_value = write("bad.toml", "max_body_bytes = \"big\"\n");
    let bad_origin = write("origin.toml", "cors_allowed_origins = [\"app.example\"]\n");
    for (file, env, key) in [
        (Some(&unknown), None, "max_body_byte"),
        (Some(&bad_value), None, "max_body_bytes"),
        (Some(&bad_origin), None, "cors_allowed_origins"),
        (None, Some(("TOKEN_SERVER_LOG_FORMAT", "xml")), "TOKEN_SERVER_LOG_FORMAT"),
        (None, Some(("TOKEN_SERVER_MAX_CONNECTIONS", "0")), "max_connections"),
        // Values `serve` used to refuse (or silently bend) only after `config check` said valid.
        (None, Some(("TOKEN_SERVER_KEY_ENCRYPTION_KEY", "c2hvcnQ=")), "key_encryption_key"),
        (None, Some(("TOKEN_SERVER_CUSTOM_TOKEN_PARALLEL_LIMIT", "0")), "custom_token_parallel_limit"),
        (None, Some(("TOKEN_SERVER_PIPELINE_MAX_OPERATIONS", "0")), "pipeline_max_operations"),
    ] {
        for command in [&["config", "check"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
            let mut run = Command::new(BIN);
            if let Some(file) = file {
                run.arg("--config").arg(file);
            }
            if let Some((name, value)) = env {
                run.env(name, value);
            }
            run.arg("--database").arg(dir.path().join("never.sqlite"));
            let out = run.args(command).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command:?} {key}: {stderr}");
            assert!(stderr.contains(key), "{command:?}: the message names {key}: {stderr}");
        }
    }
    assert!(!dir.path().join("never.sqlite").exists(), "a refused configuration opened no store");
}

/// `config check` keeps its promise (#38): what `serve` refuses, it refuses, naming what is wrong —
/// the database URL read as `serve` reads it, a misspelt `TOKEN_SERVER_*` variable, a host name
/// where an address is needed — and `serve` refuses the same, before opening anything.
#[test]
fn config_check_refuses_what_serve_would_refuse_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("host.toml");
    std::fs::write(&toml, "listen = \"localhost:8080\"\n").unwrap();
    let pg = "postgres://postgres@127.0.0.1:5432/test";
    let missing_root =
        format!("{pg}?sslmode=verify-full&sslrootcert={}", dir.path().join("nope.pem").display());
    let mysql = format!("mysql://u@{}/db", dir.path().display());
    // (arguments, environment, what the message names)
    type Case<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (vec!["--database".into(), format!("{pg}?sslmode=bogus")], vec![], vec!["sslmode=bogus"]),
        (vec!["--database".into(), format!("{pg}?sslmod=require")], vec![], vec!["sslmod"]),
        (vec!["--database".into(), mysql.clone()], vec![], vec!["mysql://", "postgres://"]),
        (vec!["--database".into(), missing_root], vec![], vec!["sslrootcert", "nope.pem"]),
        // Read for ever once (/dev/zero): refused as what it is, at once.
        (
            vec!["--database".into(), format!("{pg}?sslrootcert=/dev/zero")],
            vec![],
            vec!["not a regular file"],
        ),
        (vec![], vec![("TOKEN_SERVER_DATABASE", "mysql://u@h/db")], vec!["mysql://"]),
        (vec![], vec![("TOKEN_SERVER_LISTEN", "localhost:8080")], vec!["IP address and a port"]),
        (
            vec!["--config".into(), toml.display().to_string()],
            vec![],
            vec!["listen", "IP address and a port"],
        ),
    ];
    for (args, env, said) in &cases {
        for command in [&["config", "check"][..], &["serve"][..]] {
            let mut run = Command::new(BIN);
            run.args(args).envs(env.iter().copied()).args(command).current_dir(dir.path());
            if !args.contains(&"--database".to_owned())
                && env.iter().all(|(n, _)| *n != "TOKEN_SERVER_DATABASE")
            {
                run.arg("--database").arg(dir.path().join("never.sqlite"));
            }
            let out = run.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {env:?} {command:?}: {stderr}");
            for part in said {
                assert!(stderr.contains(part), "{args:?} {env:?} {command:?}: names {part}: {stderr}");
            }
        }
    }
    // Nothing was created: not the SQLite file, not a file named like the URL.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("host.toml")], "{left:?}");
    let out = Command::new(BIN).args(["serve", "--listen", "localhost:1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("IP address and a port"), "{stderr}");

    // A misspelt variable: `config check` refuses it, `serve` warns and runs.
    let db = dir.path().join("env.sqlite");
    let out = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["config", "check"])
        .env("TOKEN_SERVER_MAX_BODY_BYTE", "5")
        .env("TOKEN_SERVER_TEST_ANYTHING", "harness variables are let be")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("TOKEN_SERVER_MAX_BODY_BYTE") && !stderr.contains("TOKEN_SERVER_TEST_ANYTHING"),
        "{stderr}"
    );
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TOKEN_SERVER_MAX_BODY_BYTE", "5")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().starts_with("token-server listening on ")));

    // A second server on the same SQLite file refuses, saying why; the first serves on.
    let second = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{said}");
    assert!(said.contains("already serving") && said.contains("PostgreSQL"), "{said}");
    // The CLI still works beside the server.
    assert_eq!(admin(&db, &["org", "list"]).as_array().unwrap().len(), 1);
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    let mut logged = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logged).unwrap();
    assert!(logged.contains("TOKEN_SERVER_MAX_BODY_BYTE"), "serve warns: {logged}");
}

/// `tenancy_cache_ms = 0` turns the tenancy cache off: a credential revoked by the CLI is refused
/// on the very next request. A longer delay than the documented bound is refused at start.
#[tokio::test]
async fn without_the_tenancy_cache_a_cli_revocation_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nocache.sqlite");
    let service_id = org_and_service(&db, "acme");
    let credential = admin(&db, &["credential", "create", "--service", &service_id]);
    let secret = credential["secret"].as_str().unwrap().to_owned();
    let id = credential["credential"]["id"].to_string();

    let too_long = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TOKEN_SERVER_TENANCY_CACHE_MS", "1001")
        .output()
        .unwrap();
    assert_eq!(too_long.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&too_long.stderr).contains("tenancy_cache_ms"));

    let (mut server, base) = start_with_env(&db, &[("TOKEN_SERVER_TENANCY_CACHE_MS", "0")]);
    let http = reqwest::Client::new();
    let url = format!("{base}/api/{service_id}/auth/token/get/list");
    let list = || http.get(&url).bearer_auth(&secret).send();
    assert_eq!(list().await.unwrap().status(), 200);
    admin(&db, &["credential", "revoke", &id]);
    assert_eq!(list().await.unwrap().status(), 401, "refused on the very next request");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// `token-server backup` copies the store online, while creates run: restored into a new server,
/// every token acknowledged before the backup started introspects as it did; the copy is 0600.
#[tokio::test]
async fn a_backup_taken_under_load_restores_every_acknowledged_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.sqlite");
    let service_id = org_and_service(&db, "acme");
    let client = admin(&db, &["client", "create", "--service", &service_id, "--alias", "web"]);
    let secret = admin(&db, &["credential", "create", "--service", &service_id, "--label", "ci"])["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut server, base) = start(&db);
    let http = reqwest::Client::new();
    let (http_c, base_c, secret_c, client_c, sid_c) =
        (http.clone(), base.clone(), secret.clone(), client["clientId"].clone(), service_id.clone());
    let create = move |subject: String| {
        let (http, base, secret, client_id, sid) =
            (http_c.clone(), base_c.clone(), secret_c.clone(), client_c.clone(), sid_c.clone());
        async move {
            let body = json!({"grantType": "PASSWORD", "clientId": client_id, "subject": subject, "scopes": ["openid"]});
            let response = http
                .post(format!("{base}/api/{sid}/auth/token/create"))
                .bearer_auth(&secret)
                .json(&body)
                .send()
                .await;
            let answer: Value = response.ok()?.json().await.ok()?;
            answer["accessToken"].as_str().map(str::to_owned)
        }
    };
    let mut before = Vec::new();
    for i in 0..30 {
        before.push((create(format!("before{i}")).await.unwrap(), format!("before{i}")));
    }
    // Creates keep running while the backup is taken.
    let load = tokio::spawn({
        let create = create.clone();
        async move {
            let mut made = 0;
            for i in 0..300 {
                if create(format!("during{i}")).await.is_some() {
                    made += 1;
                }
            }
            made
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let backup = dir.path().join("copy.sqlite");
    let output = Command::new(BIN).arg("--database").arg(&db).arg("backup").arg(&backup).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(load.await.unwrap() > 0, "the load ran");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
    }
    server.kill().unwrap();
    server.wait().unwrap();
    // A second backup to the same path is refused: nothing is overwritten.
    let again = Command::new(BIN).arg("--database").arg(&db).arg("backup").arg(&backup).output().unwrap();
    assert!(!again.status.success());

    let (mut restored, base) = start(&backup);
    for (token, subject) in &before {
        let answer: Value = http
            .post(format!("{base}/api/{service_id}/auth/introspection"))
            .bearer_auth(&secret)
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (answer["action"].as_str(), answer["subject"].as_str()),
            (Some("OK"), Some(subject.as_str()))
        );
    }
    restored.kill().unwrap();
    restored.wait().unwrap();

    // On PostgreSQL the command runs pg_dump (a real one: tests/suite/multi_instance.rs); here a
    // stand-in on PATH records how it was called: the password never on its command line (every
    // user of the machine sees those), given as PGPASSWORD; the file is new and 0600.
    use std::os::unix::fs::PermissionsExt as _;
    let fake = dir.path().join("bin");
    std::fs::create_dir(&fake).unwrap();
    let record = dir.path().join("pg_dump.called");
    std::fs::write(
        fake.join("pg_dump"),
        format!(
            "#!/bin/sh\necho \"$@\" > '{r}'\necho \"PGPASSWORD=$PGPASSWORD\" >> '{r}'\n",
            r = record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(fake.join("pg_dump"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap_or_default());
    let dump = dir.path().join("pg.dump");
    let url = "postgres://tokens:pw%40not-shown@db.example/tokens?sslmode=require&options=-c%20statement_timeout%3D0";
    let pg =
        Command::new(BIN).args(["--database", url, "backup"]).arg(&dump).env("PATH", &path).output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&pg.stdout), String::from_utf8_lossy(&pg.stderr));
    assert!(pg.status.success(), "{out} {err}");
    assert!(!out.contains("pw") && !err.contains("pw"), "{out} {err}");
    let called = std::fs::read_to_string(&record).unwrap();
    let (args, env) = called.split_once("PGPASSWORD=").unwrap();
    assert!(
        args.contains("--format=custom") && args.contains("sslmode=require") && !args.contains("pw"),
        "{args}"
    );
    assert!(args.contains("options=-c%20statement_timeout%3D0"), "other parameters as written: {args}");
    assert_eq!(env.trim(), "pw@not-shown", "the decoded password, in the environment only");
    let mode = std::fs::metadata(&dump).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // pg_dump missing, or failing: a non-zero exit, no file left.
    let missing = Command::new(BIN)
        .args(["--database", url, "backup"])
        .arg(dir.path().join("none.dump"))
        .env("PATH", dir.path().join("empty"))
        .output()
        .unwrap();
    assert!(!missing.status.success(), "a backup that did not happen is not a success");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("pg_dump was not found"));
    assert!(!dir.path().join("none.dump").exists());
}

/// Checked upgrades on SQLite: a store of the first schema (0001 only, with a token) shows its
/// migrations applied and pending with checksums, migrates to the current schema with the token
/// intact, and is refused at start once an applied migration's recorded checksum disagrees.
#[test]
fn a_first_schema_store_upgrades_with_its_tokens_and_edited_migrations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.sqlite");
    let value = "token-issued-by-the-first-schema";
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(token_server::store::sqlite::MIGRATIONS[0].2).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO organizations (id, name, created_at) VALUES (5001, 'old', 0);
             INSERT INTO services (id, organization_id, name, issuer, supported_scopes, supported_grant_types,
               access_token_duration, refresh_token_duration, access_token_sign_alg, custom_token_access_ttl,
               custom_token_refresh_ttl, created_at)
             VALUES (700000001, 5001, 'old', 'https://old.example', '[\"openid\"]', '[\"PASSWORD\"]', 3600, 86400,
               NULL, 3600, 7200, 0);
             INSERT INTO clients (client_id, service_id, name, alias, entity_id, grant_types)
             VALUES (42, 700000001, 'app', NULL, NULL, '[\"PASSWORD\"]');",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO tokens (token_id, service_id, access_hash, client_id, subject, grant_type, scopes,
               created_at, access_expires_at, last_refreshed_at, properties, token_type, resources, extra)
             VALUES ('t-old', 700000001, ?1, 42, 'olduser', 'PASSWORD', '[\"openid\"]', 0, 0, 0, '[]', 'Bearer', '[]', '{}')",
            [token_core::TokenHash::of(value).as_str()],
        )
        .unwrap();
    }
    let status = |db: &Path| -> Value {
        let out = Command::new(BIN)
            .arg("--database")
            .arg(db)
            .args(["--json", "migrate", "--status"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // A path with no store says so, and creates nothing.
    let nowhere = dir.path().join("nowhere.sqlite");
    let out =
        Command::new(BIN).arg("--database").arg(&nowhere).args(["migrate", "--status"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("no store here yet"), "{said}");
    assert!(!nowhere.exists());
    let before = status(&db);
    let applied: Vec<bool> =
        before.as_array().unwrap().iter().map(|m| m["applied"].as_bool().unwrap()).collect();
    assert!(applied[0] && applied[1..].iter().all(|a| !a), "{before}");
    assert!(before[0]["checksum"].as_str().unwrap().starts_with("sha256:"), "{before}");

    let migrated = Command::new(BIN).arg("--database").arg(&db).arg("migrate").output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    assert!(status(&db).as_array().unwrap().iter().all(|m| m["applied"] == true));
    let out = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .args(["--json", "token", "introspect", "--service", "700000001", value])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((info["usable"].as_bool(), info["subject"].as_str()), (Some(true), Some("olduser")), "{info}");

    // An applied migration whose text no longer matches what was applied: refused, by name.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE schema_checksums SET checksum = 'sha256:edited' WHERE version = 1", [])
        .unwrap();
    let refused =
        Command::new(BIN).arg("--database").arg(&db).args(["admin", "org", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("0001_initial") && stderr.contains("changed"),
        "{stderr}"
    );
}
