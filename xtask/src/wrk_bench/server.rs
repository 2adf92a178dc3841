//! The server under test: its binary (`--binary` or this checkout's release build), its store
//! (SQLite, or a fresh PostgreSQL database), its process, its operator CLI and its HTTP API.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::project_root;

/// The store the server runs on.
pub(super) enum Store {
    Sqlite(PathBuf),
    /// A fresh database `name` created through `admin` (the URL given), served at `url`.
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
}

impl Store {
    pub(super) fn postgres(given: &str) -> Result<Self, String> {
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
    pub(super) fn credentials_file(&self, dir: &Path) -> PathBuf {
        match self {
            Store::Sqlite(path) => PathBuf::from(format!("{}.credentials", path.display())),
            Store::Postgres { .. } => dir.join("token-server.credentials"),
        }
    }
}

pub(super) fn psql(url: &str, sql: &str) -> Result<(), String> {
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
pub(super) fn admin(store: &Store, dir: &Path, args: &[&str]) -> Result<Value, String> {
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

/// The server binary given with `--binary`, if any.
pub(super) static SERVER_BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The server binary measured: `--binary`, else this checkout's release build.
fn server_binary() -> Result<PathBuf, String> {
    match SERVER_BINARY.get() {
        Some(binary) => Ok(binary.clone()),
        None => release_binary("token-server"),
    }
}

/// The server under test, killed when dropped.
pub(super) struct Server(Child);

impl Server {
    pub(super) fn start(store: &Store, dir: &Path, port: u16) -> Result<Self, String> {
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

    pub(super) fn check_alive(&mut self) -> Result<(), String> {
        match self.0.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("token-server exited during the bench ({status})")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Resident set size (MB) from /proc.
    pub(super) fn rss_mb(&self) -> f64 {
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
pub(super) struct Http {
    pub(super) root: String,
    pub(super) bearer: String,
}

impl Http {
    pub(super) fn post(&self, path: &str, body: &str, bearer: bool) -> Result<Value, String> {
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
    pub(super) fn refreshed_since(&self, service: &str, subject: &str, since_ms: i64) -> Result<u64, String> {
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
    pub(super) fn token_count(&self, service: &str) -> Result<u64, String> {
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

/// A binary `cargo build --release` made, in cargo's target directory (`CARGO_TARGET_DIR` too).
pub(super) fn release_binary(name: &str) -> Result<PathBuf, String> {
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(project_root())
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let metadata: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let target = metadata["target_directory"].as_str().ok_or("cargo metadata has no target_directory")?;
    Ok(Path::new(target).join("release").join(name))
}

/// A port nothing listens on now (the kernel's choice): a fixed range could meet another service
/// of the machine (NATS on 4222 did).
pub(super) fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
