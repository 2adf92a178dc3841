//! `cargo xtask bench`: the release server as its own process on a fresh store (SQLite, or a fresh
//! PostgreSQL database), driven by wrk from another process, beside the reference server of this
//! repository (`xtask/reference`: the bare work of token issuance) and PostgreSQL's own insert
//! ceiling (pgbench), measured in the same run with the same load generator and connection counts.
//! `--reference DIR` takes the original yardstick (`../shared/bench`, its scripts) instead, as a
//! cross-check. Prints one `RESULT | …` line per scenario, a ratio table, and writes
//! `target/bench/report.json`. Needs wrk (and, on PostgreSQL, pgbench and psql) installed: it
//! installs nothing.
//!
//! Single-use inputs (custom tokens to exchange, refresh tokens to rotate) are produced just before
//! their measured run by an unmeasured wrk run that captures them from the answers. After every
//! scenario that stores tokens, the rows the service gained are counted through the listing's
//! `totalCount` (refreshes: the rotated tokens, by `lastRefreshedAt`): every 2xx answer must have its row (durability is part of the result), and at most
//! the requests in flight when wrk stopped may have a row without an answer counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{project_root, run_step};

/// What `cargo xtask bench` was asked for.
#[derive(Debug)]
pub struct Options {
    pub seconds: u64,
    pub runs: usize,
    pub concurrency: u64,
    pub reference: Reference,
    /// `postgres://…`: a server on a fresh database created beside this one (dropped at the end).
    pub database: Option<String>,
    /// Only these scenarios (names contain one of the words), all when empty.
    pub only: Vec<String>,
    /// Then bulk-insert this many tokens (not over HTTP) and measure create and listing again.
    pub prefill: u64,
    /// The server binary measured (default: this checkout's release build).
    pub binary: Option<PathBuf>,
}

/// The yardstick the ratios are taken to.
#[derive(Debug)]
pub enum Reference {
    /// `xtask/reference` and a pgbench ceiling, both in this repository.
    InRepository,
    /// The scripts of `../shared/bench` (`rust-ceiling-bench.sh`, `pg-ceiling.sh`) in this directory.
    Scripts(PathBuf),
    None,
}

/// One wrk measurement.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    rate: f64,
    p50: f64,
    p99: f64,
    requests: u64,
    /// Non-2xx answers.
    non_2xx: u64,
    /// Socket errors and timeouts.
    errors: u64,
}

/// Where a scenario's request bodies come from.
enum Body {
    /// A GET without a body.
    Get,
    Fixed(String),
    /// One line of `file` per request, put into `template` at `%s`; single-use values.
    Feed {
        file: PathBuf,
        template: &'static str,
    },
}

struct Scenario {
    name: &'static str,
    /// The service the scenario works on (its rows are counted).
    service: String,
    path: &'static str,
    body: Body,
    bearer: bool,
    connections: u64,
    /// The reference route of the same run (`rust-ceiling-bench.sh http <route>`).
    reference: &'static str,
    /// Rows the service gains per 2xx answer (1 for create and exchange, 0 otherwise).
    rows_per_answer: u64,
    /// Each 2xx answer rotated one stored token (refresh): counted through the listing of the
    /// producer's subject for this run (`%RUN%` in the producer's body), by `lastRefreshedAt`.
    rotations: bool,
    /// Fill the feed first: wrk on `(path, body, field)` for this long, capturing `field`.
    producer: Option<Producer>,
}

struct Producer {
    path: &'static str,
    body: String,
    connections: u64,
    field: &'static str,
}

