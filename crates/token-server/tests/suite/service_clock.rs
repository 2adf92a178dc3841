//! Service-level tests on an injected clock: lifetimes and expiry without sleeping.

use std::sync::Arc;

use serde_json::json;
use token_core::custom_token::GenerateCustomToken;
use token_server::clock::{Clock, ManualClock};
use token_server::service::maintenance::JanitorPacing;
use token_server::{App, Config};

use crate::common::{provision, spec};

async fn services_at(now_ms: i64) -> (App, Arc<ManualClock>, crate::common::Tenant, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { database: dir.path().join("clock.sqlite"), ..Config::default() };
    let store = token_server::open_store(&config).unwrap();
    let clock = Arc::new(ManualClock::new(now_ms));
    let services = App::with_clock(store, config, clock.clone());
    let tenant = provision(&services, &spec()).await;
    (services, clock, tenant, dir)
}

#[tokio::test]
async fn a_refresh_family_ends_at_its_original_lifetime_however_often_it_rotates() {
    let (services, clock, tenant, _dir) = services_at(token_server::clock::now_ms()).await;
    let mut input = GenerateCustomToken::new("u", "r");
    input.access_token_ttl = Some(60);
    input.refresh_token_ttl = Some(600);
    let custom = services
        .issuance()
        .generate_custom_token(&tenant.service, &input, &token_server::store::Actor::cli())
        .await
        .unwrap();
    let pair = services
        .issuance()
        .exchange_custom_token(&tenant.service, custom.secret(), &token_server::store::Actor::cli())
        .await
        .unwrap();
    let family_end = pair.record.refresh_expires_at.unwrap();
    assert_eq!(family_end, clock.now_ms() + 600_000);
    let mut refresh = pair.refresh_token;
    // Rotate every 4 minutes: the refresh expiry never moves past the family's end.
    for _ in 0..2 {
        clock.advance_ms(240_000);
        let next = services
            .issuance()
            .refresh(&tenant.service, refresh.secret(), &Default::default())
            .await
            .unwrap();
        assert_eq!(next.record.refresh_expires_at, Some(family_end));
        refresh = next.refresh_token;
    }
    // Past the family's end, refresh is refused although this value was just issued.
    clock.advance_ms(240_000);
    let refused = services
        .issuance()
        .refresh(&tenant.service, refresh.secret(), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(refused.info().code.code, "A404202", "{refused}");
}

#[tokio::test]
async fn access_tokens_expire_on_the_injected_clock() {
    let (services, clock, tenant, _dir) = services_at(token_server::clock::now_ms()).await;
    let created = services
        .issuance()
        .create(
            tenant.service.clone(),
            serde_json::from_value(json!({
                "grantType": "CLIENT_CREDENTIALS", "clientId": tenant.client.client_id,
                "scopes": ["openid"], "accessTokenDuration": 30
            }))
            .unwrap(),
            &token_server::store::Actor::cli(),
        )
        .await
        .unwrap();
    let token = created.access_token.unwrap();
    let request = |t: &token_core::Secret| {
        serde_json::from_value::<token_core::introspection::IntrospectionRequest>(
            json!({"token": t.secret()}),
        )
        .unwrap()
    };
    let answer = services.introspection().introspect(tenant.service.id, request(&token)).await.unwrap();
    assert_eq!(answer.result_code, "A056001");
    clock.advance_ms(30_001);
    let answer = services.introspection().introspect(tenant.service.id, request(&token)).await.unwrap();
    assert_eq!(answer.result_code, "A056203", "expired on the injected clock");
}

#[tokio::test]
async fn the_janitor_removes_tokens_ended_longer_ago_than_the_retention() {
    let (services, clock, tenant, _dir) = services_at(token_server::clock::now_ms()).await;
    let create = |duration: i64| {
        serde_json::from_value(json!({
            "grantType": "CLIENT_CREDENTIALS", "clientId": tenant.client.client_id,
            "scopes": ["openid"], "accessTokenDuration": duration
        }))
        .unwrap()
    };
    let short = services
        .issuance()
        .create(tenant.service.clone(), create(60), &token_server::store::Actor::cli())
        .await
        .unwrap();
    let long = services
        .issuance()
        .create(tenant.service.clone(), create(86_400), &token_server::store::Actor::cli())
        .await
        .unwrap();
    let retention = 3_600_000;
    // Ended, but within the retention: kept.
    clock.advance_ms(61_000);
    assert_eq!(
        services.maintenance().run_janitor(retention, 1, JanitorPacing::FlatOut).await.unwrap().purged.tokens,
        0
    );
    // Ended longer ago than the retention: removed; the live token stays.
    clock.advance_ms(retention);
    assert_eq!(
        services.maintenance().run_janitor(retention, 1, JanitorPacing::FlatOut).await.unwrap().purged.tokens,
        1
    );
    let hash = |t: &token_core::token_create::TokenCreateResponse| t.access_token.as_ref().unwrap().hash();
    assert!(
        services
            .store()
            .tokens
            .token_by_access_hash(tenant.service.id, &hash(&short))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        services
            .store()
            .tokens
            .token_by_access_hash(tenant.service.id, &hash(&long))
            .await
            .unwrap()
            .is_some()
    );
}

/// Two instances on one store whose clocks disagree (by 100 s and by -50 s): single use does not
/// depend on them agreeing — the store's unique key decides, for a custom token's `jti` and for a
/// DPoP proof's `jti` alike.
#[tokio::test]
async fn single_use_holds_across_instances_whose_clocks_disagree() {
    let now = token_server::clock::now_ms();
    let (a, _clock, tenant, dir) = services_at(now).await;
    let config = Config { database: dir.path().join("clock.sqlite"), ..Config::default() };
    let ahead = App::with_clock(a.store().clone(), config.clone(), Arc::new(ManualClock::new(now + 100_000)));
    let behind = App::with_clock(a.store().clone(), config, Arc::new(ManualClock::new(now - 50_000)));

    let custom = a
        .issuance()
        .generate_custom_token(
            &tenant.service,
            &GenerateCustomToken::new("u", "r"),
            &token_server::store::Actor::cli(),
        )
        .await
        .unwrap();
    a.issuance()
        .exchange_custom_token(&tenant.service, custom.secret(), &token_server::store::Actor::cli())
        .await
        .unwrap();
    let replay = ahead
        .issuance()
        .exchange_custom_token(&tenant.service, custom.secret(), &token_server::store::Actor::cli())
        .await
        .unwrap_err();
    assert_eq!(replay.info().code.code, "A403204", "{replay}");

    let key = crate::refresh_holder::keygen("ES256");
    let htu = "https://tokens.example/api/1/auth/token/refresh";
    let proof = crate::refresh_holder::proof(&key, htu, json!({}));
    let target =
        token_server::service::dpop::ProofTarget { htm: "POST", htu, jkt: &key.jkt, access_token: None };
    assert_eq!(a.proofs().verify(tenant.service.id, &proof, &target).await.unwrap(), Ok(()));
    let replayed = behind.proofs().verify(tenant.service.id, &proof, &target).await.unwrap();
    assert_eq!(replayed, Err(token_server::service::dpop::ProofError::Replayed));
}
