//! Tokens: lookup, conflicts, listings, updates, deletion and revocation.

use super::*;

pub async fn tokens_by_access_and_refresh_hash(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let t = token(service, "1");
    store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
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
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    let mut same_value = token(service, "2");
    same_value.access_hash = h("access-1");
    let outcome = store.tokens.insert_token(&same_value, &audit()).await;
    ensure!(matches!(outcome, Err(StoreError::Conflict(ConflictKind::TokenValue))), "{outcome:?}");
    let mut same_id = token(service, "3");
    same_id.token_id = "id-1".into();
    let outcome = store.tokens.insert_token(&same_id, &audit()).await;
    ensure!(matches!(outcome, Err(StoreError::Conflict(ConflictKind::TokenId))), "{outcome:?}");
    let total = store.tokens.list_tokens(service, &TokenFilter::default(), 0, 10).await.map_err(err)?.0.total;
    ensure!(total == 1, "nothing written by a conflict: {total}");
    Ok(())
}

pub async fn tokens_are_scoped_by_service(store: &Stores) -> Outcome {
    let (_, a) = tenant(store).await.map_err(err)?;
    let (_, b) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(a, "1"), &audit()).await.map_err(err)?;
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
    ensure!(
        store.tokens.update_token(b, &h("access-1"), &changes, &audit()).await.map_err(err)?.is_none(),
        "update"
    );
    ensure!(!store.tokens.delete_token(b, &h("access-1"), &audit()).await.map_err(err)?, "delete");
    ensure!(
        store.tokens.revoke(b, &RevokeTarget::AccessHash(h("access-1")), NOW, &audit()).await.map_err(err)?
            == 0,
        "revoke"
    );
    let client_wide = RevokeTarget::ClientSubject { client_id: ClientId(7), subject: None };
    ensure!(
        store.tokens.revoke(b, &client_wide, NOW, &audit()).await.map_err(err)? == 0,
        "client-wide revoke"
    );
    let rotated =
        store.tokens.rotate_refresh(b, &h("refresh-1"), &rotation("x", NOW), &audit()).await.map_err(err)?;
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
        store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
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
        store.tokens.insert_token(&token(service, &n.to_string()), &audit()).await.map_err(err)?;
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
        store.tokens.insert_token(&token(service, &n.to_string()), &audit()).await.map_err(err)?;
        store.tokens.insert_token(&token(other, &format!("other-{n}")), &audit()).await.map_err(err)?;
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
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    let changes = TokenChanges {
        access_expires_at: Some(0),
        scopes: Some(vec!["write".into()]),
        dpop_key_thumbprint: Some(Some("jkt".into())),
        new_access_hash: Some(h("access-new")),
        ..TokenChanges::default()
    };
    let updated = store
        .tokens
        .update_token(service, &h("access-1"), &changes, &audit())
        .await
        .map_err(err)?
        .ok_or("updated")?;
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
        store.tokens.update_token(service, &h("nope"), &changes, &audit()).await.map_err(err)?.is_none(),
        "unknown is None"
    );
    Ok(())
}

pub async fn update_never_undoes_a_revocation(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    store
        .tokens
        .revoke(service, &RevokeTarget::AccessHash(h("access-1")), NOW, &audit())
        .await
        .map_err(err)?;
    let changes = TokenChanges { scopes: Some(vec![]), ..TokenChanges::default() };
    let updated = store
        .tokens
        .update_token(service, &h("access-1"), &changes, &audit())
        .await
        .map_err(err)?
        .ok_or("token")?;
    ensure!(updated.revoked_at == Some(NOW), "still revoked: {updated:?}");
    Ok(())
}

pub async fn update_to_a_taken_value_conflicts(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "2"), &audit()).await.map_err(err)?;
    let changes = TokenChanges { new_access_hash: Some(h("access-2")), ..TokenChanges::default() };
    let outcome = store.tokens.update_token(service, &h("access-1"), &changes, &audit()).await;
    ensure!(matches!(outcome, Err(StoreError::Conflict(ConflictKind::TokenValue))), "{outcome:?}");
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.is_some(),
        "unchanged"
    );
    Ok(())
}

