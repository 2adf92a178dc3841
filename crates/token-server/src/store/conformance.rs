//! The storage conformance suite: every behaviour of the storage interfaces the server relies on, written once
//! against [`Stores`] and run for each backend (`conformance_suite!` expands one `#[tokio::test]`
//! per case). A new backend is done when it passes all of them, races included.

use serde_json::json;
use token_core::grant::GrantType;
use token_core::property::Property;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use super::*;
use token_core::keys::SignAlg;

type Outcome = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

const NOW: i64 = 1_800_000_000_000;
const GRACE: i64 = 600_000;

fn new_service() -> ServiceSettings {
    ServiceSettings {
        name: "svc".into(),
        issuer: "https://issuer.example".into(),
        supported_scopes: vec!["read".into()],
        supported_grant_types: GrantType::ALL.to_vec(),
        access_token_duration: 3600,
        refresh_token_duration: 86_400,
        access_token_sign_alg: None,
        custom_token_access_ttl: 3600,
        custom_token_refresh_ttl: 7200,
        status_list_ttl: None,
    }
}

/// An organization with one service.
async fn tenant(store: &Stores) -> Result<(OrganizationId, ServiceId), StoreError> {
    let org = store.organizations.create_organization("org", NOW).await?;
    let service = store.services.create_service(org.id, &new_service(), NOW).await?;
    Ok((org.id, service.id))
}

fn client(service: ServiceId, id: i64, alias: Option<&str>) -> ClientRecord {
    ClientRecord {
        client_id: ClientId(id),
        service_id: service,
        name: "client".into(),
        alias: alias.map(str::to_owned),
        entity_id: None,
        grant_types: GrantType::ALL.to_vec(),
    }
}

fn token(service: ServiceId, n: &str) -> TokenRecord {
    TokenRecord {
        refresh_hash: Some(h(&format!("refresh-{n}"))),
        subject: Some(format!("subject-{n}")),
        scopes: vec!["read".into()],
        refresh_scopes: Some(vec!["read".into()]),
        refresh_expires_at: Some(NOW + 86_400_000),
        properties: vec![Property { key: "k".into(), value: "v".into(), hidden: false }],
        ..TokenRecord::issued(
            format!("id-{n}"),
            service,
            ClientId(7),
            GrantType::AuthorizationCode,
            h(&format!("access-{n}")),
            NOW,
            NOW + 3_600_000,
        )
    }
}

/// A key record as a backend sees one: opaque private bytes and a public JWK (the store never
/// interprets either), unique per call.
fn key(service: ServiceId, created_at: i64) -> SigningKeyRecord {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let kid = format!("kid-{service}-{created_at}-{n}");
    SigningKeyRecord {
        kid: kid.clone(),
        service_id: service,
        alg: SignAlg::EdDsa,
        private_der: PrivateKeyDer(format!("private-{kid}").into_bytes()),
        public_jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": kid, "kid": kid}),
        created_at,
        retired_at: None,
        revoked_at: None,
    }
}

fn rotation(n: &str, now_ms: i64) -> Rotation {
    Rotation {
        new_access_hash: h(&format!("access-{n}")),
        new_refresh_hash: h(&format!("refresh-{n}")),
        access_expires_at: now_ms + 3_600_000,
        refresh_expires_at: now_ms + 86_400_000,
        jwt_kid: None,
        status: None,
        now_ms,
        per_minute: ROTATIONS_KEPT,
    }
}

/// The stored hash of a test token value.
fn h(value: &str) -> TokenHash {
    TokenHash::of(value)
}

fn err(e: StoreError) -> String {
    e.to_string()
}

// ------------------------------------------------------------------ tenancy

pub async fn organizations_round_trip(store: &Stores) -> Outcome {
    ensure!(store.organizations.is_empty().await.map_err(err)?, "a new store is empty");
    let a = store.organizations.create_organization("a", NOW).await.map_err(err)?;
    let b = store.organizations.create_organization("b", NOW + 1).await.map_err(err)?;
    ensure!(!store.organizations.is_empty().await.map_err(err)?, "not empty after an organization");
    ensure!(store.organizations.organization(a.id).await.map_err(err)? == Some(a.clone()), "lookup by ID");
    let listed = store.organizations.list_organizations().await.map_err(err)?;
    ensure!(listed == vec![a, b], "listed in creation order: {listed:?}");
    ensure!(
        store.organizations.organization(OrganizationId(1)).await.map_err(err)?.is_none(),
        "unknown is None"
    );
    Ok(())
}

pub async fn services_round_trip_and_filter(store: &Stores) -> Outcome {
    let (org, service) = tenant(store).await.map_err(err)?;
    let (other_org, other) = tenant(store).await.map_err(err)?;
    let found = store.services.service(service).await.map_err(err)?.ok_or("service not found")?;
    ensure!(found.organization_id == org && found.supported_scopes == vec!["read"], "{found:?}");
    let mine = store.services.list_services(Some(org)).await.map_err(err)?;
    ensure!(mine.len() == 1 && mine[0].id == service, "filtered by organization: {mine:?}");
    ensure!(store.services.list_services(None).await.map_err(err)?.len() == 2, "all services");
    ensure!(store.services.list_services(Some(other_org)).await.map_err(err)?[0].id == other, "other org");
    ensure!(
        store.services.service(ServiceId(u64::MAX)).await.map_err(err)?.is_none(),
        "out-of-range ID is None"
    );
    Ok(())
}

pub async fn clients_by_id_alias_and_number(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(service, 11, Some("web"))).await.map_err(err)?;
    ensure!(store.clients.client(service, ClientId(11)).await.map_err(err)?.is_some(), "by ID");
    ensure!(store.clients.client_by_identifier(service, "web").await.map_err(err)?.is_some(), "by alias");
    ensure!(store.clients.client_by_identifier(service, "11").await.map_err(err)?.is_some(), "by number");
    ensure!(store.clients.client_by_identifier(service, "nope").await.map_err(err)?.is_none(), "unknown");
    ensure!(store.clients.list_clients(service).await.map_err(err)?.len() == 1, "listed");
    Ok(())
}

pub async fn client_conflicts_name_what_conflicted(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(service, 21, Some("web"))).await.map_err(err)?;
    let alias = store.clients.create_client(&client(service, 22, Some("web"))).await;
    ensure!(matches!(alias, Err(StoreError::Conflict(ConflictKind::ClientAlias))), "{alias:?}");
    let id = store.clients.create_client(&client(service, 21, None)).await;
    ensure!(matches!(id, Err(StoreError::Conflict(ConflictKind::ClientId))), "{id:?}");
    Ok(())
}

/// Identifiers a tenant chooses are unique per service (#36): the same client ID and DPoP proof
/// `jti` in two organizations' services are two rows, and removing one leaves the other.
pub async fn chosen_identifiers_are_unique_per_service(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(a, 61, Some("web"))).await.map_err(err)?;
    store.clients.create_client(&client(b, 61, Some("web"))).await.map_err(err)?;
    let again = store.clients.create_client(&client(b, 61, None)).await;
    ensure!(
        matches!(again, Err(StoreError::Conflict(ConflictKind::ClientId))),
        "within a service: {again:?}"
    );
    ensure!(store.clients.delete_client(a, ClientId(61), NOW).await.map_err(err)?, "deleted in a");
    ensure!(store.clients.client(b, ClientId(61)).await.map_err(err)?.is_some(), "b's client stays");
    for service in [a, b] {
        ensure!(
            store.single_use.use_proof_jti(service, "shared", NOW + 1000).await.map_err(err)?,
            "first use"
        );
    }
    ensure!(!store.single_use.use_proof_jti(a, "shared", NOW + 1000).await.map_err(err)?, "replay in a");
    // The janitor's purge of a's expired proof leaves b's live one.
    store.single_use.use_proof_jti(a, "purged", NOW - 10).await.map_err(err)?;
    store.single_use.use_proof_jti(b, "purged", NOW + 100_000).await.map_err(err)?;
    store.maintenance.purge_expired(NOW, 100).await.map_err(err)?;
    ensure!(
        !store.single_use.use_proof_jti(b, "purged", NOW + 100_000).await.map_err(err)?,
        "b's proof is kept"
    );
    Ok(())
}

pub async fn clients_are_scoped_by_service(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(a, 31, Some("web"))).await.map_err(err)?;
    ensure!(store.clients.client(b, ClientId(31)).await.map_err(err)?.is_none(), "by ID across services");
    ensure!(
        store.clients.client_by_identifier(b, "web").await.map_err(err)?.is_none(),
        "by alias across services"
    );
    ensure!(store.clients.list_clients(b).await.map_err(err)?.is_empty(), "listing across services");
    ensure!(!store.clients.update_client(&client(b, 31, None)).await.map_err(err)?, "update across services");
    Ok(())
}

pub async fn clients_are_updated(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(service, 41, Some("old"))).await.map_err(err)?;
    store.clients.create_client(&client(service, 43, Some("taken"))).await.map_err(err)?;
    let changed = ClientRecord {
        name: "renamed".into(),
        alias: Some("new".into()),
        entity_id: Some("https://rp.example".into()),
        grant_types: vec![GrantType::ClientCredentials],
        ..client(service, 41, None)
    };
    ensure!(store.clients.update_client(&changed).await.map_err(err)?, "updated");
    let found = store.clients.client(service, ClientId(41)).await.map_err(err)?.ok_or("client")?;
    ensure!(found == changed, "{found:?}");
    ensure!(
        store.clients.client_by_identifier(service, "old").await.map_err(err)?.is_none(),
        "old alias freed"
    );
    let unaliased = ClientRecord { alias: None, ..changed.clone() };
    ensure!(store.clients.update_client(&unaliased).await.map_err(err)?, "alias removed");
    let taken = store.clients.update_client(&ClientRecord { alias: Some("taken".into()), ..changed }).await;
    ensure!(matches!(taken, Err(StoreError::Conflict(ConflictKind::ClientAlias))), "{taken:?}");
    let found = store.clients.client(service, ClientId(41)).await.map_err(err)?.ok_or("client")?;
    ensure!(found == unaliased, "a refused update changes nothing: {found:?}");
    ensure!(!store.clients.update_client(&client(service, 42, None)).await.map_err(err)?, "unknown");
    store.clients.create_client(&client(service, 5, None)).await.map_err(err)?;
    let ids: Vec<i64> =
        store.clients.list_clients(service).await.map_err(err)?.iter().map(|c| c.client_id.get()).collect();
    ensure!(ids == vec![5, 41, 43], "listed by ID: {ids:?}");
    Ok(())
}

pub async fn clients_of_a_subject_are_those_with_live_tokens(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    for id in [7, 8, 9, 10] {
        store.clients.create_client(&client(a, id, None)).await.map_err(err)?;
    }
    store.clients.create_client(&client(b, 11, None)).await.map_err(err)?;
    let of = |service, n: &str, client_id: i64, subject: &str| TokenRecord {
        client_id: ClientId(client_id),
        subject: Some(subject.to_owned()),
        ..token(service, n)
    };
    store.tokens.insert_token(&of(a, "live", 7, "alice")).await.map_err(err)?;
    store.tokens.insert_token(&of(a, "live-too", 7, "alice")).await.map_err(err)?;
    store.tokens.insert_token(&of(a, "revoked", 8, "alice")).await.map_err(err)?;
    store.tokens.revoke(a, &RevokeTarget::AccessHash(h("access-revoked")), NOW).await.map_err(err)?;
    let expired = TokenRecord {
        access_expires_at: NOW + 10,
        refresh_expires_at: Some(NOW + 20),
        ..of(a, "expired", 9, "alice")
    };
    store.tokens.insert_token(&expired).await.map_err(err)?;
    // A refresh token still live keeps the grant alive after its access token expired.
    let refreshable = TokenRecord { access_expires_at: NOW + 10, ..of(a, "refreshable", 10, "alice") };
    store.tokens.insert_token(&refreshable).await.map_err(err)?;
    store.tokens.insert_token(&of(a, "bob", 9, "bob")).await.map_err(err)?;
    store.tokens.insert_token(&of(b, "elsewhere", 11, "alice")).await.map_err(err)?;
    let ids = |clients: Vec<ClientRecord>| clients.iter().map(|c| c.client_id.get()).collect::<Vec<_>>();
    let found = ids(store.clients.clients_of_subject(a, "alice", NOW + 100).await.map_err(err)?);
    ensure!(found == vec![7, 10], "live, once each, by ID: {found:?}");
    let found = ids(store.clients.clients_of_subject(a, "alice", NOW).await.map_err(err)?);
    ensure!(found == vec![7, 9, 10], "before the expiry: {found:?}");
    let found = ids(store.clients.clients_of_subject(b, "alice", NOW).await.map_err(err)?);
    ensure!(found == vec![11], "per service: {found:?}");
    ensure!(store.clients.clients_of_subject(a, "carol", NOW).await.map_err(err)?.is_empty(), "nobody");
    Ok(())
}

