//! Credentials on PostgreSQL.

use token_core::{ServiceId, TokenHash};

use super::{PostgresStore, all, execute, one, pg};
use crate::store::sql;
use crate::store::*;

#[async_trait::async_trait]
impl CredentialStore for PostgresStore {
    async fn create_credential(
        &self,
        principal: Principal,
        hash: &TokenHash,
        label: &str,
        now_ms: i64,
        expires_at: Option<i64>,
    ) -> StoreResult<CredentialRecord> {
        let (kind, owner) = sql::principal_columns(principal);
        let params: super::Params<'_> = &[&kind, &owner, &hash.as_str(), &label, &now_ms, &expires_at];
        let id = one(&self.conn().await?, pg!(sql::INSERT_CREDENTIAL), params, |r| r.int(0))
            .await?
            .ok_or_else(|| StoreError::Backend("the credential insert returned no ID".into()))?;
        Ok(CredentialRecord {
            id,
            principal,
            label: label.to_owned(),
            created_at: now_ms,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        })
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        all(&self.conn().await?, pg!(sql::LIST_CREDENTIALS), &[], |r| Ok(sql::credential_from_row(r)?.record))
            .await
    }

    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
        let wanted = service.and_then(|s| i64::try_from(s.get()).ok());
        let params: super::Params<'_> = &[&hash.as_str(), &wanted];
        let found = one(
            &self.conn().await?,
            pg!(sql::CREDENTIAL_AND_SERVICE),
            params,
            sql::credential_and_service_from_row,
        )
        .await?;
        Ok(match found {
            Some((credential, service)) => (Some(credential), service),
            None => (None, None),
        })
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        Ok(execute(&self.conn().await?, pg!(sql::REVOKE_CREDENTIAL), &[&now_ms, &id]).await? > 0)
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        execute(&self.conn().await?, pg!(sql::TOUCH_CREDENTIAL), &[&now_ms, &id]).await?;
        Ok(())
    }
}
