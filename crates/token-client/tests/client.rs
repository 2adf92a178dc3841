//! The SDK against a real server (in-process on 127.0.0.1:0, SQLite in a temp dir): every method,
//! the pipeline, the limiter, retries and each error kind.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use token_client::{Error, EventType, EventsRequest, PipelineResult, RetryPolicy, TokenClient};
use token_core::custom_token::GenerateCustomToken;
use token_core::introspection::{IntrospectionRequest, StandardIntrospectionRequest};
use token_core::token_create::{GrantType, TokenCreateRequest};
use token_core::token_manage::{TokenListRequest, TokenRevokeRequest, TokenUpdateRequest};
use token_core::{Action, ClientId, Secret, TokenHash};
use token_server::store::{Actor, Principal};
use token_server::tenancy::{NewClient, ServiceSpec};
use token_server::{App, Config};

struct Server {
    base: String,
    state: App,
    service: u64,
    client_id: ClientId,
    issuer: String,
    service_token: String,
    org_token: String,
    _dir: tempfile::TempDir,
}

async fn server_with(spec: ServiceSpec) -> Server {
    let dir = tempfile::tempdir().unwrap();
    // Bound first: the server's own address is its public_base_url (status lists' URIs).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = Config {
        database: dir.path().join("client.sqlite"),
        public_base_url: Some(base.clone()),
        tenancy_cache_ms: 0,
        ..Config::default()
    };
    let store = token_server::open_store(&config).unwrap();
    let state = App::new(store, config);
    let org = state.tenancy().create_organization("sdk").await.unwrap();
    let service = state.tenancy().create_service(org.id, &spec, &Actor::cli()).await.unwrap();
    let client = NewClient { alias: Some("app".into()), ..NewClient::new("app", GrantType::ALL.to_vec()) };
    let client = state.tenancy().create_client(service.id, client, &Actor::cli()).await.unwrap();
    let service_token = state
        .tenancy()
        .issue_credential(Principal::Service(service.id), "t", None, &Actor::cli())
        .await
        .unwrap();
    let org_token = state
        .tenancy()
        .issue_credential(Principal::Organization(org.id), "t", None, &Actor::cli())
        .await
        .unwrap();
    tokio::spawn(token_server::serve(listener, state.clone(), std::future::pending()));
    Server {
        base,
        state,
        service: service.id.get(),
        client_id: client.client_id,
        issuer: service.issuer.clone(),
        service_token: service_token.secret.into_secret(),
        org_token: org_token.secret.into_secret(),
        _dir: dir,
    }
}

async fn server() -> Server {
    server_with(ServiceSpec::from(token_server::store::ServiceSettings {
        access_token_sign_alg: Some(token_server::keys::SignAlg::EdDsa),
        ..Default::default()
    }))
    .await
}

fn client(server: &Server) -> TokenClient {
    TokenClient::builder()
        .base_url(&server.base)
        .service(server.service)
        .bearer(&server.service_token)
        .build()
        .unwrap()
}

fn create_request(server: &Server, subject: &str) -> TokenCreateRequest {
    TokenCreateRequest::new(GrantType::AuthorizationCode)
        .client(server.client_id)
        .subject(subject)
        .scopes(["openid"])
}

#[tokio::test]
async fn every_token_management_method() {
    let server = server().await;
    let client = client(&server);

    let created = client.create_token(&create_request(&server, "john")).await.unwrap();
    assert_eq!(created.result_code, "A109001");
    let access = created.access_token.clone().unwrap();
    assert!(created.jwt_access_token.is_some());

    let info = client.introspect(&IntrospectionRequest::new(access.clone())).await.unwrap();
    assert_eq!((info.action, info.subject.as_deref()), (Action::Ok, Some("john")));
    let standard = client
        .introspect_standard(&StandardIntrospectionRequest::new(format!("token={}", access.secret())))
        .await
        .unwrap();
    assert!(standard.response_content.unwrap().contains("\"active\":true"));

    let list = client.list_tokens(&TokenListRequest::default().subject("john")).await.unwrap();
    assert_eq!(list.total_count, 1);
    assert_eq!(list.access_tokens[0].access_token_hash, TokenHash::of(access.secret()).as_str());
    let all = client.list_tokens(&TokenListRequest::default()).await.unwrap();
    assert_eq!(all.total_count, 1);

    let mut update = TokenUpdateRequest::new(access.clone());
    update.scopes = Some(vec!["profile".into()]);
    let updated = client.update_token(&update).await.unwrap();
    assert_eq!(updated.scopes, Some(vec!["profile".into()]));

    let revoked = client.revoke(&TokenRevokeRequest::access_token(access.secret())).await.unwrap();
    assert_eq!(revoked.count, 1);
    let info = client.introspect(&IntrospectionRequest::new(access.clone())).await.unwrap();
    assert_eq!(info.action, Action::Unauthorized);

    client.delete_token(&access).await.unwrap();
    let gone = client.delete_token(&access).await.unwrap_err();
    assert_eq!(gone.result_code(), Some("A137202"));
    assert_eq!(gone.status(), Some(404));

    let jwks = client.jwks().await.unwrap();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(client.service_jwks().await.unwrap(), jwks);

    let second = client.create_token(&create_request(&server, "kim")).await.unwrap();
    let second_token = second.access_token.unwrap();
    let answer = client
        .revocation(&{
            let mut request =
                token_core::revocation::RevocationRequest::new(format!("token={}", second_token.secret()));
            request.client_id = Some(server.client_id.to_string());
            request
        })
        .await
        .unwrap();
    assert_eq!(answer.action, Action::Ok);
    let info = client.introspect(&IntrospectionRequest::new(second_token)).await.unwrap();
    assert!(!info.usable);
}

