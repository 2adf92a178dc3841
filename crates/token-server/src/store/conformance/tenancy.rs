//! Organizations, services, clients and the first start.

use super::*;

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
    let (_, service) = bare_tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(service, 11, Some("web")), &audit()).await.map_err(err)?;
    ensure!(store.clients.client(service, ClientId(11)).await.map_err(err)?.is_some(), "by ID");
    ensure!(store.clients.client_by_identifier(service, "web").await.map_err(err)?.is_some(), "by alias");
    ensure!(store.clients.client_by_identifier(service, "11").await.map_err(err)?.is_some(), "by number");
    ensure!(store.clients.client_by_identifier(service, "nope").await.map_err(err)?.is_none(), "unknown");
    ensure!(store.clients.list_clients(service).await.map_err(err)?.len() == 1, "listed");
    Ok(())
}

pub async fn client_conflicts_name_what_conflicted(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(service, 21, Some("web")), &audit()).await.map_err(err)?;
    let alias = store.clients.create_client(&client(service, 22, Some("web")), &audit()).await;
    ensure!(matches!(alias, Err(StoreError::Conflict(ConflictKind::ClientAlias))), "{alias:?}");
    let id = store.clients.create_client(&client(service, 21, None), &audit()).await;
    ensure!(matches!(id, Err(StoreError::Conflict(ConflictKind::ClientId))), "{id:?}");
    Ok(())
}

/// Identifiers a tenant chooses are unique per service (#36): the same client ID and DPoP proof
/// `jti` in two organizations' services are two rows, and removing one leaves the other.
pub async fn chosen_identifiers_are_unique_per_service(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(a, 61, Some("web")), &audit()).await.map_err(err)?;
    store.clients.create_client(&client(b, 61, Some("web")), &audit()).await.map_err(err)?;
    let again = store.clients.create_client(&client(b, 61, None), &audit()).await;
    ensure!(
        matches!(again, Err(StoreError::Conflict(ConflictKind::ClientId))),
        "within a service: {again:?}"
    );
    ensure!(store.clients.delete_client(a, ClientId(61), NOW, &audit()).await.map_err(err)?, "deleted in a");
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
    store.maintenance.purge_expired(NOW, 100, &audit()).await.map_err(err)?;
    ensure!(
        !store.single_use.use_proof_jti(b, "purged", NOW + 100_000).await.map_err(err)?,
        "b's proof is kept"
    );
    Ok(())
}

pub async fn clients_are_scoped_by_service(store: &Stores) -> Outcome {
    let (_, a) = bare_tenant(store).await.map_err(err)?;
    let (_, b) = bare_tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(a, 31, Some("web")), &audit()).await.map_err(err)?;
    ensure!(store.clients.client(b, ClientId(31)).await.map_err(err)?.is_none(), "by ID across services");
    ensure!(
        store.clients.client_by_identifier(b, "web").await.map_err(err)?.is_none(),
        "by alias across services"
    );
    ensure!(store.clients.list_clients(b).await.map_err(err)?.is_empty(), "listing across services");
    ensure!(
        !store.clients.update_client(&client(b, 31, None), &audit()).await.map_err(err)?,
        "update across services"
    );
    Ok(())
}