pub async fn delete_removes_one_token(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "2"), &audit()).await.map_err(err)?;
    ensure!(store.tokens.delete_token(service, &h("access-1"), &audit()).await.map_err(err)?, "deleted");
    ensure!(
        !store.tokens.delete_token(service, &h("access-1"), &audit()).await.map_err(err)?,
        "deleted once"
    );
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
        store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
    }
    let by_access = store
        .tokens
        .revoke(service, &RevokeTarget::AccessHash(h("access-1")), NOW, &audit())
        .await
        .map_err(err)?;
    let by_refresh = store
        .tokens
        .revoke(service, &RevokeTarget::RefreshHash(h("refresh-3")), NOW, &audit())
        .await
        .map_err(err)?;
    let alice = RevokeTarget::ClientSubject { client_id: ClientId(7), subject: Some("alice".into()) };
    let by_subject = store.tokens.revoke(service, &alice, NOW, &audit()).await.map_err(err)?;
    let everyone = RevokeTarget::ClientSubject { client_id: ClientId(7), subject: None };
    let by_client = store.tokens.revoke(service, &everyone, NOW, &audit()).await.map_err(err)?;
    ensure!(
        (by_access, by_refresh, by_subject, by_client) == (1, 1, 1, 1),
        "counts of newly revoked: {:?}",
        (by_access, by_refresh, by_subject, by_client)
    );
    let again = store.tokens.revoke(service, &everyone, NOW, &audit()).await.map_err(err)?;
    ensure!(again == 0, "nothing left to revoke");
    Ok(())
}

pub async fn revoking_a_subject_reaches_every_client_and_no_other_subject(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let (_, other_service) = tenant(store).await.map_err(err)?;
    for (n, subject, client) in [("1", "carol", 7), ("2", "carol", 8), ("3", "dave", 7)] {
        let mut t = token(service, n);
        (t.subject, t.client_id) = (Some(subject.into()), ClientId(client));
        store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
    }
    let mut elsewhere = token(other_service, "4");
    elsewhere.subject = Some("carol".into());
    store.tokens.insert_token(&elsewhere, &audit()).await.map_err(err)?;
    let carol = RevokeTarget::Subject("carol".into());
    let revoked = store.tokens.revoke(service, &carol, NOW, &audit()).await.map_err(err)?;
    ensure!(revoked == 2, "both of carol's tokens, of two clients: {revoked}");
    for (n, revoked) in [("1", true), ("2", true), ("3", false)] {
        let found =
            store.tokens.token_by_access_hash(service, &h(&format!("access-{n}"))).await.map_err(err)?;
        let found = found.ok_or_else(|| format!("token {n} is still stored"))?;
        ensure!(found.revoked_at.is_some() == revoked, "token {n}: revoked_at {:?}", found.revoked_at);
    }
    let other = store.tokens.token_by_access_hash(other_service, &h("access-4")).await.map_err(err)?;
    ensure!(other.is_some_and(|t| t.revoked_at.is_none()), "another service's carol is untouched");
    ensure!(
        store.tokens.revoke(service, &carol, NOW, &audit()).await.map_err(err)? == 0,
        "nothing left to revoke"
    );
    Ok(())
}

pub async fn token_values_are_unique_per_service_not_across_tenants(store: &Stores) -> Outcome {
    let (_, first) = tenant(store).await.map_err(err)?;
    let (_, second) = tenant(store).await.map_err(err)?;
    let mut mine = token(first, "chosen");
    store.tokens.insert_token(&mine, &audit()).await.map_err(err)?;
    // The same access and refresh values in another tenant's service: no conflict, no leak.
    let mut theirs = token(second, "chosen");
    theirs.token_id = "id-theirs".into();
    store
        .tokens
        .insert_token(&theirs, &audit())
        .await
        .map_err(|e| format!("another tenant may hold the value: {e}"))?;
    let found = store.tokens.token_by_access_hash(second, &h("access-chosen")).await.map_err(err)?;
    ensure!(found.is_some_and(|t| t.token_id == "id-theirs"), "each service finds its own");
    let found = store.tokens.token_by_refresh_hash(first, &h("refresh-chosen")).await.map_err(err)?;
    ensure!(found.is_some_and(|t| t.token_id == "id-chosen"), "each service finds its own refresh value");
    // Within one service a value stays unique.
    mine.token_id = "id-again".into();
    let again = store.tokens.insert_token(&mine, &audit()).await;
    ensure!(matches!(again, Err(StoreError::Conflict(ConflictKind::TokenValue))), "{again:?}");
    Ok(())
}