pub async fn deleting_a_service_takes_what_it_has_and_nothing_else(store: &Stores) -> Outcome {
    let (org, a) = tenant(store).await.map_err(err)?;
    let b = store.services.create_service(org, &new_service(), NOW).await.map_err(err)?.id;
    for service in [a, b] {
        store
            .clients
            .create_client(&client(service, 7 + service.get() as i64 % 1000, None))
            .await
            .map_err(err)?;
        store.keys.add_signing_key(&key(service, NOW), 0).await.map_err(err)?;
        store.tokens.insert_token(&token(service, &format!("t-{service}"))).await.map_err(err)?;
        store
            .single_use
            .redeem_custom_token(
                &format!("jti-{service}"),
                NOW + 1000,
                NOW,
                &token(service, &format!("c-{service}")),
            )
            .await
            .map_err(err)?;
        store
            .single_use
            .use_proof_jti(service, &format!("proof-{service}"), NOW + 1000)
            .await
            .map_err(err)?;
        store
            .tokens
            .rotate_refresh(
                service,
                &h(&format!("refresh-t-{service}")),
                &rotation(&format!("r-{service}"), NOW),
            )
            .await
            .map_err(err)?;
    }
    let sat_a = store
        .credentials
        .create_credential(Principal::Service(a), &h("sat-a"), "a", NOW, None)
        .await
        .map_err(err)?;
    let sat_b = store
        .credentials
        .create_credential(Principal::Service(b), &h("sat-b"), "b", NOW, None)
        .await
        .map_err(err)?;
    let org_token = store
        .credentials
        .create_credential(Principal::Organization(org), &h("ort"), "o", NOW, None)
        .await
        .map_err(err)?;

    ensure!(store.services.delete_service(a, NOW + 5).await.map_err(err)?, "deleted");
    ensure!(store.services.service(a).await.map_err(err)?.is_none(), "the service is gone");
    ensure!(store.clients.list_clients(a).await.map_err(err)?.is_empty(), "its clients are gone");
    ensure!(store.keys.all_signing_keys(a).await.map_err(err)?.is_empty(), "its keys are gone");
    let (ListingVersion { total, .. }, _) =
        store.tokens.list_tokens(a, &TokenFilter::default(), 0, 10).await.map_err(err)?;
    ensure!(total == 0, "its tokens are gone: {total}");
    let credentials = store.credentials.list_credentials().await.map_err(err)?;
    let state = |id| credentials.iter().find(|c| c.id == id).map(|c| c.revoked_at);
    ensure!(
        state(sat_a.id) == Some(Some(NOW + 5)),
        "its Service Access Token is revoked, kept for the audit trail"
    );
    ensure!(state(sat_b.id) == Some(None), "the sibling's credential is untouched");
    ensure!(state(org_token.id) == Some(None), "the organization's credential is untouched");

    ensure!(store.services.service(b).await.map_err(err)?.is_some(), "the sibling stays");
    ensure!(store.clients.list_clients(b).await.map_err(err)?.len() == 1, "with its client");
    ensure!(store.keys.all_signing_keys(b).await.map_err(err)?.len() == 1, "and its key");
    let (ListingVersion { total, .. }, _) =
        store.tokens.list_tokens(b, &TokenFilter::default(), 0, 10).await.map_err(err)?;
    ensure!(total == 2, "and its tokens: {total}");
    ensure!(
        !store.single_use.use_proof_jti(b, &format!("proof-{b}"), NOW + 1000).await.map_err(err)?,
        "and its single-use records"
    );
    ensure!(!store.services.delete_service(a, NOW).await.map_err(err)?, "deleted once");
    Ok(())
}

// ------------------------------------------------------------------ status lists

pub async fn status_indexes_are_reserved_without_overlap_and_lists_fill_up(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    let first = store.status_lists.reserve_status_indexes(a, 4, 10, NOW).await.map_err(err)?;
    ensure!(first == (1, 0, 4), "{first:?}");
    let second = store.status_lists.reserve_status_indexes(a, 4, 10, NOW).await.map_err(err)?;
    ensure!(second == (1, 4, 4), "{second:?}");
    let rest = store.status_lists.reserve_status_indexes(a, 4, 10, NOW).await.map_err(err)?;
    ensure!(rest == (1, 8, 2), "what is left of the list: {rest:?}");
    let next = store.status_lists.reserve_status_indexes(a, 4, 10, NOW).await.map_err(err)?;
    ensure!(next == (2, 0, 4), "a full list makes a new one: {next:?}");
    let other = store.status_lists.reserve_status_indexes(b, 4, 10, NOW).await.map_err(err)?;
    ensure!(other == (1, 0, 4), "per service: {other:?}");
    let list = store.status_lists.status_list(a, 1).await.map_err(err)?.ok_or("list 1")?;
    ensure!(list == StoredStatusList::new(10, 0), "{list:?}");
    let version = store.status_lists.status_list_version(a, 1).await.map_err(err)?;
    ensure!(version == Some(StatusListVersion { size: 10, version: 0 }), "{version:?}");
    ensure!(store.status_lists.status_list_version(a, 3).await.map_err(err)?.is_none(), "no list 3");
    ensure!(store.status_lists.status_list(a, 3).await.map_err(err)?.is_none(), "no list 3");
    Ok(())
}

pub async fn every_end_of_a_listed_token_sets_its_bit(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let listed =
        |n: &str, idx: i64| TokenRecord { status: Some(StatusEntry { list: 1, idx }), ..token(service, n) };
    store.status_lists.reserve_status_indexes(service, 10, 16, NOW).await.map_err(err)?;
    for (n, idx) in [("revoked", 1), ("deleted", 2), ("rotated", 3), ("live", 4)] {
        store.tokens.insert_token(&listed(n, idx)).await.map_err(err)?;
    }
    store.tokens.revoke(service, &RevokeTarget::AccessHash(h("access-revoked")), NOW).await.map_err(err)?;
    store.tokens.delete_token(service, &h("access-deleted")).await.map_err(err)?;
    let rotation = Rotation { status: Some(StatusEntry { list: 1, idx: 5 }), ..rotation("rotated-2", NOW) };
    let outcome =
        store.tokens.rotate_refresh(service, &h("refresh-rotated"), &rotation).await.map_err(err)?;
    ensure!(matches!(outcome, RefreshOutcome::Rotated(_)), "{outcome:?}");
    let list = store.status_lists.status_list(service, 1).await.map_err(err)?.ok_or("list")?;
    ensure!(list.invalid() == vec![1, 2, 3], "revoked, deleted, replaced by a rotation: {list:?}");
    ensure!(list.version == 3, "one version per bit gained: {list:?}");
    let rotated = store.tokens.token_by_access_hash(service, &h("access-rotated-2")).await.map_err(err)?;
    ensure!(
        rotated.and_then(|t| t.status) == Some(StatusEntry { list: 1, idx: 5 }),
        "the new entry is stored"
    );
    // Revoking twice sets nothing new; revoking the rotated family sets the new JWT's bit.
    store.tokens.revoke(service, &RevokeTarget::AccessHash(h("access-revoked")), NOW).await.map_err(err)?;
    store.tokens.revoke(service, &RevokeTarget::Subject("subject-rotated".into()), NOW).await.map_err(err)?;
    let list = store.status_lists.status_list(service, 1).await.map_err(err)?.ok_or("list")?;
    ensure!(list.invalid() == vec![1, 2, 3, 5], "{list:?}");
    // A bit set again (the revoke of a revoked token) changes no version: no needless render.
    ensure!(list.version == 4, "{list:?}");
    let version = store.status_lists.status_list_version(service, 1).await.map_err(err)?;
    ensure!(version == Some(StatusListVersion { size: 16, version: 4 }), "{version:?}");
    Ok(())
}

pub async fn full_lists_whose_tokens_all_ended_are_retired_by_the_janitor(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.status_lists.reserve_status_indexes(service, 2, 2, NOW).await.map_err(err)?;
    store.status_lists.reserve_status_indexes(service, 2, 2, NOW).await.map_err(err)?;
    let ends = |n: &str, list: i64, idx: i64, ends: i64| TokenRecord {
        status: Some(StatusEntry { list, idx }),
        access_expires_at: ends,
        refresh_hash: None,
        refresh_expires_at: None,
        ..token(service, n)
    };
    store.tokens.insert_token(&ends("a", 1, 0, NOW + 10)).await.map_err(err)?;
    store.tokens.insert_token(&ends("b", 1, 1, NOW + 20)).await.map_err(err)?;
    store.tokens.insert_token(&ends("c", 2, 0, NOW + 36_000_000)).await.map_err(err)?;
    store.tokens.revoke(service, &RevokeTarget::AccessHash(h("access-a")), NOW).await.map_err(err)?;
    // The records ended, but the JWTs naming list 1 live until NOW + 20 (the list keeps serving
    // until the hour after).
    let purged = store.maintenance.purge_expired(NOW + 100, 100).await.map_err(err)?;
    ensure!(purged.status_lists == 0, "list 1's JWTs have not all expired: {purged:?}");
    ensure!(store.status_lists.status_list(service, 1).await.map_err(err)?.is_some(), "still served");
    let purged = store.maintenance.purge_expired(NOW + 7_200_000, 100).await.map_err(err)?;
    ensure!(purged.status_lists == 1, "list 1 is full and all its tokens ended: {purged:?}");
    ensure!(store.status_lists.status_list(service, 1).await.map_err(err)?.is_none(), "retired");
    ensure!(store.status_lists.status_list_version(service, 1).await.map_err(err)?.is_none(), "retired");
    ensure!(
        store.status_lists.status_list(service, 2).await.map_err(err)?.is_some(),
        "list 2 has a live token"
    );
    Ok(())
}

pub async fn a_list_naming_a_persistent_jwt_is_never_retired(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.status_lists.reserve_status_indexes(service, 2, 2, NOW).await.map_err(err)?;
    // A persistent JWT (no `exp`), revoked: its record ends, its JWT never does.
    let persistent = TokenRecord {
        status: Some(StatusEntry { list: 1, idx: 0 }),
        access_expires_at: 0,
        refresh_hash: None,
        refresh_expires_at: None,
        ..token(service, "persistent")
    };
    store.tokens.insert_token(&persistent).await.map_err(err)?;
    // The other index went to a JWT that a rotation replaced (the record now names list 2).
    store.status_lists.reserve_status_indexes(service, 2, 2, NOW).await.map_err(err)?;
    let rotating = TokenRecord {
        status: Some(StatusEntry { list: 1, idx: 1 }),
        access_expires_at: NOW + 10,
        ..token(service, "rotating")
    };
    store.tokens.insert_token(&rotating).await.map_err(err)?;
    let moved = Rotation { status: Some(StatusEntry { list: 2, idx: 0 }), ..rotation("rotated", NOW + 5) };
    store.tokens.rotate_refresh(service, &h("refresh-rotating"), &moved).await.map_err(err)?;
    store
        .tokens
        .revoke(service, &RevokeTarget::AccessHash(h("access-persistent")), NOW)
        .await
        .map_err(err)?;
    let ten_years = NOW + 10 * 365 * 86_400_000;
    let purged = store.maintenance.purge_expired(ten_years, 100).await.map_err(err)?;
    ensure!(store.status_lists.status_list(service, 1).await.map_err(err)?.is_some(), "kept: {purged:?}");
    let bits = store.status_lists.status_list(service, 1).await.map_err(err)?.ok_or("list 1")?;
    ensure!(bits.bits.iter().any(|byte| *byte != 0), "and its bits: {bits:?}");
    Ok(())
}

// ------------------------------------------------------------------ credentials

pub async fn credentials_by_hash_with_state(store: &Stores) -> Outcome {
    let (org, service) = tenant(store).await.map_err(err)?;
    let a = store
        .credentials
        .create_credential(Principal::Service(service), &h("hash-a"), "a", NOW, Some(NOW + 1000))
        .await
        .map_err(err)?;
    store
        .credentials
        .create_credential(Principal::Organization(org), &h("hash-b"), "b", NOW, None)
        .await
        .map_err(err)?;
    let found = store
        .credentials
        .credential_and_service(&h("hash-a"), None)
        .await
        .map_err(err)?
        .0
        .ok_or("credential")?;
    ensure!(found.hash == h("hash-a") && found.record == a, "{found:?}");
    ensure!(found.record.expires_at == Some(NOW + 1000), "expiry stored");
    ensure!(found.record.is_usable(NOW) && !found.record.is_usable(NOW + 1000), "expiry applies");
    let b = store
        .credentials
        .credential_and_service(&h("hash-b"), None)
        .await
        .map_err(err)?
        .0
        .ok_or("org credential")?;
    ensure!(b.record.principal == Principal::Organization(org), "principal kept");
    ensure!(
        store.credentials.credential_and_service(&h("hash-c"), None).await.map_err(err)?.0.is_none(),
        "unknown hash"
    );
    ensure!(store.credentials.list_credentials().await.map_err(err)?.len() == 2, "listed");
    Ok(())
}

