//! The hostile-client soak (docs/security.md, "Unauthenticated clients" and "Tenants"): the real
//! binary under 200 slow readers, 200 slow header senders, 2,000 requests with junk 8 KB methods, a
//! stream of oversized heads and anonymous fetchers of two full Token Status Lists — none with a
//! credential — and another organization doing expensive legitimate work (RS256 key rotations up
//! to its bound, deep pages of a 200,000-token listing, a 50,000-token subject revoke), while
//! normal clients of one organization create and introspect tokens. Normal clients see no error
//! and a p99 within max(5× their unloaded p99, 50 ms); the server's RSS stays within 2× its
//! unloaded RSS (plus what the other organization's reads may fill: the store's page caches, full,
//! and two list renders); every token acknowledged is there afterwards.
//!
//! "Unloaded" is the same server (the other organization's lists and tokens seeded alike) doing the
//! same normal work for as long without the hostile clients: a fresh one, so that both see the
//! same amount of data (the store's page caches grow
//! with it). Timing-sensitive, so `cargo xtask test` runs it alone after the other suites (short
//! form: `SOAK_SECS=20` per phase, under a minute in all). The long form, for a release candidate:
//! `SOAK_SECS=600 cargo test --release -p token-server --test suite soak -- --ignored --nocapture`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::denial_of_service::{junk_method, raw_request, rss_bytes, slow_reader};
use crate::durability::{admin, start_with_env};

/// Seconds between a slow reader's connections: the write timeout the soak runs with, plus one.
const WRITE_TIMEOUT_SECS: u64 = 5;
const HEADER_TIMEOUT_SECS: u64 = 5;

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    service: String,
    secret: String,
    client_id: Value,
}

/// What one normal client saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    errors: Vec<String>,
    tokens: Vec<String>,
}

impl Api {
    async fn call(&self, path: &str, body: Value, seen: &mut Seen) -> Option<Value> {
        let started = Instant::now();
        let answer = self
            .http
            .post(format!("{}/api/{}/{path}", self.base, self.service))
            .bearer_auth(&self.secret)
            .json(&body)
            .send()
            .await;
        let answer = match answer {
            Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
            Ok(response) => {
                seen.errors.push(format!("{path}: {}", response.status()));
                None
            }
            Err(e) => {
                seen.errors.push(format!("{path}: {e}"));
                None
            }
        };
        seen.latencies.push(started.elapsed());
        answer
    }

    /// Creates a token, then introspects the one created before it, every `pace`, until `until`.
    async fn normal_client(self, n: usize, until: Instant, pace: Duration) -> Seen {
        let mut seen = Seen::default();
        let mut i = 0;
        while Instant::now() < until {
            let body = json!({
                "grantType": "PASSWORD", "clientId": self.client_id,
                "subject": format!("user-{n}-{i}"), "scopes": ["read"]
            });
            if let Some(created) = self.call("auth/token/create", body, &mut seen).await {
                let token = created["accessToken"].as_str().unwrap_or_default().to_owned();
                if let Some(previous) = seen.tokens.last().cloned() {
                    let answer = self.call("auth/introspection", json!({"token": previous}), &mut seen).await;
                    if answer.as_ref().is_some_and(|a| a["action"] != "OK") {
                        seen.errors.push(format!("introspection: {answer:?}"));
                    }
                }
                seen.tokens.push(token);
            }
            i += 1;
            tokio::time::sleep(pace).await;
        }
        seen
    }

    /// `clients` normal clients for `length`; everything they saw, together.
    async fn normal_load(&self, clients: usize, length: Duration) -> Seen {
        let until = Instant::now() + length;
        let tasks: Vec<_> = (0..clients)
            .map(|n| tokio::spawn(self.clone().normal_client(n, until, Duration::from_millis(20))))
            .collect();
        let mut all = Seen::default();
        for task in tasks {
            let seen = task.await.unwrap();
            all.latencies.extend(seen.latencies);
            all.errors.extend(seen.errors);
            all.tokens.extend(seen.tokens);
        }
        all
    }
}

fn p99(latencies: &mut [Duration]) -> Duration {
    assert!(!latencies.is_empty());
    latencies.sort();
    latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)]
}

/// A slow header sender: a request head sent a line a second, never finished; reconnects when the
/// server cuts it off (the header timeout).
async fn slow_header_sender(address: String, until: Instant, sent: Arc<AtomicU64>) {
    while Instant::now() < until {
        let Ok(mut stream) = TcpStream::connect(&address).await else { continue };
        if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.is_err() {
            continue;
        }
        sent.fetch_add(1, Ordering::Relaxed);
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if stream.write_all(b"X-Slow: y\r\n").await.is_err() {
                break;
            }
        }
    }
}