pub fn run(options: Options) -> Result<(), String> {
    let Options { seconds, runs, concurrency, reference, database, only, prefill, binary } = options;
    if let Some(binary) = binary {
        let binary =
            std::fs::canonicalize(&binary).map_err(|e| format!("--binary {}: {e}", binary.display()))?;
        let _ = SERVER_BINARY.set(binary);
    }
    let runs = runs.max(1);
    ensure_wrk()?;
    run_step("build", "cargo", &["build", "--release", "-p", "token-server", "--bin", "token-server"])?;
    let dir = std::env::temp_dir().join(format!("token-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store = match &database {
        Some(url) => Store::postgres(url)?,
        None => Store::Sqlite(dir.join("bench.sqlite")),
    };
    let port = 3900 + (std::process::id() % 1000) as u16;
    let mut server = Server::start(&store, &dir, port)?;
    let result = measure(&store, &dir, port, seconds, runs, concurrency, &only, prefill, &mut server);
    let rss_mb = server.rss_mb();
    drop(server);
    if let Store::Postgres { admin, name, .. } = &store {
        let _ = psql(admin, &format!("DROP DATABASE IF EXISTS {name}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let ours = result?;

    let mut references: BTreeMap<(String, u64), (f64, String)> = BTreeMap::new();
    // PostgreSQL's ceiling is measured over the same transport as ours (`sslmode` of the URL).
    let pg_sslmode = database
        .as_deref()
        .and_then(|url| url.split_once("sslmode="))
        .map(|(_, rest)| rest.split('&').next().unwrap_or_default().to_owned());
    let mut yardstick = match &reference {
        Reference::None => None,
        Reference::InRepository => Some(Yardstick::InRepository(InRepository::new()?)),
        Reference::Scripts(dir) => Some(Yardstick::Scripts(dir.clone())),
    };
    if let Some(reference) = &mut yardstick {
        for (_, scenario, _) in &ours {
            let key = (scenario.0.to_owned(), scenario.1);
            if references.contains_key(&key) {
                continue;
            }
            let line = if key.0 == SQLITE_OURS {
                introspection_on_sqlite(seconds, runs, key.1)?
            } else {
                reference.result(&key.0, key.1, seconds, runs, pg_sslmode.as_deref())?
            };
            let rate = line
                .split("req/s median ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|r| r.parse::<f64>().ok())
                .ok_or_else(|| format!("unreadable reference line: {line}"))?;
            println!("{line}");
            references.insert(key, (rate, line));
        }
    }
    let mut report = Vec::new();
    println!(
        "\n| scenario | c | ours req/s | p50 | p99 | reference route (same run) | reference req/s | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|");
    for (name, (route, c), sample) in &ours {
        let reference = references.get(&(route.to_string(), *c));
        let ratio = reference.map(|(rate, _)| sample.rate / rate);
        println!(
            "| {name} | {c} | {:.0} | {:.2} ms | {:.2} ms | {} | {} | {} |",
            sample.rate,
            sample.p50,
            sample.p99,
            reference.map_or("—".to_owned(), |_| route_label(route)),
            reference.map_or("—".to_owned(), |(rate, _)| format!("{rate:.0}")),
            ratio.map_or("—".to_owned(), |r| format!("{r:.2}")),
        );
        report.push(json!({
            "scenario": name,
            "connections": c,
            "reqPerSec": sample.rate.round(),
            "p50Ms": sample.p50,
            "p99Ms": sample.p99,
            "non2xx": sample.non_2xx,
            "errors": sample.errors,
            "reference": reference.map(|(rate, line)| json!({"route": route, "reqPerSec": rate, "result": line})),
            "ratio": ratio,
        }));
    }
    println!("\nserver RSS at the end: {rss_mb:.0} MB");
    let out = project_root().join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let document = json!({
        "store": if database.is_some() { "postgres" } else { "sqlite" },
        "seconds": seconds,
        "runs": runs,
        "loadGenerator": "wrk",
        "serverRssMb": rss_mb.round(),
        "scenarios": report,
    });
    let path = out.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&document).map_err(|e| e.to_string())? + "\n")
        .map_err(|e| e.to_string())?;
    println!("report: {}", path.display());
    Ok(())
}

type Measured = (&'static str, (&'static str, u64), Sample);

#[allow(clippy::too_many_arguments)]
fn measure(
    store: &Store,
    dir: &Path,
    port: u16,
    seconds: u64,
    runs: usize,
    concurrency: u64,
    only: &[String],
    prefill: u64,
    server: &mut Server,
) -> Result<Vec<Measured>, String> {
    let creds = std::fs::read_to_string(store.credentials_file(dir)).map_err(|e| e.to_string())?;
    let field = |label: &str| -> Result<String, String> {
        creds
            .lines()
            .find_map(|l| l.strip_prefix(label).map(|v| v.trim().split(' ').next().unwrap_or("").to_owned()))
            .ok_or_else(|| format!("no {label} in the credentials file"))
    };
    let (org, sid, client, bearer) = (
        field("organization id:")?,
        field("service id:")?,
        field("client id:")?,
        field("organization token:")?,
    );
    let http = Http { root: format!("http://127.0.0.1:{port}"), bearer: bearer.clone() };
    // One service per JWT algorithm, each with a client, made by the operator CLI on the same store.
    let mut jwt = Vec::new();
    for alg in ["EdDSA", "ES256", "RS256"] {
        let service =
            admin(store, dir, &["service", "create", "--org", &org, "--name", alg, "--sign-alg", alg])?;
        let service = service["id"].as_u64().ok_or("service create printed no id")?.to_string();
        let client = admin(store, dir, &["client", "create", "--service", &service])?;
        let client = client["clientId"].as_u64().ok_or("client create printed no clientId")?.to_string();
        jwt.push((alg, (service, client)));
    }
    let cc = format!(r#"{{"grantType":"CLIENT_CREDENTIALS","clientId":{client},"scopes":["openid"]}}"#);
    let code = |client: &str| {
        format!(
            r#"{{"grantType":"AUTHORIZATION_CODE","clientId":{client},"subject":"user-42","scopes":["openid","offline_access"]}}"#
        )
    };
    let created = http.post(&format!("/api/{sid}/auth/token/create"), &cc, true)?;
    let token = created["accessToken"].as_str().ok_or_else(|| format!("token create answered {created}"))?;
    let generate = r#"{"userId":"user-42","identity":"member"}"#;
    let feed = |name: &str| dir.join(format!("{name}.feed"));

    let mut scenarios = vec![
        Scenario {
            name: "token/create CLIENT_CREDENTIALS, opaque",
            service: sid.clone(),
            path: "/auth/token/create",
            body: Body::Fixed(cc.clone()),
            bearer: true,
            connections: concurrency,
            reference: "batch-full",
            rows_per_answer: 1,
            rotations: false,
            producer: None,
        },
        Scenario {
            name: "auth/introspection",
            service: sid.clone(),
            path: "/auth/introspection",
            body: Body::Fixed(format!(r#"{{"token":"{token}"}}"#)),
            bearer: true,
            connections: concurrency,
            reference: "noop",
            rows_per_answer: 0,
            rotations: false,
            producer: None,
        },
        Scenario {
            name: "custom-token/generate",
            service: sid.clone(),
            path: "/custom-token/generate",
            body: Body::Fixed(generate.to_owned()),
            bearer: true,
            connections: 10,
            reference: "sign",
            rows_per_answer: 0,
            rotations: false,
            producer: None,
        },
        Scenario {
            name: "custom-token/exchange",
            service: sid.clone(),
            path: "/custom-token/exchange",
            body: Body::Feed { file: feed("custom"), template: r#"{"customToken":"%s"}"# },
            bearer: false,
            connections: concurrency,
            reference: "batch-full",
            rows_per_answer: 1,
            rotations: false,
            producer: Some(Producer {
                path: "/custom-token/generate",
                body: generate.to_owned(),
                connections: 10,
                field: "customToken",
            }),
        },
        Scenario {
            name: "auth/token/refresh",
            service: sid.clone(),
            path: "/auth/token/refresh",
            body: Body::Feed { file: feed("refresh"), template: r#"{"refreshToken":"%s"}"# },
            // The authorization server refreshing for its client: tokens from token create are
            // refreshed with the service's credential (only custom-token sessions refresh without).
            bearer: true,
            connections: concurrency,
            reference: "batch-full",
            rows_per_answer: 0,
            rotations: true,
            producer: Some(Producer {
                path: "/auth/token/create",
                body: code(&client).replace("user-42", "refresh-%RUN%"),
                connections: concurrency,
                field: "refreshToken",
            }),
        },
    ];
    for (alg, (service, client)) in &jwt {
        let create_name: &'static str = match *alg {
            "EdDSA" => "token/create AUTHORIZATION_CODE + refresh + EdDSA JWT",
            "ES256" => "token/create AUTHORIZATION_CODE + refresh + ES256 JWT",
            _ => "token/create AUTHORIZATION_CODE + refresh + RS256 JWT",
        };
        scenarios.push(Scenario {
            name: create_name,
            service: service.clone(),
            path: "/auth/token/create",
            body: Body::Fixed(code(client)),
            bearer: true,
            connections: concurrency,
            reference: "batch-full",
            rows_per_answer: 1,
            rotations: false,
            producer: None,
        });
        if *alg != "EdDSA" {
            scenarios.push(Scenario {
                name: if *alg == "ES256" {
                    "custom-token/generate ES256"
                } else {
                    "custom-token/generate RS256"
                },
                service: service.clone(),
                path: "/custom-token/generate",
                body: Body::Fixed(generate.to_owned()),
                bearer: true,
                connections: 10,
                reference: "sign",
                rows_per_answer: 0,
                rotations: false,
                producer: None,
            });
        }
    }
    // Token Status Lists (#29): the EdDSA service keeps them; one JWT and its revocation make list 1
    // exist with a bit set; serving it reads the stored bits (rendered at most once a second).
    let (lists_service, lists_client) = &jwt[0].1;
    admin(store, dir, &["service", "update", "--service", lists_service, "--status-list-ttl", "300"])?;
    // The running server reads the change within its tenancy cache's bound (1 s).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let listed = http.post(&format!("/api/{lists_service}/auth/token/create"), &code(lists_client), true)?;
    let listed = listed["accessToken"].as_str().ok_or_else(|| format!("token create answered {listed}"))?;
    http.post(
        &format!("/api/{lists_service}/auth/token/revoke"),
        &format!(r#"{{"accessTokenIdentifier":"{listed}"}}"#),
        true,
    )?;
    scenarios.push(Scenario {
        name: "statuslists/1 (GET, 2^20 entries)",
        service: lists_service.clone(),
        path: "/statuslists/1",
        body: Body::Get,
        bearer: false,
        connections: concurrency,
        reference: "noop",
        rows_per_answer: 0,
        rotations: false,
        producer: None,
    });
    scenarios.retain(|s| only.is_empty() || only.iter().any(|word| s.name.contains(word.as_str())));
    if prefill > 0 {
        scenarios.push(Scenario {
            name: "token/create CLIENT_CREDENTIALS, opaque, after the prefill",
            service: sid.clone(),
            path: "/auth/token/create",
            body: Body::Fixed(cc.clone()),
            bearer: true,
            connections: concurrency,
            reference: "batch-full",
            rows_per_answer: 1,
            rotations: false,
            producer: None,
        });
    }

    if matches!(store, Store::Postgres { .. }) {
        // On PostgreSQL the yardsticks are PostgreSQL's own insert ceiling (pgbench) for what
        // stores, and this server on SQLite for introspection (docs/performance.md).
        for scenario in &mut scenarios {
            scenario.reference = match scenario.reference {
                "batch-full" => "pg-ceiling",
                "noop" => SQLITE_OURS,
                other => other,
            };
        }
    }
    let mut measured = Vec::new();
    for scenario in &scenarios {
        if scenario.name.ends_with("after the prefill") {
            prefill_tokens(store, dir, &sid, &client, prefill)?;
            listing_latency(&http, &sid, &client, prefill)?;
        }
        let url = format!("{}/api/{}{}", http.root, scenario.service, scenario.path);
        let mut samples = Vec::new();
        let mut stored = 0;
        for run in 0..runs {
            if let (Some(producer), Body::Feed { file, .. }) = (&scenario.producer, &scenario.body) {
                let url = format!("{}/api/{}{}", http.root, scenario.service, producer.path);
                let body = producer.body.replace("%RUN%", &run.to_string());
                let script = Script::capture(&http.bearer, &body, producer.field, file);
                // Twice the measured run's length: consumers are not faster than their producers.
                let produced = wrk(&url, &script, producer.connections, seconds * 2, dir)?;
                if produced.non_2xx + produced.errors > 0 {
                    return Err(format!("{}: producing inputs failed: {produced:?}", scenario.name));
                }
            }
            let script = match &scenario.body {
                Body::Get => Script(format!("wrk.method = \"GET\"\n{DONE}")),
                Body::Fixed(body) => Script::fixed(scenario.bearer.then_some(&http.bearer), body),
                Body::Feed { file, template } => {
                    Script::feed(scenario.bearer.then_some(&http.bearer), file, template)
                }
            };
            let before = http.token_count(&scenario.service)?;
            let started_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_millis() as i64;
            let sample = wrk(&url, &script, scenario.connections, seconds, dir)?;
            // Requests in flight when wrk stops are still answered (and committed) after it counted.
            std::thread::sleep(Duration::from_millis(500));
            let rows = http.token_count(&scenario.service)?.saturating_sub(before);
            let answered = sample.requests - sample.non_2xx;
            // A refused request measures the refusal, not the scenario.
            if sample.non_2xx > 0 {
                return Err(format!("{}: {} answers were not 2xx", scenario.name, sample.non_2xx));
            }
            if scenario.rotations {
                let subject = format!("refresh-{run}");
                let rotated = http.refreshed_since(&scenario.service, &subject, started_ms)?;
                if !(answered..=answered + scenario.connections).contains(&rotated) {
                    return Err(format!(
                        "{}: {answered} answered 2xx but {rotated} tokens were rotated (durability check)",
                        scenario.name
                    ));
                }
                stored += rotated;
            }
            let expected = answered * scenario.rows_per_answer;
            if scenario.rows_per_answer > 0 && !(expected..=expected + scenario.connections).contains(&rows) {
                return Err(format!(
                    "{}: {answered} answered 2xx but {rows} rows were stored (durability check)",
                    scenario.name
                ));
            }
            stored += rows;
            samples.push(sample);
        }
        let median = median(&samples);
        println!(
            "RESULT | token-server {} | c={} | wrk | req/s median {:.0} (runs: {}) | p50 {:.2} ms | p99 {:.2} ms | non-2xx/errors {} | rows stored {stored}",
            scenario.name,
            scenario.connections,
            median.rate,
            samples.iter().map(|s| format!("{:.0}", s.rate)).collect::<Vec<_>>().join(", "),
            median.p50,
            median.p99,
            samples.iter().map(|s| s.non_2xx + s.errors).sum::<u64>(),
        );
        measured.push((scenario.name, (scenario.reference, scenario.connections), median));
        server.check_alive()?;
    }
    Ok(measured)
}

/// Inserts `count` tokens of `service` in one transaction, straight into the store (SQL, not
/// HTTP): 10 tokens per subject, every tenth token of `client`, the rest of nine other clients.
/// Shaped as this version issues them: a token ID (11 hex digits of a time, 16 more characters),
/// hashes `<token ID>.<43 characters>` (a generated value's, docs/api.md "Token values"), so the
/// partial indexes of hashes without a selector stay as empty as in a real store.
fn prefill_tokens(store: &Store, dir: &Path, service: &str, client: &str, count: u64) -> Result<(), String> {
    let started = Instant::now();
    let values = format!(
        "id, {service}, ACCESS, REFRESH, CASE WHEN i % 10 = 0 THEN {client} ELSE 1000 + i % 10 END, 'user-' || (i / 10), \
         'CLIENT_CREDENTIALS', '[\"openid\"]', 1700000000000 + i, 4000000000000, 4100000000000, 0, '[]', 'Bearer', '[]', '{{}}'"
    );
    let columns = "token_id, service_id, access_hash, refresh_hash, client_id, subject, grant_type, scopes, \
                   created_at, access_expires_at, refresh_expires_at, last_refreshed_at, properties, token_type, resources, extra";
    match store {
        Store::Sqlite(path) => {
            let sql = format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}), \
                 t(i, id) AS (SELECT i, printf('%011x', 1700000000000 + i) || hex(randomblob(8)) FROM n) \
                 INSERT INTO tokens ({columns}) SELECT {} FROM t;",
                values
                    .replace("ACCESS", "id || '.' || hex(randomblob(21)) || 'A'")
                    .replace("REFRESH", "id || '.' || hex(randomblob(21)) || 'A'")
            );
            if Command::new("sqlite3").arg("--version").output().is_err() {
                return Err("--prefill on SQLite needs the sqlite3 shell: install it (Debian/Ubuntu: \
                            `apt-get install -y sqlite3`) and run again"
                    .into());
            }
            let out = Command::new("sqlite3")
                .args(["-cmd", ".timeout 30000"])
                .arg(path)
                .arg(sql)
                .output()
                .map_err(|e| format!("sqlite3: {e}"))?;
            if !out.status.success() {
                return Err(format!("prefill: {}", String::from_utf8_lossy(&out.stderr)));
            }
        }
        Store::Postgres { url, .. } => {
            let hash = "id || '.' || substr(md5(random()::text) || md5(random()::text), 1, 42) || 'A'";
            let sql = format!(
                "INSERT INTO tokens ({columns}) SELECT {} FROM (SELECT i, lpad(to_hex(1700000000000 + i), 11, '0') \
                 || substr(md5(random()::text), 1, 16) AS id FROM generate_series(1, {count}) AS i) AS t; ANALYZE tokens;",
                values.replace("ACCESS", hash).replace("REFRESH", hash)
            );
            psql(url, &sql)?;
        }
    }
    let _ = dir;
    println!("prefill: {count} tokens inserted in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Median time of 21 listings of one subject's and of one client's tokens (first page and total).
fn listing_latency(http: &Http, service: &str, client: &str, stored: u64) -> Result<(), String> {
    for (what, query) in [
        ("a subject's tokens", "subject=user-4242".to_owned()),
        ("a client's tokens", format!("clientIdentifier={client}")),
    ] {
        let url = format!("{}/api/{service}/auth/token/get/list?{query}&start=0&end=10", http.root);
        let mut times = Vec::new();
        for _ in 0..21 {
            let out = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}"])
                .args(["-H", &format!("authorization: Bearer {}", http.bearer), &url])
                .output()
                .map_err(|e| format!("curl: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let (status, seconds) = text.split_once(' ').ok_or_else(|| format!("curl printed {text}"))?;
            if status != "200" {
                return Err(format!("listing {what} answered {status}"));
            }
            times.push(seconds.parse::<f64>().map_err(|e| e.to_string())? * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "RESULT | token-server auth/token/get/list, {what}, {stored} stored | c=1 | curl | median {:.2} ms | max {:.2} ms (21 calls)",
            times[10], times[20]
        );
    }
    Ok(())
}

/// The store the server runs on.
enum Store {
    Sqlite(PathBuf),
    /// A fresh database `name` created through `admin` (the URL given), served at `url`.
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
}

impl Store {
    fn postgres(given: &str) -> Result<Self, String> {
        // The server gets the given URL's parameters (e.g. `sslmode=disable`) on the new database.
        let (path, query) = given.split_once('?').map_or((given, None), |(p, q)| (p, Some(q)));
        let (base, _) = path.rsplit_once('/').ok_or_else(|| format!("{given} names no database"))?;
        let name = format!("token_bench_{}", std::process::id());
        psql(given, &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(given, &format!("CREATE DATABASE {name}"))?;
        let url = match query {
            Some(query) => format!("{base}/{name}?{query}"),
            None => format!("{base}/{name}"),
        };
        Ok(Store::Postgres { admin: given.to_owned(), url, name })
    }

    fn argument(&self) -> String {
        match self {
            Store::Sqlite(path) => path.display().to_string(),
            Store::Postgres { url, .. } => url.clone(),
        }
    }

    /// Where the server hands out its first-start credentials (its working directory is `dir`).
    fn credentials_file(&self, dir: &Path) -> PathBuf {
        match self {
            Store::Sqlite(path) => PathBuf::from(format!("{}.credentials", path.display())),
            Store::Postgres { .. } => dir.join("token-server.credentials"),
        }
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Runs `token-server --database … admin <args>` and parses its JSON output.
fn admin(store: &Store, dir: &Path, args: &[&str]) -> Result<Value, String> {
    let out = Command::new(server_binary()?)
        .args(["--database", &store.argument(), "--json", "admin"])
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "error")
        // Status lists need a public base URL to be turned on (the server's is set when it starts).
        .env("TOKEN_SERVER_PUBLIC_BASE_URL", "http://127.0.0.1")
        .output()
        .map_err(|e| format!("token-server admin: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("admin {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_str(&text).map_err(|e| format!("admin {} printed {text}: {e}", args.join(" ")))
}

/// wrk must be installed (the bench installs nothing): say how when it is not.
fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    Err("wrk is not installed: install it (Debian/Ubuntu: `apt-get install -y wrk`) and run again".into())
}

/// The server binary given with `--binary`, if any.
static SERVER_BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The server binary measured: `--binary`, else this checkout's release build.
fn server_binary() -> Result<PathBuf, String> {
    match SERVER_BINARY.get() {
        Some(binary) => Ok(binary.clone()),
        None => release_binary("token-server"),
    }
}

/// The server under test, killed when dropped.
struct Server(Child);

impl Server {
    fn start(store: &Store, dir: &Path, port: u16) -> Result<Self, String> {
        let binary = server_binary()?;
        let child = Command::new(binary)
            .args(["--database", &store.argument(), "serve", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .env("TOKEN_SERVER_PUBLIC_BASE_URL", format!("http://127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start token-server: {e}"))?;
        let mut server = Self(child);
        let started = Instant::now();
        // Listening is not enough (another process may hold the port): ready means this child
        // runs and has written the first start's credentials.
        let credentials = store.credentials_file(dir);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() || !credentials.exists() {
            server.check_alive()?;
            if started.elapsed() > Duration::from_secs(30) {
                return Err("token-server was not ready within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn check_alive(&mut self) -> Result<(), String> {
        match self.0.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("token-server exited during the bench ({status})")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Resident set size (MB) from /proc.
    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server's HTTP API for setup and row counts (curl: no HTTP client dependency in xtask).
struct Http {
    root: String,
    bearer: String,
}

impl Http {
    fn post(&self, path: &str, body: &str, bearer: bool) -> Result<Value, String> {
        let mut command = Command::new("curl");
        command.args(["-s", "-X", "POST", "-H", "content-type: application/json"]);
        if bearer {
            command.args(["-H", &format!("authorization: Bearer {}", self.bearer)]);
        }
        let out = command
            .args(["-d", body, &format!("{}{path}", self.root)])
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(&text).map_err(|e| format!("{path} answered {text}: {e}"))
    }

    /// Tokens of `subject` in the service refreshed at or after `since_ms` (every page of the
    /// listing, 1000 at a time).
    fn refreshed_since(&self, service: &str, subject: &str, since_ms: i64) -> Result<u64, String> {
        let (mut start, mut refreshed) = (0u64, 0u64);
        loop {
            let url = format!(
                "{}/api/{service}/auth/token/get/list?subject={subject}&start={start}&end={}",
                self.root,
                start + 1000
            );
            let out = Command::new("curl")
                .args(["-s", "-H", &format!("authorization: Bearer {}", self.bearer), &url])
                .output()
                .map_err(|e| format!("curl: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let json: Value =
                serde_json::from_str(&text).map_err(|e| format!("list answered {text}: {e}"))?;
            let page = json["accessTokens"].as_array().ok_or_else(|| format!("list answered {text}"))?;
            refreshed +=
                page.iter().filter(|t| t["lastRefreshedAt"].as_i64().unwrap_or(0) >= since_ms).count() as u64;
            start += 1000;
            if page.is_empty() || start >= json["totalCount"].as_u64().unwrap_or(0) {
                return Ok(refreshed);
            }
        }
    }

    /// Tokens the service holds (the listing's `totalCount`).
    fn token_count(&self, service: &str) -> Result<u64, String> {
        let out = Command::new("curl")
            .args([
                "-s",
                "-H",
                &format!("authorization: Bearer {}", self.bearer),
                &format!("{}/api/{service}/auth/token/get/list?start=0&end=1", self.root),
            ])
            .output()
            .map_err(|e| format!("curl: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let json: Value = serde_json::from_str(&text).map_err(|e| format!("list answered {text}: {e}"))?;
        json["totalCount"].as_u64().ok_or_else(|| format!("list answered {text}"))
    }
}

/// A wrk Lua script.
struct Script(String);

/// Every script prints its summary in one line that [`wrk`] reads.
const DONE: &str = r#"
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("WRKRESULT %.0f %.2f %.2f %d %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.errors.status, errors))
end
"#;

/// Numbers wrk's threads so that each reads its own share of a feed or writes its own file.
const THREADS: &str = r#"
local next_id = 0
setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
"#;

impl Script {
    fn headers(bearer: Option<&String>) -> String {
        let mut lua =
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n".to_owned();
        if let Some(bearer) = bearer {
            lua.push_str(&format!("wrk.headers[\"Authorization\"] = \"Bearer {bearer}\"\n"));
        }
        lua
    }

    fn fixed(bearer: Option<&String>, body: &str) -> Self {
        Self(format!("{}wrk.body = [[{body}]]\n{DONE}", Self::headers(bearer)))
    }

    /// Posts `body` and appends each answer's `field` to `<file>.<thread>` (the feed).
    fn capture(bearer: &String, body: &str, field: &str, file: &Path) -> Self {
        let file = file.display();
        Self(format!(
            r#"{}wrk.body = [[{body}]]
{THREADS}
init = function(args)
  out = io.open("{file}." .. id, "w")
  count = 0
end
response = function(status, headers, body)
  local value = body:match('"{field}":"([^"]+)"')
  if value then
    out:write(value, "\n")
    count = count + 1
    if count % 64 == 0 then out:flush() end
  end
end
{DONE}"#,
            Self::headers(Some(bearer))
        ))
    }

    /// Posts `template` with each line of the feed in turn (each thread its own file); a thread
    /// whose feed is used up stops.
    fn feed(bearer: Option<&String>, file: &Path, template: &str) -> Self {
        let file = file.display();
        Self(format!(
            r#"{}{THREADS}
init = function(args)
  values = {{}}
  local f = io.open("{file}." .. id, "r")
  if f then
    for line in f:lines() do table.insert(values, line) end
    f:close()
  end
  n = 0
end
request = function()
  n = n + 1
  if n > #values then
    wrk.thread:stop()
    n = #values
  end
  return wrk.format(nil, nil, nil, string.format('{template}', values[n] or ""))
end
{DONE}"#,
            Self::headers(bearer)
        ))
    }
}

fn wrk(url: &str, script: &Script, connections: u64, seconds: u64, dir: &Path) -> Result<Sample, String> {
    let path = dir.join("bench.lua");
    std::fs::write(&path, &script.0).map_err(|e| e.to_string())?;
    let out = Command::new("wrk")
        .args(["-t2", "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "-s"])
        .arg(&path)
        .arg(url)
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("WRKRESULT "))
        .ok_or_else(|| format!("wrk printed {text} {}", String::from_utf8_lossy(&out.stderr)))?;
    let v: Vec<f64> = line.split(' ').filter_map(|x| x.parse().ok()).collect();
    match v.as_slice() {
        [rate, p50, p99, requests, non_2xx, errors] => Ok(Sample {
            rate: *rate,
            p50: *p50,
            p99: *p99,
            requests: *requests as u64,
            non_2xx: *non_2xx as u64,
            errors: *errors as u64,
        }),
        _ => Err(format!("unreadable wrk result {line}")),
    }
}

fn median(samples: &[Sample]) -> Sample {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    sorted[sorted.len() / 2]
}

/// The reference server's path for a `rust-ceiling-bench.sh` route name.
fn route_label(route: &str) -> String {
    match route {
        "batch-full" => "`/store_batch`".to_owned(),
        "pg-ceiling" => "pgbench one-row insert (PostgreSQL ceiling)".to_owned(),
        SQLITE_OURS => "ours on SQLite".to_owned(),
        other => format!("`/{other}`"),
    }
}

/// The reference of introspection on PostgreSQL: the same scenario on this server's embedded
/// store, measured in the same run.
const SQLITE_OURS: &str = "sqlite-ours";

/// Measures introspection on a fresh SQLite store (its own server process, after the PostgreSQL
/// one stopped); a `RESULT` line with its median.
fn introspection_on_sqlite(seconds: u64, runs: usize, connections: u64) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("token-bench-{}-sqlite", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store = Store::Sqlite(dir.join("bench.sqlite"));
    let port = 4900 + (std::process::id() % 1000) as u16;
    let mut server = Server::start(&store, &dir, port)?;
    let only = ["auth/introspection".to_owned()];
    let result = measure(&store, &dir, port, seconds, runs, connections, &only, 0, &mut server);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let (_, _, sample) = result?.into_iter().next().ok_or("introspection on SQLite measured nothing")?;
    Ok(format!(
        "RESULT | token-server auth/introspection on SQLite | c={connections} | wrk | req/s median {:.0} | p50 {:.2} ms | p99 {:.2} ms",
        sample.rate, sample.p50, sample.p99
    ))
}

/// PostgreSQL's own ceiling for durable one-row inserts (`pg-ceiling.sh`, pgbench), `runs` times
/// at the same connection count and duration, with the server's `sslmode`; a `RESULT` line with
/// the median.
fn pg_ceiling(
    dir: &Path,
    connections: u64,
    seconds: u64,
    runs: usize,
    sslmode: Option<&str>,
) -> Result<String, String> {
    let mut rates = Vec::new();
    for _ in 0..runs {
        let mut command = Command::new("bash");
        if let Some(mode) = sslmode {
            command.env("PGSSLMODE", mode);
        }
        let out = command
            .arg(dir.join("pg-ceiling.sh"))
            .args([connections.to_string(), seconds.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("pg-ceiling.sh: {e}"))?;
        let line = result_line(&out.stdout, "pg-ceiling.sh")?;
        let tps = line
            .split("tps ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|t| t.parse::<f64>().ok())
            .ok_or_else(|| format!("pg-ceiling.sh printed {line}"))?;
        rates.push(tps);
    }
    let runs_text = rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ");
    rates.sort_by(f64::total_cmp);
    Ok(format!(
        "RESULT | pg-ceiling insert (pgbench, one row per transaction) | c={connections} | pgbench | req/s median {:.0} (runs: {runs_text})",
        rates[rates.len() / 2]
    ))
}

/// A binary `cargo build --release` made, in cargo's target directory (`CARGO_TARGET_DIR` too).
fn release_binary(name: &str) -> Result<PathBuf, String> {
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(project_root())
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let metadata: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let target = metadata["target_directory"].as_str().ok_or("cargo metadata has no target_directory")?;
    Ok(Path::new(target).join("release").join(name))
}

enum Yardstick {
    InRepository(InRepository),
    Scripts(PathBuf),
}

impl Yardstick {
    /// The `RESULT` line of `route` at `connections`, `runs` times `seconds`, median.
    fn result(
        &mut self,
        route: &str,
        connections: u64,
        seconds: u64,
        runs: usize,
        pg_sslmode: Option<&str>,
    ) -> Result<String, String> {
        match self {
            Yardstick::Scripts(dir) => reference_result(dir, route, connections, seconds, runs, pg_sslmode),
            Yardstick::InRepository(here) if route == "pg-ceiling" => {
                here.pg_ceiling(connections, seconds, runs, pg_sslmode)
            }
            Yardstick::InRepository(here) => here.route(route, connections, seconds, runs),
        }
    }
}

/// The reference server of `xtask/reference` (built once) and the pgbench ceiling.
struct InRepository {
    binary: PathBuf,
    dir: PathBuf,
}

/// The body the reference routes take (as the original yardstick's).
const REFERENCE_BODY: &str = r#"{"client_id":"bench","scope":"api:read","uid":"user-42"}"#;

/// One durable token-like row per transaction: the PostgreSQL ceiling for token create here.
const PG_INSERT_TOKEN: &str = "\\set sub random(1, 100000)
INSERT INTO bench_tokens (access_hash, subject, client_id, scopes, created_at, expires_at)
VALUES (sha256(gen_random_uuid()::text::bytea), 'user-' || :sub, 42, 'read', now(), now() + interval '1 hour');
";

impl InRepository {
    fn new() -> Result<Self, String> {
        // A workspace of its own (plain release profile, the original's Cargo.lock), built into a
        // directory of cargo's target directory.
        let target = release_binary("token-server")?
            .parent()
            .and_then(Path::parent)
            .map(|t| t.join("reference"))
            .ok_or("no target directory")?;
        let manifest = project_root().join("xtask/reference/Cargo.toml");
        let (manifest, target_text) = (manifest.display().to_string(), target.display().to_string());
        run_step(
            "build the reference server",
            "cargo",
            &["build", "--release", "--locked", "--manifest-path", &manifest, "--target-dir", &target_text],
        )?;
        let dir = std::env::temp_dir().join(format!("token-bench-{}-reference", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // Its signing key, made by openssl as the original's script makes it.
        let key = dir.join("ed25519.pem");
        let made = Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&key)
            .output()
            .map_err(|e| format!("openssl (to make the reference server's key): {e}"))?;
        if !made.status.success() {
            return Err(format!("openssl genpkey: {}", String::from_utf8_lossy(&made.stderr)));
        }
        Ok(Self { binary: target.join("release/reference-server"), dir })
    }

    /// `noop`, `sign`, `store-full`, `batch-full` (the original scripts' names) on a fresh store.
    fn route(&mut self, route: &str, connections: u64, seconds: u64, runs: usize) -> Result<String, String> {
        let path = match route {
            "noop" => "/noop",
            "sign" => "/sign",
            "store-full" => "/store",
            "batch-full" => "/store_batch",
            other => return Err(format!("the reference server has no route {other}")),
        };
        let data = self.dir.join(route);
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let port = 3100 + (std::process::id() % 700) as u16;
        let mut child = Command::new(&self.binary)
            .env("PORT", port.to_string())
            .env("DB", data.join("tokens.db"))
            .env("KEY", self.dir.join("ed25519.pem"))
            .env("SQLITE_SYNC", "FULL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the reference server: {e}"))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if child.try_wait().ok().flatten().is_some() || started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                return Err(format!("the reference server did not listen on {port}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let url = format!("http://127.0.0.1:{port}{path}");
        let script = Script::fixed(None, REFERENCE_BODY);
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(wrk(&url, &script, connections, seconds, &data));
        }
        let _ = child.kill();
        let _ = child.wait();
        let samples = samples.into_iter().collect::<Result<Vec<_>, _>>()?;
        let runs_text = samples.iter().map(|s| format!("{:.0}", s.rate)).collect::<Vec<_>>().join(", ");
        let sample = median(&samples);
        if sample.non_2xx + sample.errors > 0 {
            return Err(format!(
                "the reference server failed {} requests on {path}",
                sample.non_2xx + sample.errors
            ));
        }
        Ok(format!(
            "RESULT | reference-server POST {path} sync=FULL | c={connections} | wrk | req/s median {:.0} | p50 {:.2} ms | p99 {:.2} ms (runs: {runs_text})",
            sample.rate, sample.p50, sample.p99
        ))
    }

    /// PostgreSQL's own ceiling for durable one-row inserts: pgbench, one transaction per row (a
    /// random unique hash index and a time index, like a token row), on a throwaway database of
    /// the local server, at the same connection count; over `sslmode` as the server's URL says.
    fn pg_ceiling(
        &mut self,
        connections: u64,
        seconds: u64,
        runs: usize,
        sslmode: Option<&str>,
    ) -> Result<String, String> {
        let script = self.dir.join("pg-insert-token.sql");
        std::fs::write(&script, PG_INSERT_TOKEN).map_err(|e| e.to_string())?;
        let host = ["-h", "127.0.0.1", "-U", "postgres"];
        let run = |program: &str, args: &[&str]| -> Result<String, String> {
            let mut command = Command::new(program);
            command.args(host).args(args);
            if let Some(mode) = sslmode {
                command.env("PGSSLMODE", mode);
            }
            let out = command.output().map_err(|e| {
                format!("{program}: {e} (install PostgreSQL's client tools: Debian/Ubuntu `apt-get install -y postgresql-client postgresql-contrib`)")
            })?;
            if !out.status.success() {
                return Err(format!("{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr)));
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let database = "pg_ceiling";
        let mut rates = Vec::new();
        for _ in 0..runs {
            run(
                "psql",
                &["-q", "-d", "postgres", "-c", &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")],
            )?;
            run("psql", &["-q", "-d", "postgres", "-c", &format!("CREATE DATABASE {database}")])?;
            run(
                "psql",
                &[
                    "-q",
                    "-d",
                    database,
                    "-c",
                    "CREATE TABLE bench_tokens (id bigserial PRIMARY KEY, access_hash bytea NOT NULL UNIQUE, \
                     subject text, client_id bigint, scopes text, created_at timestamptz, expires_at timestamptz); \
                     CREATE INDEX ON bench_tokens (expires_at);",
                ],
            )?;
            let clients = connections.to_string();
            let duration = seconds.to_string();
            let script = script.display().to_string();
            let out =
                run("pgbench", &["-n", "-c", &clients, "-j", "2", "-T", &duration, "-f", &script, database])?;
            let tps = out
                .lines()
                .find_map(|l| l.strip_prefix("tps = "))
                .and_then(|t| t.split_whitespace().next())
                .and_then(|t| t.parse::<f64>().ok())
                .ok_or_else(|| format!("pgbench printed {out}"))?;
            rates.push(tps);
        }
        let _ = run(
            "psql",
            &["-q", "-d", "postgres", "-c", &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")],
        );
        let runs_text = rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ");
        rates.sort_by(f64::total_cmp);
        Ok(format!(
            "RESULT | pg-ceiling insert (pgbench, one row per transaction) | c={connections} | pgbench | req/s median {:.0} (runs: {runs_text})",
            rates[rates.len() / 2]
        ))
    }
}

impl Drop for InRepository {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the original yardstick's route (`../shared/bench`) with the same load generator, duration
/// and connections.
fn reference_result(
    dir: &Path,
    route: &str,
    connections: u64,
    seconds: u64,
    runs: usize,
    pg_sslmode: Option<&str>,
) -> Result<String, String> {
    if route == "pg-ceiling" {
        return pg_ceiling(dir, connections, seconds, runs, pg_sslmode);
    }
    let out = Command::new("bash")
        .arg(dir.join("rust-ceiling-bench.sh"))
        .args(["http", route])
        .env("LOADGEN", "wrk")
        .env("CONCURRENCY", connections.to_string())
        .env("DURATION", seconds.to_string())
        .env("RUNS", runs.to_string())
        .env("QUIET_WAIT", "10")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("reference bench: {e}"))?;
    result_line(&out.stdout, "the reference bench")
}

/// The `RESULT | …` line a bench script printed on standard output.
fn result_line(stdout: &[u8], script: &str) -> Result<String, String> {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .find(|l| l.starts_with("RESULT |"))
        .map(str::to_owned)
        .ok_or_else(|| format!("{script} printed {text}"))
}
