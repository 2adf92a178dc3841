//! Signing keys: rotation, publication, revocation, and what a revoked key leaves unsigned.

use super::*;

pub async fn a_new_key_becomes_current_and_round_trips(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    ensure!(store.keys.current_signing_key(service).await.map_err(err)?.is_none(), "no key yet");
    let k = key(service, NOW);
    store.keys.add_signing_key(&k, GRACE, &audit()).await.map_err(err)?;
    let current = store.keys.current_signing_key(service).await.map_err(err)?.ok_or("current key")?;
    ensure!(current.kid == k.kid && current.private_der == k.private_der, "private key round trip");
    ensure!(current.public_jwk == k.public_jwk && current.retired_at.is_none(), "public JWK kept");
    Ok(())
}

pub async fn rotation_retires_and_keeps_publishing_for_the_grace(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let old = key(service, NOW);
    store.keys.add_signing_key(&old, GRACE, &audit()).await.map_err(err)?;
    let new = key(service, NOW + 1000);
    store.keys.add_signing_key(&new, GRACE, &audit()).await.map_err(err)?;
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
    store.keys.add_signing_key(&old, GRACE, &audit()).await.map_err(err)?;
    let mut signed = token(service, "jwt");
    signed.jwt_kid = Some(old.kid.clone());
    signed.access_expires_at = NOW + 10 * GRACE;
    store.tokens.insert_token(&signed, &audit()).await.map_err(err)?;
    store.keys.add_signing_key(&key(service, NOW + 1000), GRACE, &audit()).await.map_err(err)?;
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
        store.keys.add_signing_key(&k, GRACE, &audit()).await.map_err(err)?;
        kids.push(k.kid);
        if n == 10 {
            // A JWT the tenth key signs while current, living long after the rotations.
            let mut signed = token(service, "jwt");
            signed.jwt_kid = Some(kids[10].clone());
            signed.access_expires_at = NOW + 10 * GRACE;
            store.tokens.insert_token(&signed, &audit()).await.map_err(err)?;
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
    store.keys.add_signing_key(&k, GRACE, &audit()).await.map_err(err)?;
    ensure!(store.keys.revoke_signing_key(service, &k.kid, NOW + 1, &audit()).await.map_err(err)?, "revoked");
    ensure!(!store.keys.revoke_signing_key(service, &k.kid, NOW + 2, &audit()).await.map_err(err)?, "once");
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
    store.keys.add_signing_key(&old, GRACE, &audit()).await.map_err(err)?;
    let new = key(service, NOW + 1000);
    store.keys.add_signing_key(&new, GRACE, &audit()).await.map_err(err)?;
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
    store.keys.add_signing_key(&k, GRACE, &audit()).await.map_err(err)?;
    ensure!(store.keys.current_signing_key(b).await.map_err(err)?.is_none(), "no key of another service");
    ensure!(store.keys.published_signing_keys(b, NOW).await.map_err(err)?.is_empty(), "publication scoped");
    ensure!(
        !store.keys.revoke_signing_key(b, &k.kid, NOW, &audit()).await.map_err(err)?,
        "revocation scoped"
    );
    ensure!(store.keys.current_signing_key(a).await.map_err(err)?.is_some(), "still current in its service");
    Ok(())
}

pub async fn no_token_is_stored_or_rotated_with_a_revoked_key(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let live = key(service, NOW);
    store.keys.add_signing_key(&live, 0, &audit()).await.map_err(err)?;
    let revoked = key(service, NOW + 1);
    store.keys.add_signing_key(&revoked, 0, &audit()).await.map_err(err)?;
    let mut family = token(service, "family");
    family.jwt_kid = Some(live.kid.clone());
    store.tokens.insert_token(&family, &audit()).await.map_err(err)?;
    ensure!(
        store.keys.revoke_signing_key(service, &revoked.kid, NOW + 2, &audit()).await.map_err(err)?,
        "revoked"
    );
    let mut jwt = token(service, "jwt");
    jwt.jwt_kid = Some(revoked.kid.clone());
    let mut from_custom = token(service, "custom");
    from_custom.custom_token_kid = Some(revoked.kid.clone());
    for refused in [&jwt, &from_custom] {
        let stored = store.tokens.insert_token(refused, &audit()).await;
        ensure!(matches!(stored, Err(StoreError::KeyRevoked)), "{}: {stored:?}", refused.token_id);
        let found = store.tokens.token_by_access_hash(service, &refused.access_hash).await.map_err(err)?;
        ensure!(found.is_none(), "{} is not stored", refused.token_id);
    }
    let redeemed =
        store.single_use.redeem_custom_token("jti-k", NOW + 300_000, NOW, &from_custom, &audit()).await;
    ensure!(matches!(redeemed, Err(StoreError::KeyRevoked)), "redeem: {redeemed:?}");
    let standing = store.single_use.custom_token_standing(service, "jti-k", "subject-custom").await;
    ensure!(!standing.map_err(err)?.redeemed, "the refused redemption used no jti");
    let signed_by_revoked = Rotation { jwt_kid: Some(revoked.kid.clone()), ..rotation("next", NOW + 3) };
    let rotated =
        store.tokens.rotate_refresh(service, &h("refresh-family"), &signed_by_revoked, &audit()).await;
    ensure!(matches!(rotated, Err(StoreError::KeyRevoked)), "rotation: {rotated:?}");
    let unchanged = store.tokens.token_by_refresh_hash(service, &h("refresh-family")).await.map_err(err)?;
    ensure!(unchanged.is_some_and(|t| t.jwt_kid == Some(live.kid.clone())), "the family is unchanged");
    let reuse = store.tokens.token_by_rotated_value(service, &h("refresh-family"), ValueKind::Refresh).await;
    ensure!(reuse.map_err(err)?.is_none(), "and no rotated value was remembered");
    let signed_by_live = Rotation { jwt_kid: Some(live.kid.clone()), ..rotation("next", NOW + 4) };
    let rotated = store.tokens.rotate_refresh(service, &h("refresh-family"), &signed_by_live, &audit()).await;
    ensure!(matches!(rotated, Ok(RefreshOutcome::Rotated(_))), "with the live key: {rotated:?}");
    Ok(())
}

pub async fn revoking_by_signing_key_reaches_both_kinds_in_batches(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    for n in 0..5 {
        let mut t = token(service, &format!("jwt-{n}"));
        t.jwt_kid = Some("leaked".into());
        store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
        let mut t = token(service, &format!("ct-{n}"));
        t.custom_token_kid = Some("leaked".into());
        store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
    }
    let mut other = token(service, "other");
    other.jwt_kid = Some("kept".into());
    store.tokens.insert_token(&other, &audit()).await.map_err(err)?;
    let (other_org, _) = tenant(store).await.map_err(err)?;
    let foreign_service =
        store.services.create_service(other_org, &new_service(), NOW, &audit()).await.map_err(err)?;
    with_clients(store, foreign_service.id).await.map_err(err)?;
    let mut foreign = token(foreign_service.id, "foreign");
    foreign.jwt_kid = Some("leaked".into());
    store.tokens.insert_token(&foreign, &audit()).await.map_err(err)?;
    let mut batches = Vec::new();
    loop {
        let revoked =
            store.tokens.revoke_signed_by(service, "leaked", NOW + 1, 4, &audit()).await.map_err(err)?;
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

pub async fn a_persistent_token_keeps_its_key_published(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let old = key(service, NOW);
    store.keys.add_signing_key(&old, GRACE, &audit()).await.map_err(err)?;
    let mut persistent = token(service, "p");
    persistent.access_expires_at = 0;
    persistent.jwt_kid = Some(old.kid.clone());
    store.tokens.insert_token(&persistent, &audit()).await.map_err(err)?;
    ensure!(persistent.is_active(i64::MAX), "a persistent token never expires");
    store.keys.add_signing_key(&key(service, NOW + 1), GRACE, &audit()).await.map_err(err)?;
    let far = store.keys.published_signing_keys(service, NOW + 100 * 365 * 86_400_000).await.map_err(err)?;
    ensure!(far.iter().any(|k| k.kid == old.kid), "published for as long as the token lives");
    Ok(())
}