/// The other organization: its service (RS256, Token Status Lists), its credentials, and what
/// was seeded for it.
#[derive(Clone)]
struct Heavy {
    http: reqwest::Client,
    base: String,
    service: String,
    org_token: String,
    service_token: String,
}

/// Full status lists of the other organization's service, and its tokens: 200,000 of subjects
/// `user-<i / 10>` to page through, 50,000 of subject `everywhere` to revoke.
const FULL_LISTS: i64 = 2;
const LISTED_TOKENS: u64 = 200_000;
const SUBJECT_TOKENS: u64 = 50_000;
const BASE_URL: &str = "https://tokens.example";

/// A fresh server for one phase of the soak: a service, a client and a credential for the normal
/// clients; another organization's service with its lists and tokens seeded (before the start).
fn soak_server(dir: &std::path::Path) -> (std::process::Child, Api, Heavy) {
    let db = dir.join("soak.sqlite");
    let org = admin(&db, &["org", "create", "--name", "soak"])["id"].to_string();
    let service = admin(&db, &["service", "create", "--org", &org, "--scopes", "read"])["id"].to_string();
    let client = admin(&db, &["client", "create", "--service", &service, "--alias", "web"]);
    let credential = admin(&db, &["credential", "create", "--service", &service, "--label", "soak"]);

    let heavy_org = admin(&db, &["org", "create", "--name", "heavy"])["id"].to_string();
    let heavy_sid = admin(
        &db,
        &["service", "create", "--org", &heavy_org, "--scopes", "read", "--sign-alg", "RS256"],
    )["id"]
        .to_string();
    let lists_on = std::process::Command::new(env!("CARGO_BIN_EXE_token-server"))
        .arg("--database")
        .arg(&db)
        .args(["--json", "admin", "service", "update", "--service", &heavy_sid, "--status-list-ttl", "300"])
        .env("TOKEN_SERVER_PUBLIC_BASE_URL", BASE_URL)
        .output()
        .unwrap();
    assert!(lists_on.status.success(), "{}", String::from_utf8_lossy(&lists_on.stderr));
    let heavy_client = admin(&db, &["client", "create", "--service", &heavy_sid])["clientId"].to_string();
    let heavy_org_token = admin(&db, &["credential", "create", "--org", &heavy_org, "--label", "soak"]);
    let heavy_service_token =
        admin(&db, &["credential", "create", "--service", &heavy_sid, "--label", "soak"]);
    let mut seed = String::from("BEGIN;");
    for list in 1..=FULL_LISTS {
        seed.push_str(&crate::fairness::sqlite_full_list(&heavy_sid, list));
    }
    seed.push_str(&crate::fairness::sqlite_tokens(
        &heavy_sid,
        &heavy_client,
        1..=LISTED_TOKENS,
        "'user-' || (i / 10)",
    ));
    let everywhere = LISTED_TOKENS + 1..=LISTED_TOKENS + SUBJECT_TOKENS;
    seed.push_str(&crate::fairness::sqlite_tokens(&heavy_sid, &heavy_client, everywhere, "'everywhere'"));
    seed.push_str("COMMIT;");
    rusqlite::Connection::open(&db).unwrap().execute_batch(&seed).unwrap();

    let (write_timeout, header_timeout) = (WRITE_TIMEOUT_SECS.to_string(), HEADER_TIMEOUT_SECS.to_string());
    let (server, base) = start_with_env(
        &db,
        &[
            ("RUST_LOG", "warn"),
            ("TOKEN_SERVER_WRITE_TIMEOUT_SECS", &write_timeout),
            ("TOKEN_SERVER_HEADER_READ_TIMEOUT_SECS", &header_timeout),
            ("TOKEN_SERVER_PUBLIC_BASE_URL", BASE_URL),
            // As deploy/token-server.service runs it (without: ~50 MB more, kept by idle arenas).
            ("MALLOC_ARENA_MAX", "2"),
        ],
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: base.clone(),
        service,
        secret: credential["secret"].as_str().unwrap().to_owned(),
        client_id: client["clientId"].clone(),
    };
    let heavy = Heavy {
        http: reqwest::Client::new(),
        base,
        service: heavy_sid,
        org_token: heavy_org_token["secret"].as_str().unwrap().to_owned(),
        service_token: heavy_service_token["secret"].as_str().unwrap().to_owned(),
    };
    (server, api, heavy)
}

impl Heavy {
    fn url(&self, path: &str) -> String {
        format!("{}/api/{}/{path}", self.base, self.service)
    }

