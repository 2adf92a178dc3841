//! No denial of service without a credential (docs/security.md, "Unauthenticated clients"): what a
//! client without any credential controls never becomes a metric series or unbounded memory, and
//! clients that do not read their answers are dropped at the write timeout instead of holding
//! connection slots for ever. Each of these tests failed on the server before the fix it names.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use token_server::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::{TestServer, spec};
use crate::durability::start_with_env;

/// The resident memory of process `pid`, bytes (Linux `/proc`).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kb * 1024
}

/// Every series `GET /metrics` exports (`name{labels}`), and the size of the text.
async fn series(http: &reqwest::Client, metrics_url: &str) -> (BTreeSet<String>, usize) {
    let response = http.get(metrics_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let keys = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').map_or(l, |(key, _)| key).to_owned())
        .collect();
    (keys, text.len())
}

/// Sends one raw request on a new connection and reads the answer to its end (the request asks
/// the server to close).
pub async fn raw_request(address: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// A method of `len` random capital letters: a token hyper accepts as an (extension) method.
pub fn junk_method(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| char::from(b'A' + rng.gen_range(0..26u8))).collect()
}

// ---------------------------------------------------------------- 1. bounded labels

/// 2,000 requests with distinct 8 KB methods, after one warm-up with a junk method: no new metric
/// series in any family (the method label is one of the known methods or `OTHER`), and the
/// process's memory grows by less than 5 MB. Before the fix each method was a series kept for the
/// process's life (RSS +90 MB for 100 methods of 200 KB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_junk_methods_add_no_metric_series_and_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = start_with_env(&dir.path().join("t.sqlite"), &[("RUST_LOG", "warn")]);
    let address = base.trim_start_matches("http://").to_owned();
    let http = reqwest::Client::new();
    let metrics_url = format!("{base}/metrics");
    series(&http, &metrics_url).await;
    let warm_up = format!("{} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", junk_method(8192));
    let answer = raw_request(&address, warm_up.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 405"), "the junk method reaches the router: {answer:.200}");
    let (before, _) = series(&http, &metrics_url).await;
    let rss_before = rss_bytes(child.id());

    let workers: Vec<_> = (0..8)
        .map(|_| {
            let address = address.clone();
            tokio::spawn(async move {
                for _ in 0..250 {
                    let request = format!(
                        "{} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        junk_method(8192)
                    );
                    let answer = raw_request(&address, request.as_bytes()).await;
                    assert!(answer.starts_with("HTTP/1.1 405"), "{answer:.200}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }

    let (after, text_len) = series(&http, &metrics_url).await;
    let rss_after = rss_bytes(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let added: Vec<&String> = after.difference(&before).collect();
    assert!(added.is_empty(), "new series after junk methods: {:.500}", format!("{added:?}"));
    assert!(after.iter().any(|k| k.contains(r#"method="OTHER""#)), "junk methods are counted as OTHER");
    assert!(text_len < 64 * 1024, "/metrics is {text_len} bytes");
    let grown = rss_after.saturating_sub(rss_before);
    assert!(grown < 5 * 1024 * 1024, "RSS grew by {grown} bytes ({rss_before} -> {rss_after})");
}

/// A request that matches no route is counted under `route="unmatched"` (never its concrete path)
/// and its method under a known name.
#[tokio::test]
async fn unmatched_paths_and_unknown_methods_are_fixed_labels() {
    let server = TestServer::start().await;
    let address = server.base.trim_start_matches("http://");
    let request = "BREW /no/such/path/abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let answer = raw_request(address, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let (keys, _) = series(&server.http, &server.url("/metrics")).await;
    let expected = r#"token_http_requests_total{method="OTHER",route="unmatched",status="404"}"#;
    assert!(keys.contains(expected), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains("BREW") || k.contains("/no/such")), "{keys:?}");
}

/// A request head over 64 KiB is answered 431 whether it arrives in one piece or many (hyper's
/// buffer limit alone let a head that arrived at once through), and the connection is closed.
#[tokio::test]
async fn an_oversized_head_gets_431() {
    let server = TestServer::start().await;
    let address = server.base.trim_start_matches("http://");
    let big = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(100 * 1024));
    let answer = raw_request(address, big.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.200}");
    let fits = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "b".repeat(60 * 1024)
    );
    let answer = raw_request(address, fits.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
}

// ---------------------------------------------------------------- 2. slow readers

/// A connection with a 4 KiB receive buffer that pipelines `requests` requests for the OpenAPI
/// document (94 KB each) and never reads. 64 of them are 6 MB, more than Linux autotunes a socket's
/// send buffer to (4 MB by default): the server's writes really stall.
pub async fn slow_reader(address: &str, requests: usize) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(address.parse().unwrap()).await.unwrap();
    let request = "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(requests);
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Whether the server has closed `stream` (reads its end, or a reset) within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// `GET /healthz` on a new connection; the answer's status line, or why there was none.
async fn healthz_status(address: &str, limit: Duration) -> Result<String, String> {
    let mut stream = TcpStream::connect(address).await.map_err(|e| e.to_string())?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await {
        Ok(_) => Ok(String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_owned()),
        Err(_) => Err(format!("no answer within {limit:?}")),
    }
}

fn slow_reader_config(max_connections: usize) -> Config {
    Config { write_timeout_secs: 2, max_connections, ..Config::default() }
}

/// With the connection cap at 20 and 20 clients that do not read, a normal client is served once
/// the write timeout has dropped them; each of them is closed. Before the fix the normal client was
/// never served.
#[tokio::test]
async fn slow_readers_at_the_cap_are_dropped_at_the_write_timeout() {
    let server = TestServer::start_with(slow_reader_config(20), spec()).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut readers = Vec::new();
    for _ in 0..20 {
        readers.push(slow_reader(&address, 64).await);
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = healthz_status(&address, Duration::from_secs(8)).await;
    let waited = started.elapsed();
    assert_eq!(status.as_deref(), Ok("HTTP/1.1 200 OK"), "after {waited:?}");
    assert!(waited >= Duration::from_millis(1500), "served only once a slot was freed: {waited:?}");
    assert!(waited < Duration::from_secs(6), "the slow readers were dropped at the timeout: {waited:?}");
    // Every one of them is dropped, each within the timeout of its first blocked write.
    let metrics = server.state.metrics();
    while metrics.write_timeouts.get() < 20 && started.elapsed() < Duration::from_secs(6) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metrics.write_timeouts.get(), 20, "after {:?}", started.elapsed());
    // Their sockets are closed: what the kernel had buffered arrives, then the end.
    for (n, reader) in readers.iter_mut().enumerate() {
        assert!(closed_within(reader, Duration::from_secs(10)).await, "slow reader {n} is still connected");
    }
}

/// Below the cap, `/healthz` keeps answering while 20 slow readers stall, and they are dropped within
/// the write timeout.
#[tokio::test]
async fn below_the_cap_others_are_served_while_slow_readers_stall() {
    let server = TestServer::start_with(slow_reader_config(100), spec()).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut readers = Vec::new();
    for _ in 0..20 {
        readers.push(slow_reader(&address, 64).await);
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        let status = healthz_status(&address, Duration::from_secs(1)).await;
        assert_eq!(status.as_deref(), Ok("HTTP/1.1 200 OK"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Dropped within the write timeout (2 s) of their first blocked write, without reading a byte.
    let metrics = server.state.metrics();
    while metrics.write_timeouts.get() < 20 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metrics.write_timeouts.get(), 20, "after {:?}", started.elapsed());
    assert_eq!(metrics.connections_open.get(), 0, "no connection is left open");
    drop(readers);
}

/// What the kernel holds for a client that does not read is bounded by the send buffer the server
/// sets (`SEND_BUFFER_BYTES`): after the write timeout, all that reaches the client is at most that
/// buffer (doubled by Linux) and its own receive window — not the 4 MB autotuning allowed.
#[tokio::test]
async fn what_a_non_reading_client_pins_in_the_kernel_is_bounded() {
    let server = TestServer::start_with(slow_reader_config(100), spec()).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut reader = slow_reader(&address, 64).await;
    let metrics = server.state.metrics();
    let started = Instant::now();
    while metrics.write_timeouts.get() < 1 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metrics.write_timeouts.get(), 1, "dropped at the write timeout");
    let mut received = 0usize;
    let mut chunk = vec![0u8; 64 * 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut chunk)).await {
        if n == 0 {
            break;
        }
        received += n;
    }
    let bound = 2 * token_server::http::serve::SEND_BUFFER_BYTES + 256 * 1024;
    assert!(received > 94_000, "at least one answer was sent: {received} bytes");
    assert!(received <= bound, "{received} bytes reached a client that never read (bound {bound})");
}

/// A client that reads its answers slowly but steadily is not cut off while each answer keeps
/// leaving within the timeout: the deadline is for a blocked answer, not for a connection.
#[tokio::test]
async fn a_reader_that_keeps_up_is_never_cut_off() {
    let server = TestServer::start_with(slow_reader_config(100), spec()).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    for _ in 0..4 {
        stream.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        // Read the whole answer in pieces, pausing between them for less than the timeout.
        while !(answer.ends_with(b"}\n") && answer.len() > 90_000) {
            let n =
                tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await.unwrap().unwrap();
            assert!(n > 0, "closed after {} bytes", answer.len());
            answer.extend_from_slice(&chunk[..n]);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(2500)).await;
    }
    assert_eq!(server.state.metrics().write_timeouts.get(), 0);
}

// ---------------------------------------------------------------- 3. metrics off the public port

fn read_line_with(reader: &mut impl std::io::BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the server exited before printing {prefix}");
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.split_whitespace().next().unwrap().to_owned();
        }
    }
}

/// `metrics_listen` serves `/metrics` (and nothing else) on its own address; with
/// `metrics_on_main_listener = false` the public port answers 404 for it.
#[tokio::test]
async fn metrics_can_live_on_their_own_listener_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.sqlite");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_token-server"))
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TOKEN_SERVER_METRICS_LISTEN", "127.0.0.1:0")
        .env("TOKEN_SERVER_METRICS_ON_MAIN_LISTENER", "false")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let metrics_url = read_line_with(&mut stdout, "token-server metrics on ");
    let base = read_line_with(&mut stdout, "token-server listening on ");
    let http = reqwest::Client::new();
    let healthz = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), StatusCode::OK);
    let public = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let scraped = http.get(&metrics_url).send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    let text = scraped.text().await.unwrap();
    assert!(
        text.contains(r#"token_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    let other = http.get(metrics_url.replace("/metrics", "/healthz")).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND, "the metrics listener serves metrics only");
    let _ = child.kill();
    let _ = child.wait();
}

/// Bad metrics settings are refused by `config check` naming the key.
#[test]
fn bad_metrics_and_write_timeout_settings_are_refused() {
    for (name, value, key) in [
        ("TOKEN_SERVER_METRICS_LISTEN", "localhost", "TOKEN_SERVER_METRICS_LISTEN"),
        ("TOKEN_SERVER_METRICS_ON_MAIN_LISTENER", "maybe", "TOKEN_SERVER_METRICS_ON_MAIN_LISTENER"),
        ("TOKEN_SERVER_WRITE_TIMEOUT_SECS", "0", "write_timeout_secs"),
        ("TOKEN_SERVER_METRICS_LISTEN", "127.0.0.1:8080", "metrics_listen"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_token-server"))
            .args(["config", "check"])
            .env(name, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}={value}: {stderr}");
        assert!(stderr.contains(key), "{name}={value}: {stderr}");
    }
}
