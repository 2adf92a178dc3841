//! In-process load benchmark (`cargo xtask bench-load`): a release server on 127.0.0.1 over a fresh SQLite file,
//! driven by concurrent HTTP clients. Every scenario is reported as a ratio to the baseline
//! (`GET /healthz`) measured in the same run, because the machine is shared and noisy.
//!
//! Arguments: `--seconds N` per scenario (default 3), `--concurrency N` (default 32),
//! `--database postgres://…` (default: a fresh SQLite file), `--janitor-rows N` (default 0: off):
//! create N tokens, then measure token create while the janitor purges them batch by batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use token_server::service::maintenance::JanitorPacing;
use token_server::store::{Actor, Audit, Principal};
use token_server::tenancy::{NewClient, ServiceSpec};
use token_server::{App, Config};

struct Outcome {
    name: &'static str,
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted[((sorted.len() as f64 - 1.0) * p) as usize]
    }
}

#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    base: String,
    sid: u64,
    bearer: String,
    client_id: i64,
}

type Job = Arc<
    dyn Fn(Target, usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send + Sync,
>;

/// Runs `job` from `concurrency` workers for `seconds` (or until `limit` requests), collecting latencies.
async fn run(
    name: &'static str,
    target: &Target,
    concurrency: usize,
    seconds: u64,
    limit: usize,
    job: Job,
) -> Outcome {
    let counter = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (target, job, counter) = (target.clone(), Arc::clone(&job), Arc::clone(&counter));
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if n >= limit {
                    break;
                }
                let t = Instant::now();
                if !job(target.clone(), n).await {
                    errors += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, errors)
        }));
    }
    let mut outcome =
        Outcome { name, requests: 0, errors: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for worker in workers {
        let (latencies, errors) = worker.await.unwrap();
        outcome.requests += latencies.len();
        outcome.errors += errors;
        outcome.latencies.extend(latencies);
    }
    outcome.elapsed = start.elapsed();
    outcome
}