pub async fn credential_and_service_in_one_call(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store
        .credentials
        .create_credential(Principal::Service(service), &h("c"), "l", NOW, None)
        .await
        .map_err(err)?;
    let (credential, found) =
        store.credentials.credential_and_service(&h("c"), Some(service)).await.map_err(err)?;
    ensure!(credential.is_some() && found.map(|s| s.id) == Some(service), "both found");
    let (credential, found) =
        store.credentials.credential_and_service(&h("x"), Some(service)).await.map_err(err)?;
    ensure!(credential.is_none() && found.is_none(), "no service is read for an unknown credential");
    let (_, found) =
        store.credentials.credential_and_service(&h("c"), Some(ServiceId(1))).await.map_err(err)?;
    ensure!(found.is_none(), "unknown service");
    Ok(())
}

pub async fn credential_hash_conflict(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store
        .credentials
        .create_credential(Principal::Service(service), &h("same"), "a", NOW, None)
        .await
        .map_err(err)?;
    let again =
        store.credentials.create_credential(Principal::Service(service), &h("same"), "b", NOW, None).await;
    ensure!(matches!(again, Err(StoreError::Conflict(ConflictKind::CredentialHash))), "{again:?}");
    Ok(())
}

pub async fn credential_revocation_and_last_use(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let c = store
        .credentials
        .create_credential(Principal::Service(service), &h("h"), "l", NOW, None)
        .await
        .map_err(err)?;
    store.credentials.touch_credential(c.id, NOW + 5).await.map_err(err)?;
    ensure!(store.credentials.revoke_credential(c.id, NOW + 10).await.map_err(err)?, "revoked");
    ensure!(!store.credentials.revoke_credential(c.id, NOW + 20).await.map_err(err)?, "revoked once");
    ensure!(!store.credentials.revoke_credential(c.id + 1000, NOW).await.map_err(err)?, "unknown ID");
    let found = store
        .credentials
        .credential_and_service(&h("h"), None)
        .await
        .map_err(err)?
        .0
        .ok_or("credential")?
        .record;
    ensure!(found.revoked_at == Some(NOW + 10) && found.last_used_at == Some(NOW + 5), "{found:?}");
    ensure!(!found.is_usable(NOW + 11), "a revoked credential is not usable");
    Ok(())
}

// ------------------------------------------------------------------ keys

pub async fn a_new_key_becomes_current_and_round_trips(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    ensure!(store.keys.current_signing_key(service).await.map_err(err)?.is_none(), "no key yet");
    let k = key(service, NOW);
    store.keys.add_signing_key(&k, GRACE).await.map_err(err)?;
    let current = store.keys.current_signing_key(service).await.map_err(err)?.ok_or("current key")?;
    ensure!(current.kid == k.kid && current.private_der == k.private_der, "private key round trip");
    ensure!(current.public_jwk == k.public_jwk && current.retired_at.is_none(), "public JWK kept");
    Ok(())
}

pub async fn rotation_retires_and_keeps_publishing_for_the_grace(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let old = key(service, NOW);
    store.keys.add_signing_key(&old, GRACE).await.map_err(err)?;
    let new = key(service, NOW + 1000);
    store.keys.add_signing_key(&new, GRACE).await.map_err(err)?;
    ensure!(
        store.keys.current_signing_key(service).await.map_err(err)?.ok_or("key")?.kid == new.kid,
        "new is current"
    );
    let published = store.keys.published_signing_keys(service, NOW + 2000).await.map_err(err)?;
    let kids: Vec<_> = published.iter().map(|k| k.kid.clone()).collect();
    ensure!(kids == vec![new.kid.clone(), old.kid.clone()], "current first, then retired: {kids:?}");
    let later = store.keys.published_signing_keys(service, NOW + 1000 + GRACE + 1).await.map_err(err)?;
    ensure!(later.len() == 1 && later[0].kid == new.kid, "unpublished after the grace without tokens");
    Ok(())
}

pub async fn a_retired_key_stays_published_while_its_tokens_live(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let old = key(service, NOW);
    store.keys.add_signing_key(&old, GRACE).await.map_err(err)?;
    let mut signed = token(service, "jwt");
    signed.jwt_kid = Some(old.kid.clone());
    signed.access_expires_at = NOW + 10 * GRACE;
    store.tokens.insert_token(&signed).await.map_err(err)?;
    store.keys.add_signing_key(&key(service, NOW + 1000), GRACE).await.map_err(err)?;
    let published = store.keys.published_signing_keys(service, NOW + 5 * GRACE).await.map_err(err)?;
    ensure!(published.iter().any(|k| k.kid == old.kid), "published while its token lives");
    let after = store.keys.published_signing_keys(service, NOW + 10 * GRACE + 1).await.map_err(err)?;
    ensure!(!after.iter().any(|k| k.kid == old.kid), "unpublished once its tokens expired");
    Ok(())
}

/// Fifty rotations leave a set of one key once the grace has passed, but for the keys whose
/// tokens still live: a JWK Set (public, unauthenticated) does not grow with rotations.
pub async fn retired_keys_leave_the_set_after_many_rotations(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let mut kids = Vec::new();
    for n in 0..50 {
        let k = key(service, NOW + n * 1000);
        store.keys.add_signing_key(&k, GRACE).await.map_err(err)?;
        kids.push(k.kid);
        if n == 10 {
            // A JWT the tenth key signs while current, living long after the rotations.
            let mut signed = token(service, "jwt");
            signed.jwt_kid = Some(kids[10].clone());
            signed.access_expires_at = NOW + 10 * GRACE;
            store.tokens.insert_token(&signed).await.map_err(err)?;
        }
    }
    let during = store.keys.published_signing_keys(service, NOW + 50_000).await.map_err(err)?;
    ensure!(during.len() == 50, "within the grace, all of them: {}", during.len());
    let after = store.keys.published_signing_keys(service, NOW + 50_000 + GRACE).await.map_err(err)?;
    let left: Vec<_> = after.iter().map(|k| k.kid.clone()).collect();
    ensure!(
        left == vec![kids[49].clone(), kids[10].clone()],
        "the current key and the one a live token needs: {left:?}"
    );
    let later = store.keys.published_signing_keys(service, NOW + 10 * GRACE + 1).await.map_err(err)?;
    ensure!(later.len() == 1 && later[0].kid == kids[49], "{}", later.len());
    Ok(())
}

pub async fn revoked_keys_are_neither_published_nor_verifying(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let k = key(service, NOW);
    store.keys.add_signing_key(&k, GRACE).await.map_err(err)?;
    ensure!(store.keys.revoke_signing_key(service, &k.kid, NOW + 1).await.map_err(err)?, "revoked");
    ensure!(!store.keys.revoke_signing_key(service, &k.kid, NOW + 2).await.map_err(err)?, "once");
    ensure!(
        store.keys.published_signing_keys(service, NOW + 2).await.map_err(err)?.is_empty(),
        "unpublished"
    );
    ensure!(
        store.keys.verification_keys(service, NOW + 2, GRACE).await.map_err(err)?.is_empty(),
        "not verifying"
    );
    ensure!(store.keys.current_signing_key(service).await.map_err(err)?.is_none(), "not current");
    Ok(())
}

pub async fn verification_keys_are_current_and_recently_retired(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let old = key(service, NOW);
    store.keys.add_signing_key(&old, GRACE).await.map_err(err)?;
    let new = key(service, NOW + 1000);
    store.keys.add_signing_key(&new, GRACE).await.map_err(err)?;
    let soon = store.keys.verification_keys(service, NOW + 1000 + 300_000, 305_000).await.map_err(err)?;
    ensure!(soon.len() == 2, "retired moments ago still verifies: {}", soon.len());
    let late = store.keys.verification_keys(service, NOW + 1000 + 306_000, 305_000).await.map_err(err)?;
    ensure!(late.len() == 1 && late[0].kid == new.kid, "only the current key later");
    Ok(())
}

pub async fn keys_are_scoped_by_service(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    let k = key(a, NOW);
    store.keys.add_signing_key(&k, GRACE).await.map_err(err)?;
    ensure!(store.keys.current_signing_key(b).await.map_err(err)?.is_none(), "no key of another service");
    ensure!(store.keys.published_signing_keys(b, NOW).await.map_err(err)?.is_empty(), "publication scoped");
    ensure!(!store.keys.revoke_signing_key(b, &k.kid, NOW).await.map_err(err)?, "revocation scoped");
    ensure!(store.keys.current_signing_key(a).await.map_err(err)?.is_some(), "still current in its service");
    Ok(())
}

// ------------------------------------------------------------------ tokens

pub async fn tokens_by_access_and_refresh_hash(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let t = token(service, "1");
    store.tokens.insert_token(&t).await.map_err(err)?;
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)? == Some(t.clone()),
        "by access"
    );
    ensure!(
        store.tokens.token_by_refresh_hash(service, &h("refresh-1")).await.map_err(err)? == Some(t.clone()),
        "by refresh"
    );
    ensure!(
        store.tokens.token_by_access_hash(service, &h("refresh-1")).await.map_err(err)?.is_none(),
        "kinds kept apart"
    );
    Ok(())
}

pub async fn token_conflicts_name_what_conflicted_and_write_nothing(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    let mut same_value = token(service, "2");
    same_value.access_hash = h("access-1");
    let outcome = store.tokens.insert_token(&same_value).await;
    ensure!(matches!(outcome, Err(StoreError::Conflict(ConflictKind::TokenValue))), "{outcome:?}");
    let mut same_id = token(service, "3");
    same_id.token_id = "id-1".into();
    let outcome = store.tokens.insert_token(&same_id).await;
    ensure!(matches!(outcome, Err(StoreError::Conflict(ConflictKind::TokenId))), "{outcome:?}");
    let total = store.tokens.list_tokens(service, &TokenFilter::default(), 0, 10).await.map_err(err)?.0.total;
    ensure!(total == 1, "nothing written by a conflict: {total}");
    Ok(())
}

pub async fn tokens_are_scoped_by_service(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(a, "1")).await.map_err(err)?;
    ensure!(
        store.tokens.token_by_access_hash(b, &h("access-1")).await.map_err(err)?.is_none(),
        "access lookup"
    );
    ensure!(
        store.tokens.token_by_refresh_hash(b, &h("refresh-1")).await.map_err(err)?.is_none(),
        "refresh lookup"
    );
    ensure!(
        store.tokens.list_tokens(b, &TokenFilter::default(), 0, 10).await.map_err(err)?.0.total == 0,
        "listing"
    );
    let changes = TokenChanges { scopes: Some(vec![]), ..TokenChanges::default() };
    ensure!(store.tokens.update_token(b, &h("access-1"), &changes).await.map_err(err)?.is_none(), "update");
    ensure!(!store.tokens.delete_token(b, &h("access-1")).await.map_err(err)?, "delete");
    ensure!(
        store.tokens.revoke(b, &RevokeTarget::AccessHash(h("access-1")), NOW).await.map_err(err)? == 0,
        "revoke"
    );
    let client_wide = RevokeTarget::ClientSubject { client_id: ClientId(7), subject: None };
    ensure!(store.tokens.revoke(b, &client_wide, NOW).await.map_err(err)? == 0, "client-wide revoke");
    let rotated = store.tokens.rotate_refresh(b, &h("refresh-1"), &rotation("x", NOW)).await.map_err(err)?;
    ensure!(rotated == RefreshOutcome::Invalid, "rotation: {rotated:?}");
    let token = store.tokens.token_by_access_hash(a, &h("access-1")).await.map_err(err)?.ok_or("gone")?;
    ensure!(token.revoked_at.is_none() && token.scopes == vec!["read"], "untouched: {token:?}");
    Ok(())
}

pub async fn list_filters_by_client_and_subject(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    for (n, client, subject) in [("1", 7, "alice"), ("2", 7, "bob"), ("3", 8, "alice")] {
        let mut t = token(service, n);
        t.client_id = ClientId(client);
        t.subject = Some(subject.into());
        store.tokens.insert_token(&t).await.map_err(err)?;
    }
    let by = |client: Option<i64>, subject: Option<&str>| TokenFilter {
        client_id: client.map(ClientId),
        subject: subject.map(str::to_owned),
    };
    let count =
        |f: TokenFilter| async move { store.tokens.list_tokens(service, &f, 0, 10).await.map(|r| r.0.total) };
    ensure!(count(by(Some(7), None)).await.map_err(err)? == 2, "by client");
    ensure!(count(by(None, Some("alice"))).await.map_err(err)? == 2, "by subject");
    ensure!(count(by(Some(8), Some("alice"))).await.map_err(err)? == 1, "by both");
    ensure!(count(by(Some(9), None)).await.map_err(err)? == 0, "no match");
    Ok(())
}