pub async fn clients_are_updated(store: &Stores) -> Outcome {
    let (_, service) = bare_tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(service, 41, Some("old")), &audit()).await.map_err(err)?;
    store.clients.create_client(&client(service, 43, Some("taken")), &audit()).await.map_err(err)?;
    let changed = ClientRecord {
        name: "renamed".into(),
        alias: Some("new".into()),
        entity_id: Some("https://rp.example".into()),
        grant_types: vec![GrantType::ClientCredentials],
        ..client(service, 41, None)
    };
    ensure!(store.clients.update_client(&changed, &audit()).await.map_err(err)?, "updated");
    let found = store.clients.client(service, ClientId(41)).await.map_err(err)?.ok_or("client")?;
    ensure!(found == changed, "{found:?}");
    ensure!(
        store.clients.client_by_identifier(service, "old").await.map_err(err)?.is_none(),
        "old alias freed"
    );
    let unaliased = ClientRecord { alias: None, ..changed.clone() };
    ensure!(store.clients.update_client(&unaliased, &audit()).await.map_err(err)?, "alias removed");
    let taken =
        store.clients.update_client(&ClientRecord { alias: Some("taken".into()), ..changed }, &audit()).await;
    ensure!(matches!(taken, Err(StoreError::Conflict(ConflictKind::ClientAlias))), "{taken:?}");
    let found = store.clients.client(service, ClientId(41)).await.map_err(err)?.ok_or("client")?;
    ensure!(found == unaliased, "a refused update changes nothing: {found:?}");
    ensure!(
        !store.clients.update_client(&client(service, 42, None), &audit()).await.map_err(err)?,
        "unknown"
    );
    store.clients.create_client(&client(service, 5, None), &audit()).await.map_err(err)?;
    let ids: Vec<i64> =
        store.clients.list_clients(service).await.map_err(err)?.iter().map(|c| c.client_id.get()).collect();
    ensure!(ids == vec![5, 41, 43], "listed by ID: {ids:?}");
    Ok(())
}

pub async fn clients_of_a_subject_are_those_with_live_tokens(store: &Stores) -> Outcome {
    let (_, a) = bare_tenant(store).await.map_err(err)?;
    let (_, b) = bare_tenant(store).await.map_err(err)?;
    for id in [7, 8, 9, 10] {
        store.clients.create_client(&client(a, id, None), &audit()).await.map_err(err)?;
    }
    store.clients.create_client(&client(b, 11, None), &audit()).await.map_err(err)?;
    let of = |service, n: &str, client_id: i64, subject: &str| TokenRecord {
        client_id: ClientId(client_id),
        subject: Some(subject.to_owned()),
        ..token(service, n)
    };
    store.tokens.insert_token(&of(a, "live", 7, "alice"), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&of(a, "live-too", 7, "alice"), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&of(a, "revoked", 8, "alice"), &audit()).await.map_err(err)?;
    store
        .tokens
        .revoke(a, &RevokeTarget::AccessHash(h("access-revoked")), NOW, &audit())
        .await
        .map_err(err)?;
    let expired = TokenRecord {
        access_expires_at: NOW + 10,
        refresh_expires_at: Some(NOW + 20),
        ..of(a, "expired", 9, "alice")
    };
    store.tokens.insert_token(&expired, &audit()).await.map_err(err)?;
    // A refresh token still live keeps the grant alive after its access token expired.
    let refreshable = TokenRecord { access_expires_at: NOW + 10, ..of(a, "refreshable", 10, "alice") };
    store.tokens.insert_token(&refreshable, &audit()).await.map_err(err)?;
    store.tokens.insert_token(&of(a, "bob", 9, "bob"), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&of(b, "elsewhere", 11, "alice"), &audit()).await.map_err(err)?;
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
    let b = store.services.create_service(org, &new_service(), NOW, &audit()).await.map_err(err)?.id;
    store.clients.create_client(&client(b, 7, None), &audit()).await.map_err(err)?;
    for service in [a, b] {
        store
            .clients
            .create_client(&client(service, 100 + service.get() as i64 % 1000, None), &audit())
            .await
            .map_err(err)?;
        store.keys.add_signing_key(&key(service, NOW), 0, &audit()).await.map_err(err)?;
        store.tokens.insert_token(&token(service, &format!("t-{service}")), &audit()).await.map_err(err)?;
        store
            .single_use
            .redeem_custom_token(
                &format!("jti-{service}"),
                NOW + 1000,
                NOW,
                &token(service, &format!("c-{service}")),
                &audit(),
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
                &audit(),
            )
            .await
            .map_err(err)?;
    }
    let sat_a = store
        .credentials
        .create_credential(Principal::Service(a), &h("sat-a"), "a", NOW, None, &audit())
        .await
        .map_err(err)?;
    let sat_b = store
        .credentials
        .create_credential(Principal::Service(b), &h("sat-b"), "b", NOW, None, &audit())
        .await
        .map_err(err)?;
    let org_token = store
        .credentials
        .create_credential(Principal::Organization(org), &h("ort"), "o", NOW, None, &audit())
        .await
        .map_err(err)?;

    ensure!(store.services.delete_service(a, NOW + 5, &audit()).await.map_err(err)?, "deleted");
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
    ensure!(store.clients.list_clients(b).await.map_err(err)?.len() == 2, "with its clients");
    ensure!(store.keys.all_signing_keys(b).await.map_err(err)?.len() == 1, "and its key");
    let (ListingVersion { total, .. }, _) =
        store.tokens.list_tokens(b, &TokenFilter::default(), 0, 10).await.map_err(err)?;
    ensure!(total == 2, "and its tokens: {total}");
    ensure!(
        !store.single_use.use_proof_jti(b, &format!("proof-{b}"), NOW + 1000).await.map_err(err)?,
        "and its single-use records"
    );
    ensure!(!store.services.delete_service(a, NOW, &audit()).await.map_err(err)?, "deleted once");
    Ok(())
}

