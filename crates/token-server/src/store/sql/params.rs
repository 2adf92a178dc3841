//! Statement parameters, written once: each record's values as the statements that write it take
//! them, in their placeholders' order, for each driver to bind (rusqlite's and tokio-postgres's
//! `ToSql` of [`SqlValue`], in each backend's `executor.rs`). A list is an array: its length is the
//! statement's placeholder count, and making one costs no allocation beyond its owned values.

use std::borrow::Cow;

use token_core::keys::SignAlg;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use crate::key_encryption::KeyEncryption;
use crate::store::*;

/// One parameter, as both schemas store it: integers as 64-bit integers (`BIGINT`), booleans,
/// texts (JSON exactly as serialised, hashes as their text encoding) and bytes (`BYTEA`, `BLOB`);
/// `Null` for an absent value of any of them. Borrowed while the caller keeps the value for the
/// statement's time; owned ([`SqlValue::into_owned`]) when the write runs on another thread
/// (SQLite's writer, PostgreSQL's group commit).
#[derive(Clone, PartialEq, Eq)]
pub enum SqlValue<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
}

/// Never the values of texts and bytes (hashes, subjects, sealed keys): their length only.
impl std::fmt::Debug for SqlValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SqlValue::Null => f.write_str("Null"),
            SqlValue::Int(v) => write!(f, "Int({v})"),
            SqlValue::Bool(v) => write!(f, "Bool({v})"),
            SqlValue::Text(v) => write!(f, "Text({} bytes)", v.len()),
            SqlValue::Bytes(v) => write!(f, "Bytes({} bytes)", v.len()),
        }
    }
}

impl SqlValue<'_> {
    /// The value, owning what it borrowed.
    pub fn into_owned(self) -> SqlValue<'static> {
        match self {
            SqlValue::Null => SqlValue::Null,
            SqlValue::Int(v) => SqlValue::Int(v),
            SqlValue::Bool(v) => SqlValue::Bool(v),
            SqlValue::Text(v) => SqlValue::Text(Cow::Owned(v.into_owned())),
            SqlValue::Bytes(v) => SqlValue::Bytes(Cow::Owned(v.into_owned())),
        }
    }

    /// The text, when the value is one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SqlValue::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl From<i64> for SqlValue<'_> {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<bool> for SqlValue<'_> {
    fn from(v: bool) -> Self {
        SqlValue::Bool(v)
    }
}

impl<'a> From<&'a str> for SqlValue<'a> {
    fn from(v: &'a str) -> Self {
        SqlValue::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<&'a String> for SqlValue<'a> {
    fn from(v: &'a String) -> Self {
        SqlValue::Text(Cow::Borrowed(v))
    }
}

impl From<String> for SqlValue<'_> {
    fn from(v: String) -> Self {
        SqlValue::Text(Cow::Owned(v))
    }
}

impl From<Vec<u8>> for SqlValue<'_> {
    fn from(v: Vec<u8>) -> Self {
        SqlValue::Bytes(Cow::Owned(v))
    }
}

/// A hash as stored: its text encoding.
impl<'a> From<&'a TokenHash> for SqlValue<'a> {
    fn from(v: &'a TokenHash) -> Self {
        SqlValue::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<ServiceId> for SqlValue<'_> {
    fn from(v: ServiceId) -> Self {
        SqlValue::Int(v.get() as i64)
    }
}

impl From<OrganizationId> for SqlValue<'_> {
    fn from(v: OrganizationId) -> Self {
        SqlValue::Int(v.get() as i64)
    }
}

impl From<ClientId> for SqlValue<'_> {
    fn from(v: ClientId) -> Self {
        SqlValue::Int(v.get())
    }
}

/// An absent value is `Null`, whatever its type.
impl<'a, T: Into<SqlValue<'a>>> From<Option<T>> for SqlValue<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// A value stored as JSON text, exactly as serialised.
pub fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

/// [`INSERT_ORGANIZATION`](super::INSERT_ORGANIZATION)'s values.
pub fn organization_row(id: OrganizationId, name: &str, now_ms: i64) -> [SqlValue<'_>; 3] {
    [id.into(), name.into(), now_ms.into()]
}

/// A service's settings as [`INSERT_SERVICE`](super::INSERT_SERVICE) and
/// [`UPDATE_SERVICE`](super::UPDATE_SERVICE) take them (after the IDs): name, issuer, scopes, grant
/// types, durations, algorithm, custom-token TTLs, status-list TTL.
fn settings_values(s: &ServiceSettings) -> StoreResult<[SqlValue<'_>; 11]> {
    Ok([
        (&s.name).into(),
        (&s.issuer).into(),
        to_json(&s.supported_scopes)?.into(),
        to_json(&s.supported_grant_types)?.into(),
        s.access_token_duration.into(),
        s.refresh_token_duration.into(),
        s.access_token_sign_alg.map(SignAlg::as_str).into(),
        s.custom_token_access_ttl.into(),
        s.custom_token_refresh_ttl.into(),
        s.status_list_ttl.into(),
        s.issuance_events.into(),
    ])
}

