//! The reference server of `cargo xtask bench`: what token issuance costs on this machine with
//! nothing but the bare work — no authentication, no validation, no tenancy. Our server's rates
//! are read as ratios to these routes, measured in the same run with the same load generator and
//! connection count (the machines are shared and noisy). It is the project's original yardstick
//! (`../shared/bench/ceiling`), brought into the repository unchanged but for this comment, so
//! the tables of docs/performance.md can be reproduced from here alone.
//!
//! Endpoints:
//!   POST /noop        parse small JSON, return small JSON
//!   POST /sign        + 32 random bytes (rand ThreadRng) -> base64url opaque token, + Ed25519 JWT (jsonwebtoken/aws-lc-rs)
//!   POST /store       /sign + INSERT one row into SQLite, one transaction per request (autocommit), Mutex<Connection> in spawn_blocking
//!   POST /store_batch /sign + INSERT via a single writer thread doing group commit (one transaction per batch);
//!                     each response is sent only after its batch COMMIT returned.
//! Env: PORT (3100), DB (./data/tokens.db), SQLITE_SYNC (FULL|NORMAL, default FULL), SQLITE_CACHE_KIB (2000), KEY (keys/ed25519.pem),
//!      WORKERS (tokio worker threads, default = cores), BATCH_MAX (512)
use axum::{Json, Router, extract::State, routing::post};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

#[derive(Deserialize)]
struct TokenReq {
    client_id: String,
    scope: String,
    #[serde(default)]
    uid: Option<String>,
}

#[derive(Serialize)]
struct NoopResp<'a> {
    ok: bool,
    client_id: &'a str,
    scope: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: &'a str,
    scope: &'a str,
}

#[derive(Serialize)]
struct TokenResp {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    custom_token: String,
}

struct Row {
    token_hash: [u8; 32],
    jti: String,
    client_id: String,
    sub: String,
    scope: String,
    iat: u64,
    exp: u64,
}

type Job = (Row, oneshot::Sender<Result<(), String>>);

struct AppState {
    key: EncodingKey,
    header: Header,
    db: Mutex<rusqlite::Connection>,
    batch_tx: mpsc::Sender<Job>,
}

const TTL: u64 = 3600;
const INSERT: &str = "INSERT INTO tokens (token_hash, jti, client_id, sub, scope, iat, exp) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

fn open_db(path: &str, sync: &str) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).expect("open db");
    // SQLITE_CACHE_KIB: page cache per connection in KiB (SQLite's default is 2000 KiB)
    let cache_kib: i64 = std::env::var("SQLITE_CACHE_KIB").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    c.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA busy_timeout=5000; PRAGMA cache_size=-{cache_kib};
         CREATE TABLE IF NOT EXISTS tokens (
           token_hash BLOB PRIMARY KEY, jti TEXT NOT NULL, client_id TEXT NOT NULL, sub TEXT NOT NULL,
           scope TEXT NOT NULL, iat INTEGER NOT NULL, exp INTEGER NOT NULL) WITHOUT ROWID;"
    ))
    .expect("init db");
    c
}

fn insert_row(c: &rusqlite::Connection, r: &Row) -> rusqlite::Result<usize> {
    let mut st = c.prepare_cached(INSERT)?;
    st.execute(rusqlite::params![
        &r.token_hash[..],
        r.jti,
        r.client_id,
        r.sub,
        r.scope,
        r.iat as i64,
        r.exp as i64
    ])
}

fn mint(state: &AppState, req: &TokenReq) -> (TokenResp, Row) {
    let mut raw = [0u8; 48];
    rand::rng().fill_bytes(&mut raw);
    let access_token = URL_SAFE_NO_PAD.encode(&raw[..32]);
    let jti = URL_SAFE_NO_PAD.encode(&raw[32..]);
    let iat = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let sub = req.uid.as_deref().unwrap_or(&req.client_id);
    let claims = Claims { iss: "https://issuer.local", sub, aud: "urn:api", iat, exp: iat + TTL, jti: &jti, scope: &req.scope };
    let custom_token = encode(&state.header, &claims, &state.key).expect("sign");
    let token_hash: [u8; 32] = Sha256::digest(access_token.as_bytes()).into();
    let row = Row { token_hash, jti, client_id: req.client_id.clone(), sub: sub.to_string(), scope: req.scope.clone(), iat, exp: iat + TTL };
    (TokenResp { access_token, token_type: "Bearer", expires_in: TTL, scope: req.scope.clone(), custom_token }, row)
}