#[tokio::test]
async fn rfc_6749_token_endpoint_methods() {
    let server = server().await;
    let client = client(&server);
    let custom_token =
        client.generate_custom_token(&GenerateCustomToken::new("oauth-user", "r")).await.unwrap();
    let tokens = client.token_with_assertion(&custom_token).await.unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    let refreshed = client.token_with_refresh_token(&tokens.refresh_token).await.unwrap();
    assert_ne!(refreshed.access_token, tokens.access_token);
    let replay = client.token_with_assertion(&custom_token).await.unwrap_err();
    match replay {
        Error::Api { status, message, .. } => {
            assert_eq!(status, 400);
            assert!(message.starts_with("invalid_grant"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn custom_tokens_exchange_refresh_and_offline_verification() {
    let server = server().await;
    let client = client(&server);
    let mut input = GenerateCustomToken::new("user00", "enduser");
    input.claims = Some(json!({"name": "John Doe"}));
    input.access_token_ttl = Some(3600);
    input.refresh_token_ttl = Some(86400);
    let custom_token = client.generate_custom_token(&input).await.unwrap();

    let verifier = client.verifier();
    let claims = verifier.verify_custom_token(custom_token.secret(), &server.issuer).await.unwrap();
    assert_eq!((claims.sub.as_str(), claims.identity.as_str()), ("user00", "enduser"));
    assert_eq!(claims.access_token_ttl, 3600);

    let pair = client.exchange_custom_token(&custom_token).await.unwrap();
    assert!(pair.success);
    let jwt = pair.jwt_access_token.clone().unwrap();
    let at: serde_json::Value =
        verifier.verify_access_token(jwt.secret(), None, Some(&server.issuer)).await.unwrap();
    assert_eq!(at["sub"], "user00");
    assert_eq!(at["identity"], "enduser");
    // Explicit typing: neither kind of JWT passes for the other.
    let as_access: Result<serde_json::Value, _> =
        verifier.verify_access_token(custom_token.secret(), None, Some(&server.issuer)).await;
    assert!(matches!(as_access, Err(Error::Verify(message)) if message.contains("typ")));
    assert!(matches!(
        verifier.verify_custom_token(jwt.secret(), &server.issuer).await,
        Err(Error::Verify(_))
    ));

    let again = client.exchange_custom_token(&custom_token).await.unwrap_err();
    assert_eq!(again.result_code(), Some("A403204"));
    // Typed, from the catalogue, in the family's `{success: false, error}` shape …
    assert_eq!(again.code(), Some(token_client::ResultCode::CUSTOM_TOKEN_REPLAYED));

    let refreshed = client.refresh(pair.refresh_token.as_ref().unwrap()).await.unwrap();
    assert_ne!(refreshed.access_token, pair.access_token);
    let reused = client.refresh(pair.refresh_token.as_ref().unwrap()).await.unwrap_err();
    assert_eq!(reused.result_code(), Some("A404203"));
    assert_eq!(reused.code(), Some(token_client::ResultCode::REFRESH_TOKEN_REUSED));

    // Tampering, and an algorithm outside the allow-list, fail verification.
    let mut forged = custom_token.secret().to_owned();
    forged.replace_range(forged.len() - 4.., "AAAA");
    assert!(matches!(verifier.verify_custom_token(&forged, &server.issuer).await, Err(Error::Verify(_))));
    let strict = client.verifier().algorithms(&[jsonwebtoken::Algorithm::RS256]);
    assert!(matches!(
        strict.verify_custom_token(custom_token.secret(), &server.issuer).await,
        Err(Error::Verify(_))
    ));
    assert!(matches!(
        verifier.verify_custom_token(custom_token.secret(), "https://other.example").await,
        Err(Error::Verify(_))
    ));
}

#[tokio::test]
async fn pipeline_order_mixed_failure_and_chunking() {
    let server = server().await;
    // Chunks of 3 force several round trips for 8 operations.
    let client = TokenClient::builder()
        .base_url(&server.base)
        .service(server.service)
        .bearer(&server.service_token)
        .pipeline_chunk(3)
        .build()
        .unwrap();
    let mut bad = GenerateCustomToken::new("bad", "r");
    bad.access_token_ttl = Some(99_999);
    let mut pipeline = client.pipeline();
    for i in 0..6 {
        pipeline = pipeline.generate_custom_token(GenerateCustomToken::new(format!("user{i:02}"), "enduser"));
    }
    let results = pipeline
        .generate_custom_token(bad)
        .create_token(create_request(&server, "piped"))
        .send()
        .await
        .unwrap();
    assert_eq!(results.len(), 8);
    let verifier = client.verifier();
    for (i, result) in results.iter().take(6).enumerate() {
        let token = result.custom_token().expect("generated");
        let claims = verifier.verify_custom_token(token.secret(), &server.issuer).await.unwrap();
        assert_eq!(claims.sub, format!("user{i:02}"), "results keep the order");
    }
    match &results[6] {
        PipelineResult::CustomToken(Err(e)) => {
            assert_eq!(e.result_code(), Some("A401203"));
            assert_eq!(e.status(), Some(400));
        }
        other => panic!("{other:?}"),
    }
    match &results[7] {
        PipelineResult::TokenCreate(Ok(created)) => assert_eq!(created.subject.as_deref(), Some("piped")),
        other => panic!("{other:?}"),
    }
}

// Several workers, so that the server really handles requests side by side (its handler no
// longer yields while a generation is in flight).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_generations_never_meet_a_429() {
    let server = server().await;
    // No retries: a 429 would surface as an error.
    let client = TokenClient::builder()
        .base_url(&server.base)
        .service(server.service)
        .bearer(&server.service_token)
        .retry(RetryPolicy::None)
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.generate_custom_token(&GenerateCustomToken::new(format!("u{i}"), "r")).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => panic!("generation failed: {e}"),
        }
    }
    assert_eq!(ok, 1000);
    let credential = TokenHash::of(&server.service_token);
    let peak = server.state.limiter().peak(credential.as_str());
    assert!(peak <= 10 && peak > 1, "server-side peak in flight: {peak}");
}

#[tokio::test]
async fn organization_token_chooses_the_service_per_call() {
    let server = server().await;
    let org_client = TokenClient::builder().base_url(&server.base).bearer(&server.org_token).build().unwrap();
    let missing = org_client.jwks().await.unwrap_err();
    assert!(matches!(missing, Error::Config(_)));
    let created =
        org_client.service(server.service).create_token(&create_request(&server, "org")).await.unwrap();
    assert_eq!(created.result_code, "A109001");
    let foreign = org_client.service(1u64).create_token(&create_request(&server, "x")).await.unwrap_err();
    assert_eq!(foreign.status(), Some(404));
}

#[tokio::test]
async fn each_error_kind_and_no_secret_in_text() {
    let server = server().await;
    let client = client(&server);
    let mut request = create_request(&server, "jöhn");
    request.subject = Some("jöhn".into());
    match client.create_token(&request).await.unwrap_err() {
        Error::Api { status, result_code, action, message, .. } => {
            assert_eq!(
                (status, result_code.as_deref(), action),
                (400, Some("A109202"), Some(Action::BadRequest))
            );
            assert!(message.contains("ASCII"));
        }
        other => panic!("{other:?}"),
    }

    let wrong = TokenClient::builder()
        .base_url(&server.base)
        .service(server.service)
        .bearer("sat_wrong-secret-value")
        .build()
        .unwrap();
    let e = wrong.create_token(&create_request(&server, "a")).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    let printed = format!("{e} {e:?} {wrong:?}");
    assert!(!printed.contains("wrong-secret-value"), "{printed}");
    assert!(!format!("{client:?}").contains(&server.service_token));

    let e = wrong.generate_custom_token(&GenerateCustomToken::new("u", "r")).await.unwrap_err();
    assert_eq!(e.result_code(), Some("A001202"));
    // … and in the token-management family's `{resultCode, resultMessage, action}` shape.
    assert_eq!(e.code(), Some(token_client::ResultCode::CREDENTIAL_INVALID));

    // Transport: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = TokenClient::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .service(1u64)
        .retry(RetryPolicy::None)
        .build()
        .unwrap();
    let refused = dead.jwks().await.unwrap_err();
    assert!(matches!(refused, Error::Transport(_)));
    // Its text says where and why, not only "error sending request".
    let text = refused.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}/api/1/")), "{text}");
    assert!(text.to_lowercase().contains("connection refused"), "{text}");

    assert!(matches!(TokenClient::builder().build(), Err(Error::Config(_))));
    assert!(matches!(TokenClient::builder().base_url("ftp://x").build(), Err(Error::Config(_))));
}

/// A stand-in server whose JWKS endpoint fails `failures` times (503 or 429), then answers, and
/// whose create endpoint always answers 503; it counts the calls.
async fn flaky(failures: usize, status: u16) -> (String, Arc<AtomicUsize>) {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    let calls = Arc::new(AtomicUsize::new(0));
    let (jwks_calls, create_calls) = (Arc::clone(&calls), Arc::clone(&calls));
    let busy = r#"{"resultCode":"A001102","resultMessage":"[A001102] busy"}"#;
    let app = axum::Router::new()
        .route(
            "/api/{sid}/jwks",
            get(move || {
                let calls = Arc::clone(&jwks_calls);
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) < failures {
                        (StatusCode::from_u16(status).unwrap(), [("retry-after", "0")], busy).into_response()
                    } else {
                        (StatusCode::OK, r#"{"keys":[]}"#).into_response()
                    }
                }
            }),
        )
        .route(
            "/api/{sid}/auth/token/create",
            post(move || {
                let calls = Arc::clone(&create_calls);
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::SERVICE_UNAVAILABLE, busy)
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, calls)
}

#[tokio::test]
async fn retries_apply_to_safe_requests_only() {
    let fixed = RetryPolicy::Fixed { delay: Duration::from_millis(5), max_retries: 3 };
    let (base, calls) = flaky(2, 503).await;
    let client = TokenClient::builder().base_url(&base).service(1u64).retry(fixed).build().unwrap();
    assert_eq!(client.jwks().await.unwrap().keys.len(), 0, "two 503s, then success");
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let (base, calls) = flaky(2, 503).await;
    let client =
        TokenClient::builder().base_url(&base).service(1u64).retry(RetryPolicy::None).build().unwrap();
    let e = client.jwks().await.unwrap_err();
    assert_eq!((e.status(), e.result_code()), (Some(503), Some("A001102")));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A create that may have happened is never repeated.
    let (base, calls) = flaky(0, 503).await;
    let client = TokenClient::builder().base_url(&base).service(1u64).retry(fixed).build().unwrap();
    let mut request = TokenCreateRequest::new(GrantType::Password);
    request.client_id = Some(ClientId(1));
    assert_eq!(client.create_token(&request).await.unwrap_err().status(), Some(503));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // 429 (not processed) is retried even for non-idempotent calls — here on the JWKS endpoint.
    let (base, calls) = flaky(1, 429).await;
    let client = TokenClient::builder().base_url(&base).service(1u64).retry(fixed).build().unwrap();
    client.jwks().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn undecodable_answers_keep_the_raw_body() {
    // A plain web server where the JWKS should be: 200 with HTML.
    let app =
        axum::Router::new().route("/api/{sid}/jwks", axum::routing::get(|| async { "<html>nope</html>" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let html = TokenClient::builder().base_url(&base).service(1u64).build().unwrap();
    match html.jwks().await.unwrap_err() {
        Error::Decode { status, body, .. } => {
            assert_eq!(status, 200);
            assert_eq!(body, "<html>nope</html>");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn secret_types_redact() {
    let secret = Secret::new("abc-secret");
    assert!(!format!("{secret:?}").contains("abc-secret"));
}

/// Answers of the public JWK Set the server counted, by status.
fn jwks_answers(server: &Server, status: u16) -> u64 {
    let metrics = server.state.render_metrics();
    metrics
        .lines()
        .filter(|l| l.starts_with("token_http_requests_total{"))
        .filter(|l| {
            l.contains("route=\"/api/{serviceId}/jwks\"") && l.contains(&format!("status=\"{status}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The verifier revalidates its JWK Set with `If-None-Match` (an unchanged set costs a 304), and
/// a token naming a `kid` the set does not hold makes it fetch at most once per interval.
#[tokio::test]
async fn the_verifier_revalidates_with_etags_and_rate_limits_unknown_kids() {
    use base64::Engine as _;
    let server = server().await;
    let client = client(&server);
    let token = client.generate_custom_token(&GenerateCustomToken::new("u1", "member")).await.unwrap();
    let verifier = client
        .verifier()
        .cache_ttl(std::time::Duration::from_millis(300))
        .unknown_kid_interval(std::time::Duration::from_millis(800));

    verifier.verify_custom_token(token.secret(), &server.issuer).await.unwrap();
    verifier.verify_custom_token(token.secret(), &server.issuer).await.unwrap();
    assert_eq!((jwks_answers(&server, 200), jwks_answers(&server, 304)), (1, 0), "one fetch, then the cache");
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    verifier.verify_custom_token(token.secret(), &server.issuer).await.unwrap();
    assert_eq!((jwks_answers(&server, 200), jwks_answers(&server, 304)), (1, 1), "revalidated: 304");

    // The same token under a made-up kid (its signature no longer matters: the key is not found).
    let rest = token.secret().split_once('.').unwrap().1;
    let header = r#"{"alg":"EdDSA","typ":"custom-token+jwt","kid":"made-up"}"#;
    let forged = format!("{}.{rest}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header));
    let before = jwks_answers(&server, 200) + jwks_answers(&server, 304);
    for _ in 0..5 {
        assert!(matches!(verifier.verify_custom_token(&forged, &server.issuer).await, Err(Error::Verify(_))));
    }
    let after = jwks_answers(&server, 200) + jwks_answers(&server, 304);
    assert_eq!(after - before, 1, "five unknown kids, one fetch");
    tokio::time::sleep(std::time::Duration::from_millis(850)).await;
    assert!(verifier.verify_custom_token(&forged, &server.issuer).await.is_err());
    assert_eq!(
        jwks_answers(&server, 200) + jwks_answers(&server, 304) - after,
        1,
        "again after the interval"
    );
}

/// Firebase's `revokeRefreshTokens(uid)`: one call ends every session of the end user — a
/// custom-token session (refreshed once, so it has an old and a new pair) and a token created
/// for the same subject by another client — at both introspections and at refresh.
#[tokio::test]
async fn revoke_user_signs_the_end_user_out_everywhere() {
    let server = server().await;
    let client = client(&server);
    let custom = client.generate_custom_token(&GenerateCustomToken::new("eve", "member")).await.unwrap();
    let first = client.exchange_custom_token(&custom).await.unwrap();
    let second = client.refresh(first.refresh_token.as_ref().unwrap()).await.unwrap();
    let created = client.create_token(&create_request(&server, "eve")).await.unwrap();
    let someone_else = client.create_token(&create_request(&server, "frank")).await.unwrap();

    let revoked = client.revoke_user("eve").await.unwrap();
    assert_eq!(revoked.count, 2, "the custom-token family and the created token");

    let access_values = [
        first.access_token.clone().unwrap(),
        second.access_token.clone().unwrap(),
        created.access_token.clone().unwrap(),
    ];
    for access in &access_values {
        let info = client.introspect(&IntrospectionRequest::new(access.clone())).await.unwrap();
        assert_eq!(info.action, Action::Unauthorized, "{info:?}");
        let standard = client
            .introspect_standard(&StandardIntrospectionRequest::new(format!("token={}", access.secret())))
            .await
            .unwrap();
        assert_eq!(standard.response_content.as_deref(), Some(r#"{"active":false}"#));
    }
    for refresh in [first.refresh_token.as_ref().unwrap(), second.refresh_token.as_ref().unwrap()] {
        let refused = client.refresh(refresh).await.unwrap_err();
        assert!(refused.result_code().is_some_and(|code| code.starts_with("A4042")), "{refused}");
    }
    let refresh = created.refresh_token.clone().unwrap();
    let standard = client
        .introspect_standard(&StandardIntrospectionRequest::new(format!(
            "token={}&token_type_hint=refresh_token",
            refresh.secret()
        )))
        .await
        .unwrap();
    assert_eq!(standard.response_content.as_deref(), Some(r#"{"active":false}"#));
    // Another user keeps their session.
    let info =
        client.introspect(&IntrospectionRequest::new(someone_else.access_token.unwrap())).await.unwrap();
    assert_eq!(info.action, Action::Ok);
    // A subject alone that has nothing live: zero, not an error; no subject and nothing else: refused.
    assert_eq!(client.revoke_user("eve").await.unwrap().count, 0);
    let refused = client.revoke(&TokenRevokeRequest::default()).await.unwrap_err();
    assert_eq!(refused.result_code(), Some("A312201"));
}

/// The tenancy calls end to end with an Organization Token: a service made, configured, given a
/// client whose alias and whose user's subject need percent-encoding, a grant listed and ended,
/// keys rotated and revoked, the service deleted.
#[tokio::test]
async fn tenancy_calls_manage_a_service_from_creation_to_deletion() {
    use token_core::keys::SignAlg;
    use token_core::tenancy::{Client as ClientDoc, KeyRotateRequest, KeyState, ListRange, Scope, Service};

    let server = server().await;
    let org = TokenClient::builder().base_url(&server.base).bearer(&server.org_token).build().unwrap();
    let service = Service {
        service_name: Some("made by the SDK".into()),
        supported_scopes: Some(vec![Scope { name: "openid".into() }]),
        supported_grant_types: Some(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
        ..Service::default()
    };
    let created = org.create_service(&service).await.unwrap();
    let id = created.api_key.unwrap();
    let listed = org.list_services(ListRange::default()).await.unwrap();
    assert_eq!(listed.total_count, 2, "{listed:?}");
    let org = org.service(id);
    assert_eq!(org.get_service().await.unwrap(), created);
    let renamed = org
        .update_service(&Service { service_name: Some("renamed".into()), ..Service::default() })
        .await
        .unwrap();
    assert_eq!(renamed.service_name.as_deref(), Some("renamed"));

    let web = org
        .create_client(&ClientDoc {
            client_name: Some("web".into()),
            client_id_alias: Some("web/app?v=1%".into()),
            grant_types: Some(vec![GrantType::AuthorizationCode]),
            ..ClientDoc::default()
        })
        .await
        .unwrap();
    let client_id = web.client_id.unwrap();
    assert_eq!(org.get_client("web/app?v=1%").await.unwrap(), web, "the alias travels percent-encoded");
    assert_eq!(org.list_clients(ListRange::default()).await.unwrap().total_count, 1);
    let updated = org
        .update_client(
            "web/app?v=1%",
            &ClientDoc { client_name: Some("web 2".into()), ..ClientDoc::default() },
        )
        .await
        .unwrap();
    assert_eq!(updated.client_name.as_deref(), Some("web 2"));

    let subject = "user one/two";
    let token = org
        .create_token(
            &TokenCreateRequest::new(GrantType::AuthorizationCode).client(client_id).subject(subject),
        )
        .await
        .unwrap();
    let grants = org.list_user_grants(subject, ListRange::default()).await.unwrap();
    assert_eq!(grants.clients.iter().map(|c| c.client_id).collect::<Vec<_>>(), vec![client_id]);
    let ended = org.revoke_user_grant("web/app?v=1%", subject).await.unwrap();
    assert_eq!((ended.count, ended.action), (1, Action::Ok));
    let info = org.introspect(&IntrospectionRequest::new(token.access_token.unwrap())).await.unwrap();
    assert_eq!(info.action, Action::Unauthorized);

    let rotated = org.rotate_key(&KeyRotateRequest { alg: Some(SignAlg::Es256) }).await.unwrap();
    assert_eq!((rotated.key.alg, rotated.key.state), (SignAlg::Es256, KeyState::Current));
    let keys = org.list_keys().await.unwrap();
    assert_eq!(keys.keys.len(), 2);
    let revoked = org.revoke_key(&rotated.key.kid).await.unwrap();
    assert!(revoked.replacement.is_some());
    let missing = org.revoke_key(&rotated.key.kid).await.unwrap_err();
    assert_eq!((missing.status(), missing.result_code()), (Some(404), Some("A210206")));

    // A Service Access Token may not manage services; the typed error says so.
    let refused = client(&server).get_service().await.unwrap_err();
    assert_eq!(refused.result_code(), Some("A001214"));

    org.delete_client("web/app?v=1%").await.unwrap();
    let gone = org.get_client(&client_id.to_string()).await.unwrap_err();
    assert_eq!(gone.result_code(), Some("A210205"));
    org.delete_service().await.unwrap();
    let gone = org.get_service().await.unwrap_err();
    assert_eq!((gone.status(), gone.result_code()), (Some(404), Some("A001204")));
}

/// The verifier checks a JWT access token's status list: valid, then refused once revoked (the list
/// fetched again after its ttl, revalidated by ETag), and refused when the list cannot be had —
/// unless a stale list is accepted for a bounded time.
#[tokio::test]
async fn the_verifier_checks_the_status_list_and_fails_closed() {
    let server = server_with(ServiceSpec::from(token_server::store::ServiceSettings {
        access_token_sign_alg: Some(token_server::keys::SignAlg::Es256),
        status_list_ttl: Some(1),
        ..Default::default()
    }))
    .await;
    let client = client(&server);
    let created = client.create_token(&create_request(&server, "sue")).await.unwrap();
    let jwt = created.jwt_access_token.clone().unwrap();
    let verifier = client.verifier();
    let claims: serde_json::Value = verifier.verify_access_token(jwt.secret(), None, None).await.unwrap();
    assert!(claims["status"]["status_list"]["uri"].as_str().unwrap().starts_with(&server.base), "{claims}");

    let value = created.access_token.clone().unwrap().secret().to_owned();
    client.revoke(&TokenRevokeRequest::access_token(value)).await.unwrap();
    // Within the list's ttl the cached list still says valid; after it, the list is fetched again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refused =
        verifier.verify_access_token::<serde_json::Value>(jwt.secret(), None, None).await.unwrap_err();
    assert!(refused.to_string().contains("no longer valid"), "{refused}");

    // The list cannot be had: refused (fail closed) — unless stale lists are accepted a while.
    let live = client.create_token(&create_request(&server, "tom")).await.unwrap().jwt_access_token.unwrap();
    let strict = client.verifier();
    let lenient = client.verifier().accept_stale_status_for(Duration::from_secs(60));
    strict.verify_access_token::<serde_json::Value>(live.secret(), None, None).await.unwrap();
    lenient.verify_access_token::<serde_json::Value>(live.secret(), None, None).await.unwrap();
    // The service is deleted: its lists answer 404 (switching lists off would not do: the lists
    // JWTs name are served until they expire). The verifiers keep the key they already fetched.
    let org = TokenClient::builder().base_url(&server.base).bearer(&server.org_token).build().unwrap();
    org.service(server.service).delete_service().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refused =
        strict.verify_access_token::<serde_json::Value>(live.secret(), None, None).await.unwrap_err();
    assert!(refused.to_string().contains("could not be had"), "{refused}");
    lenient.verify_access_token::<serde_json::Value>(live.secret(), None, None).await.unwrap();
}

/// Every example of this crate, compiled by `cargo test` (which builds examples), runs against a
/// started server and does what its comment says (#38: the library shows all of itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_runs_against_a_server() {
    let server = server().await;
    let debug = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_owned();
    let examples =
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")).unwrap();
    let mut ran = Vec::new();
    for example in examples {
        let name = example.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned();
        let binary = debug.join("examples").join(&name);
        assert!(
            binary.exists(),
            "{} is not built: run `cargo test -p token-client` (it builds the examples)",
            binary.display()
        );
        let mut command = std::process::Command::new(&binary);
        command
            .env("TOKEN_SERVICE_URL", &server.base)
            .env("TOKEN_SERVICE_ID", server.service.to_string())
            .env("TOKEN_SERVICE_BEARER", &server.service_token)
            .env("TOKEN_SERVICE_CLIENT_ID", server.client_id.to_string())
            .env("TOKEN_ORGANIZATION_BEARER", &server.org_token);
        // Off the runtime's workers: the server answering the example runs on them.
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "example {name}: {out} {err}");
        assert!(!out.trim().is_empty(), "example {name} printed nothing");
        ran.push((name, out.into_owned()));
    }
    let said = |name: &str| ran.iter().find(|(n, _)| n == name).map(|(_, o)| o.clone()).unwrap();
    assert!(
        said("manage_tokens").contains("introspected after the revocation: Unauthorized"),
        "{}",
        said("manage_tokens")
    );
    assert!(said("tenancy").contains("deleted"), "{}", said("tenancy"));
    assert!(ran.len() >= 5, "{:?}", ran.iter().map(|(n, _)| n).collect::<Vec<_>>());
}

/// A token for `subject` through the SDK; its `tokenId`.
async fn token_id_for(client: &TokenClient, server: &Server, subject: &str) -> String {
    let created = client.create_token(&create_request(server, subject)).await.unwrap();
    created.token_id.expect("a created token has an ID").as_str().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_answers_each_event_once_including_one_written_while_it_waits() {
    let server = server().await;
    let client = client(&server);
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(token_id_for(&client, &server, &format!("user-{i}")).await);
    }

    // Pages of two, one type: the stream goes from page to page through `next`, each event once.
    let mut request = EventsRequest::after(0);
    request.limit = Some(2);
    request.event_type = Some("token.created".into());
    let mut stream = client.event_stream(request.clone());
    let mut seen = Vec::new();
    for _ in 0..5 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap();
        let event = event.expect("a following stream does not end");
        assert_eq!(event.event_type, EventType::TokenCreated);
        seen.push(event.token_id.clone().unwrap());
        assert_eq!(stream.cursor(), event.event_id, "the cursor is the last event answered");
    }
    assert_eq!(seen, created, "oldest first, each once");
    let page = client.events(&request).await.unwrap();
    assert_eq!(page.events.len(), 2);
    assert_eq!(page.events[0].token_id.as_deref(), Some(created[0].as_str()));

    // Nothing new: the stream waits (its request held by the server) until an event arrives.
    let writer = {
        let (client, server_client) = (client.clone(), server.client_id);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let request = TokenCreateRequest::new(GrantType::AuthorizationCode)
                .client(server_client)
                .subject("late")
                .scopes(["openid"]);
            client.create_token(&request).await.unwrap().token_id.unwrap().as_str().to_owned()
        })
    };
    let asked = std::time::Instant::now();
    let event = tokio::time::timeout(Duration::from_secs(20), stream.next()).await.unwrap().unwrap().unwrap();
    let late = writer.await.unwrap();
    assert!(asked.elapsed() >= Duration::from_millis(700), "it waited for the event: {:?}", asked.elapsed());
    assert_eq!(event.token_id.as_deref(), Some(late.as_str()));
    assert_eq!(event.subject.as_deref(), Some("late"));

    // `next` is cancel-safe: a wait cut short loses nothing; the next call answers the next event.
    assert!(tokio::time::timeout(Duration::from_millis(300), stream.next()).await.is_err());
    let after_cancel = token_id_for(&client, &server, "after-cancel").await;
    let event = tokio::time::timeout(Duration::from_secs(20), stream.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(event.token_id.as_deref(), Some(after_cancel.as_str()));

    // Without following: every event so far (all types), each once, then `None`; the same
    // events as the pages of `events`, and a stream resumed from a cursor answers the rest.
    let mut all = Vec::new();
    let mut everything = client.event_stream(EventsRequest::after(0)).follow(false);
    while let Some(event) = everything.next().await.unwrap() {
        all.push(event);
    }
    let ids: Vec<u64> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>(), "no gap, no repeat");
    assert_eq!(everything.cursor(), ids.len() as u64);
    assert!(everything.next().await.unwrap().is_none(), "nothing new");
    let mut paged = Vec::new();
    let mut cursor = 0;
    loop {
        let mut request = EventsRequest::after(cursor);
        request.limit = Some(3);
        let page = client.events(&request).await.unwrap();
        if page.events.is_empty() && page.next == cursor {
            break;
        }
        paged.extend(page.events);
        cursor = page.next;
    }
    assert_eq!(paged, all);
    let mut rest = client.event_stream(EventsRequest::after(3)).follow(false);
    let mut resumed = Vec::new();
    while let Some(event) = rest.next().await.unwrap() {
        resumed.push(event);
    }
    assert_eq!(resumed, all[3..]);

    // The organization's own stream, with the Organization Token.
    let org_client = TokenClient::builder().base_url(&server.base).bearer(&server.org_token).build().unwrap();
    let mut org_stream = org_client.organization_event_stream(EventsRequest::default()).follow(false);
    let mut types = Vec::new();
    while let Some(event) = org_stream.next().await.unwrap() {
        types.push(event.event_type);
    }
    assert_eq!(
        types,
        [EventType::ServiceCreated, EventType::CredentialCreated, EventType::CredentialCreated]
    );
    assert_eq!(org_client.organization_events(&EventsRequest::default()).await.unwrap().events.len(), 3);

    // Bad queries are the server's answer; a service stream needs a service.
    let mut bad = EventsRequest::default();
    bad.event_type = Some("token.nope".into());
    let error = client.events(&bad).await.unwrap_err();
    assert_eq!(error.status(), Some(400), "{error}");
    let error = client.event_stream(bad).next().await.unwrap_err();
    assert_eq!(error.status(), Some(400), "{error}");
    assert!(matches!(org_client.event_stream(EventsRequest::default()).next().await, Err(Error::Config(_))));
}
