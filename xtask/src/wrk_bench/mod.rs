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
//!
//! The parts: `scenarios.rs` (what is measured, and the durability check), `server.rs` (the
//! server under test, its store and its HTTP API), `wrk.rs` (the load generator's scripts and
//! results), `reference.rs` (the yardsticks).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use crate::{project_root, run_step};

mod reference;
mod scenarios;
mod server;
mod wrk;

use reference::{InRepository, SQLITE_OURS, Yardstick, introspection_on_sqlite, route_label};
use scenarios::measure;
use server::{SERVER_BINARY, Server, Store, psql};
use wrk::ensure_wrk;

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

pub fn run(options: Options) -> Result<(), String> {
    let Options { seconds, runs, concurrency, reference, database, only, prefill, binary } = options;
    let runs = runs.max(1);
    ensure_wrk()?;
    match binary {
        // A given build is measured as it is: nothing of this checkout is built.
        Some(binary) => {
            let binary =
                std::fs::canonicalize(&binary).map_err(|e| format!("--binary {}: {e}", binary.display()))?;
            let _ = SERVER_BINARY.set(binary);
        }
        None => run_step(
            "build",
            "cargo",
            &["build", "--release", "-p", "token-server", "--bin", "token-server"],
        )?,
    }
    let dir = std::env::temp_dir().join(format!("token-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store = match &database {
        Some(url) => Store::postgres(url)?,
        None => Store::Sqlite(dir.join("bench.sqlite")),
    };
    let port = server::free_port()?;
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