async fn ok(response: Result<reqwest::Response, reqwest::Error>) -> bool {
    match response {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seconds = arg("--seconds", 3);
    let concurrency = arg("--concurrency", 32) as usize;
    let dir = tempfile::tempdir().unwrap();
    // `--database postgres://…` runs the scenarios on PostgreSQL (a fresh organization each run).
    let args: Vec<String> = std::env::args().collect();
    let database = args.iter().position(|a| a == "--database").and_then(|i| args.get(i + 1)).cloned();
    let config = Config {
        database: database.map(Into::into).unwrap_or_else(|| dir.path().join("bench.sqlite")),
        ..Config::default()
    };
    // The server gets its own runtime (as in production); the load generator another.
    let server_runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let store = server_runtime.block_on(token_server::connect_store(&config)).unwrap();
    println!(
        "store: {}",
        if matches!(config.backend(), token_server::Database::Postgres(_)) { "PostgreSQL" } else { "SQLite" }
    );
    let janitor_store = Arc::clone(&store.maintenance);
    let state = App::new(store, config);
    let (service, client, bearer) = server_runtime.block_on(async {
        let org = state.tenancy().create_organization("bench").await.unwrap();
        let service =
            state.tenancy().create_service(org.id, &ServiceSpec::default(), &Actor::cli()).await.unwrap();
        let client = NewClient::new("bench", token_core::grant::GrantType::ALL.to_vec());
        let client = state.tenancy().create_client(service.id, client, &Actor::cli()).await.unwrap();
        let bearer = state
            .tenancy()
            .issue_credential(Principal::Service(service.id), "bench", None, &Actor::cli())
            .await
            .unwrap();

        (service, client, bearer)
    });

    let listener = server_runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let janitor_rows = arg("--janitor-rows", 0) as usize;
    let janitor_batch =
        arg("--janitor-batch", u64::from(token_server::service::maintenance::JANITOR_BATCH)) as u32;
    let server_handle = server_runtime.handle().clone();
    let janitor_services = state.clone();
    server_runtime.spawn(token_server::serve(listener, state, std::future::pending()));

    let client_runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    client_runtime.block_on(async move {
        let target = Target {
            http: reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap(),
            base,
            sid: service.id.get(),
            bearer: bearer.secret.into_secret(),
            client_id: client.client_id.get(),
        };
        let create_body = move |t: &Target, n: usize| {
            json!({"grantType": "PASSWORD", "clientId": t.client_id, "subject": format!("user{n}"), "scopes": ["openid"]})
        };
        // One token to introspect.
        let created: Value = target
            .http
            .post(format!("{}/api/{}/auth/token/create", target.base, target.sid))
            .bearer_auth(&target.bearer)
            .json(&create_body(&target, 0))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = created["accessToken"].as_str().unwrap().to_owned();

        let mut outcomes = Vec::new();
        let unlimited = usize::MAX;
        outcomes.push(
            run("baseline: GET /healthz", &target, concurrency, seconds, unlimited, Arc::new(|t: Target, _| {
                Box::pin(async move { ok(t.http.get(format!("{}/healthz", t.base)).send().await).await })
            }))
            .await,
        );
        outcomes.push(
            run("token create (fsync per token)", &target, concurrency, seconds, unlimited, Arc::new(move |t: Target, n| {
                let body = create_body(&t, n);
                Box::pin(async move {
                    ok(t.http.post(format!("{}/api/{}/auth/token/create", t.base, t.sid)).bearer_auth(&t.bearer).json(&body).send().await).await
                })
            }))
            .await,
        );
        let token = access.clone();
        outcomes.push(
            run("introspection", &target, concurrency, seconds, unlimited, Arc::new(move |t: Target, _| {
                let body = json!({"token": token});
                Box::pin(async move {
                    ok(t.http.post(format!("{}/api/{}/auth/introspection", t.base, t.sid)).bearer_auth(&t.bearer).json(&body).send().await).await
                })
            }))
            .await,
        );
        let token = access.clone();
        outcomes.push(
            run("introspection (RFC 7662)", &target, concurrency, seconds, unlimited, Arc::new(move |t: Target, _| {
                let body = json!({"parameters": format!("token={token}")});
                Box::pin(async move {
                    ok(t.http.post(format!("{}/api/{}/auth/introspection/standard", t.base, t.sid)).bearer_auth(&t.bearer).json(&body).send().await).await
                })
            }))
            .await,
        );
        // Generation is limited to 10 in flight per credential: drive it with 10 workers.
        let generate = |t: &Target, n: usize| {
            let url = format!("{}/api/{}/custom-token/generate", t.base, t.sid);
            let request = t.http.post(url).bearer_auth(&t.bearer).json(&json!({"userId": format!("u{n}"), "identity": "member"}));
            async move {
                let response = request.send().await.ok()?;
                if !response.status().is_success() {
                    return None;
                }
                let body: Value = response.json().await.ok()?;
                body["data"]["customToken"].as_str().map(str::to_owned)
            }
        };
        outcomes.push(
            run("custom token generate (10 in flight)", &target, 10, seconds, unlimited, Arc::new(move |t: Target, n| {
                Box::pin(async move { generate(&t, n).await.is_some() })
            }))
            .await,
        );
        // Exchange consumes custom tokens: make a pool first, then exchange them.
        let pool_size = 3000;
        let mut pool = Vec::with_capacity(pool_size);
        for n in 0..pool_size {
            if let Some(token) = generate(&target, n).await {
                pool.push(token);
            }
        }
        let pool = Arc::new(pool);
        let tokens = Arc::clone(&pool);
        outcomes.push(
            run("custom token exchange (fsync per pair)", &target, concurrency, seconds, pool.len(), Arc::new(move |t: Target, n| {
                let body = json!({"customToken": tokens[n]});
                Box::pin(async move {
                    ok(t.http.post(format!("{}/api/{}/custom-token/exchange", t.base, t.sid)).json(&body).send().await).await
                })
            }))
            .await,
        );

        // The janitor over many ended rows: how long one batch holds the writer, and what creating
        // tokens meanwhile costs.
        let mut janitor_report = None;
        if janitor_rows > 0 {
            let create = move |t: Target, n: usize| -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
                let body = create_body(&t, n);
                Box::pin(async move {
                    ok(t.http.post(format!("{}/api/{}/auth/token/create", t.base, t.sid)).bearer_auth(&t.bearer).json(&body).send().await).await
                })
            };
            let seeded = run("seed", &target, concurrency, 3600, janitor_rows, Arc::new(create)).await;
            // Every token created so far has ended by then (1 h access, 1 day refresh).
            let before = token_server::clock::now_ms() + 3 * 86_400_000;
            // What one batch costs with nothing else writing: how long it holds the writer.
            let mut alone = Vec::new();
            for _ in 0..20 {
                let started = Instant::now();
                janitor_store.purge_expired(before, janitor_batch, &Audit::new(Actor::janitor(), before)).await.unwrap();
                alone.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            alone.sort_by(f64::total_cmp);
            // As the server's scheduled janitor runs (batches paced to leave requests the writer).
            let janitor_services = janitor_services.clone();
            let janitor = server_handle.spawn(async move {
                let retention = token_server::clock::now_ms() - before;
                janitor_services.maintenance().run_janitor(retention, janitor_batch, JanitorPacing::Background).await.unwrap()
            });
            outcomes.push(run("token create while the janitor purges", &target, concurrency, seconds, unlimited, Arc::new(create)).await);
            let janitor_run = janitor.await.unwrap();
            janitor_report = Some(format!(
                "janitor: one batch alone holds the writer {:.1} ms (median of 20, max {:.1} ms); {} rows seeded, \
                 {} removed while serving in {} batches of ≤ {}, longest {:.1} ms (incl. waiting for the writer)",
                alone[alone.len() / 2],
                alone[alone.len() - 1],
                seeded.requests,
                janitor_run.purged.tokens,
                janitor_run.batches,
                janitor_batch,
                janitor_run.longest_batch.as_secs_f64() * 1000.0
            ));
        }

        let baseline = outcomes[0].rate();
        println!("\nload benchmark: {seconds} s per scenario, {concurrency} connections (generate: 10), release build, 127.0.0.1");
        println!("{:<40} {:>10} {:>8} {:>9} {:>9} {:>8}", "scenario", "req/s", "errors", "p50 ms", "p99 ms", "ratio");
        for o in &outcomes {
            println!(
                "{:<40} {:>10.0} {:>8} {:>9.2} {:>9.2} {:>8.3}",
                o.name,
                o.rate(),
                o.errors,
                o.percentile(0.5).as_secs_f64() * 1000.0,
                o.percentile(0.99).as_secs_f64() * 1000.0,
                o.rate() / baseline
            );
        }
        if let Some(report) = &janitor_report {
            println!("{report}");
        }
        let failed: usize = outcomes.iter().map(|o| o.errors).sum();
        if failed > 0 {
            eprintln!("load benchmark: {failed} requests failed");
            std::process::exit(1);
        }
    });
}