pub async fn list_pages_newest_first_with_the_total(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    for n in 0..7 {
        store.tokens.insert_token(&token(service, &n.to_string())).await.map_err(err)?;
    }
    let (ListingVersion { total, .. }, page) =
        store.tokens.list_tokens(service, &TokenFilter::default(), 2, 5).await.map_err(err)?;
    let ids: Vec<_> = page.iter().map(|t| t.token_id.as_str()).collect();
    ensure!(total == 7 && ids == vec!["id-4", "id-3", "id-2"], "total {total}, page {ids:?}");
    let (_, empty) = store.tokens.list_tokens(service, &TokenFilter::default(), 10, 20).await.map_err(err)?;
    ensure!(empty.is_empty(), "past the end");
    Ok(())
}

/// A page read by key continues after the token named, newest first, with the total; with a
/// filter, only its tokens; a token no longer stored names no place to continue from.
pub async fn list_continues_by_key_after_a_token(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let (_, other) = tenant(store).await.map_err(err)?;
    for n in 0..7 {
        store.tokens.insert_token(&token(service, &n.to_string())).await.map_err(err)?;
        store.tokens.insert_token(&token(other, &format!("other-{n}"))).await.map_err(err)?;
    }
    let all = TokenFilter::default();
    let (ListingVersion { total, .. }, page) = store
        .tokens
        .list_tokens_after(service, &all, "id-5", 3)
        .await
        .map_err(err)?
        .ok_or("id-5 is stored")?;
    let ids: Vec<_> = page.iter().map(|t| t.token_id.as_str()).collect();
    ensure!(total == 7 && ids == vec!["id-4", "id-3", "id-2"], "total {total}, page {ids:?}");
    let (_, tail) =
        store.tokens.list_tokens_after(service, &all, "id-1", 3).await.map_err(err)?.ok_or("id-1")?;
    let ids: Vec<_> = tail.iter().map(|t| t.token_id.as_str()).collect();
    ensure!(ids == vec!["id-0"], "the end: {ids:?}");
    let subject = TokenFilter { client_id: None, subject: Some("subject-3".into()) };
    let (ListingVersion { total, .. }, page) =
        store.tokens.list_tokens_after(service, &subject, "id-5", 3).await.map_err(err)?.ok_or("id-5")?;
    let ids: Vec<_> = page.iter().map(|t| t.token_id.as_str()).collect();
    ensure!(total == 1 && ids == vec!["id-3"], "subject-3's one token: {total} {ids:?}");
    let (_, none) =
        store.tokens.list_tokens_after(service, &subject, "id-2", 3).await.map_err(err)?.ok_or("id-2")?;
    ensure!(none.is_empty(), "subject-3's token is newer than id-2: {none:?}");
    ensure!(
        store.tokens.list_tokens_after(service, &all, "other-5", 3).await.map_err(err)?.is_none(),
        "another service's token names no place in this listing"
    );
    ensure!(store.tokens.list_tokens_after(service, &all, "gone", 3).await.map_err(err)?.is_none(), "gone");
    Ok(())
}

pub async fn update_applies_changes_atomically(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    let changes = TokenChanges {
        access_expires_at: Some(0),
        scopes: Some(vec!["write".into()]),
        dpop_key_thumbprint: Some(Some("jkt".into())),
        new_access_hash: Some(h("access-new")),
        ..TokenChanges::default()
    };
    let updated =
        store.tokens.update_token(service, &h("access-1"), &changes).await.map_err(err)?.ok_or("updated")?;
    ensure!(updated.access_expires_at == 0 && updated.token_type == "DPoP", "{updated:?}");
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.is_none(),
        "old value gone"
    );
    let stored = store
        .tokens
        .token_by_access_hash(service, &h("access-new"))
        .await
        .map_err(err)?
        .ok_or("new value")?;
    ensure!(stored == updated, "stored as answered");
    ensure!(
        store.tokens.update_token(service, &h("nope"), &changes).await.map_err(err)?.is_none(),
        "unknown is None"
    );
    Ok(())
}

pub async fn update_never_undoes_a_revocation(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    store.tokens.revoke(service, &RevokeTarget::AccessHash(h("access-1")), NOW).await.map_err(err)?;
    let changes = TokenChanges { scopes: Some(vec![]), ..TokenChanges::default() };
    let updated =
        store.tokens.update_token(service, &h("access-1"), &changes).await.map_err(err)?.ok_or("token")?;
    ensure!(updated.revoked_at == Some(NOW), "still revoked: {updated:?}");
    Ok(())
}

pub async fn update_to_a_taken_value_conflicts(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "2")).await.map_err(err)?;
    let changes = TokenChanges { new_access_hash: Some(h("access-2")), ..TokenChanges::default() };
    let outcome = store.tokens.update_token(service, &h("access-1"), &changes).await;
    ensure!(matches!(outcome, Err(StoreError::Conflict(ConflictKind::TokenValue))), "{outcome:?}");
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.is_some(),
        "unchanged"
    );
    Ok(())
}

pub async fn delete_removes_one_token(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "2")).await.map_err(err)?;
    ensure!(store.tokens.delete_token(service, &h("access-1")).await.map_err(err)?, "deleted");
    ensure!(!store.tokens.delete_token(service, &h("access-1")).await.map_err(err)?, "deleted once");
    ensure!(
        store.tokens.list_tokens(service, &TokenFilter::default(), 0, 10).await.map_err(err)?.0.total == 1,
        "one left"
    );
    Ok(())
}

pub async fn revoke_by_each_target(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    for (n, subject) in [("1", "alice"), ("2", "alice"), ("3", "bob"), ("4", "bob")] {
        let mut t = token(service, n);
        t.subject = Some(subject.into());
        store.tokens.insert_token(&t).await.map_err(err)?;
    }
    let by_access =
        store.tokens.revoke(service, &RevokeTarget::AccessHash(h("access-1")), NOW).await.map_err(err)?;
    let by_refresh =
        store.tokens.revoke(service, &RevokeTarget::RefreshHash(h("refresh-3")), NOW).await.map_err(err)?;
    let alice = RevokeTarget::ClientSubject { client_id: ClientId(7), subject: Some("alice".into()) };
    let by_subject = store.tokens.revoke(service, &alice, NOW).await.map_err(err)?;
    let everyone = RevokeTarget::ClientSubject { client_id: ClientId(7), subject: None };
    let by_client = store.tokens.revoke(service, &everyone, NOW).await.map_err(err)?;
    ensure!(
        (by_access, by_refresh, by_subject, by_client) == (1, 1, 1, 1),
        "counts of newly revoked: {:?}",
        (by_access, by_refresh, by_subject, by_client)
    );
    let again = store.tokens.revoke(service, &everyone, NOW).await.map_err(err)?;
    ensure!(again == 0, "nothing left to revoke");
    Ok(())
}

pub async fn revoking_a_subject_reaches_every_client_and_no_other_subject(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let (_, other_service) = tenant(store).await.map_err(err)?;
    for (n, subject, client) in [("1", "carol", 7), ("2", "carol", 8), ("3", "dave", 7)] {
        let mut t = token(service, n);
        (t.subject, t.client_id) = (Some(subject.into()), ClientId(client));
        store.tokens.insert_token(&t).await.map_err(err)?;
    }
    let mut elsewhere = token(other_service, "4");
    elsewhere.subject = Some("carol".into());
    store.tokens.insert_token(&elsewhere).await.map_err(err)?;
    let carol = RevokeTarget::Subject("carol".into());
    let revoked = store.tokens.revoke(service, &carol, NOW).await.map_err(err)?;
    ensure!(revoked == 2, "both of carol's tokens, of two clients: {revoked}");
    for (n, revoked) in [("1", true), ("2", true), ("3", false)] {
        let found =
            store.tokens.token_by_access_hash(service, &h(&format!("access-{n}"))).await.map_err(err)?;
        let found = found.ok_or_else(|| format!("token {n} is still stored"))?;
        ensure!(found.revoked_at.is_some() == revoked, "token {n}: revoked_at {:?}", found.revoked_at);
    }
    let other = store.tokens.token_by_access_hash(other_service, &h("access-4")).await.map_err(err)?;
    ensure!(other.is_some_and(|t| t.revoked_at.is_none()), "another service's carol is untouched");
    ensure!(store.tokens.revoke(service, &carol, NOW).await.map_err(err)? == 0, "nothing left to revoke");
    Ok(())
}

pub async fn a_custom_token_is_redeemed_once(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let standing = |jti: &'static str| store.single_use.custom_token_standing(service, jti, "subject-1");
    ensure!(standing("jti-1").await.map_err(err)? == CustomTokenStanding::default(), "not yet redeemed");
    let first = store.single_use.redeem_custom_token("jti-1", NOW + 300_000, NOW, &token(service, "1")).await;
    ensure!(first.map_err(err)? == Redemption::Redeemed, "first");
    let replay =
        store.single_use.redeem_custom_token("jti-1", NOW + 300_000, NOW, &token(service, "2")).await;
    ensure!(replay.map_err(err)? == Redemption::Replayed, "a replay is refused");
    ensure!(standing("jti-1").await.map_err(err)?.redeemed, "redeemed, as a read says");
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-2")).await.map_err(err)?.is_none(),
        "and writes nothing"
    );
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.is_some(),
        "the first stored"
    );
    Ok(())
}

pub async fn a_subject_cutoff_refuses_custom_tokens_generated_before_it(store: &Stores) -> Outcome {
    let (org, service) = tenant(store).await.map_err(err)?;
    let other = store.services.create_service(org, &new_service(), NOW).await.map_err(err)?.id;
    let single_use = &store.single_use;
    single_use.end_custom_tokens(service, "subject-1", NOW + 100).await.map_err(err)?;
    // An earlier cutoff never moves it back.
    single_use.end_custom_tokens(service, "subject-1", NOW + 50).await.map_err(err)?;
    let valid_after = single_use.custom_tokens_valid_after(service, "subject-1").await.map_err(err)?;
    ensure!(valid_after == Some(NOW + 100), "the later cutoff is kept: {valid_after:?}");
    let standing = single_use.custom_token_standing(service, "jti-a", "subject-1").await.map_err(err)?;
    ensure!(
        standing == CustomTokenStanding { redeemed: false, valid_after: Some(NOW + 100) },
        "{standing:?}"
    );
    for (generated, expected) in
        [(NOW + 100, Redemption::SubjectSignedOut), (NOW + 101, Redemption::Redeemed)]
    {
        let jti = format!("jti-{generated}");
        let record =
            TokenRecord { subject: Some("subject-1".into()), ..token(service, &format!("g{generated}")) };
        let outcome = single_use.redeem_custom_token(&jti, NOW + 300_000, generated, &record).await;
        ensure!(outcome.map_err(err)? == expected, "generated at {generated}: {expected:?}");
    }
    let standing = single_use.custom_token_standing(service, "jti-1800000000100", "subject-1").await;
    ensure!(!standing.map_err(err)?.redeemed, "a refused redemption records no jti");
    // Another subject, another service: no cutoff.
    for (service, subject) in [(service, "subject-2"), (other, "subject-1")] {
        let cutoff = single_use.custom_tokens_valid_after(service, subject).await.map_err(err)?;
        ensure!(cutoff.is_none(), "{service}/{subject} has no cutoff: {cutoff:?}");
    }
    let outcome = single_use.redeem_custom_token("jti-other", NOW + 300_000, NOW, &token(other, "1")).await;
    ensure!(outcome.map_err(err)? == Redemption::Redeemed, "scoped by service");
    Ok(())
}

