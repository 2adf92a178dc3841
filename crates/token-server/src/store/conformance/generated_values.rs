//! Generated token values (the selector format): found by their token ID, compared whole.

use super::*;

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
    store.tokens.insert_token(&selector_token(service, &id), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "legacy"), &audit()).await.map_err(err)?;
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
        store.tokens.insert_token(&selector_token(service, id), &audit()).await.map_err(err)?;
    }
    // Rotation: new values of the same token; the old refresh value's reuse revokes the family.
    let (first, old_refresh) = (&ids[0], generated(ValueKind::Refresh, &ids[0], 1));
    let next = Rotation {
        new_access_hash: generated(ValueKind::Access, first, 2),
        new_refresh_hash: generated(ValueKind::Refresh, first, 2),
        ..rotation("unused", NOW + 10)
    };
    let outcome = store.tokens.rotate_refresh(service, &old_refresh, &next, &audit()).await.map_err(err)?;
    ensure!(matches!(outcome, RefreshOutcome::Rotated(_)), "rotated: {outcome:?}");
    let old_access = generated(ValueKind::Access, first, 1);
    ensure!(
        store.tokens.token_by_access_hash(service, &old_access).await.map_err(err)?.is_none(),
        "the old access value is gone"
    );
    let reuse = store
        .tokens
        .rotate_refresh(service, &old_refresh, &rotation("x", NOW + 20), &audit())
        .await
        .map_err(err)?;
    ensure!(reuse == RefreshOutcome::Reused, "reuse detected: {reuse:?}");
    let family = store.tokens.token_by_access_hash(service, &next.new_access_hash).await.map_err(err)?;
    ensure!(family.is_some_and(|t| t.revoked_at.is_some()), "the family is revoked");

    // Update with a regenerated value.
    let second = &ids[1];
    let changes = TokenChanges {
        new_access_hash: Some(generated(ValueKind::Access, second, 3)),
        ..TokenChanges::default()
    };
    let wrong = store
        .tokens
        .update_token(service, &generated(ValueKind::Access, second, 9), &changes, &audit())
        .await;
    ensure!(matches!(wrong, Ok(None)), "a wrong secret updates nothing: {wrong:?}");
    let updated = store
        .tokens
        .update_token(service, &generated(ValueKind::Access, second, 1), &changes, &audit())
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
        store.tokens.revoke(service, &wrong, NOW, &audit()).await.map_err(err)? == 0,
        "a wrong secret revokes nothing"
    );
    let by_access = RevokeTarget::AccessHash(generated(ValueKind::Access, third, 1));
    ensure!(
        store.tokens.revoke(service, &by_access, NOW, &audit()).await.map_err(err)? == 1,
        "revoked by access hash"
    );
    let by_refresh = RevokeTarget::RefreshHash(generated(ValueKind::Refresh, &ids[3], 1));
    ensure!(
        store.tokens.revoke(service, &by_refresh, NOW, &audit()).await.map_err(err)? == 1,
        "revoked by refresh hash"
    );
    ensure!(
        !store
            .tokens
            .delete_token(service, &generated(ValueKind::Access, third, 9), &audit())
            .await
            .map_err(err)?,
        "a wrong secret deletes nothing"
    );
    ensure!(
        store
            .tokens
            .delete_token(service, &generated(ValueKind::Access, third, 1), &audit())
            .await
            .map_err(err)?,
        "deleted by access hash"
    );
    let left = store.tokens.list_tokens(service, &TokenFilter::default(), 0, 10).await.map_err(err)?.0.total;
    ensure!(left == 3, "one of four deleted: {left}");
    Ok(())
}