/// Inserts made at the same moment (grouped into one statement on PostgreSQL): each one whose
/// value or ID is taken hears so, named, and every other one is stored (#36).
pub async fn concurrent_inserts_answer_each_conflict_and_store_the_rest(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "held"), &audit()).await.map_err(err)?;
    let mut inserts = tokio::task::JoinSet::new();
    for n in 0..48 {
        let mut record = token(service, &format!("together-{n}"));
        if n % 4 == 0 {
            record.access_hash = h("access-held");
        } else if n == 1 {
            record.token_id = "id-held".into();
        }
        let tokens = store.tokens.clone();
        inserts.spawn(async move {
            (n, record.access_hash.clone(), tokens.insert_token(&record, &audit()).await)
        });
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
        store.tokens.insert_token(&record, &audit()).await.map_err(err)?;
    }
    store.tokens.insert_token(&token(other, "wide-other"), &audit()).await.map_err(err)?;
    let target = RevokeTarget::Subject("everywhere".into());
    let first = store.tokens.revoke_some(service, &target, NOW, 10, &audit()).await.map_err(err)?;
    ensure!(first == 10, "at most the batch: {first}");
    let rest = store.tokens.revoke(service, &target, NOW, &audit()).await.map_err(err)?;
    ensure!(rest == 15, "the rest, each once: {rest}");
    let client_wide = RevokeTarget::ClientSubject { client_id: ClientId(7), subject: None };
    ensure!(
        store.tokens.revoke_some(service, &client_wide, NOW, 5, &audit()).await.map_err(err)? == 0,
        "all revoked"
    );

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
    ensure!(store.services.delete_service(service, NOW, &audit()).await.map_err(err)?, "then the service");
    let kept = store.tokens.token_by_access_hash(other, &h("access-wide-other")).await.map_err(err)?;
    ensure!(kept.is_some(), "the other service's token stays");
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
    store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
    let found = store.tokens.token_by_access_hash(service, &h("access-full")).await.map_err(err)?;
    ensure!(found.as_ref() == Some(&t), "every column kept: {found:?}");
    Ok(())
}

pub async fn hash_kinds_never_cross(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    let wrong = store
        .tokens
        .revoke(service, &RevokeTarget::RefreshHash(h("access-1")), NOW, &audit())
        .await
        .map_err(err)?;
    ensure!(wrong == 0, "a refresh target does not match an access hash");
    ensure!(
        !store.tokens.delete_token(service, &h("refresh-1"), &audit()).await.map_err(err)?,
        "delete takes access hashes only"
    );
    let changes = TokenChanges { scopes: Some(vec![]), ..TokenChanges::default() };
    ensure!(
        store.tokens.update_token(service, &h("refresh-1"), &changes, &audit()).await.map_err(err)?.is_none(),
        "update likewise"
    );
    Ok(())
}

pub async fn update_removes_a_binding(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let mut t = token(service, "1");
    t.certificate_thumbprint = Some("x5t".into());
    store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
    let changes = TokenChanges { certificate_thumbprint: Some(None), ..TokenChanges::default() };
    let updated = store
        .tokens
        .update_token(service, &h("access-1"), &changes, &audit())
        .await
        .map_err(err)?
        .ok_or("token")?;
    ensure!(updated.certificate_thumbprint.is_none(), "binding removed");
    let stored =
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.ok_or("token")?;
    ensure!(stored.certificate_thumbprint.is_none(), "and stored so");
    Ok(())
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
                store.tokens.insert_token(&t, &audit()).await
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

pub async fn a_token_is_found_by_its_id_in_its_service_only(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let (_, other) = tenant(store).await.map_err(err)?;
    let stored = token(service, "by-id");
    store.tokens.insert_token(&stored, &audit()).await.map_err(err)?;
    let found = store.tokens.token_by_id(service, &stored.token_id).await.map_err(err)?;
    ensure!(found.is_some_and(|t| t.access_hash == stored.access_hash), "found by its ID");
    ensure!(
        store.tokens.token_by_id(other, &stored.token_id).await.map_err(err)?.is_none(),
        "not in another service"
    );
    ensure!(store.tokens.token_by_id(service, "no-such-id").await.map_err(err)?.is_none(), "unknown ID");
    Ok(())
}
