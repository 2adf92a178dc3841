//! Token Status Lists: index reservation, the bits every end of a token sets, retirement.

use super::*;

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
        store.tokens.insert_token(&listed(n, idx), &audit()).await.map_err(err)?;
    }
    store
        .tokens
        .revoke(service, &RevokeTarget::AccessHash(h("access-revoked")), NOW, &audit())
        .await
        .map_err(err)?;
    store.tokens.delete_token(service, &h("access-deleted"), &audit()).await.map_err(err)?;
    let rotation = Rotation { status: Some(StatusEntry { list: 1, idx: 5 }), ..rotation("rotated-2", NOW) };
    let outcome = store
        .tokens
        .rotate_refresh(service, &h("refresh-rotated"), &rotation, &audit())
        .await
        .map_err(err)?;
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
    store
        .tokens
        .revoke(service, &RevokeTarget::AccessHash(h("access-revoked")), NOW, &audit())
        .await
        .map_err(err)?;
    store
        .tokens
        .revoke(service, &RevokeTarget::Subject("subject-rotated".into()), NOW, &audit())
        .await
        .map_err(err)?;
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
    store.tokens.insert_token(&ends("a", 1, 0, NOW + 10), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&ends("b", 1, 1, NOW + 20), &audit()).await.map_err(err)?;
    store.tokens.insert_token(&ends("c", 2, 0, NOW + 36_000_000), &audit()).await.map_err(err)?;
    store
        .tokens
        .revoke(service, &RevokeTarget::AccessHash(h("access-a")), NOW, &audit())
        .await
        .map_err(err)?;
    // The records ended, but the JWTs naming list 1 live until NOW + 20 (the list keeps serving
    // until the hour after).
    let purged = store.maintenance.purge_expired(NOW + 100, 100, &audit()).await.map_err(err)?;
    ensure!(purged.status_lists == 0, "list 1's JWTs have not all expired: {purged:?}");
    ensure!(store.status_lists.status_list(service, 1).await.map_err(err)?.is_some(), "still served");
    let purged = store.maintenance.purge_expired(NOW + 7_200_000, 100, &audit()).await.map_err(err)?;
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
    store.tokens.insert_token(&persistent, &audit()).await.map_err(err)?;
    // The other index went to a JWT that a rotation replaced (the record now names list 2).
    store.status_lists.reserve_status_indexes(service, 2, 2, NOW).await.map_err(err)?;
    let rotating = TokenRecord {
        status: Some(StatusEntry { list: 1, idx: 1 }),
        access_expires_at: NOW + 10,
        ..token(service, "rotating")
    };
    store.tokens.insert_token(&rotating, &audit()).await.map_err(err)?;
    let moved = Rotation { status: Some(StatusEntry { list: 2, idx: 0 }), ..rotation("rotated", NOW + 5) };
    store.tokens.rotate_refresh(service, &h("refresh-rotating"), &moved, &audit()).await.map_err(err)?;
    store
        .tokens
        .revoke(service, &RevokeTarget::AccessHash(h("access-persistent")), NOW, &audit())
        .await
        .map_err(err)?;
    let ten_years = NOW + 10 * 365 * 86_400_000;
    let purged = store.maintenance.purge_expired(ten_years, 100, &audit()).await.map_err(err)?;
    ensure!(store.status_lists.status_list(service, 1).await.map_err(err)?.is_some(), "kept: {purged:?}");
    let bits = store.status_lists.status_list(service, 1).await.map_err(err)?.ok_or("list 1")?;
    ensure!(bits.bits.iter().any(|byte| *byte != 0), "and its bits: {bits:?}");
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
