//! The scenarios: each endpoint measured (its body, connections, reference route, the rows it
//! must store), the measuring loop with its durability check, and the optional prefill.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::reference::SQLITE_OURS;
use super::server::{Http, Server, Store, admin, psql};
use super::wrk::{DONE, Sample, Script, median, wrk};

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

pub(super) type Measured = (&'static str, (&'static str, u64), Sample);

#[allow(clippy::too_many_arguments)]
pub(super) fn measure(
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
    // The same create on a service that keeps no issuance events (the event log's cost, #40).
    let quiet = admin(store, dir, &["service", "create", "--org", &org, "--name", "no-issuance-events"])?;
    let quiet = quiet["id"].as_u64().ok_or("service create printed no id")?.to_string();
    admin(store, dir, &["service", "update", "--service", &quiet, "--issuance-events", "false"])?;
    let quiet_client = admin(store, dir, &["client", "create", "--service", &quiet])?;
    let quiet_client =
        quiet_client["clientId"].as_u64().ok_or("client create printed no clientId")?.to_string();
    let quiet_cc =
        format!(r#"{{"grantType":"CLIENT_CREDENTIALS","clientId":{quiet_client},"scopes":["openid"]}}"#);
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
            name: "token/create CLIENT_CREDENTIALS, opaque, issuance events off",
            service: quiet,
            path: "/auth/token/create",
            body: Body::Fixed(quiet_cc),
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