pub async fn no_token_is_stored_or_rotated_with_a_revoked_key(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let live = key(service, NOW);
    store.keys.add_signing_key(&live, 0).await.map_err(err)?;
    let revoked = key(service, NOW + 1);
    store.keys.add_signing_key(&revoked, 0).await.map_err(err)?;
    let mut family = token(service, "family");
    family.jwt_kid = Some(live.kid.clone());
    store.tokens.insert_token(&family).await.map_err(err)?;
    ensure!(store.keys.revoke_signing_key(service, &revoked.kid, NOW + 2).await.map_err(err)?, "revoked");
    let mut jwt = token(service, "jwt");
    jwt.jwt_kid = Some(revoked.kid.clone());
    let mut from_custom = token(service, "custom");
    from_custom.custom_token_kid = Some(revoked.kid.clone());
    for refused in [&jwt, &from_custom] {
        let stored = store.tokens.insert_token(refused).await;
        ensure!(matches!(stored, Err(StoreError::KeyRevoked)), "{}: {stored:?}", refused.token_id);
        let found = store.tokens.token_by_access_hash(service, &refused.access_hash).await.map_err(err)?;
        ensure!(found.is_none(), "{} is not stored", refused.token_id);
    }
    let redeemed = store.single_use.redeem_custom_token("jti-k", NOW + 300_000, NOW, &from_custom).await;
    ensure!(matches!(redeemed, Err(StoreError::KeyRevoked)), "redeem: {redeemed:?}");
    let standing = store.single_use.custom_token_standing(service, "jti-k", "subject-custom").await;
    ensure!(!standing.map_err(err)?.redeemed, "the refused redemption used no jti");
    let signed_by_revoked = Rotation { jwt_kid: Some(revoked.kid.clone()), ..rotation("next", NOW + 3) };
    let rotated = store.tokens.rotate_refresh(service, &h("refresh-family"), &signed_by_revoked).await;
    ensure!(matches!(rotated, Err(StoreError::KeyRevoked)), "rotation: {rotated:?}");
    let unchanged = store.tokens.token_by_refresh_hash(service, &h("refresh-family")).await.map_err(err)?;
    ensure!(unchanged.is_some_and(|t| t.jwt_kid == Some(live.kid.clone())), "the family is unchanged");
    let reuse = store.tokens.token_by_rotated_value(service, &h("refresh-family"), ValueKind::Refresh).await;
    ensure!(reuse.map_err(err)?.is_none(), "and no rotated value was remembered");
    let signed_by_live = Rotation { jwt_kid: Some(live.kid.clone()), ..rotation("next", NOW + 4) };
    let rotated = store.tokens.rotate_refresh(service, &h("refresh-family"), &signed_by_live).await;
    ensure!(matches!(rotated, Ok(RefreshOutcome::Rotated(_))), "with the live key: {rotated:?}");
    Ok(())
}

pub async fn a_family_keeps_its_last_rotations_and_a_bounded_rate(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "0")).await.map_err(err)?;
    // One rotation a second (under the rate) for 100 rotations: the last ROTATIONS_KEPT are kept.
    for n in 1..=100 {
        let previous = h(&format!("refresh-{}", n - 1));
        let next = rotation(&n.to_string(), NOW + n * 1000);
        let outcome = store.tokens.rotate_refresh(service, &previous, &next).await;
        ensure!(matches!(outcome.map_err(err)?, RefreshOutcome::Rotated(_)), "rotation {n}");
    }
    let kept = i64::from(ROTATIONS_KEPT);
    for n in 0..100 {
        for (prefix, kind) in [("refresh", ValueKind::Refresh), ("access", ValueKind::Access)] {
            let found =
                store.tokens.token_by_rotated_value(service, &h(&format!("{prefix}-{n}")), kind).await;
            let expected = n >= 100 - kept;
            ensure!(found.map_err(err)?.is_some() == expected, "{prefix}-{n} kept: {expected}");
        }
    }
    let since = NOW + 100_000 - ROTATION_RATE_WINDOW_MS;
    let (count, earliest) = store.tokens.rotations_since(service, "id-0", since).await.map_err(err)?;
    ensure!((count, earliest) == (60, since + 1000), "60 in the last minute: {count}, {earliest}");
    // Three a minute: the fourth waits for the first to leave the window.
    let slow = |n: i64, at: i64| Rotation { per_minute: 3, ..rotation(&format!("s{n}"), at) };
    store.tokens.insert_token(&token(service, "s0")).await.map_err(err)?;
    for n in 1..=3 {
        let previous = h(&format!("refresh-s{}", n - 1));
        let outcome = store.tokens.rotate_refresh(service, &previous, &slow(n, NOW + n * 10)).await;
        ensure!(matches!(outcome.map_err(err)?, RefreshOutcome::Rotated(_)), "slow rotation {n}");
    }
    let fourth =
        store.tokens.rotate_refresh(service, &h("refresh-s3"), &slow(4, NOW + 40)).await.map_err(err)?;
    ensure!(
        fourth == RefreshOutcome::TooFrequent { retry_after_ms: 60_000 - 30 },
        "the fourth within the minute: {fourth:?}"
    );
    ensure!(
        store.tokens.token_by_refresh_hash(service, &h("refresh-s3")).await.map_err(err)?.is_some(),
        "nothing changed"
    );
    let later = store.tokens.rotate_refresh(service, &h("refresh-s3"), &slow(4, NOW + 60_011)).await;
    ensure!(matches!(later.map_err(err)?, RefreshOutcome::Rotated(_)), "once the first left the window");
    Ok(())
}

pub async fn custom_token_redemption_race_has_one_winner(store: Stores) -> Outcome {
    let (_, service) = tenant(&store).await.map_err(err)?;
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .single_use
                    .redeem_custom_token("raced", NOW + 300_000, NOW, &token(service, &format!("r{n}")))
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        if racer.await.map_err(|e| e.to_string())?.map_err(err)? == Redemption::Redeemed {
            winners += 1;
        }
    }
    ensure!(winners == 1, "exactly one redemption wins: {winners}");
    let total = store.tokens.list_tokens(service, &TokenFilter::default(), 0, 10).await.map_err(err)?.0.total;
    ensure!(total == 1, "one token stored: {total}");
    Ok(())
}

/// A user signed out everywhere while one of their custom tokens is being exchanged: either the
/// exchange is refused or the token it stored is revoked, never neither (the cutoff and the
/// redemption are serialised on every backend).
pub async fn a_cutoff_racing_a_redemption_leaves_no_live_token(store: Stores) -> Outcome {
    let (_, service) = tenant(&store).await.map_err(err)?;
    for round in 0..20 {
        let subject = format!("racer-{round}");
        let mut record = token(service, &format!("race-{round}"));
        record.subject = Some(subject.clone());
        let redeemer = {
            let store = store.clone();
            let jti = format!("jti-race-{round}");
            tokio::spawn(async move {
                store.single_use.redeem_custom_token(&jti, NOW + 300_000, NOW, &record).await
            })
        };
        let revoker = {
            let (store, subject) = (store.clone(), subject.clone());
            tokio::spawn(async move {
                store.single_use.end_custom_tokens(service, &subject, NOW + 1).await?;
                store.tokens.revoke(service, &RevokeTarget::Subject(subject), NOW + 1).await
            })
        };
        let redeemed = redeemer.await.map_err(|e| e.to_string())?.map_err(err)?;
        revoker.await.map_err(|e| e.to_string())?.map_err(err)?;
        let found = store.tokens.token_by_access_hash(service, &h(&format!("access-race-{round}"))).await;
        let live = found.map_err(err)?.is_some_and(|t| t.revoked_at.is_none());
        ensure!(!live, "round {round}: {redeemed:?} left a live token");
    }
    Ok(())
}

pub async fn status_index_reservations_race_without_overlap(store: Stores) -> Outcome {
    let (_, service) = tenant(&store).await.map_err(err)?;
    // Eight reservers (instances, as far as the store can tell), lists of 100 indexes, blocks of
    // 7: every index handed out once, across lists made concurrently.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..10 {
                    got.push(store.status_lists.reserve_status_indexes(service, 7, 100, NOW).await?);
                }
                Ok::<_, StoreError>(got)
            })
        })
        .collect();
    let mut taken = std::collections::HashSet::new();
    let mut total = 0;
    for racer in racers {
        for (list, first, n) in racer.await.map_err(|e| e.to_string())?.map_err(err)? {
            ensure!(n > 0 && first + n <= 100, "within the list: {list} {first} {n}");
            for idx in first..first + n {
                ensure!(taken.insert((list, idx)), "index {idx} of list {list} handed out twice");
            }
            total += n;
        }
    }
    // Lists fill up before the next is made: every list but the newest is handed out whole.
    let newest = taken.iter().map(|(list, _)| *list).max().unwrap_or(0);
    for list in 1..newest {
        ensure!((0..100).all(|idx| taken.contains(&(list, idx))), "list {list} has a gap");
    }
    ensure!(total as usize == taken.len() && total >= 80, "{total} indexes handed out");
    Ok(())
}

/// A token ID in the shape the service makes (`n` keeps them apart and in time order).
fn token_id(n: u64) -> String {
    format!("{:011x}AbCdEfGhIjKlMnOp", NOW as u64 + n)
}

/// The hash of a generated value (selector format) of `kind` for `token_id`; `secret` tells values
/// of one token apart.
fn generated(kind: ValueKind, token_id: &str, secret: u8) -> TokenHash {
    TokenHash::of(&token_core::token_value::compose(kind, token_id, &[secret; 32]))
}

/// A token whose values are generated ones (secret 1).
fn selector_token(service: ServiceId, id: &str) -> TokenRecord {
    TokenRecord {
        token_id: id.to_owned(),
        access_hash: generated(ValueKind::Access, id, 1),
        refresh_hash: Some(generated(ValueKind::Refresh, id, 1)),
        ..token(service, id)
    }
}

pub async fn generated_values_are_found_by_their_selector_and_whole_hash(store: &Stores) -> Outcome {
    ensure!(store.maintenance.selector_values().await.map_err(err)?, "a new store issues selector values");
    let (_, service) = tenant(store).await.map_err(err)?;
    let (_, other) = tenant(store).await.map_err(err)?;
    let id = token_id(1);
    store.tokens.insert_token(&selector_token(service, &id)).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "legacy")).await.map_err(err)?;
    let access = generated(ValueKind::Access, &id, 1);
    let refresh = generated(ValueKind::Refresh, &id, 1);
    let found = store.tokens.token_by_access_hash(service, &access).await.map_err(err)?;
    ensure!(found.as_ref().is_some_and(|t| t.token_id == id), "by the access value: {found:?}");
    let found = store.tokens.token_by_refresh_hash(service, &refresh).await.map_err(err)?;
    ensure!(found.is_some_and(|t| t.token_id == id), "by the refresh value");
    // The selector finds the row; only the whole hash makes it the token's.
    for (what, hash) in
        [("another secret", generated(ValueKind::Access, &id, 2)), ("the refresh value", refresh.clone())]
    {
        let found = store.tokens.token_by_access_hash(service, &hash).await.map_err(err)?;
        ensure!(found.is_none(), "{what} is not the access value: {found:?}");
    }
    let found = store.tokens.token_by_refresh_hash(service, &access).await.map_err(err)?;
    ensure!(found.is_none(), "the access value is not the refresh value");
    ensure!(
        store.tokens.token_by_access_hash(other, &access).await.map_err(err)?.is_none(),
        "another service does not see it"
    );
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-legacy")).await.map_err(err)?.is_some(),
        "a value without a selector is found by its hash beside it"
    );
    ensure!(!store.maintenance.finish_upgrades(NOW).await.map_err(err)?, "nothing left to finish");
    Ok(())
}