/// [`INSERT_SERVICE`](super::INSERT_SERVICE)'s values: service `id` of `organization`, its
/// settings, created at `now_ms`.
pub fn service_row(
    id: ServiceId,
    organization: OrganizationId,
    settings: &ServiceSettings,
    now_ms: i64,
) -> StoreResult<[SqlValue<'_>; 14]> {
    let [a, b, c, d, e, f, g, h, i, j, k] = settings_values(settings)?;
    Ok([id.into(), organization.into(), a, b, c, d, e, f, g, h, i, j, k, now_ms.into()])
}

/// [`UPDATE_SERVICE`](super::UPDATE_SERVICE)'s values: service `id` takes `settings`.
pub fn service_update(id: ServiceId, settings: &ServiceSettings) -> StoreResult<[SqlValue<'_>; 12]> {
    let [a, b, c, d, e, f, g, h, i, j, k] = settings_values(settings)?;
    Ok([id.into(), a, b, c, d, e, f, g, h, i, j, k])
}

/// [`INSERT_CLIENT`](super::INSERT_CLIENT)'s and [`UPDATE_CLIENT`](super::UPDATE_CLIENT)'s values
/// (both in [`CLIENT_COLUMNS`](super::CLIENT_COLUMNS) order).
pub fn client_row(c: &ClientRecord) -> StoreResult<[SqlValue<'_>; 6]> {
    Ok([
        c.client_id.into(),
        c.service_id.into(),
        (&c.name).into(),
        c.alias.as_ref().into(),
        c.entity_id.as_ref().into(),
        to_json(&c.grant_types)?.into(),
    ])
}

/// How a credential's principal is stored: its kind and owner ID.
fn principal_columns(principal: Principal) -> (&'static str, i64) {
    match principal {
        Principal::Service(id) => ("service", id.get() as i64),
        Principal::Organization(id) => ("organization", id.get() as i64),
    }
}

/// [`INSERT_CREDENTIAL`](super::INSERT_CREDENTIAL)'s values: a credential of `principal` whose
/// secret hashes to `hash`.
pub fn credential_row<'a>(
    principal: Principal,
    hash: &'a TokenHash,
    label: &'a str,
    now_ms: i64,
    expires_at: Option<i64>,
) -> [SqlValue<'a>; 6] {
    let (kind, owner) = principal_columns(principal);
    [kind.into(), owner.into(), hash.into(), label.into(), now_ms.into(), expires_at.into()]
}

/// [`INSERT_SIGNING_KEY`](super::INSERT_SIGNING_KEY)'s values: `key`, its private part sealed with
/// `keys` (the key-encryption key, when one is configured).
pub fn signing_key_row<'a>(
    key: &'a SigningKeyRecord,
    keys: &KeyEncryption,
) -> StoreResult<[SqlValue<'a>; 7]> {
    let (sealed, kek_id) = keys
        .seal(&key.kid, &key.private_der.0)
        .map_err(|e| StoreError::driver(format!("signing key {}", key.kid), e))?;
    Ok([
        (&key.kid).into(),
        key.service_id.into(),
        key.alg.as_str().into(),
        sealed.into(),
        to_json(&key.public_jwk)?.into(),
        key.created_at.into(),
        kek_id.into(),
    ])
}

/// Columns of [`TOKEN_COLUMNS`](super::TOKEN_COLUMNS).
pub const TOKEN_COLUMN_COUNT: usize = 30;

/// Where a token row holds its ID and its subject (positions in
/// [`TOKEN_COLUMNS`](super::TOKEN_COLUMNS)).
const TOKEN_ID: usize = 0;
const SUBJECT: usize = 5;
/// Where the client ID is among them.
const CLIENT_ID: usize = 4;

/// A token as [`INSERT_TOKEN`](super::INSERT_TOKEN) stores it: every column's value, in
/// [`TOKEN_COLUMNS`](super::TOKEN_COLUMNS) order.
#[derive(Clone, Debug)]
pub struct TokenRow<'a> {
    service: ServiceId,
    values: [SqlValue<'a>; TOKEN_COLUMN_COUNT],
}

