//! Credentials on PostgreSQL.

use token_core::{ServiceId, TokenHash};

use super::{Pg, PostgresStore, all, execute};
use crate::store::sql::{self, steps};
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
        audit: &Audit,
    ) -> StoreResult<CredentialRecord> {
        in_transaction!(self, |ex| steps::create_credential(
            ex, principal, hash, label, now_ms, expires_at, audit
        ))
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        all(&self.conn().await?, sql::LIST_CREDENTIALS.postgres(), &[], |r| {
            Ok(sql::credential_from_row(r)?.record)
        })
        .await
    }

    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
        steps::credential_and_service(&Pg(&self.conn().await?), hash, service).await
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64, audit: &Audit) -> StoreResult<bool> {
        in_transaction!(self, |ex| steps::revoke_credential(ex, id, now_ms, audit))
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        execute(&self.conn().await?, sql::TOUCH_CREDENTIAL.postgres(), &[&now_ms, &id]).await?;
        Ok(())
    }
}
