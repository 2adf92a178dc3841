//! The store's operations both SQL backends carry out the same way, step by step, written once
//! over an [`Executor`]: a backend provides only how a statement runs on its driver and the few
//! things its dialect says differently (row and advisory locks, `MAX`/`GREATEST`). A step runs in
//! the transaction its backend opened for it (SQLite's writer: a savepoint of the batch it
//! commits; PostgreSQL: a transaction of its own, or none for reads and one-statement writes), and
//! what it wrote is undone when it fails.
//!
//! SQLite's driver blocks: its executor runs each statement when called and answers with a future
//! that is already complete, so a step never waits there (its backend polls it once, on the thread
//! that holds the connection).

use std::future::Future;

use token_core::{ServiceId, TokenHash};

use super::params::{
    TokenRow, client_row, credential_row, event_values, organization_row, rotation_row, service_row,
    service_update, signing_key_row, token_update,
};
use super::*;
use crate::key_encryption::KeyEncryption;
use crate::store::*;

/// A connection, or a transaction on one, as the steps use it: it runs [`Statement`]s with
/// [`SqlValue`] parameters in its backend's dialect.
pub trait Executor {
    /// Runs `statement`; the rows it changed. SQLite prepares it anew each time (a write made now
    /// and then: its small statement cache is kept for the hot ones).
    fn execute(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// As [`Executor::execute`], the statement prepared once per connection (the hot path: the
    /// token insert).
    fn execute_prepared(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The first row of `statement`, decoded (the statement prepared once per connection).
    fn one<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl FnOnce(&dyn Columns) -> StoreResult<T> + Send,
    ) -> impl Future<Output = StoreResult<Option<T>>> + Send;

    /// As [`Executor::one`], the row read locked until the transaction ends where the dialect locks
    /// rows (PostgreSQL's `FOR UPDATE`: writers of the row, from any instance, go one after the
    /// other). SQLite's one writer holds the whole database already.
    fn one_for_update<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl FnOnce(&dyn Columns) -> StoreResult<T> + Send,
    ) -> impl Future<Output = StoreResult<Option<T>>> + Send;

