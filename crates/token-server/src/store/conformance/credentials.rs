//! Service Access Tokens and Organization Tokens.

use super::*;

pub async fn credentials_by_hash_with_state(store: &Stores) -> Outcome {
    let (org, service) = tenant(store).await.map_err(err)?;
    let a = store
        .credentials
        .create_credential(Principal::Service(service), &h("hash-a"), "a", NOW, Some(NOW + 1000), &audit())
        .await
        .map_err(err)?;
    store
        .credentials
        .create_credential(Principal::Organization(org), &h("hash-b"), "b", NOW, None, &audit())
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
        .create_credential(Principal::Service(service), &h("c"), "l", NOW, None, &audit())
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
        .create_credential(Principal::Service(service), &h("same"), "a", NOW, None, &audit())
        .await
        .map_err(err)?;
    let again = store
        .credentials
        .create_credential(Principal::Service(service), &h("same"), "b", NOW, None, &audit())
        .await;
    ensure!(matches!(again, Err(StoreError::Conflict(ConflictKind::CredentialHash))), "{again:?}");
    Ok(())
}

pub async fn credential_revocation_and_last_use(store: &Stores) -> Outcome {
    let (_, service) = tenant(store).await.map_err(err)?;
    let c = store
        .credentials
        .create_credential(Principal::Service(service), &h("h"), "l", NOW, None, &audit())
        .await
        .map_err(err)?;
    store.credentials.touch_credential(c.id, NOW + 5).await.map_err(err)?;
    ensure!(store.credentials.revoke_credential(c.id, NOW + 10, &audit()).await.map_err(err)?, "revoked");
    ensure!(
        !store.credentials.revoke_credential(c.id, NOW + 20, &audit()).await.map_err(err)?,
        "revoked once"
    );
    ensure!(
        !store.credentials.revoke_credential(c.id + 1000, NOW, &audit()).await.map_err(err)?,
        "unknown ID"
    );
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

pub async fn credentials_are_listed_in_issue_order(store: &Stores) -> Outcome {
    let (org, service) = tenant(store).await.map_err(err)?;
    let a = store
        .credentials
        .create_credential(Principal::Service(service), &h("ha"), "first", NOW, None, &audit())
        .await
        .map_err(err)?;
    let b = store
        .credentials
        .create_credential(Principal::Organization(org), &h("hb"), "second", NOW, None, &audit())
        .await
        .map_err(err)?;
    let listed = store.credentials.list_credentials().await.map_err(err)?;
    ensure!(listed == vec![a, b], "{listed:?}");
    Ok(())
}
