//! `token-server events list|tail|export` on the real binary, beside a running server on its
//! database (SQLite: the same file; PostgreSQL: the test's schema): what the CLI reads is what the
//! API answers, `tail` prints an event written through HTTP while it follows and stops cleanly at
//! SIGTERM or Ctrl-C, `export` writes JSON lines from a time, and bad input is named (never a
//! panic) with a non-zero exit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use token_core::events::Event;

use crate::common::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

/// `token-server --database <the server's> events …`, run off the test's runtime (the server
/// keeps answering meanwhile).
async fn events(server: &TestServer, args: &[&str]) -> Output {
    let database = server.database_for_cli();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["--database", &database, "events"])
            .args(&args)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// What a successful command printed.
fn stdout(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// `events --json list …`: the page.
async fn list_json(server: &TestServer, args: &[&str]) -> Value {
    let mut line = vec!["--json", "list"];
    line.extend_from_slice(args);
    serde_json::from_str(&stdout(&events(server, &line).await, &format!("{line:?}"))).unwrap()
}

/// The page `GET /api/{sid}/events?{query}` answers.
async fn api_page(server: &TestServer, query: &str) -> Value {
    let (status, page) = server.get(&format!("/api/{{sid}}/events?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// The page `GET /api/events` (the organization's own stream) answers.
async fn api_org_page(server: &TestServer) -> Value {
    let (status, page) =
        server.post_as_get(&server.tenant.org_token.clone(), "/api/events?after=0&limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// A token for `subject`, created through HTTP; its `tokenId`.
async fn token_for(server: &TestServer, subject: &str) -> String {
    let mut body = server.create_body();
    body["subject"] = json!(subject);
    server.create(body).await["tokenId"].as_str().unwrap().to_owned()
}

fn event_ids(page: &Value) -> Vec<u64> {
    page["events"].as_array().unwrap().iter().map(|e| e["eventId"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn list_prints_a_table_for_people_and_the_api_page_as_json() {
    let server = TestServer::start().await;
    let sid = server.sid().to_string();
    let alice = token_for(&server, "alice").await;
    token_for(&server, "bob").await;
    let (status, revoked) = server.post("/api/{sid}/auth/token/revoke", json!({"subject": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");

    // JSON: the page the API answers, event for event.
    let page = list_json(&server, &["--service", &sid]).await;
    assert_eq!(page, api_page(&server, "after=0").await, "the CLI reads what the API answers");
    let ids = event_ids(&page);
    assert!(ids.len() >= 4 && ids.windows(2).all(|w| w[1] == w[0] + 1), "{page}");
    assert_eq!(page["next"], *ids.last().unwrap());
    let created = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "token.created" && e["tokenId"] == alice.as_str())
        .unwrap_or_else(|| panic!("alice's token.created: {page}"));
    assert_eq!(created["subject"], "alice");
    assert_eq!(created["actor"]["kind"], "service_credential");

    // A table for people: a header, one aligned row per event, and the cursor to go on with.
    let table = stdout(&events(&server, &["list", "--service", &sid]).await, "list");
    assert!(serde_json::from_str::<Value>(&table).is_err(), "people get a table: {table}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["eventId", "at", "type", "actor", "touched"]
    );
    assert_eq!(lines.len(), ids.len() + 2, "{table}");
    let type_column = lines[0].find("type").unwrap();
    let row = lines
        .iter()
        .find(|l| l.contains(&format!("tokenId={alice}")))
        .unwrap_or_else(|| panic!("alice's token in the table: {table}"));
    assert!(row[type_column..].starts_with("token.created "), "columns are aligned: {table}");
    assert!(row.contains("service_credential:") && row.contains("subject=alice"), "{row}");
    assert!(row.split_whitespace().nth(1).unwrap().ends_with('Z'), "times in RFC 3339: {row}");
    let revoked_row = lines.iter().find(|l| l.contains(" token.revoked ")).expect("token.revoked row");
    assert!(revoked_row.contains("count=1") && revoked_row.contains("reason=by_subject"), "{table}");
    assert_eq!(*lines.last().unwrap(), format!("next: {} (--after {} continues)", ids.len(), ids.len()));

    // The filters and the cursor are the API's.
    let only = list_json(&server, &["--service", &sid, "--type", "token.revoked"]).await;
    let only_events = only["events"].as_array().unwrap();
    assert_eq!(only_events.len(), 1, "{only}");
    assert_eq!(only_events[0]["reason"], "by_subject");
    assert_eq!(only, api_page(&server, "after=0&type=token.revoked").await);
    let by_subject = list_json(&server, &["--service", &sid, "--subject", "alice"]).await;
    assert!(by_subject["events"].as_array().unwrap().iter().all(|e| e["subject"] == "alice"), "{by_subject}");
    assert!(by_subject["events"].as_array().unwrap().len() >= 2, "created and revoked: {by_subject}");
    let by_token = list_json(&server, &["--service", &sid, "--token-id", &alice]).await;
    assert_eq!(by_token["events"].as_array().unwrap().len(), 1, "{by_token}");
    let client = server.tenant.client.client_id.to_string();
    let by_client = list_json(&server, &["--service", &sid, "--client-id", &client]).await;
    assert!(!by_client["events"].as_array().unwrap().is_empty(), "{by_client}");
    assert!(
        by_client["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["clientId"] == json!(server.tenant.client.client_id))
    );
    let first = list_json(&server, &["--service", &sid, "--limit", "1"]).await;
    assert_eq!((event_ids(&first), &first["next"]), (vec![1], &json!(1)));
    let second = list_json(&server, &["--service", &sid, "--limit", "1", "--after", "1"]).await;
    assert_eq!(event_ids(&second), vec![2]);
    let past_the_end = list_json(&server, &["--service", &sid, "--after", &ids.len().to_string()]).await;
    assert_eq!(past_the_end, json!({"events": [], "next": ids.len()}));
    let empty = stdout(&events(&server, &["list", "--service", &sid, "--type", "key.revoked"]).await, "list");
    assert!(empty.starts_with("(none)\nnext: "), "{empty}");

    // The organization's own stream: its services and credentials.
    let org = server.tenant.org.id.to_string();
    let org_page = list_json(&server, &["--org", &org, "--limit", "1000"]).await;
    assert_eq!(org_page, api_org_page(&server).await);
    let types: Vec<&str> =
        org_page["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"service.created") && types.contains(&"credential.created"), "{org_page}");
}

/// `events tail` running as a child, its standard output read line by line on a thread.
struct Tail {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tail {
    fn start(server: &TestServer, args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["--database", &server.database_for_cli(), "events", "tail"])
            .args(args)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Tail { child, lines }
    }

    /// The lines printed until one satisfies `wanted` (included), within 15 seconds.
    async fn until(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut seen = Vec::new();
        loop {
            match self.lines.try_recv() {
                Ok(line) => {
                    let done = wanted(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let output = self.child.wait_with_output_lossy();
                    panic!("tail never printed {what} ({e:?}); printed {seen:#?}; stderr: {output}");
                }
            }
        }
    }

    /// Sends `signal` and waits (at most 10 s) for the exit; its status.
    async fn stop(mut self, signal: &str) -> std::process::ExitStatus {
        let killed =
            Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status();
        assert!(killed.unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tail did not stop at SIG{signal}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

trait LossyStderr {
    fn wait_with_output_lossy(&mut self) -> String;
}

impl LossyStderr for Child {
    fn wait_with_output_lossy(&mut self) -> String {
        let mut said = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
        }
        let _ = self.wait();
        said
    }
}

#[tokio::test]
async fn tail_prints_each_event_as_it_is_written_and_stops_at_sigterm() {
    let server = TestServer::start().await;
    let sid = server.sid().to_string();
    let before = api_page(&server, "after=0").await;
    let written = event_ids(&before).len();
    assert!(written > 0, "provisioning wrote events: {before}");

    let mut tail = Tail::start(&server, &["--service", &sid, "--json"]);
    // First what was written before it started, oldest first, one JSON object a line.
    let lines =
        tail.until("the events written before", |l| l.contains(&format!("\"eventId\":{written},"))).await;
    let old: Vec<Event> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(old.iter().map(|e| e.event_id).collect::<Vec<_>>(), (1..=written as u64).collect::<Vec<_>>());
    assert_eq!(serde_json::to_value(&old).unwrap(), before["events"]);

    // Then an event written through HTTP while it waits; then another, each once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for subject in ["tailed-1", "tailed-2"] {
        let token_id = token_for(&server, subject).await;
        let lines = tail.until("the new token.created", |l| l.contains(&token_id)).await;
        let events: Vec<Event> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        let created = events.last().unwrap();
        assert_eq!(created.event_type.as_str(), "token.created");
        assert_eq!(created.subject.as_deref(), Some(subject));
        assert_eq!(created.token_id.as_deref(), Some(token_id.as_str()));
    }
    let status = tail.stop("TERM").await;
    assert!(status.success(), "SIGTERM ends tail cleanly: {status:?}");
    let page = api_page(&server, "after=0").await;
    assert_eq!(event_ids(&page).len(), written + 2, "{page}");
}

#[tokio::test]
async fn tail_prints_a_table_with_filters_and_stops_at_ctrl_c() {
    let server = TestServer::start().await;
    let sid = server.sid().to_string();
    let mut tail =
        Tail::start(&server, &["--service", &sid, "--type", "token.created", "--subject", "carol"]);
    let header = tail.until("its header", |_| true).await;
    assert_eq!(
        header[0].split_whitespace().collect::<Vec<_>>(),
        ["eventId", "at", "type", "actor", "touched"]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    token_for(&server, "dave").await;
    let carol = token_for(&server, "carol").await;
    let lines = tail.until("carol's token", |l| l.contains(&carol)).await;
    assert_eq!(lines.len(), 1, "the filters keep only carol's token.created: {lines:#?}");
    let row: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(row[2], "token.created", "{row:?}");
    assert!(row[3].starts_with("service_credential:"), "{row:?}");
    assert!(lines[0].contains("subject=carol") && lines[0].contains(&format!("tokenId={carol}")));
    let status = tail.stop("INT").await;
    assert!(status.success(), "Ctrl-C ends tail cleanly: {status:?}");
}

/// `events export …`: its lines, each parsed.
async fn export(server: &TestServer, args: &[&str]) -> Vec<Value> {
    let mut line = vec!["export"];
    line.extend_from_slice(args);
    let text = stdout(&events(server, &line).await, &format!("{line:?}"));
    assert!(text.is_empty() || text.ends_with('\n'), "{text}");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// The events of `lines` that came from `stream`, without the `stream` member.
fn of_stream(lines: &[Value], stream: &Value) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l["stream"] == *stream)
        .map(|l| {
            let mut event = l.clone();
            event.as_object_mut().unwrap().remove("stream");
            event
        })
        .collect()
}

#[tokio::test]
async fn export_writes_every_stream_as_json_lines_from_a_time() {
    let server = TestServer::start().await;
    let sid = server.sid().to_string();
    let early = token_for(&server, "early").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let cut = time::OffsetDateTime::now_utc();
    let cut_ms = i64::try_from(cut.unix_timestamp_nanos() / 1_000_000).unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let late = token_for(&server, "late").await;

    // Everything: the organization's stream and the service's, each line an `Event` (the API's
    // shape) naming its stream, and together what the API answers.
    let all = export(&server, &["--since", "0"]).await;
    for line in &all {
        serde_json::from_value::<Event>(line.clone()).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(line["stream"].is_object(), "{line}");
    }
    let service_stream = json!({"serviceId": server.sid()});
    let org_stream = json!({"organizationId": server.tenant.org.id});
    assert_eq!(
        json!(of_stream(&all, &service_stream)),
        api_page(&server, "after=0&limit=1000").await["events"]
    );
    assert_eq!(json!(of_stream(&all, &org_stream)), api_org_page(&server).await["events"]);
    assert_eq!(
        all.len(),
        of_stream(&all, &service_stream).len() + of_stream(&all, &org_stream).len(),
        "this test's database holds one organization and one service"
    );

    // From a time: nothing older, in milliseconds or RFC 3339 alike.
    let since = export(&server, &["--since", &cut_ms.to_string(), "--service", &sid]).await;
    assert!(since.iter().all(|l| l["at"].as_i64().unwrap() >= cut_ms), "{since:#?}");
    assert!(since.iter().all(|l| l["stream"] == service_stream));
    assert!(since.iter().any(|l| l["tokenId"] == late.as_str()), "{since:#?}");
    assert!(!since.iter().any(|l| l["tokenId"] == early.as_str()), "{since:#?}");
    let rfc3339 = cut.format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(export(&server, &["--since", &rfc3339, "--service", &sid]).await, since, "{rfc3339}");
    assert!(export(&server, &["--since", "2999-01-01T00:00:00Z"]).await.is_empty());
    let org_only = export(&server, &["--since", "0", "--org", &server.tenant.org.id.to_string()]).await;
    assert_eq!(org_only, all.iter().filter(|l| l["stream"] == org_stream).cloned().collect::<Vec<_>>());
}

#[tokio::test]
async fn bad_input_is_named_with_a_non_zero_exit_never_a_panic() {
    let server = TestServer::start().await;
    let sid = server.sid().to_string();
    let org = server.tenant.org.id.to_string();
    let huge = u64::MAX.to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["list", "--service", &sid, "--type", "token.nope"], "unknown event type 'token.nope'"),
        (vec!["tail", "--service", &sid, "--type", "nope"], "unknown event type 'nope'"),
        (vec!["list", "--service", &sid, "--limit", "0"], "0 is not in 1..=1000"),
        (vec!["list", "--service", &sid, "--limit", "1001"], "1001 is not in 1..=1000"),
        (vec!["list", "--service", &sid, "--limit", "many"], "--limit"),
        (vec!["list", "--service", &sid, "--after", "-1"], "'-1'"),
        (vec!["list", "--service", &sid, "--after", &huge], "after"),
        (vec!["list", "--service", &sid, "--subject", ""], "subject"),
        (vec!["list", "--service", &sid, "--client-id", "x"], "--client-id"),
        (vec!["list"], "--service"),
        (vec!["tail"], "--service"),
        (vec!["list", "--service", &sid, "--org", &org], "cannot be used with"),
        (vec!["list", "--service", "999"], "service 999 does not exist"),
        (vec!["tail", "--org", "999"], "organization 999 does not exist"),
        (vec!["export"], "--since"),
        (vec!["export", "--since", "yesterday"], "'yesterday' is neither an RFC 3339 time"),
        (vec!["export", "--since", "2026-13-01T00:00:00Z"], "neither an RFC 3339 time"),
        (vec!["export", "--since", "99999999999999999999"], "out of range"),
        (vec!["export", "--since", "0", "--service", "999"], "service 999 does not exist"),
        (vec!["export", "--since", "0", "--service", &sid, "--org", &org], "cannot be used with"),
    ];
    for (args, needle) in cases {
        let output = events(&server, &args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded: {}", String::from_utf8_lossy(&output.stdout));
        assert!(stderr.contains(needle), "{args:?}: stderr does not name {needle}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "{args:?} printed a result: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn every_events_command_has_help() {
    for command in [&["events"][..], &["events", "list"], &["events", "tail"], &["events", "export"]] {
        let output = Command::new(BIN).args(command).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && text.contains("Usage: token-server events"),
            "{command:?}: {text}"
        );
        assert!(!text.split("Usage:").next().unwrap_or_default().trim().is_empty(), "{command:?}: {text}");
    }
}
