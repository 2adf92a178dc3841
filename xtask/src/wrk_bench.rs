//! `cargo xtask bench-wrk`: the release server as its own process on a fresh SQLite store, driven by
//! wrk from another process, optionally beside the reference server of `../shared/bench/` measured
//! in the same run with the same load generator and connection counts. Prints one `RESULT | …`
//! line per scenario in the reference's format, and the ratios.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{project_root, run_step};

/// One wrk measurement: req/s, p50 ms, p99 ms, non-2xx + socket errors.
#[derive(Clone, Copy, Debug)]
struct Sample {
    rate: f64,
    p50: f64,
    p99: f64,
    bad: u64,
}

pub fn run(seconds: u64, runs: usize, concurrency: u64, reference: Option<PathBuf>) -> Result<(), String> {
    let runs = runs.max(1);
    ensure_wrk()?;
    run_step("build", "cargo", &["build", "--release", "-p", "token-server", "--bin", "token-server"])?;
    let dir = std::env::temp_dir().join(format!("token-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = dir.join("bench.sqlite");
    let port = 3900 + (std::process::id() % 1000) as u16;
    let server = Server::start(&db, port)?;
    let creds =
        std::fs::read_to_string(format!("{}.credentials", db.display())).map_err(|e| e.to_string())?;
    let field = |label: &str| -> Result<String, String> {
        creds
            .lines()
            .find_map(|l| l.strip_prefix(label).map(|v| v.trim().split(' ').next().unwrap_or("").to_owned()))
            .ok_or_else(|| format!("no {label} in the credentials file"))
    };
    let (sid, client, bearer) =
        (field("service id:")?, field("client id:")?, field("service access token:")?);
    let base = format!("http://127.0.0.1:{port}/api/{sid}");

    let create = format!(r#"{{"grantType":"CLIENT_CREDENTIALS","clientId":{client},"scopes":["openid"]}}"#);
    let created = curl_post(&format!("{base}/auth/token/create"), &bearer, &create)?;
    let token = created
        .split("\"accessToken\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| format!("token create answered {created}"))?
        .to_owned();
    let introspect = format!(r#"{{"token":"{token}"}}"#);
    let generate = r#"{"userId":"user-42","identity":"member"}"#.to_owned();
    let scenarios: Vec<(&str, String, String, u64, &str)> = vec![
        (
            "token create CLIENT_CREDENTIALS (durable)",
            format!("{base}/auth/token/create"),
            create,
            concurrency,
            "batch-full",
        ),
        ("auth/introspection", format!("{base}/auth/introspection"), introspect, concurrency, "noop"),
        ("custom-token/generate", format!("{base}/custom-token/generate"), generate, 10, "sign"),
    ];
    let mut ours = Vec::new();
    for (name, url, body, c, _) in &scenarios {
        let before = token_count(&base, &bearer)?;
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(wrk(url, &bearer, body, *c, seconds)?);
        }
        let median = median(&samples);
        // Requests in flight when wrk stops are still committed (and counted here) but not by wrk.
        std::thread::sleep(Duration::from_millis(500));
        let after = token_count(&base, &bearer)?;
        let rows = after.saturating_sub(before);
        println!(
            "RESULT | token-server {name} | c={c} | wrk | req/s median {:.0} (runs: {}) | p50 {:.2} ms | p99 {:.2} ms | non-2xx/errors {} | tokens stored {rows}",
            median.rate,
            samples.iter().map(|s| format!("{:.0}", s.rate)).collect::<Vec<_>>().join(", "),
            median.p50,
            median.p99,
            samples.iter().map(|s| s.bad).sum::<u64>(),
        );
        ours.push(median);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);

    let Some(reference) = reference else { return Ok(()) };
    let mut table = Vec::new();
    for ((name, _, _, c, route), ours) in scenarios.iter().zip(&ours) {
        let line = reference_result(&reference, route, *c, seconds, runs)?;
        let rate = line
            .split("req/s median ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|r| r.parse::<f64>().ok())
            .ok_or_else(|| format!("unreadable reference line: {line}"))?;
        println!("{line}");
        table.push(format!(
            "| {name} | `{route}` c={c} | {rate:.0} | {:.0} | {:.2} | {:.2} ms |",
            ours.rate,
            ours.rate / rate,
            ours.p99
        ));
    }
    println!("\n| scenario | reference route (same run) | reference req/s | ours req/s | ratio | ours p99 |");
    println!("|---|---|---:|---:|---:|---:|");
    for row in table {
        println!("{row}");
    }
    Ok(())
}

fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    run_step("install wrk", "apt-get", &["install", "-y", "wrk"])
}

struct Server(Child);

impl Server {
    fn start(db: &Path, port: u16) -> Result<Self, String> {
        let binary = project_root().join("target/release/token-server");
        let child = Command::new(binary)
            .args([
                "--database",
                &db.display().to_string(),
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start token-server: {e}"))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err("token-server did not listen within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self(child))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn curl_post(url: &str, bearer: &str, body: &str) -> Result<String, String> {
    let out = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-H",
            &format!("authorization: Bearer {bearer}"),
        ])
        .args(["-d", body, url])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Tokens the service holds (the listing's `totalCount`): rows must cover every 2xx answer.
fn token_count(base: &str, bearer: &str) -> Result<u64, String> {
    let out = Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("authorization: Bearer {bearer}"),
            &format!("{base}/auth/token/get/list?start=0&end=1"),
        ])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("list answered {text}: {e}"))?;
    json["totalCount"].as_u64().ok_or_else(|| format!("list answered {text}"))
}

fn wrk(url: &str, bearer: &str, body: &str, connections: u64, seconds: u64) -> Result<Sample, String> {
    let script = std::env::temp_dir().join(format!("token-bench-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!(
            r#"wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {bearer}"
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("WRKRESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad))
end
"#
        ),
    )
    .map_err(|e| e.to_string())?;
    let out = Command::new("wrk")
        .args([
            "-t2",
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            "-s",
            &script.display().to_string(),
            url,
        ])
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("WRKRESULT "))
        .ok_or_else(|| format!("wrk printed {text}"))?;
    let v: Vec<f64> = line.split(' ').filter_map(|x| x.parse().ok()).collect();
    match v.as_slice() {
        [rate, p50, p99, bad] => Ok(Sample { rate: *rate, p50: *p50, p99: *p99, bad: *bad as u64 }),
        _ => Err(format!("unreadable wrk result {line}")),
    }
}

fn median(samples: &[Sample]) -> Sample {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    sorted[sorted.len() / 2]
}

/// Runs the reference server's route with the same load generator, duration and connections.
fn reference_result(
    dir: &Path,
    route: &str,
    connections: u64,
    seconds: u64,
    runs: usize,
) -> Result<String, String> {
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
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("RESULT |"))
        .map(str::to_owned)
        .ok_or_else(|| format!("reference printed {text}"))
}