pub async fn generated_values_rotate_update_revoke_and_delete(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let ids: Vec<String> = (10..14).map(token_id).collect();
    for id in &ids {
        store.tokens.insert_token(&selector_token(service, id)).await.map_err(err)?;
    }
    // Rotation: new values of the same token; the old refresh value's reuse revokes the family.
    let (first, old_refresh) = (&ids[0], generated(ValueKind::Refresh, &ids[0], 1));
    let next = Rotation {
        new_access_hash: generated(ValueKind::Access, first, 2),
        new_refresh_hash: generated(ValueKind::Refresh, first, 2),
        ..rotation("unused", NOW + 10)
    };
    let outcome = store.tokens.rotate_refresh(service, &old_refresh, &next).await.map_err(err)?;
    ensure!(matches!(outcome, RefreshOutcome::Rotated(_)), "rotated: {outcome:?}");
    let old_access = generated(ValueKind::Access, first, 1);
    ensure!(
        store.tokens.token_by_access_hash(service, &old_access).await.map_err(err)?.is_none(),
        "the old access value is gone"
    );
    let reuse =
        store.tokens.rotate_refresh(service, &old_refresh, &rotation("x", NOW + 20)).await.map_err(err)?;
    ensure!(reuse == RefreshOutcome::Reused, "reuse detected: {reuse:?}");
    let family = store.tokens.token_by_access_hash(service, &next.new_access_hash).await.map_err(err)?;
    ensure!(family.is_some_and(|t| t.revoked_at.is_some()), "the family is revoked");

    // Update with a regenerated value.
    let second = &ids[1];
    let changes = TokenChanges {
        new_access_hash: Some(generated(ValueKind::Access, second, 3)),
        ..TokenChanges::default()
    };
    let wrong = store.tokens.update_token(service, &generated(ValueKind::Access, second, 9), &changes).await;
    ensure!(matches!(wrong, Ok(None)), "a wrong secret updates nothing: {wrong:?}");
    let updated = store
        .tokens
        .update_token(service, &generated(ValueKind::Access, second, 1), &changes)
        .await
        .map_err(err)?;
    ensure!(updated.is_some(), "updated through its selector");
    ensure!(
        store
            .tokens
            .token_by_access_hash(service, &generated(ValueKind::Access, second, 3))
            .await
            .map_err(err)?
            .is_some(),
        "found by the new value"
    );

    // Revocation and deletion by hash: the wrong secret reaches nothing.
    let third = &ids[2];
    let wrong = RevokeTarget::AccessHash(generated(ValueKind::Access, third, 9));
    ensure!(
        store.tokens.revoke(service, &wrong, NOW).await.map_err(err)? == 0,
        "a wrong secret revokes nothing"
    );
    let by_access = RevokeTarget::AccessHash(generated(ValueKind::Access, third, 1));
    ensure!(store.tokens.revoke(service, &by_access, NOW).await.map_err(err)? == 1, "revoked by access hash");
    let by_refresh = RevokeTarget::RefreshHash(generated(ValueKind::Refresh, &ids[3], 1));
    ensure!(
        store.tokens.revoke(service, &by_refresh, NOW).await.map_err(err)? == 1,
        "revoked by refresh hash"
    );
    ensure!(
        !store.tokens.delete_token(service, &generated(ValueKind::Access, third, 9)).await.map_err(err)?,
        "a wrong secret deletes nothing"
    );
    ensure!(
        store.tokens.delete_token(service, &generated(ValueKind::Access, third, 1)).await.map_err(err)?,
        "deleted by access hash"
    );
    let left = store.tokens.list_tokens(service, &TokenFilter::default(), 0, 10).await.map_err(err)?.0.total;
    ensure!(left == 3, "one of four deleted: {left}");
    Ok(())
}

pub async fn rotation_replaces_values_and_reuse_revokes_the_family(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    let outcome =
        store.tokens.rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW + 10)).await.map_err(err)?;
    let RefreshOutcome::Rotated(rotated) = outcome else { return Err(format!("{outcome:?}")) };
    ensure!(
        rotated.access_hash == h("access-2") && rotated.created_at == NOW,
        "created_at kept: {rotated:?}"
    );
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.is_none(),
        "old access gone"
    );
    let reuse =
        store.tokens.rotate_refresh(service, &h("refresh-1"), &rotation("3", NOW + 20)).await.map_err(err)?;
    ensure!(reuse == RefreshOutcome::Reused, "reuse detected: {reuse:?}");
    let family =
        store.tokens.token_by_access_hash(service, &h("access-2")).await.map_err(err)?.ok_or("family")?;
    ensure!(family.revoked_at.is_some(), "the family is revoked");
    let after =
        store.tokens.rotate_refresh(service, &h("refresh-2"), &rotation("4", NOW + 30)).await.map_err(err)?;
    ensure!(after == RefreshOutcome::Invalid, "a revoked family does not refresh: {after:?}");
    Ok(())
}

pub async fn revoking_by_signing_key_reaches_both_kinds_in_batches(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    for n in 0..5 {
        let mut t = token(service, &format!("jwt-{n}"));
        t.jwt_kid = Some("leaked".into());
        store.tokens.insert_token(&t).await.map_err(err)?;
        let mut t = token(service, &format!("ct-{n}"));
        t.custom_token_kid = Some("leaked".into());
        store.tokens.insert_token(&t).await.map_err(err)?;
    }
    let mut other = token(service, "other");
    other.jwt_kid = Some("kept".into());
    store.tokens.insert_token(&other).await.map_err(err)?;
    let (other_org, _) = tenant(store).await.map_err(err)?;
    let foreign_service = store.services.create_service(other_org, &new_service(), NOW).await.map_err(err)?;
    let mut foreign = token(foreign_service.id, "foreign");
    foreign.jwt_kid = Some("leaked".into());
    store.tokens.insert_token(&foreign).await.map_err(err)?;
    let mut batches = Vec::new();
    loop {
        let revoked = store.tokens.revoke_signed_by(service, "leaked", NOW + 1, 4).await.map_err(err)?;
        batches.push(revoked);
        if revoked == 0 {
            break;
        }
    }
    ensure!(batches == [4, 4, 2, 0], "batches of at most 4: {batches:?}");
    let kept = store.tokens.token_by_access_hash(service, &h("access-other")).await.map_err(err)?;
    ensure!(kept.is_some_and(|t| t.revoked_at.is_none()), "another key's token lives");
    let foreign = store.tokens.token_by_access_hash(foreign_service.id, &h("access-foreign")).await;
    ensure!(foreign.map_err(err)?.is_some_and(|t| t.revoked_at.is_none()), "scoped by service");
    Ok(())
}

pub async fn token_values_are_unique_per_service_not_across_tenants(store: &Stores) -> Outcome {
    let (_, first) = tenant(store).await.map_err(err)?;
    let (_, second) = tenant(store).await.map_err(err)?;
    let mut mine = token(first, "chosen");
    store.tokens.insert_token(&mine).await.map_err(err)?;
    // The same access and refresh values in another tenant's service: no conflict, no leak.
    let mut theirs = token(second, "chosen");
    theirs.token_id = "id-theirs".into();
    store
        .tokens
        .insert_token(&theirs)
        .await
        .map_err(|e| format!("another tenant may hold the value: {e}"))?;
    let found = store.tokens.token_by_access_hash(second, &h("access-chosen")).await.map_err(err)?;
    ensure!(found.is_some_and(|t| t.token_id == "id-theirs"), "each service finds its own");
    let found = store.tokens.token_by_refresh_hash(first, &h("refresh-chosen")).await.map_err(err)?;
    ensure!(found.is_some_and(|t| t.token_id == "id-chosen"), "each service finds its own refresh value");
    // Within one service a value stays unique.
    mine.token_id = "id-again".into();
    let again = store.tokens.insert_token(&mine).await;
    ensure!(matches!(again, Err(StoreError::Conflict(ConflictKind::TokenValue))), "{again:?}");
    Ok(())
}

/// Inserts made at the same moment (grouped into one statement on PostgreSQL): each one whose
/// value or ID is taken hears so, named, and every other one is stored (#36).
pub async fn concurrent_inserts_answer_each_conflict_and_store_the_rest(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "held")).await.map_err(err)?;
    let mut inserts = tokio::task::JoinSet::new();
    for n in 0..48 {
        let mut record = token(service, &format!("together-{n}"));
        if n % 4 == 0 {
            record.access_hash = h("access-held");
        } else if n == 1 {
            record.token_id = "id-held".into();
        }
        let tokens = store.tokens.clone();
        inserts.spawn(async move { (n, record.access_hash.clone(), tokens.insert_token(&record).await) });
    }
    let mut stored = 0;
    while let Some(joined) = inserts.join_next().await {
        let (n, access_hash, result) = joined.map_err(|e| e.to_string())?;
        match (n % 4 == 0, n == 1, result) {
            (true, _, Err(StoreError::Conflict(ConflictKind::TokenValue))) => {}
            (_, true, Err(StoreError::Conflict(ConflictKind::TokenId))) => {}
            (false, false, Ok(())) => {
                let found = store.tokens.token_by_access_hash(service, &access_hash).await.map_err(err)?;
                ensure!(found.is_some(), "{n} stored");
                stored += 1;
            }
            (_, _, other) => return Err(format!("insert {n}: {other:?}")),
        }
    }
    ensure!(stored == 35, "{stored} stored");
    Ok(())
}

/// A wide revocation goes a bounded batch per write and counts exactly; deleting a service's rows
/// goes a bounded batch per write and leaves other services' rows (#36).
pub async fn wide_revocations_and_service_rows_go_in_bounded_batches(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let (_, other) = tenant(store).await.map_err(err)?;
    for n in 0..25 {
        let mut record = token(service, &format!("wide-{n}"));
        record.subject = Some("everywhere".into());
        store.tokens.insert_token(&record).await.map_err(err)?;
    }
    store.tokens.insert_token(&token(other, "wide-other")).await.map_err(err)?;
    let target = RevokeTarget::Subject("everywhere".into());
    let first = store.tokens.revoke_some(service, &target, NOW, 10).await.map_err(err)?;
    ensure!(first == 10, "at most the batch: {first}");
    let rest = store.tokens.revoke(service, &target, NOW).await.map_err(err)?;
    ensure!(rest == 15, "the rest, each once: {rest}");
    let client_wide = RevokeTarget::ClientSubject { client_id: ClientId(7), subject: None };
    ensure!(store.tokens.revoke_some(service, &client_wide, NOW, 5).await.map_err(err)? == 0, "all revoked");

    let mut batches = 0;
    loop {
        let deleted = store.services.delete_service_rows(service, 10).await.map_err(err)?;
        ensure!(deleted <= 10, "at most the batch: {deleted}");
        if deleted == 0 {
            break;
        }
        batches += 1;
    }
    ensure!(batches >= 3, "25 tokens and their rows in batches of 10: {batches}");
    ensure!(store.services.delete_service(service, NOW).await.map_err(err)?, "then the service");
    let kept = store.tokens.token_by_access_hash(other, &h("access-wide-other")).await.map_err(err)?;
    ensure!(kept.is_some(), "the other service's token stays");
    Ok(())
}

pub async fn a_proof_jti_is_used_once_and_the_janitor_forgets_it_after_expiry(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    ensure!(
        store.single_use.use_proof_jti(service, "proof-1", NOW + 120_000).await.map_err(err)?,
        "first use"
    );
    ensure!(!store.single_use.use_proof_jti(service, "proof-1", NOW + 120_000).await.map_err(err)?, "replay");
    ensure!(store.single_use.use_proof_jti(service, "proof-2", NOW + 500_000).await.map_err(err)?, "another");
    let purged = store.maintenance.purge_expired(NOW + 200_000, 10).await.map_err(err)?;
    ensure!(purged.proof_uses == 1, "only the expired one is removed: {purged:?}");
    ensure!(
        !store.single_use.use_proof_jti(service, "proof-2", NOW).await.map_err(err)?,
        "the live one is kept"
    );
    Ok(())
}

pub async fn rotated_away_values_name_their_family_by_kind(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    store.tokens.rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW + 10)).await.map_err(err)?;
    store.tokens.rotate_refresh(service, &h("refresh-2"), &rotation("3", NOW + 20)).await.map_err(err)?;
    for (value, kind) in [
        ("access-1", ValueKind::Access),
        ("access-2", ValueKind::Access),
        ("refresh-1", ValueKind::Refresh),
        ("refresh-2", ValueKind::Refresh),
    ] {
        let family = store.tokens.token_by_rotated_value(service, &h(value), kind).await.map_err(err)?;
        let family = family.ok_or_else(|| format!("{value} names its family"))?;
        ensure!(family.access_hash == h("access-3"), "{value}: the family as it is now: {family:?}");
    }
    let crossed = store.tokens.token_by_rotated_value(service, &h("access-1"), ValueKind::Refresh).await;
    ensure!(crossed.map_err(err)?.is_none(), "an old access value is not a refresh value");
    let current = store.tokens.token_by_rotated_value(service, &h("access-3"), ValueKind::Access).await;
    ensure!(current.map_err(err)?.is_none(), "the current value was never rotated away");
    let (other_org, _) = tenant(store).await.map_err(err)?;
    let other = store.services.create_service(other_org, &new_service(), NOW).await.map_err(err)?;
    let foreign = store.tokens.token_by_rotated_value(other.id, &h("access-1"), ValueKind::Access).await;
    ensure!(foreign.map_err(err)?.is_none(), "scoped by service");
    // An old access value presented as a refresh token is no reuse: nothing is revoked.
    ensure!(
        !store.tokens.revoke_reused_refresh(service, &h("access-1"), NOW + 30).await.map_err(err)?,
        "an old access value is not a reused refresh token"
    );
    let family = store.tokens.token_by_access_hash(service, &h("access-3")).await.map_err(err)?;
    ensure!(family.is_some_and(|f| f.revoked_at.is_none()), "still live");
    Ok(())
}

pub async fn reuse_alone_is_detected_and_revokes(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    store.tokens.rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW)).await.map_err(err)?;
    ensure!(
        store.tokens.revoke_reused_refresh(service, &h("refresh-1"), NOW).await.map_err(err)?,
        "reuse detected"
    );
    ensure!(
        !store.tokens.revoke_reused_refresh(service, &h("never-issued"), NOW).await.map_err(err)?,
        "unknown is no reuse"
    );
    let family =
        store.tokens.token_by_access_hash(service, &h("access-2")).await.map_err(err)?.ok_or("family")?;
    ensure!(family.revoked_at.is_some(), "revoked");
    Ok(())
}

