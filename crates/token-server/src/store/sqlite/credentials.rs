//! Credentials on SQLite.

use rusqlite::params;
use token_core::{ServiceId, TokenHash};

use super::{Sqlite, SqliteStore, all, run};
use crate::store::sql::{self, steps};
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
        audit: &Audit,
    ) -> StoreResult<CredentialRecord> {
        let (hash, label, audit) = (hash.to_owned(), label.to_owned(), audit.clone());
        self.write(move |w| {
            let ex = Sqlite(w.conn);
            run(steps::create_credential(&ex, principal, &hash, &label, now_ms, expires_at, &audit))
        })
        .await
    }

    async fn list_credentials(&self) -> StoreResult<Vec<CredentialRecord>> {
        self.read(|c, _| {
            all(c, sql::LIST_CREDENTIALS.sqlite(), [], |r| Ok(sql::credential_from_row(r)?.record))
        })
        .await
    }

    async fn credential_and_service(
        &self,
        hash: &TokenHash,
        service: Option<ServiceId>,
    ) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
        let hash = hash.to_owned();
        self.read(move |c, _| run(steps::credential_and_service(&Sqlite(c), &hash, service))).await
    }

    async fn revoke_credential(&self, id: i64, now_ms: i64, audit: &Audit) -> StoreResult<bool> {
        let audit = audit.clone();
        self.write(move |w| run(steps::revoke_credential(&Sqlite(w.conn), id, now_ms, &audit))).await
    }

    async fn touch_credential(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        self.write(move |w| {
            w.conn.execute(sql::TOUCH_CREDENTIAL.sqlite(), params![now_ms, id])?;
            Ok(())
        })
        .await
    }
}
