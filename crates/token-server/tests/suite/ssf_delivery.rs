//! Shared Signals delivery across processes: two instances on one PostgreSQL database deliver each
//! SET once and in order, and a server killed with -9 while its receiver is down sends, once
//! started again, every SET not yet accepted.

use std::time::Duration;

use serde_json::{Value, json};

use crate::multi_instance::{admin, database, start_with_env};
use crate::ssf::{claims_of, receiver, wait_for};

const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

struct Tenant {
    sid: String,
    client: Value,
    bearer: String,
}

fn tenant(database: &str) -> Tenant {
    let org = admin(database, &["org", "create", "--name", "ssf"]);
    let service = admin(database, &["service", "create", "--org", &org["id"].to_string()]);
    let sid = service["id"].to_string();
    let client = admin(database, &["client", "create", "--service", &sid]);
    let bearer =
        admin(database, &["credential", "create", "--service", &sid])["secret"].as_str().unwrap().to_owned();
    Tenant { sid, client, bearer }
}

async fn post(http: &reqwest::Client, base: &str, tenant: &Tenant, path: &str, body: Value) -> (u16, Value) {
    let response = http
        .post(format!("{base}/api/{}{path}", tenant.sid))
        .bearer_auth(&tenant.bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a token for `subject` on `base` and revokes it there.
async fn revoke(http: &reqwest::Client, base: &str, tenant: &Tenant, subject: &str) {
    let create = json!({"grantType": "AUTHORIZATION_CODE", "clientId": tenant.client["clientId"], "subject": subject,
        "scopes": ["openid"]});
    let (status, created) = post(http, base, tenant, "/auth/token/create", create).await;
    assert_eq!(status, 200, "{created}");
    let (status, revoked) = post(
        http,
        base,
        tenant,
        "/auth/token/revoke",
        json!({"accessTokenIdentifier": created["accessToken"]}),
    )
    .await;
    assert_eq!(status, 200, "{revoked}");
}

async fn push_stream(http: &reqwest::Client, base: &str, tenant: &Tenant, url: &str) {
    let body = json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url}, "events_requested": [SESSION_REVOKED]});
    let (status, stream) = post(http, base, tenant, "/ssf/stream", body).await;
    assert_eq!(status, 201, "{stream}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_set_once_and_in_order() {
    let Some((database, _schema)) = database().await else { return };
    let (origin, inbox) = receiver().await;
    let tenant = tenant(&database);
    let env = [("TOKEN_SERVER_SSF_RECEIVER_ALLOWLIST", origin.as_str())];
    let (a, b) = (start_with_env(&database, &env), start_with_env(&database, &env));
    let http = reqwest::Client::new();
    push_stream(&http, &a.base, &tenant, &format!("{origin}/events")).await;
    for n in 0..20 {
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        revoke(&http, base, &tenant, &format!("user-{n}")).await;
    }
    let sets = wait_for(&inbox, 20, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sets =
        if inbox.lock().unwrap().sets.len() > sets.len() { inbox.lock().unwrap().sets.clone() } else { sets };
    let claims: Vec<Value> = sets.iter().map(|(_, set, _)| claims_of(set)).collect();
    let mut jtis: Vec<&str> = claims.iter().map(|c| c["jti"].as_str().unwrap()).collect();
    let txns: Vec<u64> = claims.iter().map(|c| c["txn"].as_str().unwrap().parse().unwrap()).collect();
    assert!(txns.windows(2).all(|w| w[0] < w[1]), "in order, each once: {txns:?}");
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), 20, "every revocation, once: {}", sets.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_its_receiver_is_down_sends_everything_once_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ssf.sqlite").to_string_lossy().into_owned();
    let (origin, inbox) = receiver().await;
    inbox.lock().unwrap().down = true;
    let tenant = tenant(&database);
    let env = [("TOKEN_SERVER_SSF_RECEIVER_ALLOWLIST", origin.as_str())];
    let http = reqwest::Client::new();
    let mut first = start_with_env(&database, &env);
    push_stream(&http, &first.base, &tenant, &format!("{origin}/events")).await;
    for n in 0..5 {
        revoke(&http, &first.base, &tenant, &format!("kept-{n}")).await;
    }
    // Its pushes fail (the receiver answers 503), then it dies without a word.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.kill();
    inbox.lock().unwrap().down = false;
    let second = start_with_env(&database, &env);
    // The dead instance's lease on the stream ends (15 s); the new one takes the stream over.
    let sets = wait_for(&inbox, 5, Duration::from_secs(40)).await;
    let subjects: Vec<String> =
        sets.iter().map(|(_, set, _)| claims_of(set)["sub_id"]["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(subjects, (0..5).map(|n| format!("kept-{n}")).collect::<Vec<_>>());
    drop(second);
}