    /// Anonymous fetches of full list `list` until `until`; how many were answered (each 200).
    async fn fetch_list(self, list: i64, until: Instant) -> u64 {
        let mut fetched = 0;
        while Instant::now() < until {
            let response = self.http.get(self.url(&format!("statuslists/{list}"))).send().await.unwrap();
            assert_eq!(response.status(), 200, "list {list}");
            response.bytes().await.unwrap();
            fetched += 1;
        }
        fetched
    }

    /// RS256 rotations until `until`, waiting out each 429's Retry-After; how many were made.
    async fn rotate_keys(self, until: Instant) -> u64 {
        let mut made = 0;
        while Instant::now() < until {
            let response = self
                .http
                .post(self.url("keys/rotate"))
                .bearer_auth(&self.org_token)
                .json(&json!({"alg": "RS256"}))
                .send()
                .await
                .unwrap();
            match response.status().as_u16() {
                200 => made += 1,
                429 => {
                    let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                    let left = until.saturating_duration_since(Instant::now());
                    tokio::time::sleep(Duration::from_secs(wait).min(left)).await;
                }
                other => panic!("rotation: {other}"),
            }
        }
        made
    }

    /// Pages of 1,000 deep in the listing (a walk by key from 150,000, and positions no bookmark
    /// helps) until `until`; how many were read.
    async fn page_deep(self, until: Instant) -> u64 {
        let mut pages = 0u64;
        while Instant::now() < until {
            let start = if pages.is_multiple_of(2) {
                150_000 + (pages / 2 % 49) * 1000
            } else {
                100_000 + pages * 7919 % 99_000
            };
            let url = self.url(&format!("auth/token/get/list?start={start}&end={}", start + 1000));
            let response = self.http.get(url).bearer_auth(&self.service_token).send().await.unwrap();
            assert_eq!(response.status(), 200, "page at {start}");
            response.bytes().await.unwrap();
            pages += 1;
        }
        pages
    }

