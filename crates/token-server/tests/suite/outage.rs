//! PostgreSQL going away and coming back, through a TCP proxy inside the test: requests get 503
//! `A001102` (never a hang, never a panic), `/readyz` says not ready, and the server recovers by
//! itself when the database returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use token_server::{App, Config};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Forwards connections to PostgreSQL while `up`; cutting it closes every open connection and
/// refuses new ones.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Proxy {
    async fn start(target: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, cut) = (Arc::new(AtomicBool::new(true)), Arc::new(Notify::new()));
        let (up_loop, cut_loop) = (Arc::clone(&up), Arc::clone(&cut));
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if !up_loop.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let cut = Arc::clone(&cut_loop);
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = cut.notified() => {}
                    }
                });
            }
        });
        Self { port, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_and_the_server_recovers_by_itself() {
    let direct = crate::common::postgres_url();
    let Ok((client, connection)) = tokio_postgres::connect(&direct, tokio_postgres::NoTls).await else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "PostgreSQL is required in CI");
        eprintln!("skipped: no PostgreSQL at {direct}");
        return;
    };
    tokio::spawn(connection);
    let schema = format!("outage_{:016x}", rand::random::<u64>());
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    let _drop = crate::common::PostgresSchema::named(schema.clone());
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let url =
        format!("postgres://postgres@127.0.0.1:{}/test?options=-c%20search_path%3D{schema}", proxy.port);
    let config = Config {
        database: url.into(),
        database_connect_timeout_secs: 2,
        database_statement_timeout_secs: 2,
        ..Config::default()
    };
    let store = token_server::connect_store(&config).await.unwrap();
    let services = App::new(store, config);
    let tenant = crate::common::provision(&services, &crate::common::spec()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(token_server::serve(listener, services, std::future::pending()));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let create = || {
        http.post(format!("{base}/api/{}/auth/token/create", tenant.service.id))
            .bearer_auth(&tenant.service_token)
            .json(&json!({"grantType": "CLIENT_CREDENTIALS", "clientId": tenant.client.client_id}))
            .send()
    };
    let ready = || http.get(format!("{base}/readyz")).send();
    let created: serde_json::Value = create().await.unwrap().json().await.unwrap();
    let token = created["accessToken"].as_str().unwrap().to_owned();
    // Introspection looks tokens up on a shared connection: it must be replaced after the outage.
    let introspect = || {
        http.post(format!("{base}/api/{}/auth/introspection", tenant.service.id))
            .bearer_auth(&tenant.service_token)
            .json(&json!({"token": token}))
            .send()
    };
    let action = |response: reqwest::Response| async move {
        response.json::<serde_json::Value>().await.unwrap()["action"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(action(introspect().await.unwrap()).await, "OK");

    proxy.cut();
    let started = Instant::now();
    let response = create().await.expect("an answer, not a hang");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["resultCode"], "A001102", "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered in {:?}", started.elapsed());
    assert_eq!(ready().await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if create().await.unwrap().status() == StatusCode::OK
            && ready().await.unwrap().status() == StatusCode::OK
            && action(introspect().await.unwrap()).await == "OK"
        {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
