//! Property test over HTTP: arbitrary JSON bodies on every JSON endpoint never get a 5xx, always
//! get the family's error shape when rejected, and never change what is stored when rejected.

use crate::common::TestServer;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const ENDPOINTS: &[&str] = &[
    "/api/{sid}/auth/token/create",
    "/api/{sid}/auth/token/update",
    "/api/{sid}/auth/token/revoke",
    "/api/{sid}/auth/introspection",
    "/api/{sid}/auth/introspection/standard",
    "/api/{sid}/auth/revocation",
    "/api/{sid}/custom-token/generate",
    "/api/{sid}/custom-token/exchange",
    "/api/{sid}/auth/token/refresh",
    "/api/{sid}/pipeline",
];

use crate::common::BODY_KEYS as KEYS;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        prop::sample::select(vec![
            "AUTHORIZATION_CODE",
            "CLIENT_CREDENTIALS",
            "PASSWORD",
            "generateCustomToken",
            "createToken"
        ])
        .prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..6).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_never_get_a_5xx(endpoint in prop::sample::select(ENDPOINTS.to_vec()), body in value()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let server = server().await;
            let before = server.token_count().await;
            // A client per case: each case runs on its own runtime.
            let response = reqwest::Client::new()
                .post(server.url(endpoint))
                .bearer_auth(&server.tenant.service_token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let (status, answer) = crate::common::read(response).await;
            assert!(status.as_u16() < 500, "{endpoint} {body}: {status} {answer}");
            if !status.is_success() {
                let shaped = answer.get("resultCode").is_some()
                    || answer.get("success") == Some(&json!(false))
                    || answer.get("error").is_some();
                assert!(shaped, "{endpoint} {body}: {answer}");
                assert_eq!(server.token_count().await, before, "a rejected request changed the store");
            }
        });
    }
}

/// One server for the whole property run (each case runs on its own runtime, so the server gets
/// a thread of its own).
async fn server() -> &'static TestServer {
    use std::sync::OnceLock;
    static SERVER: OnceLock<&'static TestServer> = OnceLock::new();
    if let Some(server) = SERVER.get() {
        return server;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let server: &'static TestServer = Box::leak(Box::new(TestServer::start().await));
            tx.send(server).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let server = rx.recv().unwrap();
    SERVER.get_or_init(|| server)
}