    /// Revokes every token of subject `everywhere` once; how many.
    async fn revoke_subject(self) -> u64 {
        let response = self
            .http
            .post(self.url("auth/token/revoke"))
            .bearer_auth(&self.service_token)
            .json(&json!({"subject": "everywhere"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["count"].as_u64().unwrap()
    }
}

/// The highest RSS of process `pid` until `until`, sampled every 100 ms.
fn peak_rss(pid: u32, until: Instant) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut peak = 0;
        while Instant::now() < until {
            peak = peak.max(rss_bytes(pid));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        peak
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing-sensitive: `cargo xtask test` runs it alone; SOAK_SECS sets its length"]
async fn soak_hostile_clients_leave_normal_ones_unharmed() {
    let soak =
        Duration::from_secs(std::env::var("SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20));

    // Unloaded: the normal clients alone, on a server of their own.
    let dir = tempfile::tempdir().unwrap();
    let (mut server, api, _) = soak_server(dir.path());
    let rss = peak_rss(server.id(), Instant::now() + soak);
    let mut unloaded = api.normal_load(4, soak).await;
    let unloaded_rss = rss.await.unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(unloaded.errors.is_empty(), "{:?}", unloaded.errors);
    let unloaded_p99 = p99(&mut unloaded.latencies);

    // Loaded: a fresh server, the hostile clients (ramped up over two seconds) and the same normal
    // clients.
    let dir = tempfile::tempdir().unwrap();
    let (mut server, api, heavy) = soak_server(dir.path());
    let address = api.base.trim_start_matches("http://").to_owned();
    let until = Instant::now() + soak;
    let rss = peak_rss(server.id(), until);
    let mut hostile = Vec::new();
    // Anonymous: three fetchers on each full list. The other organization: rotations, deep pages,
    // and a large subject revoke a third of the way in.
    let list_fetches: Vec<_> = (1..=FULL_LISTS)
        .flat_map(|list| (0..3).map(move |_| list))
        .map(|list| tokio::spawn(heavy.clone().fetch_list(list, until)))
        .collect();
    let rotations = tokio::spawn(heavy.clone().rotate_keys(until));
    let deep_pages = tokio::spawn(heavy.clone().page_deep(until));
    let subject_revoke = {
        let heavy = heavy.clone();
        tokio::spawn(async move {
            tokio::time::sleep(soak / 3).await;
            heavy.revoke_subject().await
        })
    };
    let slow_headers = Arc::new(AtomicU64::new(0));
    let slow_reads = Arc::new(AtomicU64::new(0));
    for n in 0..200u64 {
        let (to, sent) = (address.clone(), Arc::clone(&slow_headers));
        hostile.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(n * 10)).await;
            slow_header_sender(to, until, sent).await;
        }));
        let (to, sent) = (address.clone(), Arc::clone(&slow_reads));
        hostile.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(n * 10 + 5)).await;
            while Instant::now() < until {
                let reader = slow_reader(&to, 64).await;
                sent.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(WRITE_TIMEOUT_SECS + 1)).await;
                drop(reader);
            }
        }));
    }
    let junk = Arc::new(AtomicU64::new(0));
    for _ in 0..4 {
        let (address, junk) = (address.clone(), Arc::clone(&junk));
        let pause = soak / 600;
        hostile.push(tokio::spawn(async move {
            for _ in 0..500 {
                let request = format!(
                    "{} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    junk_method(8192)
                );
                let answer = raw_request(&address, request.as_bytes()).await;
                assert!(answer.starts_with("HTTP/1.1 405"), "{answer:.100}");
                junk.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(pause).await;
            }
        }));
    }
    let oversized = Arc::new(AtomicU64::new(0));
    {
        let (address, oversized) = (address.clone(), Arc::clone(&oversized));
        hostile.push(tokio::spawn(async move {
            while Instant::now() < until {
                let request =
                    format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(100 * 1024));
                let answer = raw_request(&address, request.as_bytes()).await;
                assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.100}");
                oversized.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    let mut loaded = api.normal_load(4, soak).await;
    for task in hostile {
        task.await.unwrap();
    }
    let mut lists_served = 0;
    for fetches in list_fetches {
        lists_served += fetches.await.unwrap();
    }
    let (rotations, deep_pages) = (rotations.await.unwrap(), deep_pages.await.unwrap());
    let revoked = subject_revoke.await.unwrap();
    let peak_rss = rss.await.unwrap();
    let loaded_p99 = p99(&mut loaded.latencies);
    let (slow_headers, slow_reads) =
        (slow_headers.load(Ordering::Relaxed), slow_reads.load(Ordering::Relaxed));
    let (junk, oversized) = (junk.load(Ordering::Relaxed), oversized.load(Ordering::Relaxed));
    println!(
        "soak {soak:?}: unloaded p99 {unloaded_p99:?}, RSS {} MB; loaded p99 {loaded_p99:?} over {} calls, \
         peak RSS {} MB; hostile: {slow_reads} slow readers, {slow_headers} slow header senders, {junk} junk \
         methods, {oversized} oversized heads, {lists_served} full lists served; the other organization: \
         {rotations} RS256 rotations, {deep_pages} deep pages, a subject revoke of {revoked}",
        unloaded_rss >> 20,
        loaded.latencies.len(),
        peak_rss >> 20
    );

    assert!(
        loaded.errors.is_empty(),
        "normal clients saw errors: {:?}",
        &loaded.errors[..loaded.errors.len().min(10)]
    );
    let bound = (unloaded_p99 * 5).max(Duration::from_millis(50));
    assert!(loaded_p99 <= bound, "loaded p99 {loaded_p99:?} > {bound:?} (unloaded {unloaded_p99:?})");
    // Legitimate heavy reads fill the store's page caches (bounded by configuration) and a full
    // list's render holds its bits and zlib stream (two renders at a time, ~16 MiB each); nothing
    // else may grow beyond twice the unloaded RSS.
    let heavy_allowance = token_server::store::sqlite::PAGE_CACHES_BYTES + 2 * (16 << 20);
    assert!(
        peak_rss <= 2 * unloaded_rss + heavy_allowance,
        "peak RSS {peak_rss} > 2 x {unloaded_rss} + {heavy_allowance}"
    );
    assert!(junk == 2000 && slow_reads >= 200 && slow_headers >= 200 && oversized > 0);
    assert!(lists_served > 0 && deep_pages > 0, "the heavy work ran");
    let per_window = u64::from(token_server::Config::default().key_generations_per_service);
    assert!(
        (per_window..=per_window * (soak.as_secs() / 60 + 1)).contains(&rotations),
        "{rotations} rotations"
    );
    assert_eq!(revoked, SUBJECT_TOKENS, "exact");

    // Every token acknowledged, before and during the attack, is there.
    let mut check = Seen::default();
    for token in &loaded.tokens {
        let answer = api.call("auth/introspection", json!({"token": token}), &mut check).await;
        assert_eq!(answer.as_ref().map(|a| a["action"].clone()), Some(json!("OK")), "{token}");
    }
    assert!(check.errors.is_empty(), "{:?}", check.errors);
    let _ = server.kill();
    let _ = server.wait();
}