pub async fn an_expired_refresh_token_does_not_rotate(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    let late = NOW + 86_400_000 + 1;
    let outcome =
        store.tokens.rotate_refresh(service, &h("refresh-1"), &rotation("2", late)).await.map_err(err)?;
    ensure!(outcome == RefreshOutcome::Invalid, "{outcome:?}");
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.is_some(),
        "untouched"
    );
    Ok(())
}

pub async fn refresh_rotation_race_has_one_winner(store: Stores) -> Outcome {
    let (_, service) = tenant(&store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .tokens
                    .rotate_refresh(service, &h("refresh-1"), &rotation(&format!("r{n}"), NOW + 1))
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for racer in racers {
        match racer.await.map_err(|e| e.to_string())?.map_err(err)? {
            RefreshOutcome::Rotated(_) => rotated += 1,
            RefreshOutcome::Reused | RefreshOutcome::Invalid | RefreshOutcome::TooFrequent { .. } => {}
        }
    }
    ensure!(rotated == 1, "exactly one rotation wins: {rotated}");
    Ok(())
}

pub async fn expired_jtis_are_pruned_by_the_janitor_in_bounded_batches(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    for n in 0..5 {
        let redeemed = store
            .single_use
            .redeem_custom_token(&format!("old-{n}"), NOW - 120_000, NOW, &token(service, &format!("o{n}")))
            .await
            .map_err(err)?;
        ensure!(redeemed == Redemption::Redeemed, "old-{n} redeemed");
    }
    // A redemption removes nothing (no write may wait on a prune of unbounded size): the expired
    // records are all still there.
    let mut fresh = token(service, "fresh");
    fresh.created_at = NOW;
    ensure!(
        store.single_use.redeem_custom_token("new", NOW + 300_000, NOW, &fresh).await.map_err(err)?
            == Redemption::Redeemed,
        "new redeemed"
    );
    for n in 0..5 {
        let again = store
            .single_use
            .redeem_custom_token(&format!("old-{n}"), NOW - 120_000, NOW, &token(service, "x"))
            .await
            .map_err(err)?;
        ensure!(again == Redemption::Replayed, "old-{n} is still recorded after a later redemption");
    }
    // The janitor removes them, never more than a batch per pass.
    let first = store.maintenance.purge_expired(NOW, 2).await.map_err(err)?;
    ensure!(first.custom_token_uses == 2, "one bounded batch: {first:?}");
    let mut total = first.custom_token_uses;
    loop {
        let pass = store.maintenance.purge_expired(NOW, 2).await.map_err(err)?;
        ensure!(pass.custom_token_uses <= 2, "bounded: {pass:?}");
        if pass.total() == 0 {
            break;
        }
        total += pass.custom_token_uses;
    }
    ensure!(total == 5, "every expired jti, batch by batch: {total}");
    let again = store.single_use.redeem_custom_token("new", NOW + 300_000, NOW, &token(service, "3")).await;
    ensure!(again.map_err(err)? == Redemption::Replayed, "an unexpired jti stays single use");
    Ok(())
}

pub async fn service_settings_round_trip(store: &Stores) -> Outcome {
    let org = store.organizations.create_organization("o", NOW).await.map_err(err)?;
    let mut spec = new_service();
    spec.access_token_sign_alg = Some(SignAlg::Es256);
    spec.supported_grant_types = vec![GrantType::Password, GrantType::RefreshToken];
    let created = store.services.create_service(org.id, &spec, NOW).await.map_err(err)?;
    let found = store.services.service(created.id).await.map_err(err)?.ok_or("service")?;
    ensure!(found == created, "as created: {found:?}");
    ensure!(found.access_token_sign_alg == Some(SignAlg::Es256), "sign alg kept");
    ensure!(found.supported_grant_types == spec.supported_grant_types, "grant types kept");
    ensure!((found.custom_token_access_ttl, found.custom_token_refresh_ttl) == (3600, 7200), "TTLs kept");
    Ok(())
}

pub async fn service_settings_are_replaced(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    let mut changed = new_service();
    changed.name = "renamed".into();
    changed.issuer = "https://changed.example".into();
    changed.supported_scopes = vec!["only".into()];
    changed.supported_grant_types = vec![GrantType::ClientCredentials];
    changed.access_token_duration = 60;
    changed.refresh_token_duration = 120;
    changed.access_token_sign_alg = Some(SignAlg::Rs256);
    changed.custom_token_access_ttl = 30;
    changed.custom_token_refresh_ttl = 90;
    ensure!(store.services.update_service(a, &changed).await.map_err(err)?, "updated");
    let found = store.services.service(a).await.map_err(err)?.ok_or("service")?;
    ensure!(found.settings == changed, "every setting replaced: {found:?}");
    let other = store.services.service(b).await.map_err(err)?.ok_or("other service")?;
    ensure!(other.settings == new_service(), "another service untouched: {other:?}");
    ensure!(
        !store.services.update_service(ServiceId(987_654_321), &changed).await.map_err(err)?,
        "unknown service"
    );
    Ok(())
}

pub async fn deleting_a_client_revokes_its_tokens_and_only_its_own(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(a, 7, Some("seven"))).await.map_err(err)?;
    store.clients.create_client(&client(a, 8, None)).await.map_err(err)?;
    store.tokens.insert_token(&token(a, "mine")).await.map_err(err)?;
    let mut sibling = token(a, "sibling");
    sibling.client_id = ClientId(8);
    store.tokens.insert_token(&sibling).await.map_err(err)?;
    store.tokens.insert_token(&token(b, "elsewhere")).await.map_err(err)?;

    ensure!(!store.clients.delete_client(b, ClientId(7), NOW).await.map_err(err)?, "not b's client");
    ensure!(store.clients.client(a, ClientId(7)).await.map_err(err)?.is_some(), "kept after b's attempt");
    ensure!(store.clients.delete_client(a, ClientId(7), NOW + 5).await.map_err(err)?, "deleted");
    ensure!(store.clients.client(a, ClientId(7)).await.map_err(err)?.is_none(), "gone");
    ensure!(store.clients.client_by_identifier(a, "seven").await.map_err(err)?.is_none(), "alias gone");
    let mine = store.tokens.token_by_access_hash(a, &h("access-mine")).await.map_err(err)?.ok_or("mine")?;
    ensure!(mine.revoked_at == Some(NOW + 5), "its token is revoked: {mine:?}");
    let sibling =
        store.tokens.token_by_access_hash(a, &h("access-sibling")).await.map_err(err)?.ok_or("sibling")?;
    ensure!(sibling.revoked_at.is_none(), "another client's token untouched");
    let elsewhere =
        store.tokens.token_by_access_hash(b, &h("access-elsewhere")).await.map_err(err)?.ok_or("b")?;
    ensure!(elsewhere.revoked_at.is_none(), "another service's token untouched");
    ensure!(!store.clients.delete_client(a, ClientId(7), NOW).await.map_err(err)?, "deleted once");
    Ok(())
}

pub async fn every_token_column_round_trips(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let mut t = token(service, "full");
    t.certificate_thumbprint = Some("x5t".into());
    t.dpop_key_thumbprint = Some("jkt".into());
    t.token_type = "DPoP".into();
    t.authorization_details = Some(json!([{"type": "payment", "amount": 5}]));
    t.resources = vec!["https://rs.example".into()];
    t.acr = Some("loa2".into());
    t.auth_time = Some(1_700_000_000);
    t.session_id = Some("sid".into());
    t.client_identifier = Some("web".into());
    t.for_external_attachment = Some(true);
    t.jwt_kid = Some("kid".into());
    t.custom_token_kid = Some("custom-kid".into());
    t.extra = TokenExtra {
        identity: Some("admin".into()),
        claims: json!({"a": 1}).as_object().cloned(),
        access_token_ttl: Some(60),
        refresh_token_ttl: None,
        jwt_at_claims: json!({"role": "x"}).as_object().cloned(),
    };
    t.properties = vec![Property { key: "hidden".into(), value: "h".into(), hidden: true }];
    store.tokens.insert_token(&t).await.map_err(err)?;
    let found = store.tokens.token_by_access_hash(service, &h("access-full")).await.map_err(err)?;
    ensure!(found.as_ref() == Some(&t), "every column kept: {found:?}");
    Ok(())
}

pub async fn hash_kinds_never_cross(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    let wrong =
        store.tokens.revoke(service, &RevokeTarget::RefreshHash(h("access-1")), NOW).await.map_err(err)?;
    ensure!(wrong == 0, "a refresh target does not match an access hash");
    ensure!(
        !store.tokens.delete_token(service, &h("refresh-1")).await.map_err(err)?,
        "delete takes access hashes only"
    );
    let changes = TokenChanges { scopes: Some(vec![]), ..TokenChanges::default() };
    ensure!(
        store.tokens.update_token(service, &h("refresh-1"), &changes).await.map_err(err)?.is_none(),
        "update likewise"
    );
    Ok(())
}

pub async fn rotation_keeps_the_rest_of_the_token(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let original = token(service, "1");
    store.tokens.insert_token(&original).await.map_err(err)?;
    store.tokens.rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW + 50)).await.map_err(err)?;
    let stored =
        store.tokens.token_by_access_hash(service, &h("access-2")).await.map_err(err)?.ok_or("rotated")?;
    ensure!(stored.token_id == original.token_id && stored.subject == original.subject, "identity kept");
    ensure!(stored.scopes == original.scopes && stored.properties == original.properties, "grants kept");
    ensure!(stored.last_refreshed_at == NOW + 50, "last refresh recorded: {}", stored.last_refreshed_at);
    ensure!(stored.refresh_hash == Some(h("refresh-2")), "new refresh value");
    Ok(())
}

pub async fn a_revoked_token_does_not_refresh(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1")).await.map_err(err)?;
    store.tokens.revoke(service, &RevokeTarget::AccessHash(h("access-1")), NOW).await.map_err(err)?;
    let outcome =
        store.tokens.rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW + 1)).await.map_err(err)?;
    ensure!(outcome == RefreshOutcome::Invalid, "{outcome:?}");
    Ok(())
}

pub async fn update_removes_a_binding(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let mut t = token(service, "1");
    t.certificate_thumbprint = Some("x5t".into());
    store.tokens.insert_token(&t).await.map_err(err)?;
    let changes = TokenChanges { certificate_thumbprint: Some(None), ..TokenChanges::default() };
    let updated =
        store.tokens.update_token(service, &h("access-1"), &changes).await.map_err(err)?.ok_or("token")?;
    ensure!(updated.certificate_thumbprint.is_none(), "binding removed");
    let stored =
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.ok_or("token")?;
    ensure!(stored.certificate_thumbprint.is_none(), "and stored so");
    Ok(())
}

pub async fn a_persistent_token_keeps_its_key_published(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let old = key(service, NOW);
    store.keys.add_signing_key(&old, GRACE).await.map_err(err)?;
    let mut persistent = token(service, "p");
    persistent.access_expires_at = 0;
    persistent.jwt_kid = Some(old.kid.clone());
    store.tokens.insert_token(&persistent).await.map_err(err)?;
    ensure!(persistent.is_active(i64::MAX), "a persistent token never expires");
    store.keys.add_signing_key(&key(service, NOW + 1), GRACE).await.map_err(err)?;
    let far = store.keys.published_signing_keys(service, NOW + 100 * 365 * 86_400_000).await.map_err(err)?;
    ensure!(far.iter().any(|k| k.kid == old.kid), "published for as long as the token lives");
    Ok(())
}

pub async fn credentials_are_listed_in_issue_order(store: &Stores) -> Outcome {
    let (org, service) = tenant(store).await.map_err(err)?;
    let a = store
        .credentials
        .create_credential(Principal::Service(service), &h("ha"), "first", NOW, None)
        .await
        .map_err(err)?;
    let b = store
        .credentials
        .create_credential(Principal::Organization(org), &h("hb"), "second", NOW, None)
        .await
        .map_err(err)?;
    let listed = store.credentials.list_credentials().await.map_err(err)?;
    ensure!(listed == vec![a, b], "{listed:?}");
    Ok(())
}

fn first_start_of(n: u32) -> FirstStart {
    let (org, service) = FirstStart::new_ids();
    FirstStart {
        organization: OrganizationRecord { id: org, name: format!("first-{n}"), created_at: NOW },
        service: ServiceRecord { id: service, organization_id: org, settings: new_service() },
        key: key(service, NOW),
        client: client(service, 7, Some("default-client")),
        service_credential: (h(&format!("sat-{n}")), "service".into()),
        organization_credential: (h(&format!("ort-{n}")), "organization".into()),
    }
}

