//! Credentials on SQLite.

use rusqlite::params;
use token_core::{ServiceId, TokenHash};

use super::{SqliteStore, all, one};
use crate::store::sql;
use crate::store::*;

#[async_trait::async_trait]
impl CredentialStore for SqliteStore {
    async fn create_credential(
        &self,
        principal: Principal,
        hash: &TokenHash,
        label: &str,
        now_ms: i64,
        expires_at: Option<i64>,
    ) -> StoreResult<CredentialRecord> {
        let (kind, owner) = sql::principal_columns(principal);
        let (hash, label) = (hash.as_str().to_owned(), label.to_owned());
        self.write(move |w| {
            let params = params![kind, owner, hash, label, now_ms, expires_at];
            let id: i64 = w.conn.prepare_cached(sql::INSERT_CREDENTIAL)?.query_row(params, |r| r.get(0))?;
            Ok(CredentialRecord {
                id,
                principal,
                label,
                created_at: now_ms,
                expires_at,
                revoked_at: None,
                last_used_at: None,
            })
        })
        .await
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        self.read(|c, _| all(c, &sql::LIST_CREDENTIALS, [], |r| Ok(sql::credential_from_row(r)?.record)))
            .await
    }

    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
        let wanted = service.and_then(|s| i64::try_from(s.get()).ok());
        let hash = hash.to_owned();
        let found = self
            .read(move |c, _| {
                one(c, &sql::CREDENTIAL_AND_SERVICE, params![hash.as_str(), wanted], |r| {
                    sql::credential_and_service_from_row(r)
                })
            })
            .await?;
        Ok(match found {
            Some((credential, service)) => (Some(credential), service),
            None => (None, None),
        })
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        self.write(move |w| Ok(w.conn.execute(sql::REVOKE_CREDENTIAL, params![now_ms, id])? > 0)).await
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.write(move |w| {
            w.conn.execute(sql::TOUCH_CREDENTIAL, params![now_ms, id])?;
            Ok(())
        })
        .await
    }
}