    /// Every row of `statement`, decoded.
    fn all<T: Send>(
        &self,
        statement: &Statement,
        params: &[SqlValue<'_>],
        decode: impl Fn(&dyn Columns) -> StoreResult<T> + Send,
    ) -> impl Future<Output = StoreResult<Vec<T>>> + Send;

    /// Serialises the transaction with the others on `subject` of `service` until it ends:
    /// redemptions share the lock, setting a cutoff takes it alone. (SQLite's one writer
    /// serialises every write already.)
    fn lock_subject(
        &self,
        service: ServiceId,
        subject: &str,
        lock: SubjectLock,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Locks every client row of `service` in client order until the transaction ends, before a
    /// statement deletes several of them: a token insert locks its client's row (no token for a
    /// deleted client), and a group insert locks its rows' clients in `(service, client)` order,
    /// so taking them in that order too means no cycle. (SQLite's one writer has none to fear.)
    fn lock_clients_of_service(&self, service: ServiceId) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends an event (its [`event_values`]) to `stream`, in the transaction of the change it
    /// records. SQLite numbers it at once (its one writer commits in numbering order); PostgreSQL
    /// leaves it unnumbered until it has committed (`store::postgres::events`).
    fn append_event(
        &self,
        stream: i64,
        values: &[SqlValue<'_>],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Retires the current key of `service` at `at`: it stays published until the later of
    /// `at + grace_ms` and the expiry of the last live token it signed (persistent tokens: for
    /// ever), fixed now so that serving the JWK Set never scans the tokens table. Rotations of one
    /// service go one at a time (PostgreSQL: an advisory lock, across instances; SQLite: its one
    /// writer).
    fn retire_current_key(
        &self,
        service: ServiceId,
        at: i64,
        grace_ms: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// How a step holds a subject ([`Executor::lock_subject`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectLock {
    /// A redemption: concurrent with the subject's other redemptions.
    Shared,
    /// A cutoff: alone.
    Exclusive,
}

// Tenancy.

/// [`OrganizationStore::first_start`]: claims it (once ever: a second instance starting at once
/// waits on the claim's key until this commits, then finds it claimed), stores everything, and hands
/// the stored credentials out before the caller commits.
pub async fn first_start<E: Executor>(
    ex: &E,
    first: &FirstStart,
    now_ms: i64,
    hand_out: &HandOut,
    keys: &KeyEncryption,
) -> StoreResult<Option<FirstStartCredentials>> {
    if ex.execute(&CLAIM_FIRST_START, &[now_ms.into()]).await? == 0 {
        return Ok(None);
    }
    let (organization, service) = (&first.organization, &first.service);
    ex.execute(&INSERT_ORGANIZATION, &organization_row(organization.id, &organization.name, now_ms)).await?;
    ex.execute(&INSERT_SERVICE, &service_row(service.id, organization.id, &service.settings, now_ms)?)
        .await?;
    ex.execute(&INSERT_SIGNING_KEY, &signing_key_row(&first.key, keys)?).await?;
    ex.execute(&INSERT_CLIENT, &client_row(&first.client)?).await?;
    let (hash, label) = &first.service_credential;
    let service = insert_credential(ex, Principal::Service(service.id), hash, label, now_ms, None).await?;
    let (hash, label) = &first.organization_credential;
    let organization =
        insert_credential(ex, Principal::Organization(organization.id), hash, label, now_ms, None).await?;
    let credentials = FirstStartCredentials { service, organization };
    let (org_stream, service_stream) =
        (EventStream::Organization(first.organization.id), EventStream::Service(first.service.id));
    let event = |event_type| Event::new(event_type, Actor::cli(), now_ms);
    let service_id = first.service.id;
    record(ex, org_stream, &event(EventType::ServiceCreated).service(service_id)).await?;
    for credential in [&credentials.service, &credentials.organization] {
        let created = event(EventType::CredentialCreated).credential(credential.id);
        let created = match credential.principal {
            Principal::Service(s) => created.service(s),
            Principal::Organization(_) => created,
        };
        record(ex, org_stream, &created).await?;
    }
    record(ex, service_stream, &event(EventType::ClientCreated).client(first.client.client_id)).await?;
    record(ex, service_stream, &event(EventType::KeyRotated).kid(&first.key.kid)).await?;
    hand_out(&credentials).map_err(|e| StoreError::driver("handing out the first-start credentials", e))?;
    Ok(Some(credentials))
}

/// [`ServiceStore::delete_service_rows`]: at most `at_most` rows of each table that grows without
/// bound, children first, until `at_most` are gone.
pub async fn delete_service_rows<E: Executor>(ex: &E, id: i64, at_most: u32) -> StoreResult<u64> {
    ex.lock_clients_of_service(ServiceId(id as u64)).await?;
    let mut deleted = 0;
    for statement in &DELETE_SERVICE_ROWS_BATCH {
        let left = u64::from(at_most) - deleted;
        if left == 0 {
            break;
        }
        deleted += ex.execute(statement, &[id.into(), (left as i64).into()]).await?;
    }
    Ok(deleted)
}

/// [`ServiceStore::delete_service`]: what hangs off the service (its event stream included), its
/// Service Access Tokens revoked at `now_ms`, then the service, recorded on its organization's
/// stream; `false` when there was none.
pub async fn delete_service<E: Executor>(ex: &E, id: i64, now_ms: i64, audit: &Audit) -> StoreResult<bool> {
    let Some(organization) = organization_of(ex, ServiceId(id as u64)).await? else { return Ok(false) };
    ex.lock_clients_of_service(ServiceId(id as u64)).await?;
    for statement in &DELETE_SERVICE_ROWS {
        ex.execute(statement, &[id.into()]).await?;
    }
    let credentials = ex.execute(&REVOKE_SERVICE_CREDENTIALS, &[id.into(), now_ms.into()]).await?;
    if ex.execute(&DELETE_SERVICE, &[id.into()]).await? == 0 {
        return Ok(false);
    }
    if let Some(event) = audit.event(EventType::ServiceDeleted) {
        let event = event.service(ServiceId(id as u64)).count(credentials);
        record(ex, EventStream::Organization(organization), &event).await?;
    }
    Ok(true)
}

// The event log.

/// Records `event` on `stream`, in the transaction of the change it records.
pub async fn record<E: Executor>(ex: &E, stream: EventStream, event: &Event) -> StoreResult<()> {
    ex.append_event(stream.key(), &event_values(event)).await
}

/// Records `event` (when the audit keeps its type) on the service's stream.
async fn record_on<E: Executor>(ex: &E, service: ServiceId, event: Option<Event>) -> StoreResult<()> {
    match event {
        Some(event) => record(ex, EventStream::Service(service), &event).await,
        None => Ok(()),
    }
}

/// The organization of `service`, if it exists.
async fn organization_of<E: Executor>(ex: &E, service: ServiceId) -> StoreResult<Option<OrganizationId>> {
    let found = ex.one(&ORGANIZATION_OF_SERVICE, &[service.into()], |r| r.int(0)).await?;
    Ok(found.map(|id| OrganizationId(id as u64)))
}

/// The janitor's batch as events: one `tokens.purged` per service of `purged` (the services of the
/// tokens it removed, one entry per token) and one `status_list.retired` per service of `retired`.
pub async fn record_purged<E: Executor>(
    ex: &E,
    purged: &[i64],
    retired: &[i64],
    audit: &Audit,
) -> StoreResult<()> {
    for (services, event_type) in [(purged, EventType::TokensPurged), (retired, EventType::StatusListRetired)]
    {
        let mut counts = std::collections::BTreeMap::<i64, u64>::new();
        for service in services {
            *counts.entry(*service).or_default() += 1;
        }
        for (service, count) in counts {
            let event = audit.event(event_type).map(|e| e.count(count));
            record_on(ex, ServiceId(service as u64), event).await?;
        }
    }
    Ok(())
}

/// [`crate::store::EventStore::read_events`] once the stream is numbered: the head, then the page
/// in `(after, min(head, after + window)]`.
pub async fn read_events<E: Executor>(
    ex: &E,
    stream: EventStream,
    filter: &EventFilter,
) -> StoreResult<(Vec<Event>, u64)> {
    let key = stream.key();
    let head = ex.one(&STREAM_HEAD, &[key.into()], |r| r.int(0)).await?.unwrap_or(0).max(0) as u64;
    if head <= filter.after {
        return Ok((Vec::new(), head));
    }
    let end = head.min(filter.after.saturating_add(token_core::events::SCAN_WINDOW));
    let params = [
        key.into(),
        (filter.after as i64).into(),
        (end as i64).into(),
        filter.event_type.map(EventType::as_str).into(),
        filter.subject.as_deref().into(),
        filter.client_id.map(ClientId::get).into(),
        filter.token_id.as_deref().into(),
        i64::from(filter.limit).into(),
    ];
    let events = ex.all(&EVENTS_PAGE, &params, event_from_row).await?;
    Ok((events, head))
}

// Services and clients.

/// [`ServiceStore::create_service`]: the service, recorded on its organization's stream.
pub async fn create_service<E: Executor>(
    ex: &E,
    record_: &ServiceRecord,
    now_ms: i64,
    audit: &Audit,
) -> StoreResult<()> {
    let organization = record_.organization_id;
    ex.execute(&INSERT_SERVICE, &service_row(record_.id, organization, &record_.settings, now_ms)?).await?;
    if let Some(event) = audit.event(EventType::ServiceCreated) {
        record(ex, EventStream::Organization(organization), &event.service(record_.id)).await?;
    }
    Ok(())
}

/// [`ServiceStore::update_service`].
pub async fn update_service<E: Executor>(
    ex: &E,
    id: ServiceId,
    settings: &ServiceSettings,
    audit: &Audit,
) -> StoreResult<bool> {
    if ex.execute(&UPDATE_SERVICE, &service_update(id, settings)?).await? == 0 {
        return Ok(false);
    }
    if let (Some(organization), Some(event)) =
        (organization_of(ex, id).await?, audit.event(EventType::ServiceUpdated))
    {
        record(ex, EventStream::Organization(organization), &event.service(id)).await?;
    }
    Ok(true)
}

/// [`ClientStore::create_client`].
pub async fn create_client<E: Executor>(ex: &E, client: &ClientRecord, audit: &Audit) -> StoreResult<()> {
    ex.execute(&INSERT_CLIENT, &client_row(client)?).await?;
    let event = audit.event(EventType::ClientCreated).map(|e| e.client(client.client_id));
    record_on(ex, client.service_id, event).await
}

/// [`ClientStore::update_client`].
pub async fn update_client<E: Executor>(ex: &E, client: &ClientRecord, audit: &Audit) -> StoreResult<bool> {
    if ex.execute(&UPDATE_CLIENT, &client_row(client)?).await? == 0 {
        return Ok(false);
    }
    let event = audit.event(EventType::ClientUpdated).map(|e| e.client(client.client_id));
    record_on(ex, client.service_id, event).await?;
    Ok(true)
}

/// [`ClientStore::delete_client`]: the client and, only if it existed, its live tokens revoked.
pub async fn delete_client<E: Executor>(
    ex: &E,
    service: ServiceId,
    client_id: ClientId,
    now_ms: i64,
    audit: &Audit,
) -> StoreResult<bool> {
    if ex.execute(&DELETE_CLIENT, &[service.into(), client_id.into()]).await? == 0 {
        return Ok(false);
    }
    let revoked =
        ex.execute(&REVOKE_CLIENT_TOKENS, &[now_ms.into(), service.into(), client_id.into()]).await?;
    let event = audit
        .event(EventType::ClientDeleted)
        .map(|e| e.client(client_id).count(revoked).reason(RevokeReason::ByClient));
    record_on(ex, service, event).await?;
    Ok(true)
}

/// [`ClientStore::client_by_identifier`]: by numeric ID when the identifier is one and names a
/// client, else by alias.
pub async fn client_by_identifier<E: Executor>(
    ex: &E,
    service: ServiceId,
    identifier: &str,
) -> StoreResult<Option<ClientRecord>> {
    if let Ok(id) = identifier.parse::<i64>()
        && let Some(client) = ex.one(&CLIENT_BY_ID, &[id.into(), service.into()], client_from_row).await?
    {
        return Ok(Some(client));
    }
    ex.one(&CLIENT_BY_ALIAS, &[identifier.into(), service.into()], client_from_row).await
}

// Credentials.

/// Inserts a credential; the record stored, with the ID the database gave it.
pub async fn insert_credential<E: Executor>(
    ex: &E,
    principal: Principal,
    hash: &TokenHash,
    label: &str,
    now_ms: i64,
    expires_at: Option<i64>,
) -> StoreResult<CredentialRecord> {
    let row = credential_row(principal, hash, label, now_ms, expires_at);
    let id = ex
        .one(&INSERT_CREDENTIAL, &row, |r| r.int(0))
        .await?
        .ok_or_else(|| StoreError::Backend("the credential insert returned no ID".into()))?;
    Ok(new_credential(id, principal, label, now_ms, expires_at))
}

/// [`CredentialStore::create_credential`]: the credential, recorded on its organization's stream.
pub async fn create_credential<E: Executor>(
    ex: &E,
    principal: Principal,
    hash: &TokenHash,
    label: &str,
    now_ms: i64,
    expires_at: Option<i64>,
    audit: &Audit,
) -> StoreResult<CredentialRecord> {
    let (organization, service) = match principal {
        Principal::Organization(organization) => (Some(organization), None),
        Principal::Service(service) => (organization_of(ex, service).await?, Some(service)),
    };
    let created = insert_credential(ex, principal, hash, label, now_ms, expires_at).await?;
    if let (Some(organization), Some(event)) = (organization, audit.event(EventType::CredentialCreated)) {
        let event = event.credential(created.id);
        let event = match service {
            Some(service) => event.service(service),
            None => event,
        };
        record(ex, EventStream::Organization(organization), &event).await?;
    }
    Ok(created)
}

/// [`CredentialStore::revoke_credential`]; `false` when there is no such unrevoked credential.
pub async fn revoke_credential<E: Executor>(
    ex: &E,
    id: i64,
    now_ms: i64,
    audit: &Audit,
) -> StoreResult<bool> {
    let revoked =
        ex.one(&REVOKE_CREDENTIAL, &[now_ms.into(), id.into()], |r| Ok((r.text(0)?, r.int(1)?))).await?;
    let Some((kind, owner)) = revoked else { return Ok(false) };
    let (organization, service) = if kind == "organization" {
        (Some(OrganizationId(owner as u64)), None)
    } else {
        let service = ServiceId(owner as u64);
        (organization_of(ex, service).await?, Some(service))
    };
    if let (Some(organization), Some(event)) = (organization, audit.event(EventType::CredentialRevoked)) {
        let event = event.credential(id);
        let event = match service {
            Some(service) => event.service(service),
            None => event,
        };
        record(ex, EventStream::Organization(organization), &event).await?;
    }
    Ok(true)
}

/// [`CredentialStore::credential_and_service`]: the credential whose hash is `hash` and, only
/// with it, the service `service`, in one statement.
pub async fn credential_and_service<E: Executor>(
    ex: &E,
    hash: &TokenHash,
    service: Option<ServiceId>,
) -> StoreResult<(Option<StoredCredential>, Option<ServiceRecord>)> {
    let wanted = service.and_then(|s| i64::try_from(s.get()).ok());
    let found = ex
        .one(&CREDENTIAL_AND_SERVICE, &[hash.into(), wanted.into()], credential_and_service_from_row)
        .await?;
    Ok(match found {
        Some((credential, service)) => (Some(credential), service),
        None => (None, None),
    })
}

// Signing keys.

/// [`KeyStore::add_signing_key`]: the current key retired, `key` stored (sealed with `keys`) as
/// the current one, and a JWT-issuing service following its algorithm, in one transaction.
pub async fn add_signing_key<E: Executor>(
    ex: &E,
    key: &SigningKeyRecord,
    grace_ms: i64,
    keys: &KeyEncryption,
    audit: &Audit,
) -> StoreResult<()> {
    ex.retire_current_key(key.service_id, key.created_at, grace_ms).await?;
    ex.execute(&INSERT_SIGNING_KEY, &signing_key_row(key, keys)?).await?;
    ex.execute(&SERVICE_FOLLOWS_KEY_ALG, &[key.alg.as_str().into(), key.service_id.into()]).await?;
    record_on(ex, key.service_id, audit.event(EventType::KeyRotated).map(|e| e.kid(&key.kid))).await
}

/// [`KeyStore::revoke_signing_key`]: unpublished at once; `false` when there is no such key.
pub async fn revoke_signing_key<E: Executor>(
    ex: &E,
    service: ServiceId,
    kid: &str,
    now_ms: i64,
    audit: &Audit,
) -> StoreResult<bool> {
    if ex.execute(&REVOKE_SIGNING_KEY, &[now_ms.into(), service.into(), kid.into()]).await? == 0 {
        return Ok(false);
    }
    record_on(ex, service, audit.event(EventType::KeyRevoked).map(|e| e.kid(kid))).await?;
    Ok(true)
}

/// [`TokenStore::revoke_signed_by`]: at most `batch` live tokens signed by `kid`, recorded with
/// their count.
pub async fn revoke_signed_by<E: Executor>(
    ex: &E,
    service: ServiceId,
    kid: &str,
    now_ms: i64,
    batch: u32,
    audit: &Audit,
) -> StoreResult<u64> {
    let params = [now_ms.into(), service.into(), kid.into(), i64::from(batch).into()];
    let subjects = ex.all(&REVOKE_SIGNED_BY, &params, |r| r.opt_text(0)).await?;
    record_by_subject(ex, service, &subjects, audit, |e| e.kid(kid).reason(RevokeReason::KeyRevoke)).await?;
    Ok(subjects.len() as u64)
}

// Status lists.

/// [`StatusListStore::reserve_status_indexes`], once: `(list, first index, how many)`. Making a
/// new list conflicts when another instance made it first ([`StoreError::Conflict`]: the caller
/// tries again, in a new transaction).
pub async fn reserve_status_indexes<E: Executor>(
    ex: &E,
    service: ServiceId,
    count: i64,
    size: i64,
    now_ms: i64,
) -> StoreResult<(i64, i64, i64)> {
    let newest = ex
        .one_for_update(&NEWEST_STATUS_LIST, &[service.into()], |r| Ok((r.int(0)?, r.int(1)?, r.int(2)?)))
        .await?;
    match Reservation::plan(newest, count, size) {
        Reservation::Existing { list, first, count } => {
            ex.execute(&RESERVE_STATUS_INDEXES, &[service.into(), list.into(), count.into()]).await?;
            Ok((list, first, count))
        }
        Reservation::New { list, count } => {
            let params = [service.into(), size.into(), count.into(), now_ms.into(), list.into()];
            ex.execute(&NEW_STATUS_LIST, &params).await?;
            Ok((list, 0, count))
        }
    }
}

/// [`StatusListStore::status_list_version`].
pub async fn status_list_version<E: Executor>(
    ex: &E,
    service: ServiceId,
    list: i64,
) -> StoreResult<Option<StatusListVersion>> {
    ex.one(&STATUS_LIST_VERSION, &[service.into(), list.into()], |r| {
        Ok(StatusListVersion { size: r.int(0)?, version: r.int(1)? })
    })
    .await
}

// Tokens.

/// Inserts a token; when a trigger left it out, why ([`refused_insert`]).
pub async fn insert_token<E: Executor>(ex: &E, row: &TokenRow<'_>, event: Option<Event>) -> StoreResult<()> {
    if ex.execute_prepared(&INSERT_TOKEN, row.values()).await? == 0 {
        return Err(refused_insert(ex, row).await?);
    }
    record_on(ex, row.service(), event.map(|e| about_token(e, row))).await
}

/// Why the insert of `row` stored nothing, as only the two triggers on inserted tokens leave a row
/// out: [`StoreError::ClientGone`] when its client no longer exists (deleted since the issuer read
/// it), else [`StoreError::KeyRevoked`] (its signing key was revoked since).
pub async fn refused_insert<E: Executor>(ex: &E, row: &TokenRow<'_>) -> StoreResult<StoreError> {
    let client = row.client();
    if client != ClientId(0) {
        let found = ex.one(&CLIENT_BY_ID, &[client.into(), row.service().into()], |_| Ok(())).await?;
        if found.is_none() {
            return Ok(StoreError::ClientGone);
        }
    }
    Ok(StoreError::KeyRevoked)
}

/// `event` concerning the token `row` stores: its ID, subject and client.
pub fn about_token(event: Event, row: &TokenRow<'_>) -> Event {
    let event = event.token(row.token_id()).client(row.client());
    match row.subject() {
        Some(subject) => event.subject(subject),
        None => event,
    }
}

/// `event` concerning `token`: its ID, subject and client.
fn about_record(event: Event, token: &TokenRecord) -> Event {
    let event = event.token(&token.token_id).client(token.client_id);
    match &token.subject {
        Some(subject) => event.subject(subject),
        None => event,
    }
}

/// A revoked token as the revoking statements answer it: ID, subject, client.
type Revoked = (String, Option<String>, i64);

fn revoked_from_row(r: &dyn Columns) -> StoreResult<Revoked> {
    Ok((r.text(0)?, r.opt_text(1)?, r.int(2)?))
}

/// Records a revocation that reached the tokens of several subjects (`subjects`: one per token
/// revoked): one `token.revoked` per subject, with its count, so that "who revoked alice's
/// sessions" finds it and a Shared Signals receiver hears of each subject; the tokens without a
/// subject (client credentials) in one more. `about` adds what they share (client, key, reason).
async fn record_by_subject<E: Executor>(
    ex: &E,
    service: ServiceId,
    subjects: &[Option<String>],
    audit: &Audit,
    about: impl Fn(Event) -> Event,
) -> StoreResult<()> {
    let mut counts: std::collections::BTreeMap<Option<&str>, u64> = std::collections::BTreeMap::new();
    for subject in subjects {
        *counts.entry(subject.as_deref()).or_default() += 1;
    }
    for (subject, count) in counts {
        let Some(event) = audit.event(EventType::TokenRevoked) else { return Ok(()) };
        let event = about(event).count(count);
        let event = match subject {
            Some(subject) => event.subject(subject),
            None => event,
        };
        record(ex, EventStream::Service(service), &event).await?;
    }
    Ok(())
}

/// Records the revocation of `revoked` (one token, or one family) for `reason`.
async fn record_revoked<E: Executor>(
    ex: &E,
    service: ServiceId,
    revoked: &[Revoked],
    reason: RevokeReason,
    audit: &Audit,
) -> StoreResult<()> {
    let Some((token_id, subject, client)) = revoked.first() else { return Ok(()) };
    let Some(event) = audit.event(EventType::TokenRevoked) else { return Ok(()) };
    let event = event.token(token_id).client(ClientId(*client)).count(revoked.len() as u64).reason(reason);
    let event = match subject {
        Some(subject) => event.subject(subject),
        None => event,
    };
    record(ex, EventStream::Service(service), &event).await
}

/// [`TokenStore::token_by_id`].
pub async fn token_by_id<E: Executor>(
    ex: &E,
    service: ServiceId,
    token_id: &str,
) -> StoreResult<Option<TokenRecord>> {
    ex.one(&TOKEN_BY_ID, &[token_id.into(), service.into()], token_from_row).await
}

/// The token of `service` whose value of `kind` hashes to `hash` (see [`ValueKey`]).
pub async fn token_by_value<E: Executor>(
    ex: &E,
    service: ServiceId,
    kind: ValueKind,
    hash: &TokenHash,
) -> StoreResult<Option<TokenRecord>> {
    let statement = super::token_by_value(kind, ValueKey::of(hash));
    let found = ex.one(statement, &[hash.into(), service.into()], token_from_row).await?;
    Ok(found.filter(|token| holds(token, kind, hash)))
}

/// As [`token_by_value`], the token's row locked until the transaction ends
/// ([`Executor::one_for_update`]): the write that follows depends on what was read.
async fn token_by_value_for_update<E: Executor>(
    ex: &E,
    service: ServiceId,
    kind: ValueKind,
    hash: &TokenHash,
) -> StoreResult<Option<TokenRecord>> {
    let statement = super::token_by_value(kind, ValueKey::of(hash));
    let found = ex.one_for_update(statement, &[hash.into(), service.into()], token_from_row).await?;
    Ok(found.filter(|token| holds(token, kind, hash)))
}

/// [`TokenStore::update_token`]: only what an update may change is written, never `revoked_at`,
/// and in the transaction that read (and locked) the row, so no revocation commits in between and
/// none is undone.
pub async fn update_token<E: Executor>(
    ex: &E,
    service: ServiceId,
    access_hash: &TokenHash,
    changes: &TokenChanges,
    audit: &Audit,
) -> StoreResult<Option<TokenRecord>> {
    let Some(mut token) = token_by_value_for_update(ex, service, ValueKind::Access, access_hash).await?
    else {
        return Ok(None);
    };
    changes.apply(&mut token);
    ex.execute(&UPDATE_TOKEN, &token_update(&token)?).await?;
    record_on(ex, service, audit.event(EventType::TokenUpdated).map(|e| about_record(e, &token))).await?;
    Ok(Some(token))
}

/// [`TokenStore::delete_token`]: the token (found by its access value, read first so that the
/// event names it) and its rotation records.
pub async fn delete_token<E: Executor>(
    ex: &E,
    service: ServiceId,
    access_hash: &TokenHash,
    audit: &Audit,
) -> StoreResult<bool> {
    let Some(token) = token_by_value_for_update(ex, service, ValueKind::Access, access_hash).await? else {
        return Ok(false);
    };
    let key = ValueKey::of(access_hash);
    let params = [access_hash.into(), service.into()];
    ex.execute(DELETE_ROTATIONS_OF_TOKEN.get(key), &params).await?;
    if ex.execute(DELETE_TOKEN.get(key), &params).await? == 0 {
        return Ok(false);
    }
    record_on(ex, service, audit.event(EventType::TokenDeleted).map(|e| about_record(e, &token))).await?;
    Ok(true)
}

/// [`TokenStore::revoke_some`]: at most `at_most` live tokens of `target` (a value names one).
pub async fn revoke_some<E: Executor>(
    ex: &E,
    service: ServiceId,
    target: &RevokeTarget,
    now_ms: i64,
    at_most: u32,
    audit: &Audit,
) -> StoreResult<u64> {
    let at_most = i64::from(at_most);
    let reason = audit.reason.unwrap_or_else(|| target.reason());
    let one = match target {
        RevokeTarget::AccessHash(hash) => {
            let statement = REVOKE_BY_ACCESS_HASH.get(ValueKey::of(hash));
            ex.all(statement, &[now_ms.into(), service.into(), hash.into()], revoked_from_row).await?
        }
        RevokeTarget::RefreshHash(hash) => {
            let statement = REVOKE_BY_REFRESH_HASH.get(ValueKey::of(hash));
            ex.all(statement, &[now_ms.into(), service.into(), hash.into()], revoked_from_row).await?
        }
        RevokeTarget::Family(token_id) => {
            let params = [now_ms.into(), service.into(), token_id.into()];
            ex.all(&REVOKE_FAMILY, &params, revoked_from_row).await?
        }
        RevokeTarget::ClientSubject { client_id, subject } => {
            let params =
                [now_ms.into(), service.into(), (*client_id).into(), subject.as_ref().into(), at_most.into()];
            let subjects = ex.all(&REVOKE_BY_CLIENT_SUBJECT, &params, |r| r.opt_text(0)).await?;
            record_by_subject(ex, service, &subjects, audit, |e| e.client(*client_id).reason(reason)).await?;
            return Ok(subjects.len() as u64);
        }
        RevokeTarget::Subject(subject) => {
            let params = [now_ms.into(), service.into(), subject.into(), at_most.into()];
            let revoked = ex.execute(&REVOKE_BY_SUBJECT, &params).await?;
            if revoked > 0 {
                let event = audit.event(EventType::TokenRevoked);
                let event = event.map(|e| e.subject(subject).count(revoked).reason(reason));
                record_on(ex, service, event).await?;
            }
            return Ok(revoked);
        }
    };
    record_revoked(ex, service, &one, reason, audit).await?;
    Ok(one.len() as u64)
}

/// [`TokenStore::revoke_reused_refresh`]: when `hash` is a rotated-away refresh value of `service`,
/// revokes its family and answers `true`.
pub async fn revoke_reused_refresh<E: Executor>(
    ex: &E,
    service: ServiceId,
    hash: &TokenHash,
    now_ms: i64,
    audit: &Audit,
) -> StoreResult<bool> {
    let family = ex.one(&FAMILY_OF_ROTATED_REFRESH, &[hash.into(), service.into()], |r| r.text(0)).await?;
    let Some(token_id) = family else { return Ok(false) };
    let revoked =
        ex.all(&REVOKE_FAMILY, &[now_ms.into(), service.into(), token_id.into()], revoked_from_row).await?;
    record_revoked(ex, service, &revoked, RevokeReason::FamilyReuse, audit).await?;
    Ok(true)
}

/// How many times the family `token_id` of `service` was rotated after `since_ms`, and the
/// earliest of those (0 when none).
async fn rotations_since<E: Executor>(
    ex: &E,
    service: ServiceId,
    token_id: &str,
    since_ms: i64,
) -> StoreResult<(i64, i64)> {
    let params = [service.into(), token_id.into(), since_ms.into()];
    let found = ex.one(&FAMILY_ROTATIONS_SINCE, &params, |r| Ok((r.int(0)?, r.int(1)?))).await?;
    Ok(found.unwrap_or((0, 0)))
}

/// [`TokenStore::rotations_since`].
pub async fn rotations_of_family<E: Executor>(
    ex: &E,
    service: ServiceId,
    token_id: &str,
    since_ms: i64,
) -> StoreResult<(u32, i64)> {
    let (count, earliest) = rotations_since(ex, service, token_id, since_ms).await?;
    Ok((u32::try_from(count).unwrap_or(u32::MAX), earliest))
}

/// [`TokenStore::rotate_refresh`]. The token's row is locked first (PostgreSQL): concurrent
/// rotations, from any instance, have one winner, the others find the value rotated away (reuse),
/// and the rotations of a family are counted one after the other.
pub async fn rotate_refresh<E: Executor>(
    ex: &E,
    service: ServiceId,
    old: &TokenHash,
    rotation: &Rotation,
    audit: &Audit,
) -> StoreResult<RefreshOutcome> {
    let Some(token) = token_by_value_for_update(ex, service, ValueKind::Refresh, old).await? else {
        // A concurrent refresh rotated it first: that is reuse too.
        let reused = revoke_reused_refresh(ex, service, old, rotation.now_ms, audit).await?;
        return Ok(if reused { RefreshOutcome::Reused } else { RefreshOutcome::Invalid });
    };
    if !token.is_refreshable(rotation.now_ms) {
        return Ok(RefreshOutcome::Invalid);
    }
    let since = rotation.now_ms - ROTATION_RATE_WINDOW_MS;
    let (count, earliest) = rotations_since(ex, service, &token.token_id, since).await?;
    if count >= i64::from(rotation.per_minute) {
        return Ok(RefreshOutcome::TooFrequent { retry_after_ms: earliest - since });
    }
    let remembered = [
        old.into(),
        service.into(),
        (&token.token_id).into(),
        rotation.now_ms.into(),
        (&token.access_hash).into(),
    ];
    ex.execute(&REMEMBER_ROTATED_VALUES, &remembered).await?;
    // Left unchanged only by the trigger refusing a revoked signing key (the caller undoes the
    // remembered values).
    if ex.execute(&ROTATE_TOKEN, &rotation_row(service, &token.token_id, rotation)).await? == 0 {
        return Err(StoreError::KeyRevoked);
    }
    let kept = i64::from(ROTATIONS_KEPT) - 1;
    ex.execute(&FORGET_OLD_ROTATED_VALUES, &[service.into(), (&token.token_id).into(), kept.into()]).await?;
    record_on(ex, service, audit.event(EventType::TokenRefreshed).map(|e| about_record(e, &token))).await?;
    Ok(RefreshOutcome::Rotated(Box::new(rotated(token, rotation))))
}

/// A listing's version and one page: `count` and `page` with `filter`'s values, the page's then
/// followed by `tail` (limit and offset, or the row to follow and the limit).
async fn listing<E: Executor>(
    ex: &E,
    service: ServiceId,
    filter: &TokenFilter,
    count: &Statement,
    page: &Statement,
    tail: [i64; 2],
) -> StoreResult<(ListingVersion, Vec<TokenRecord>)> {
    // The service, the filters given, then the tail: at most five, on the stack.
    let mut params: [SqlValue<'_>; 5] =
        [service.into(), SqlValue::Null, SqlValue::Null, SqlValue::Null, SqlValue::Null];
    let mut used = 1;
    if let Some(client_id) = filter.client_id {
        params[used] = client_id.into();
        used += 1;
    }
    if let Some(subject) = &filter.subject {
        params[used] = subject.into();
        used += 1;
    }
    let version = ex
        .one(count, &params[..used], |r| {
            Ok(ListingVersion { total: r.int(0)? as u64, newest_row: r.int(1)? })
        })
        .await?
        .unwrap_or_default();
    params[used] = tail[0].into();
    params[used + 1] = tail[1].into();
    let page = ex.all(page, &params[..used + 2], token_from_row).await?;
    Ok((version, page))
}

/// [`TokenStore::list_tokens`]: the version and the `[start, end)` page, newest first.
pub async fn list_tokens<E: Executor>(
    ex: &E,
    service: ServiceId,
    filter: &TokenFilter,
    start: u32,
    end: u32,
) -> StoreResult<(ListingVersion, Vec<TokenRecord>)> {
    let statements = token_listing(filter);
    let (limit, offset) = (i64::from(end.saturating_sub(start)), i64::from(start));
    listing(ex, service, filter, &statements.count, &statements.page, [limit, offset]).await
}

/// [`TokenStore::list_tokens_after`]: the version and the `limit` tokens after the token `after`,
/// by key; `None` when `after` is no longer stored.
pub async fn list_tokens_after<E: Executor>(
    ex: &E,
    service: ServiceId,
    filter: &TokenFilter,
    after: &str,
    limit: u32,
) -> StoreResult<Option<(ListingVersion, Vec<TokenRecord>)>> {
    let Some(row) = ex.one(&TOKEN_ROW_ID, &[after.into(), service.into()], |r| r.int(0)).await? else {
        return Ok(None);
    };
    let statements = token_listing(filter);
    let tail = [row, i64::from(limit)];
    listing(ex, service, filter, &statements.count, &statements.page_after, tail).await.map(Some)
}

// Single use.

/// [`SingleUseStore::redeem_custom_token`]: the subject's cutoff read under its lock (a cutoff
/// committed first is seen; one set meanwhile waits for this transaction, and the revocation that
/// follows it then finds the token), the `jti` recorded (concurrent redemptions of one `jti`, from
/// any instance, wait on its key, and the loser records nothing), then the token stored.
pub async fn redeem_custom_token<E: Executor>(
    ex: &E,
    jti: &str,
    expires_at_ms: i64,
    generated_at_ms: i64,
    token: &TokenRow<'_>,
    audit: &Audit,
) -> StoreResult<Redemption> {
    let (service, subject) = (token.service(), token.subject().unwrap_or_default());
    ex.lock_subject(service, subject, SubjectLock::Shared).await?;
    let cutoff = ex.one(&SUBJECT_CUTOFF, &[service.into(), subject.into()], |r| r.int(0)).await?;
    if cutoff.is_some_and(|cutoff| generated_at_ms <= cutoff) {
        return Ok(Redemption::SubjectSignedOut);
    }
    // Expired jtis are left to the janitor (bounded batches).
    let params = [jti.into(), service.into(), token.token_id().into(), expires_at_ms.into()];
    if ex.execute(&REDEEM_JTI, &params).await? == 0 {
        return Ok(Redemption::Replayed);
    }
    insert_token(ex, token, audit.event(EventType::CustomTokenExchanged)).await?;
    Ok(Redemption::Redeemed)
}

/// [`SingleUseStore::custom_token_standing`]: whether the custom token `jti` was redeemed, and the
/// cutoff of `subject`.
pub async fn custom_token_standing<E: Executor>(
    ex: &E,
    service: ServiceId,
    jti: &str,
    subject: &str,
) -> StoreResult<CustomTokenStanding> {
    let standing = ex
        .one(&CUSTOM_TOKEN_STANDING, &[jti.into(), service.into(), subject.into()], |r| {
            Ok(CustomTokenStanding { redeemed: r.int(0)? > 0, valid_after: r.opt_int(1)? })
        })
        .await?;
    Ok(standing.unwrap_or_default())
}

/// [`SingleUseStore::end_custom_tokens`]: the cutoff set under the subject's lock, alone.
pub async fn end_custom_tokens<E: Executor>(
    ex: &E,
    service: ServiceId,
    subject: &str,
    at_ms: i64,
    audit: &Audit,
) -> StoreResult<()> {
    ex.lock_subject(service, subject, SubjectLock::Exclusive).await?;
    ex.execute(&END_CUSTOM_TOKENS, &[service.into(), subject.into(), at_ms.into()]).await?;
    record_on(ex, service, audit.event(EventType::UserRevoked).map(|e| e.subject(subject))).await
}