pub async fn service_settings_round_trip(store: &Stores) -> Outcome {
    let org = store.organizations.create_organization("o", NOW).await.map_err(err)?;
    let mut spec = new_service();
    spec.access_token_sign_alg = Some(SignAlg::Es256);
    spec.supported_grant_types = vec![GrantType::Password, GrantType::RefreshToken];
    let created = store.services.create_service(org.id, &spec, NOW, &audit()).await.map_err(err)?;
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
    ensure!(store.services.update_service(a, &changed, &audit()).await.map_err(err)?, "updated");
    let found = store.services.service(a).await.map_err(err)?.ok_or("service")?;
    ensure!(found.settings == changed, "every setting replaced: {found:?}");
    let other = store.services.service(b).await.map_err(err)?.ok_or("other service")?;
    ensure!(other.settings == new_service(), "another service untouched: {other:?}");
    ensure!(
        !store.services.update_service(ServiceId(987_654_321), &changed, &audit()).await.map_err(err)?,
        "unknown service"
    );
    Ok(())
}

pub async fn deleting_a_client_revokes_its_tokens_and_only_its_own(store: &Stores) -> Outcome {
    let (_, a) = bare_tenant(store).await.map_err(err)?;
    let (_, b) = bare_tenant(store).await.map_err(err)?;
    store.clients.create_client(&client(a, 7, Some("seven")), &audit()).await.map_err(err)?;
    store.clients.create_client(&client(a, 8, None), &audit()).await.map_err(err)?;
    store.clients.create_client(&client(b, 9, None), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&token(a, "mine"), &audit()).await.map_err(err)?;
    let mut sibling = token(a, "sibling");
    sibling.client_id = ClientId(8);
    store.tokens.insert_token(&sibling, &audit()).await.map_err(err)?;
    let mut elsewhere = token(b, "elsewhere");
    elsewhere.client_id = ClientId(9);
    store.tokens.insert_token(&elsewhere, &audit()).await.map_err(err)?;

    ensure!(
        !store.clients.delete_client(b, ClientId(7), NOW, &audit()).await.map_err(err)?,
        "not b's client"
    );
    ensure!(store.clients.client(a, ClientId(7)).await.map_err(err)?.is_some(), "kept after b's attempt");
    ensure!(store.clients.delete_client(a, ClientId(7), NOW + 5, &audit()).await.map_err(err)?, "deleted");
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
    ensure!(!store.clients.delete_client(a, ClientId(7), NOW, &audit()).await.map_err(err)?, "deleted once");
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

pub async fn no_token_is_stored_for_a_deleted_client(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    ensure!(store.clients.delete_client(service, ClientId(7), NOW, &audit()).await.map_err(err)?, "deleted");
    // Client 7 was read before it was deleted (as a cached read may be): the insert must refuse it.
    let late = token(service, "late");
    let stored = store.tokens.insert_token(&late, &audit()).await;
    ensure!(matches!(stored, Err(StoreError::ClientGone)), "late: {stored:?}");
    let found = store.tokens.token_by_access_hash(service, &late.access_hash).await.map_err(err)?;
    ensure!(found.is_none(), "the late token is not stored");
    let mut other = token(service, "other");
    other.client_id = ClientId(8);
    store.tokens.insert_token(&other, &audit()).await.map_err(err)?;
    // Tokens from custom tokens belong to the service's pseudo-client 0, which has no row.
    let mut session = token(service, "session");
    session.client_id = ClientId(0);
    store.tokens.insert_token(&session, &audit()).await.map_err(err)?;
    // Gone and signed by a revoked key: the client is what the caller hears of.
    let revoked = key(service, NOW);
    store.keys.add_signing_key(&revoked, 0, &audit()).await.map_err(err)?;
    store.keys.revoke_signing_key(service, &revoked.kid, NOW + 1, &audit()).await.map_err(err)?;
    let mut both = token(service, "both");
    both.jwt_kid = Some(revoked.kid.clone());
    let stored = store.tokens.insert_token(&both, &audit()).await;
    ensure!(matches!(stored, Err(StoreError::ClientGone)), "both: {stored:?}");
    Ok(())
}

/// Inserts racing the deletion of their client (as creates that read the client before it was
/// deleted, on other connections or instances): every token stored is revoked once the delete has
/// answered, and every insert after it is refused.
pub async fn a_client_deleted_while_its_tokens_are_stored_leaves_none_live(store: Stores) -> Outcome {
    let (_, service) = tenant(&store).await.map_err(err)?;
    let inserts: Vec<_> = (0..48)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store.tokens.insert_token(&token(service, &format!("r{n}")), &audit()).await
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let deleted = store.clients.delete_client(service, ClientId(7), NOW + 1, &audit()).await.map_err(err)?;
    ensure!(deleted, "deleted");
    let mut refused = 0;
    for insert in inserts {
        match insert.await.map_err(|e| e.to_string())? {
            Ok(()) => {}
            Err(StoreError::ClientGone) => refused += 1,
            Err(e) => return Err(format!("unexpected: {e}")),
        }
    }
    let filter = TokenFilter { client_id: Some(ClientId(7)), subject: None };
    let (_, stored) = store.tokens.list_tokens(service, &filter, 0, 100).await.map_err(err)?;
    ensure!(stored.len() + refused == 48, "each insert stored or refused: {} + {refused}", stored.len());
    let live: Vec<_> = stored.iter().filter(|t| t.revoked_at.is_none()).map(|t| &t.token_id).collect();
    ensure!(live.is_empty(), "no token of the deleted client is live: {live:?}");
    let after = store.tokens.insert_token(&token(service, "after"), &audit()).await;
    ensure!(matches!(after, Err(StoreError::ClientGone)), "after: {after:?}");
    Ok(())
}

/// A service deleted while inserts for its clients and another service's are grouped (PostgreSQL
/// locks each token's client row): no deadlock, and the other service's tokens are all stored.
pub async fn a_service_deleted_during_mixed_inserts_costs_the_others_nothing(store: Stores) -> Outcome {
    let (org, doomed) = tenant(&store).await.map_err(err)?;
    for id in 20..40 {
        store.clients.create_client(&client(doomed, id, None), &audit()).await.map_err(err)?;
    }
    let (_, other) = tenant(&store).await.map_err(err)?;
    let _ = org;
    for round in 0..4 {
        let inserts: Vec<_> = (0..64)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let (service, client) =
                        if n % 2 == 0 { (other, 7 + n % 2) } else { (doomed, 20 + (n * 7) % 20) };
                    let mut t = token(service, &format!("{round}-{n}"));
                    t.client_id = ClientId(client);
                    (service, store.tokens.insert_token(&t, &audit()).await)
                })
            })
            .collect();
        if round == 3 {
            while store.services.delete_service_rows(doomed, 7).await.map_err(err)? > 0 {}
            store.services.delete_service(doomed, NOW, &audit()).await.map_err(err)?;
        }
        for insert in inserts {
            let (service, stored) = insert.await.map_err(|e| e.to_string())?;
            match stored {
                Ok(()) => {}
                Err(StoreError::ClientGone) if service == doomed => {}
                Err(e) => return Err(format!("service {service}: {e}")),
            }
        }
    }
    let (_, stored) = store.tokens.list_tokens(other, &TokenFilter::default(), 0, 1000).await.map_err(err)?;
    ensure!(stored.len() == 4 * 32, "every insert of the other service is stored: {}", stored.len());
    Ok(())
}
