//! Single use: custom tokens redeemed once, subject cutoffs, DPoP proof `jti`s.

use super::*;

pub async fn a_custom_token_is_redeemed_once(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let standing = |jti: &'static str| store.single_use.custom_token_standing(service, jti, "subject-1");
    ensure!(standing("jti-1").await.map_err(err)? == CustomTokenStanding::default(), "not yet redeemed");
    let first = store
        .single_use
        .redeem_custom_token("jti-1", NOW + 300_000, NOW, &token(service, "1"), &audit())
        .await;
    ensure!(first.map_err(err)? == Redemption::Redeemed, "first");
    let replay = store
        .single_use
        .redeem_custom_token("jti-1", NOW + 300_000, NOW, &token(service, "2"), &audit())
        .await;
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
    let other = store.services.create_service(org, &new_service(), NOW, &audit()).await.map_err(err)?.id;
    with_clients(store, other).await.map_err(err)?;
    let single_use = &store.single_use;
    single_use.end_custom_tokens(service, "subject-1", NOW + 100, &audit()).await.map_err(err)?;
    // An earlier cutoff never moves it back.
    single_use.end_custom_tokens(service, "subject-1", NOW + 50, &audit()).await.map_err(err)?;
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
        let outcome = single_use.redeem_custom_token(&jti, NOW + 300_000, generated, &record, &audit()).await;
        ensure!(outcome.map_err(err)? == expected, "generated at {generated}: {expected:?}");
    }
    let standing = single_use.custom_token_standing(service, "jti-1800000000100", "subject-1").await;
    ensure!(!standing.map_err(err)?.redeemed, "a refused redemption records no jti");
    // Another subject, another service: no cutoff.
    for (service, subject) in [(service, "subject-2"), (other, "subject-1")] {
        let cutoff = single_use.custom_tokens_valid_after(service, subject).await.map_err(err)?;
        ensure!(cutoff.is_none(), "{service}/{subject} has no cutoff: {cutoff:?}");
    }
    let outcome =
        single_use.redeem_custom_token("jti-other", NOW + 300_000, NOW, &token(other, "1"), &audit()).await;
    ensure!(outcome.map_err(err)? == Redemption::Redeemed, "scoped by service");
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
                    .redeem_custom_token(
                        "raced",
                        NOW + 300_000,
                        NOW,
                        &token(service, &format!("r{n}")),
                        &audit(),
                    )
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
                store.single_use.redeem_custom_token(&jti, NOW + 300_000, NOW, &record, &audit()).await
            })
        };
        let revoker = {
            let (store, subject) = (store.clone(), subject.clone());
            tokio::spawn(async move {
                store.single_use.end_custom_tokens(service, &subject, NOW + 1, &audit()).await?;
                store.tokens.revoke(service, &RevokeTarget::Subject(subject), NOW + 1, &audit()).await
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

pub async fn a_proof_jti_is_used_once_and_the_janitor_forgets_it_after_expiry(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    ensure!(
        store.single_use.use_proof_jti(service, "proof-1", NOW + 120_000).await.map_err(err)?,
        "first use"
    );
    ensure!(!store.single_use.use_proof_jti(service, "proof-1", NOW + 120_000).await.map_err(err)?, "replay");
    ensure!(store.single_use.use_proof_jti(service, "proof-2", NOW + 500_000).await.map_err(err)?, "another");
    let purged = store.maintenance.purge_expired(NOW + 200_000, 10, &audit()).await.map_err(err)?;
    ensure!(purged.proof_uses == 1, "only the expired one is removed: {purged:?}");
    ensure!(
        !store.single_use.use_proof_jti(service, "proof-2", NOW).await.map_err(err)?,
        "the live one is kept"
    );
    Ok(())
}

pub async fn expired_jtis_are_pruned_by_the_janitor_in_bounded_batches(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    for n in 0..5 {
        let redeemed = store
            .single_use
            .redeem_custom_token(
                &format!("old-{n}"),
                NOW - 120_000,
                NOW,
                &token(service, &format!("o{n}")),
                &audit(),
            )
            .await
            .map_err(err)?;
        ensure!(redeemed == Redemption::Redeemed, "old-{n} redeemed");
    }
    // A redemption removes nothing (no write may wait on a prune of unbounded size): the expired
    // records are all still there.
    let mut fresh = token(service, "fresh");
    fresh.created_at = NOW;
    ensure!(
        store
            .single_use
            .redeem_custom_token("new", NOW + 300_000, NOW, &fresh, &audit())
            .await
            .map_err(err)?
            == Redemption::Redeemed,
        "new redeemed"
    );
    for n in 0..5 {
        let again = store
            .single_use
            .redeem_custom_token(&format!("old-{n}"), NOW - 120_000, NOW, &token(service, "x"), &audit())
            .await
            .map_err(err)?;
        ensure!(again == Redemption::Replayed, "old-{n} is still recorded after a later redemption");
    }
    // The janitor removes them, never more than a batch per pass.
    let first = store.maintenance.purge_expired(NOW, 2, &audit()).await.map_err(err)?;
    ensure!(first.custom_token_uses == 2, "one bounded batch: {first:?}");
    let mut total = first.custom_token_uses;
    loop {
        let pass = store.maintenance.purge_expired(NOW, 2, &audit()).await.map_err(err)?;
        ensure!(pass.custom_token_uses <= 2, "bounded: {pass:?}");
        if pass.total() == 0 {
            break;
        }
        total += pass.custom_token_uses;
    }
    ensure!(total == 5, "every expired jti, batch by batch: {total}");
    let again =
        store.single_use.redeem_custom_token("new", NOW + 300_000, NOW, &token(service, "3"), &audit()).await;
    ensure!(again.map_err(err)? == Redemption::Replayed, "an unexpired jti stays single use");
    Ok(())
}