impl<'a> TokenRow<'a> {
    pub fn of(t: &'a TokenRecord) -> StoreResult<Self> {
        let values = [
            (&t.token_id).into(),
            t.service_id.into(),
            (&t.access_hash).into(),
            t.refresh_hash.as_ref().into(),
            t.client_id.into(),
            t.subject.as_ref().into(),
            t.grant_type.as_str().into(),
            to_json(&t.scopes)?.into(),
            t.refresh_scopes.as_ref().map(to_json).transpose()?.into(),
            t.created_at.into(),
            t.access_expires_at.into(),
            t.refresh_expires_at.into(),
            t.last_refreshed_at.into(),
            to_json(&t.properties)?.into(),
            t.certificate_thumbprint.as_ref().into(),
            t.dpop_key_thumbprint.as_ref().into(),
            (&t.token_type).into(),
            t.authorization_details.as_ref().map(to_json).transpose()?.into(),
            to_json(&t.resources)?.into(),
            t.acr.as_ref().into(),
            t.auth_time.into(),
            t.session_id.as_ref().into(),
            t.client_identifier.as_ref().into(),
            t.for_external_attachment.into(),
            t.jwt_kid.as_ref().into(),
            to_json(&t.extra)?.into(),
            t.revoked_at.into(),
            t.custom_token_kid.as_ref().into(),
            t.status.map(|s| s.list).into(),
            t.status.map(|s| s.idx).into(),
        ];
        Ok(Self { service: t.service_id, values })
    }

    /// The row, owning its values (to be stored by another thread).
    pub fn into_owned(self) -> TokenRow<'static> {
        TokenRow { service: self.service, values: self.values.map(SqlValue::into_owned) }
    }

    /// The values, in [`TOKEN_COLUMNS`](super::TOKEN_COLUMNS) order.
    pub fn values(&self) -> &[SqlValue<'a>; TOKEN_COLUMN_COUNT] {
        &self.values
    }

    pub fn service(&self) -> ServiceId {
        self.service
    }

    pub fn token_id(&self) -> &str {
        self.values[TOKEN_ID].as_text().unwrap_or_default()
    }

    pub fn subject(&self) -> Option<&str> {
        self.values[SUBJECT].as_text()
    }

    pub fn client(&self) -> ClientId {
        match self.values[CLIENT_ID] {
            SqlValue::Int(id) => ClientId(id),
            _ => ClientId(0),
        }
    }
}

/// [`UPDATE_TOKEN`](super::UPDATE_TOKEN)'s values: what an update may change of `token` (as
/// changed), then its ID and service.
pub fn token_update(token: &TokenRecord) -> StoreResult<[SqlValue<'_>; 11]> {
    Ok([
        (&token.access_hash).into(),
        token.access_expires_at.into(),
        token.refresh_expires_at.into(),
        to_json(&token.scopes)?.into(),
        to_json(&token.properties)?.into(),
        token.certificate_thumbprint.as_ref().into(),
        token.dpop_key_thumbprint.as_ref().into(),
        (&token.token_type).into(),
        token.authorization_details.as_ref().map(to_json).transpose()?.into(),
        (&token.token_id).into(),
        token.service_id.into(),
    ])
}

/// [`ROTATE_TOKEN`](super::ROTATE_TOKEN)'s values: the family `token_id` of `service` after
/// `rotation`.
pub fn rotation_row<'a>(service: ServiceId, token_id: &'a str, rotation: &'a Rotation) -> [SqlValue<'a>; 10] {
    [
        (&rotation.new_access_hash).into(),
        (&rotation.new_refresh_hash).into(),
        rotation.access_expires_at.into(),
        rotation.refresh_expires_at.into(),
        rotation.now_ms.into(),
        rotation.jwt_kid.as_ref().into(),
        token_id.into(),
        rotation.status.map(|s| s.list).into(),
        rotation.status.map(|s| s.idx).into(),
        service.into(),
    ]
}

/// An event's values, in [`EVENT_VALUE_COLUMNS`](super::EVENT_VALUE_COLUMNS) order (its stream
/// and number are the append's).
pub fn event_values(e: &Event) -> [SqlValue<'_>; 12] {
    [
        e.at.into(),
        e.event_type.as_str().into(),
        e.actor.kind.as_str().into(),
        e.actor.id.as_deref().into(),
        e.service_id.map(|s| s.get() as i64).into(),
        e.subject.as_deref().into(),
        e.client_id.map(ClientId::get).into(),
        e.token_id.as_deref().into(),
        e.kid.as_deref().into(),
        e.credential_id.as_deref().into(),
        e.count.map(|c| i64::try_from(c).unwrap_or(i64::MAX)).into(),
        e.reason.map(RevokeReason::as_str).into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_row_names_its_columns_where_they_are() {
        let columns: Vec<&str> = super::super::TOKEN_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(columns.len(), TOKEN_COLUMN_COUNT);
        assert_eq!((columns[TOKEN_ID], columns[SUBJECT]), ("token_id", "subject"));
        let token = TokenRecord {
            subject: Some("alice".into()),
            ..TokenRecord::issued(
                "id-1".into(),
                ServiceId(7),
                ClientId(3),
                token_core::grant::GrantType::ClientCredentials,
                TokenHash::of("access"),
                1,
                0,
            )
        };
        let row = TokenRow::of(&token).unwrap().into_owned();
        assert_eq!((row.token_id(), row.service(), row.subject()), ("id-1", ServiceId(7), Some("alice")));
        assert_eq!(row.values()[1], SqlValue::Int(7));
        assert_eq!(format!("{:?}", row.values()[2]), "Text(43 bytes)", "a hash is never printed");
    }
}
