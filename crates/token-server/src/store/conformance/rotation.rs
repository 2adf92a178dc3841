//! Refresh rotation: families, reuse detection, the rate bound and races.

use super::*;

pub async fn a_family_keeps_its_last_rotations_and_a_bounded_rate(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "0"), &audit()).await.map_err(err)?;
    // One rotation a second (under the rate) for 100 rotations: the last ROTATIONS_KEPT are kept.
    for n in 1..=100 {
        let previous = h(&format!("refresh-{}", n - 1));
        let next = rotation(&n.to_string(), NOW + n * 1000);
        let outcome = store.tokens.rotate_refresh(service, &previous, &next, &audit()).await;
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
    store.tokens.insert_token(&token(service, "s0"), &audit()).await.map_err(err)?;
    for n in 1..=3 {
        let previous = h(&format!("refresh-s{}", n - 1));
        let outcome = store.tokens.rotate_refresh(service, &previous, &slow(n, NOW + n * 10), &audit()).await;
        ensure!(matches!(outcome.map_err(err)?, RefreshOutcome::Rotated(_)), "slow rotation {n}");
    }
    let fourth = store
        .tokens
        .rotate_refresh(service, &h("refresh-s3"), &slow(4, NOW + 40), &audit())
        .await
        .map_err(err)?;
    ensure!(
        fourth == RefreshOutcome::TooFrequent { retry_after_ms: 60_000 - 30 },
        "the fourth within the minute: {fourth:?}"
    );
    ensure!(
        store.tokens.token_by_refresh_hash(service, &h("refresh-s3")).await.map_err(err)?.is_some(),
        "nothing changed"
    );
    let later =
        store.tokens.rotate_refresh(service, &h("refresh-s3"), &slow(4, NOW + 60_011), &audit()).await;
    ensure!(matches!(later.map_err(err)?, RefreshOutcome::Rotated(_)), "once the first left the window");
    Ok(())
}

pub async fn rotation_replaces_values_and_reuse_revokes_the_family(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    let outcome = store
        .tokens
        .rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW + 10), &audit())
        .await
        .map_err(err)?;
    let RefreshOutcome::Rotated(rotated) = outcome else { return Err(format!("{outcome:?}")) };
    ensure!(
        rotated.access_hash == h("access-2") && rotated.created_at == NOW,
        "created_at kept: {rotated:?}"
    );
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.is_none(),
        "old access gone"
    );
    let reuse = store
        .tokens
        .rotate_refresh(service, &h("refresh-1"), &rotation("3", NOW + 20), &audit())
        .await
        .map_err(err)?;
    ensure!(reuse == RefreshOutcome::Reused, "reuse detected: {reuse:?}");
    let family =
        store.tokens.token_by_access_hash(service, &h("access-2")).await.map_err(err)?.ok_or("family")?;
    ensure!(family.revoked_at.is_some(), "the family is revoked");
    let after = store
        .tokens
        .rotate_refresh(service, &h("refresh-2"), &rotation("4", NOW + 30), &audit())
        .await
        .map_err(err)?;
    ensure!(after == RefreshOutcome::Invalid, "a revoked family does not refresh: {after:?}");
    Ok(())
}

pub async fn rotated_away_values_name_their_family_by_kind(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    store
        .tokens
        .rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW + 10), &audit())
        .await
        .map_err(err)?;
    store
        .tokens
        .rotate_refresh(service, &h("refresh-2"), &rotation("3", NOW + 20), &audit())
        .await
        .map_err(err)?;
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
    let other = store.services.create_service(other_org, &new_service(), NOW, &audit()).await.map_err(err)?;
    let foreign = store.tokens.token_by_rotated_value(other.id, &h("access-1"), ValueKind::Access).await;
    ensure!(foreign.map_err(err)?.is_none(), "scoped by service");
    // An old access value presented as a refresh token is no reuse: nothing is revoked.
    ensure!(
        !store
            .tokens
            .revoke_reused_refresh(service, &h("access-1"), NOW + 30, &audit())
            .await
            .map_err(err)?,
        "an old access value is not a reused refresh token"
    );
    let family = store.tokens.token_by_access_hash(service, &h("access-3")).await.map_err(err)?;
    ensure!(family.is_some_and(|f| f.revoked_at.is_none()), "still live");
    Ok(())
}

pub async fn reuse_alone_is_detected_and_revokes(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    store
        .tokens
        .rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW), &audit())
        .await
        .map_err(err)?;
    ensure!(
        store.tokens.revoke_reused_refresh(service, &h("refresh-1"), NOW, &audit()).await.map_err(err)?,
        "reuse detected"
    );
    ensure!(
        !store.tokens.revoke_reused_refresh(service, &h("never-issued"), NOW, &audit()).await.map_err(err)?,
        "unknown is no reuse"
    );
    let family =
        store.tokens.token_by_access_hash(service, &h("access-2")).await.map_err(err)?.ok_or("family")?;
    ensure!(family.revoked_at.is_some(), "revoked");
    Ok(())
}

pub async fn an_expired_refresh_token_does_not_rotate(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    let late = NOW + 86_400_000 + 1;
    let outcome = store
        .tokens
        .rotate_refresh(service, &h("refresh-1"), &rotation("2", late), &audit())
        .await
        .map_err(err)?;
    ensure!(outcome == RefreshOutcome::Invalid, "{outcome:?}");
    ensure!(
        store.tokens.token_by_access_hash(service, &h("access-1")).await.map_err(err)?.is_some(),
        "untouched"
    );
    Ok(())
}

pub async fn refresh_rotation_race_has_one_winner(store: Stores) -> Outcome {
    let (_, service) = tenant(&store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .tokens
                    .rotate_refresh(service, &h("refresh-1"), &rotation(&format!("r{n}"), NOW + 1), &audit())
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

pub async fn rotation_keeps_the_rest_of_the_token(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let original = token(service, "1");
    store.tokens.insert_token(&original, &audit()).await.map_err(err)?;
    store
        .tokens
        .rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW + 50), &audit())
        .await
        .map_err(err)?;
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
    store.tokens.insert_token(&token(service, "1"), &audit()).await.map_err(err)?;
    store
        .tokens
        .revoke(service, &RevokeTarget::AccessHash(h("access-1")), NOW, &audit())
        .await
        .map_err(err)?;
    let outcome = store
        .tokens
        .rotate_refresh(service, &h("refresh-1"), &rotation("2", NOW + 1), &audit())
        .await
        .map_err(err)?;
    ensure!(outcome == RefreshOutcome::Invalid, "{outcome:?}");
    Ok(())
}
