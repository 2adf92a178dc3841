//! Health and the janitor.

use super::*;

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
        store.tokens.insert_token(t, &audit()).await.map_err(err)?;
    }
    store
        .single_use
        .redeem_custom_token("old-jti", NOW - 100, NOW, &token(service, "from-old-jti"), &audit())
        .await
        .map_err(err)?;
    let purged = store.maintenance.purge_expired(NOW, 100, &audit()).await.map_err(err)?;
    ensure!(purged.tokens == 2 && purged.custom_token_uses == 1, "{purged:?}");
    for (n, kept) in
        [("expired", false), ("revoked", false), ("refreshable", true), ("persistent", true), ("live", true)]
    {
        let found =
            store.tokens.token_by_access_hash(service, &h(&format!("access-{n}"))).await.map_err(err)?;
        ensure!(found.is_some() == kept, "{n}: kept {}", found.is_some());
    }
    ensure!(
        store.maintenance.purge_expired(NOW, 100, &audit()).await.map_err(err)?.total() == 0,
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
        store.tokens.insert_token(&t, &audit()).await.map_err(err)?;
    }
    let mut ended = rotation("e0b", NOW - 20);
    (ended.access_expires_at, ended.refresh_expires_at) = (NOW - 5, NOW - 5);
    store.tokens.rotate_refresh(service, &h("refresh-e0"), &ended, &audit()).await.map_err(err)?;
    let first = store.maintenance.purge_expired(NOW, 2, &audit()).await.map_err(err)?;
    ensure!(first.tokens == 2, "at most one batch: {first:?}");
    let mut total = first.tokens;
    loop {
        let pass = store.maintenance.purge_expired(NOW, 2, &audit()).await.map_err(err)?;
        if pass.total() == 0 {
            break;
        }
        total += pass.tokens;
    }
    ensure!(total == 5, "every expired token, batch by batch: {total}");
    let reuse =
        store.tokens.revoke_reused_refresh(service, &h("refresh-e0"), NOW, &audit()).await.map_err(err)?;
    ensure!(!reuse, "the rotation record of a purged token is gone");
    Ok(())
}

pub async fn deleting_a_token_forgets_its_rotations_and_the_janitor_spares_live_ones(
    store: &Stores,
) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    store.tokens.insert_token(&token(service, "d0"), &audit()).await.map_err(err)?;
    store
        .tokens
        .rotate_refresh(service, &h("refresh-d0"), &rotation("d0b", NOW), &audit())
        .await
        .map_err(err)?;
    ensure!(
        store.tokens.delete_token(service, &h("access-d0b"), &audit()).await.map_err(err)?,
        "the rotated token is deleted"
    );
    let reuse =
        store.tokens.revoke_reused_refresh(service, &h("refresh-d0"), NOW, &audit()).await.map_err(err)?;
    ensure!(!reuse, "the rotation record of a deleted token is gone with it");
    // Live (1 h / 1 day) and persistent tokens, and one ended after the cut-off, stay.
    store.tokens.insert_token(&token(service, "live"), &audit()).await.map_err(err)?;
    let mut persistent = token(service, "forever");
    (persistent.access_expires_at, persistent.refresh_expires_at) = (0, None);
    store.tokens.insert_token(&persistent, &audit()).await.map_err(err)?;
    let mut recent = token(service, "recent");
    (recent.access_expires_at, recent.refresh_expires_at) = (NOW - 10, Some(NOW + 10));
    store.tokens.insert_token(&recent, &audit()).await.map_err(err)?;
    ensure!(
        store.maintenance.purge_expired(NOW, 100, &audit()).await.map_err(err)?.tokens == 0,
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
