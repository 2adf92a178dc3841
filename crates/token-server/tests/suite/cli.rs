//! The operator's command line on the real binary: tables for people and `--json` for scripts,
//! `admin service update`, `admin client delete`, `token introspect|revoke` on the store while the
//! server runs (each change is seen by its next request), bad input named, `--help` everywhere.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::durability::{admin, start, wait_out_the_tenancy_cache};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN).arg("--database").arg(db).args(args).env("RUST_LOG", "error").output().unwrap()
}

/// `token-server --json token …` with the token on standard input (`-`).
fn token_cmd_stdin(db: &Path, args: &[&str], token: &str) -> Value {
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(db)
        .args(["--json", "token"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{token}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "token {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn token_cmd(db: &Path, args: &[&str]) -> Value {
    let output =
        Command::new(BIN).arg("--database").arg(db).args(["--json", "token"]).args(args).output().unwrap();
    assert!(output.status.success(), "token {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn fails_with(output: Output, needle: &str) {
    assert!(!output.status.success(), "expected a failure naming {needle}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(needle), "stderr does not name {needle}: {stderr}");
}

#[test]
fn admin_prints_tables_for_people_and_json_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tables.sqlite");
    let org = admin(&db, &["org", "create", "--name", "acme-tables"]);
    admin(&db, &["org", "create", "--name", "second"]);

    let table = run(&db, &["admin", "org", "list"]);
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and one row per organization: {text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert!(header.contains(&"id") && header.contains(&"name"), "{text}");
    let name_col = lines[0].find("name").unwrap();
    assert!(lines[1][name_col..].starts_with("acme-tables"), "columns are aligned: {text}");
    assert!(lines[1].starts_with(&org["id"].to_string()), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "people get a table, not JSON");

    // A single record prints as key/value rows; an empty list says so.
    let service = run(&db, &["admin", "service", "create", "--org", &org["id"].to_string(), "--name", "tbl"]);
    let text = String::from_utf8(service.stdout).unwrap();
    assert!(text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["name", "tbl"]), "{text}");
    let empty = run(&db, &["admin", "client", "list", "--service", "1"]);
    assert_eq!(String::from_utf8(empty.stdout).unwrap(), "(none)\n");

    // `--json` anywhere on the line gives the same records as JSON.
    let json_after = run(&db, &["admin", "org", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&json_after.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["name"], "acme-tables");
}

#[test]
fn every_command_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["migrate"],
        &["janitor"],
        &["config"],
        &["config", "check"],
        &["admin"],
        &["admin", "org"],
        &["admin", "org", "create"],
        &["admin", "org", "list"],
        &["admin", "service"],
        &["admin", "service", "create"],
        &["admin", "service", "list"],
        &["admin", "service", "update"],
        &["admin", "client"],
        &["admin", "client", "create"],
        &["admin", "client", "list"],
        &["admin", "client", "update"],
        &["admin", "client", "delete"],
        &["admin", "credential"],
        &["admin", "credential", "create"],
        &["admin", "credential", "list"],
        &["admin", "credential", "revoke"],
        &["admin", "key"],
        &["admin", "key", "rotate"],
        &["admin", "key", "revoke"],
        &["admin", "key", "list"],
        &["token"],
        &["token", "introspect"],
        &["token", "list"],
        &["token", "revoke"],
    ];
    for command in commands {
        let output = Command::new(BIN).args(*command).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success() && text.contains("Usage: token-server"), "{command:?}: {text}");
        // Every command says what it does: a description line before `Usage:`.
        let description = text.split("Usage:").next().unwrap_or_default();
        assert!(!description.trim().is_empty(), "{command:?} --help has no description: {text}");
    }
}

#[tokio::test]
async fn operators_update_services_delete_clients_and_introspect_or_revoke_tokens_on_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("operator.sqlite");
    let org = admin(&db, &["org", "create", "--name", "ops"]);
    let org_id = org["id"].to_string();
    let service = admin(&db, &["service", "create", "--org", &org_id, "--scopes", "read"]);
    let service_id = service["id"].to_string();
    let other = admin(&db, &["service", "create", "--org", &org_id, "--name", "other"]);
    let other_id = other["id"].to_string();
    let client = admin(&db, &["client", "create", "--service", &service_id, "--alias", "web"]);
    let client_id = client["clientId"].to_string();
    let secret = admin(&db, &["credential", "create", "--service", &service_id])["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    let (mut server, base) = start(&db);
    let http = reqwest::Client::new();
    let create = |scopes: Value| {
        http.post(format!("{base}/api/{service_id}/auth/token/create"))
            .bearer_auth(&secret)
            .json(
                &json!({"grantType": "CLIENT_CREDENTIALS", "clientId": client["clientId"], "scopes": scopes}),
            )
            .send()
    };
    let refused: Value = create(json!(["extra"])).await.unwrap().json().await.unwrap();
    assert_eq!(refused["resultCode"], "A109207", "an unsupported scope is refused first: {refused}");

    // Update: what is given changes, the rest stays, and the running server sees it within the
    // tenancy cache's bound.
    let updated = admin(
        &db,
        &[
            "service",
            "update",
            "--service",
            &service_id,
            "--scopes",
            "read,extra",
            "--access-token-duration",
            "120",
            "--sign-alg",
            "ES256",
        ],
    );
    assert_eq!(updated["supportedScopes"], json!(["read", "extra"]), "{updated}");
    assert_eq!(updated["accessTokenDuration"], 120);
    assert_eq!(updated["accessTokenSignAlg"], "ES256");
    assert_eq!(updated["name"], service["name"], "unnamed settings stay");
    wait_out_the_tenancy_cache();
    let created: Value = create(json!(["extra"])).await.unwrap().json().await.unwrap();
    assert_eq!(created["action"], "OK", "{created}");
    assert_eq!(created["expiresIn"], 120);
    let jwt = created["jwtAccessToken"].as_str().expect("JWT access tokens are now issued");
    let header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    assert_eq!(header["alg"], "ES256", "a key of the new algorithm became current");
    let access = created["accessToken"].as_str().unwrap().to_owned();

    // Bad updates are refused with the reason, and change nothing.
    for (args, needle) in [
        (vec!["--access-token-duration", "0"], "durations must be positive"),
        (vec!["--issuer", "not a url"], "issuer"),
        (vec!["--scopes", "two words"], "'two words' is not a scope"),
        (vec!["--grant-types", "NOPE"], "unknown grant type NOPE"),
        (vec!["--custom-token-access-ttl", "7200"], "custom-token defaults"),
        (vec!["--sign-alg", "HS256"], "'HS256' is not EdDSA, ES256 or RS256"),
    ] {
        let mut line = vec!["admin", "service", "update", "--service", &service_id];
        line.extend(args);
        fails_with(run(&db, &line), needle);
    }
    fails_with(
        run(&db, &["admin", "service", "update", "--service", "999", "--name", "x"]),
        "does not exist",
    );
    let listed = admin(&db, &["service", "list"]);
    assert_eq!(listed[0]["accessTokenDuration"], 120, "a refused update changed nothing: {listed}");

    // Operator introspection works on the store, with the API's own answer; the value can come
    // from standard input so it stays out of the process list.
    let seen = token_cmd(&db, &["introspect", "--service", &service_id, &access]);
    assert_eq!(seen["action"], "OK", "{seen}");
    assert_eq!(seen["scopes"], json!(["extra"]));
    let seen = token_cmd_stdin(&db, &["introspect", "--service", &service_id, "-"], &access);
    assert_eq!(seen["action"], "OK", "{seen}");
    // Tenancy holds here too: another service does not know the token.
    let elsewhere = token_cmd(&db, &["introspect", "--service", &other_id, &access]);
    assert_eq!(elsewhere["action"], "UNAUTHORIZED", "{elsewhere}");
    assert_eq!(token_cmd(&db, &["revoke", "--service", &other_id, &access])["count"], 0);
    fails_with(run(&db, &["token", "introspect", "--service", "999", &access]), "service 999 does not exist");

    // Revoke by value: the running server refuses the token at its next introspection.
    let revoked = token_cmd_stdin(&db, &["revoke", "--service", &service_id, "-"], &access);
    assert_eq!(revoked["count"], 1, "{revoked}");
    // `token list` shows it revoked (JSON: the wire answer; the table prints times in RFC 3339).
    let listed = token_cmd(&db, &["list", "--service", &service_id]);
    let states: Vec<&Value> =
        listed["accessTokens"].as_array().unwrap().iter().map(|t| &t["state"]).collect();
    assert!(states.contains(&&json!("revoked")), "{listed}");
    let table = run(&db, &["token", "list", "--service", &service_id]);
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.contains("revoked") && table.contains("Z  ") && !table.contains("accessTokenHash\":"),
        "{table}"
    );
    let body: Value = http
        .post(format!("{base}/api/{service_id}/auth/introspection"))
        .bearer_auth(&secret)
        .json(&json!({"token": access}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["action"], "UNAUTHORIZED", "{body}");

    // Deleting a client revokes every token it holds, and the client is gone.
    let kept: Value = create(json!(["read"])).await.unwrap().json().await.unwrap();
    let kept = kept["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(token_cmd(&db, &["introspect", "--service", &service_id, &kept])["action"], "OK");
    let deleted = admin(&db, &["client", "delete", "--service", &service_id, "--client", &client_id]);
    assert_eq!(deleted["deleted"], true);
    assert_eq!(token_cmd(&db, &["introspect", "--service", &service_id, &kept])["action"], "UNAUTHORIZED");
    assert_eq!(admin(&db, &["client", "list", "--service", &service_id]), json!([]));
    fails_with(
        run(&db, &["admin", "client", "delete", "--service", &service_id, "--client", &client_id]),
        "has no client",
    );
    let gone: Value = create(json!(["read"])).await.unwrap().json().await.unwrap();
    assert_ne!(gone["action"], "OK", "a deleted client gets no tokens: {gone}");

    // A client can keep the ID it has elsewhere; an ID is never taken twice.
    let kept_id =
        admin(&db, &["client", "create", "--service", &service_id, "--id", "4242", "--alias", "moved"]);
    assert_eq!(kept_id["clientId"], 4242);
    fails_with(run(&db, &["admin", "client", "create", "--service", &service_id, "--id", "4242"]), "taken");
    fails_with(run(&db, &["admin", "client", "create", "--service", &service_id, "--id", "0"]), "positive");
    fails_with(
        run(
            &db,
            &["admin", "client", "create", "--service", &service_id, "--id", "4243", "--alias", "moved"],
        ),
        "alias is taken",
    );
    let clients = admin(&db, &["client", "list", "--service", &service_id]);
    let kept: Vec<_> = clients.as_array().unwrap().iter().filter(|c| c["alias"] == "moved").collect();
    assert_eq!(kept.len(), 1, "the refused creates stored nothing: {clients}");
    assert_eq!(kept[0]["clientId"], 4242);
    assert!(!clients.to_string().contains("4243"), "{clients}");

    // Argument mistakes are caught by the parser with usage help.
    fails_with(run(&db, &["token", "revoke", "--service", &service_id]), "required");
    fails_with(
        run(&db, &["token", "revoke", "--service", &service_id, "x", "--subject", "u"]),
        "cannot be used",
    );
    // A subject alone signs the user out everywhere (nothing live here: zero).
    assert_eq!(token_cmd(&db, &["revoke", "--service", &service_id, "--subject", "nobody"])["count"], 0);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// `admin client update` goes through the checks of `client create`: a service that does not exist
/// is named as such (it used to be reported as a missing client), an unknown client and an unknown
/// grant type are refused, and a refused update changes nothing.
#[test]
fn client_update_is_checked_like_client_create() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("client-update.sqlite");
    let org = admin(&db, &["org", "create", "--name", "ops"])["id"].to_string();
    let service = admin(&db, &["service", "create", "--org", &org])["id"].to_string();
    let client = admin(&db, &["client", "create", "--service", &service, "--alias", "web"]);
    let client_id = client["clientId"].to_string();
    let update = |service: &str, client: &str, grants: &str| {
        run(
            &db,
            &["admin", "client", "update", "--service", service, "--client", client, "--grant-types", grants],
        )
    };
    fails_with(update("999999", &client_id, "PASSWORD"), "service 999999 does not exist");
    fails_with(update(&service, "12345", "PASSWORD"), &format!("service {service} has no client '12345'"));
    // An unknown enum value lists the valid ones.
    fails_with(update(&service, &client_id, "NOPE"), "unknown grant type NOPE; valid: AUTHORIZATION_CODE, ");
    let listed = admin(&db, &["client", "list", "--service", &service]);
    assert_eq!(listed[0]["grantTypes"], client["grantTypes"], "refused updates changed nothing");
    let updated = admin(
        &db,
        &["client", "update", "--service", &service, "--client", &client_id, "--grant-types", "PASSWORD"],
    );
    assert_eq!(updated["grantTypes"], json!(["PASSWORD"]));
    // The alias names the client as well as its ID, for update and delete.
    let by_alias = admin(
        &db,
        &["client", "update", "--service", &service, "--client", "web", "--grant-types", "IMPLICIT"],
    );
    assert_eq!((&by_alias["clientId"], &by_alias["grantTypes"]), (&client["clientId"], &json!(["IMPLICIT"])));
    let deleted = admin(&db, &["client", "delete", "--service", &service, "--client", "web"]);
    assert_eq!(deleted["clientId"], client["clientId"]);
    assert_eq!(admin(&db, &["client", "list", "--service", &service]), json!([]));
}

/// A PostgreSQL password never reaches the terminal: whatever the command, and whether the
/// password is in the URL's user part or a `password` parameter.
#[test]
fn no_command_prints_the_database_password() {
    const PASSWORD: &str = "Kn0wnPassw0rd-4-grep";
    for url in [
        format!("postgres://tokens:{PASSWORD}@127.0.0.1:1/none?connect_timeout=1"),
        format!("postgresql://tokens@127.0.0.1:1/none?password={PASSWORD}&connect_timeout=1"),
    ] {
        let commands: [&[&str]; 7] = [
            &["config", "check"],
            &["serve", "--listen", "127.0.0.1:0"],
            &["migrate"],
            &["janitor"],
            &["admin", "org", "list"],
            &["--json", "admin", "credential", "list"],
            &["token", "introspect", "--service", "1", "some-token"],
        ];
        for args in commands {
            let output = Command::new(BIN)
                .arg("--database")
                .arg(&url)
                .args(args)
                .env("RUST_LOG", "debug")
                .env("TOKEN_SERVER_DATABASE_CONNECT_TIMEOUT_SECS", "1")
                .output()
                .unwrap();
            let printed = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(!printed.is_empty(), "{args:?} printed nothing");
            assert!(!printed.contains(PASSWORD), "{args:?} printed the password: {printed}");
        }
    }
}

/// Shell completions and the manual page are generated from the command line's own definition:
/// every subcommand is in them, and they need no configuration or store.
#[test]
fn completions_and_the_manual_page_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let output = Command::new(BIN)
            .args(["completions", shell])
            .env("TOKEN_SERVER_MAX_CONNECTIONS", "0") // a bad configuration does not matter here
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}: {}", String::from_utf8_lossy(&output.stderr));
        let script = String::from_utf8(output.stdout).unwrap();
        for subcommand in ["serve", "admin", "token", "migrate", "backup", "janitor"] {
            assert!(script.contains(subcommand), "{shell} completion lacks {subcommand}");
        }
    }
    let script =
        String::from_utf8(Command::new(BIN).args(["completions", "bash"]).output().unwrap().stdout).unwrap();
    let checked = Command::new("bash").args(["-n", "-c", &script]).output().unwrap();
    assert!(
        checked.status.success(),
        "the bash completion parses: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let man = Command::new(BIN).arg("man").output().unwrap();
    assert!(man.status.success());
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.starts_with(".TH") || page.contains("\n.TH token-server"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains("token\\-server") && page.contains("backup"), "the page names the commands");
    let bad = Command::new(BIN).args(["completions", "tcsh"]).output().unwrap();
    assert!(!bad.status.success(), "an unknown shell is refused");
}