async fn noop(Json(req): Json<TokenReq>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(NoopResp { ok: true, client_id: &req.client_id, scope: &req.scope }).unwrap())
}

async fn sign(State(st): State<Arc<AppState>>, Json(req): Json<TokenReq>) -> Json<TokenResp> {
    Json(mint(&st, &req).0)
}

async fn store(State(st): State<Arc<AppState>>, Json(req): Json<TokenReq>) -> Json<TokenResp> {
    let (resp, row) = mint(&st, &req);
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let c = st2.db.lock().unwrap();
        insert_row(&c, &row).expect("insert");
    })
    .await
    .unwrap();
    Json(resp)
}

async fn store_batch(State(st): State<Arc<AppState>>, Json(req): Json<TokenReq>) -> Json<TokenResp> {
    let (resp, row) = mint(&st, &req);
    let (tx, rx) = oneshot::channel();
    st.batch_tx.send((row, tx)).await.expect("writer gone");
    rx.await.unwrap().expect("batch insert");
    Json(resp)
}

fn writer_thread(mut c: rusqlite::Connection, mut rx: mpsc::Receiver<Job>, batch_max: usize) {
    let mut jobs: Vec<Job> = Vec::with_capacity(batch_max);
    let mut batches: u64 = 0;
    let mut rows: u64 = 0;
    while let Some(first) = rx.blocking_recv() {
        jobs.push(first);
        while jobs.len() < batch_max {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let res = (|| -> rusqlite::Result<()> {
            let tx = c.transaction()?;
            for (r, _) in &jobs {
                insert_row(&tx, r)?;
            }
            tx.commit()
        })();
        batches += 1;
        rows += jobs.len() as u64;
        if batches % 20000 == 0 {
            eprintln!("writer: {batches} batches, {rows} rows, avg {:.1} rows/batch", rows as f64 / batches as f64);
        }
        for (_, done) in jobs.drain(..) {
            let _ = done.send(res.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
    }
}

fn main() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3100);
    let db_path = std::env::var("DB").unwrap_or_else(|_| "data/tokens.db".into());
    let sync = std::env::var("SQLITE_SYNC").unwrap_or_else(|_| "FULL".into());
    let key_path = std::env::var("KEY").unwrap_or_else(|_| "keys/ed25519.pem".into());
    let batch_max: usize = std::env::var("BATCH_MAX").ok().and_then(|p| p.parse().ok()).unwrap_or(512);
    let workers: usize = std::env::var("WORKERS").ok().and_then(|p| p.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));

    if let Some(dir) = std::path::Path::new(&db_path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let pem = std::fs::read(&key_path).expect("read key");
    let key = EncodingKey::from_ed_pem(&pem).expect("ed25519 pem");
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("JWT".into());

    let db = open_db(&db_path, &sync);
    let wconn = open_db(&db_path, &sync);
    let (batch_tx, batch_rx) = mpsc::channel::<Job>(8192);
    std::thread::spawn(move || writer_thread(wconn, batch_rx, batch_max));

    let state = Arc::new(AppState { key, header, db: Mutex::new(db), batch_tx });
    let app = Router::new()
        .route("/noop", post(noop))
        .route("/sign", post(sign))
        .route("/store", post(store))
        .route("/store_batch", post(store_batch))
        .with_state(state);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        eprintln!("ceiling listening on 127.0.0.1:{port} workers={workers} sqlite synchronous={sync} db={db_path} batch_max={batch_max}");
        axum::serve(listener, app).await.unwrap();
    });
}