pub async fn the_first_start_is_all_or_nothing_and_made_once(store: &Stores) -> Outcome {
    // A hand-out that fails (the credentials file cannot be written): nothing is stored, the
    // first start is not claimed.
    let failing: HandOut = Arc::new(|_| Err(std::io::Error::other("disk full")));
    let first = first_start_of(1);
    let failed = store.organizations.first_start(&first, NOW, failing).await;
    ensure!(failed.is_err(), "the hand-out's error is the answer: {failed:?}");
    ensure!(store.organizations.is_empty().await.map_err(err)?, "nothing stored");
    ensure!(store.credentials.list_credentials().await.map_err(err)?.is_empty(), "no credential");
    // Then a first start that hands out: everything, the hand-out seeing the stored credentials.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    let hand_out: HandOut = Arc::new(move |c: &FirstStartCredentials| {
        recorder.lock().unwrap_or_else(|p| p.into_inner()).push((c.service.id, c.organization.id));
        Ok(())
    });
    let first = first_start_of(2);
    let made = store.organizations.first_start(&first, NOW, Arc::clone(&hand_out)).await.map_err(err)?;
    let made = made.ok_or("the first start is made")?;
    ensure!(
        *seen.lock().unwrap_or_else(|p| p.into_inner()) == [(made.service.id, made.organization.id)],
        "handed out once"
    );
    let service = store.services.service(first.service.id).await.map_err(err)?.ok_or("the service")?;
    ensure!(service.organization_id == first.organization.id, "{service:?}");
    let key = store.keys.current_signing_key(first.service.id).await.map_err(err)?;
    ensure!(key.is_some_and(|k| k.kid == first.key.kid), "its key");
    let client = store.clients.client(first.service.id, first.client.client_id).await.map_err(err)?;
    ensure!(client.is_some(), "its client");
    for (hash, principal) in [
        (&first.service_credential.0, Principal::Service(first.service.id)),
        (&first.organization_credential.0, Principal::Organization(first.organization.id)),
    ] {
        let (found, _) = store.credentials.credential_and_service(hash, None).await.map_err(err)?;
        ensure!(found.is_some_and(|c| c.record.principal == principal), "credential of {principal:?}");
    }
    // Never a second first start.
    let again = store.organizations.first_start(&first_start_of(3), NOW + 1, hand_out).await.map_err(err)?;
    ensure!(again.is_none(), "made once: {again:?}");
    ensure!(seen.lock().unwrap_or_else(|p| p.into_inner()).len() == 1, "and not handed out again");
    ensure!(store.organizations.list_organizations().await.map_err(err)?.len() == 1, "one organization");
    Ok(())
}

pub async fn the_janitor_removes_only_what_has_ended(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let mut expired = token(service, "expired");
    expired.access_expires_at = NOW - 10;
    expired.refresh_expires_at = Some(NOW - 5);
    let mut revoked = token(service, "revoked");
    revoked.revoked_at = Some(NOW - 1);
    let mut refreshable = token(service, "refreshable");
    refreshable.access_expires_at = NOW - 10;
    let mut persistent = token(service, "persistent");
    persistent.access_expires_at = 0;
    persistent.refresh_hash = None;
    persistent.refresh_expires_at = None;
    let live = token(service, "live");
    for t in [&expired, &revoked, &refreshable, &persistent, &live] {
        store.tokens.insert_token(t).await.map_err(err)?;
    }
    store
        .single_use
        .redeem_custom_token("old-jti", NOW - 100, NOW, &token(service, "from-old-jti"))
        .await
        .map_err(err)?;
    let purged = store.maintenance.purge_expired(NOW, 100).await.map_err(err)?;
    ensure!(purged.tokens == 2 && purged.custom_token_uses == 1, "{purged:?}");
    for (n, kept) in
        [("expired", false), ("revoked", false), ("refreshable", true), ("persistent", true), ("live", true)]
    {
        let found =
            store.tokens.token_by_access_hash(service, &h(&format!("access-{n}"))).await.map_err(err)?;
        ensure!(found.is_some() == kept, "{n}: kept {}", found.is_some());
    }
    ensure!(
        store.maintenance.purge_expired(NOW, 100).await.map_err(err)?.total() == 0,
        "a second pass finds nothing"
    );
    Ok(())
}

pub async fn the_janitor_works_in_batches_and_forgets_rotations_of_gone_tokens(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    for n in 0..5 {
        let mut t = token(service, &format!("e{n}"));
        t.access_expires_at = NOW - 10;
        t.refresh_expires_at = Some(NOW - 10);
        store.tokens.insert_token(&t).await.map_err(err)?;
    }
    let mut ended = rotation("e0b", NOW - 20);
    (ended.access_expires_at, ended.refresh_expires_at) = (NOW - 5, NOW - 5);
    store.tokens.rotate_refresh(service, &h("refresh-e0"), &ended).await.map_err(err)?;
    let first = store.maintenance.purge_expired(NOW, 2).await.map_err(err)?;
    ensure!(first.tokens == 2, "at most one batch: {first:?}");
    let mut total = first.tokens;
    loop {
        let pass = store.maintenance.purge_expired(NOW, 2).await.map_err(err)?;
        if pass.total() == 0 {
            break;
        }
        total += pass.tokens;
    }
    ensure!(total == 5, "every expired token, batch by batch: {total}");
    let reuse = store.tokens.revoke_reused_refresh(service, &h("refresh-e0"), NOW).await.map_err(err)?;
    ensure!(!reuse, "the rotation record of a purged token is gone");
    Ok(())
}

pub async fn deleting_a_token_forgets_its_rotations_and_the_janitor_spares_live_ones(
    store: &Stores,
) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "d0")).await.map_err(err)?;
    store.tokens.rotate_refresh(service, &h("refresh-d0"), &rotation("d0b", NOW)).await.map_err(err)?;
    ensure!(
        store.tokens.delete_token(service, &h("access-d0b")).await.map_err(err)?,
        "the rotated token is deleted"
    );
    let reuse = store.tokens.revoke_reused_refresh(service, &h("refresh-d0"), NOW).await.map_err(err)?;
    ensure!(!reuse, "the rotation record of a deleted token is gone with it");
    // Live (1 h / 1 day) and persistent tokens, and one ended after the cut-off, stay.
    store.tokens.insert_token(&token(service, "live")).await.map_err(err)?;
    let mut persistent = token(service, "forever");
    (persistent.access_expires_at, persistent.refresh_expires_at) = (0, None);
    store.tokens.insert_token(&persistent).await.map_err(err)?;
    let mut recent = token(service, "recent");
    (recent.access_expires_at, recent.refresh_expires_at) = (NOW - 10, Some(NOW + 10));
    store.tokens.insert_token(&recent).await.map_err(err)?;
    ensure!(
        store.maintenance.purge_expired(NOW, 100).await.map_err(err)?.tokens == 0,
        "nothing has ended before NOW"
    );
    for n in ["live", "forever", "recent"] {
        ensure!(
            store
                .tokens
                .token_by_access_hash(service, &h(&format!("access-{n}")))
                .await
                .map_err(err)?
                .is_some(),
            "{n} kept"
        );
    }
    Ok(())
}

pub async fn ping_answers(store: &Stores) -> Outcome {
    store.maintenance.ping().await.map_err(err)
}

pub async fn concurrent_inserts_conflict_alone(store: Stores) -> Outcome {
    let (_, service) = tenant(&store).await.map_err(err)?;
    let writers: Vec<_> = (0..32)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                // Every odd writer reuses the access value of the writer before it.
                let mut t = token(service, &n.to_string());
                t.access_hash = h(&format!("access-{}", n - n % 2));
                t.refresh_hash = None;
                store.tokens.insert_token(&t).await
            })
        })
        .collect();
    let mut conflicts = 0;
    for writer in writers {
        match writer.await.map_err(|e| e.to_string())? {
            Ok(()) => {}
            Err(StoreError::Conflict(ConflictKind::TokenValue)) => conflicts += 1,
            Err(e) => return Err(format!("unexpected: {e}")),
        }
    }
    ensure!(conflicts == 16, "each duplicate fails alone: {conflicts}");
    let total =
        store.tokens.list_tokens(service, &TokenFilter::default(), 0, 100).await.map_err(err)?.0.total;
    ensure!(total == 16, "the rest are stored and visible at once: {total}");
    Ok(())
}

/// Expands to one `#[tokio::test]` per conformance case — every case of this module, listed here
/// once — each on a fresh store from `$open` (an async expression yielding
/// `Some((Stores, guard))`, the guard living as long as the test, or `None` when the
/// backend is not reachable here and the case is skipped). A backend cannot leave a case out.
#[macro_export]
macro_rules! conformance_suite {
    ($open:expr) => {
        $crate::conformance_suite!(@cases $open;
            organizations_round_trip,
            services_round_trip_and_filter,
            clients_by_id_alias_and_number,
            client_conflicts_name_what_conflicted,
            clients_are_scoped_by_service,
            chosen_identifiers_are_unique_per_service,
            clients_are_updated,
            status_indexes_are_reserved_without_overlap_and_lists_fill_up,
            every_end_of_a_listed_token_sets_its_bit,
            full_lists_whose_tokens_all_ended_are_retired_by_the_janitor,
            a_list_naming_a_persistent_jwt_is_never_retired,
            clients_of_a_subject_are_those_with_live_tokens,
            deleting_a_service_takes_what_it_has_and_nothing_else,
            credentials_by_hash_with_state,
            credential_hash_conflict,
            credential_and_service_in_one_call,
            credential_revocation_and_last_use,
            a_new_key_becomes_current_and_round_trips,
            rotation_retires_and_keeps_publishing_for_the_grace,
            a_retired_key_stays_published_while_its_tokens_live,
            retired_keys_leave_the_set_after_many_rotations,
            revoked_keys_are_neither_published_nor_verifying,
            verification_keys_are_current_and_recently_retired,
            keys_are_scoped_by_service,
            tokens_by_access_and_refresh_hash,
            token_conflicts_name_what_conflicted_and_write_nothing,
            tokens_are_scoped_by_service,
            list_filters_by_client_and_subject,
            list_pages_newest_first_with_the_total,
            list_continues_by_key_after_a_token,
            update_applies_changes_atomically,
            update_never_undoes_a_revocation,
            update_to_a_taken_value_conflicts,
            delete_removes_one_token,
            revoke_by_each_target,
            revoking_a_subject_reaches_every_client_and_no_other_subject,
            a_custom_token_is_redeemed_once,
            a_subject_cutoff_refuses_custom_tokens_generated_before_it,
            no_token_is_stored_or_rotated_with_a_revoked_key,
            a_family_keeps_its_last_rotations_and_a_bounded_rate,
            rotation_replaces_values_and_reuse_revokes_the_family,
            generated_values_are_found_by_their_selector_and_whole_hash,
            generated_values_rotate_update_revoke_and_delete,
            rotated_away_values_name_their_family_by_kind,
            a_proof_jti_is_used_once_and_the_janitor_forgets_it_after_expiry,
            concurrent_inserts_answer_each_conflict_and_store_the_rest,
            wide_revocations_and_service_rows_go_in_bounded_batches,
            token_values_are_unique_per_service_not_across_tenants,
            revoking_by_signing_key_reaches_both_kinds_in_batches,
            reuse_alone_is_detected_and_revokes,
            an_expired_refresh_token_does_not_rotate,
            expired_jtis_are_pruned_by_the_janitor_in_bounded_batches,
            service_settings_round_trip,
            service_settings_are_replaced,
            deleting_a_client_revokes_its_tokens_and_only_its_own,
            every_token_column_round_trips,
            hash_kinds_never_cross,
            rotation_keeps_the_rest_of_the_token,
            a_revoked_token_does_not_refresh,
            update_removes_a_binding,
            a_persistent_token_keeps_its_key_published,
            credentials_are_listed_in_issue_order,
            ping_answers,
            the_first_start_is_all_or_nothing_and_made_once,
            the_janitor_removes_only_what_has_ended,
            the_janitor_works_in_batches_and_forgets_rotations_of_gone_tokens,
            deleting_a_token_forgets_its_rotations_and_the_janitor_spares_live_ones;
            races: custom_token_redemption_race_has_one_winner, refresh_rotation_race_has_one_winner,
                concurrent_inserts_conflict_alone, status_index_reservations_race_without_overlap,
                a_cutoff_racing_a_redemption_leaves_no_live_token);
    };
    (@cases $open:expr; $($case:ident),* $(,)?; races: $($race:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $open.await else { return };
                if let Err(problem) = $crate::store::conformance::$case(&store).await {
                    panic!("{}: {problem}", stringify!($case));
                }
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $race() {
                let Some((store, _guard)) = $open.await else { return };
                if let Err(problem) = $crate::store::conformance::$race(store).await {
                    panic!("{}: {problem}", stringify!($race));
                }
            }
        )*
    };
}
