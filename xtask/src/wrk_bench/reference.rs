//! The yardsticks the ratios are taken to: the reference server of `xtask/reference` and
//! PostgreSQL's insert ceiling (pgbench), or the original scripts of `../shared/bench`; on
//! PostgreSQL, introspection on this server's SQLite store.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{project_root, run_step};

use super::scenarios::measure;
use super::server::{Server, Store, release_binary};
use super::wrk::{Script, median, wrk};

/// The reference server's path for a `rust-ceiling-bench.sh` route name.
pub(super) fn route_label(route: &str) -> String {
    match route {
        "batch-full" => "`/store_batch`".to_owned(),
        "pg-ceiling" => "pgbench one-row insert (PostgreSQL ceiling)".to_owned(),
        SQLITE_OURS => "ours on SQLite".to_owned(),
        other => format!("`/{other}`"),
    }
}

/// The reference of introspection on PostgreSQL: the same scenario on this server's embedded
/// store, measured in the same run.
pub(super) const SQLITE_OURS: &str = "sqlite-ours";

/// Measures introspection on a fresh SQLite store (its own server process, after the PostgreSQL
/// one stopped); a `RESULT` line with its median.
pub(super) fn introspection_on_sqlite(seconds: u64, runs: usize, connections: u64) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("token-bench-{}-sqlite", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store = Store::Sqlite(dir.join("bench.sqlite"));
    let port = super::server::free_port()?;
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

pub(super) enum Yardstick {
    InRepository(InRepository),
    Scripts(PathBuf),
}

impl Yardstick {
    /// The `RESULT` line of `route` at `connections`, `runs` times `seconds`, median.
    pub(super) fn result(
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
pub(super) struct InRepository {
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
    pub(super) fn new() -> Result<Self, String> {
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
        let port = super::server::free_port()?;
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
