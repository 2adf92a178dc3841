//! Row codecs: each record read back from a row of its column list, by position, over a
//! [`Columns`] trait each driver's row implements.

use serde_json::Value;
use token_core::grant::GrantType;
use token_core::keys::SignAlg;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use super::CREDENTIAL_COLUMN_COUNT;
use crate::key_encryption::KeyEncryption;
use crate::store::*;

/// A result row, read by position, whichever the driver.
pub trait Columns {
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn text(&self, i: usize) -> StoreResult<String>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn opt_bool(&self, i: usize) -> StoreResult<Option<bool>>;
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>>;
}

/// The columns of `row` from position `start` on (a joined row's second table).
pub struct Offset<'r>(pub &'r dyn Columns, pub usize);

impl Columns for Offset<'_> {
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.0.int(self.1 + i)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.0.opt_int(self.1 + i)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        self.0.text(self.1 + i)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.0.opt_text(self.1 + i)
    }
    fn opt_bool(&self, i: usize) -> StoreResult<Option<bool>> {
        self.0.opt_bool(self.1 + i)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        self.0.bytes(self.1 + i)
    }
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(text)?)
}

fn opt_json<T: serde::de::DeserializeOwned>(text: Option<String>) -> StoreResult<Option<T>> {
    text.map(|t| from_json(&t)).transpose()
}

/// A stored token or credential hash (always written by [`TokenHash`], so always well formed).
fn hash(text: String) -> StoreResult<TokenHash> {
    TokenHash::from_encoded(&text).ok_or_else(|| StoreError::Backend("malformed stored hash".into()))
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::driver("stored JSON", e)
    }
}

/// A row of [`ORGANIZATION_COLUMNS`](super::ORGANIZATION_COLUMNS).
pub fn organization_from_row(r: &dyn Columns) -> StoreResult<OrganizationRecord> {
    Ok(OrganizationRecord { id: OrganizationId(r.int(0)? as u64), name: r.text(1)?, created_at: r.int(2)? })
}

/// A row of [`SERVICE_COLUMNS`](super::SERVICE_COLUMNS).
pub fn service_from_row(r: &dyn Columns) -> StoreResult<ServiceRecord> {
    Ok(ServiceRecord {
        id: ServiceId(r.int(0)? as u64),
        organization_id: OrganizationId(r.int(1)? as u64),
        settings: ServiceSettings {
            name: r.text(2)?,
            issuer: r.text(3)?,
            supported_scopes: from_json(&r.text(4)?)?,
            supported_grant_types: from_json(&r.text(5)?)?,
            access_token_duration: r.int(6)?,
            refresh_token_duration: r.int(7)?,
            access_token_sign_alg: r.opt_text(8)?.and_then(|a| SignAlg::parse(&a)),
            custom_token_access_ttl: r.int(9)?,
            custom_token_refresh_ttl: r.int(10)?,
            status_list_ttl: r.opt_int(11)?,
            issuance_events: r.opt_bool(12)?.unwrap_or(true),
        },
    })
}

/// A row of [`CLIENT_COLUMNS`](super::CLIENT_COLUMNS).
pub fn client_from_row(r: &dyn Columns) -> StoreResult<ClientRecord> {
    Ok(ClientRecord {
        client_id: ClientId(r.int(0)?),
        service_id: ServiceId(r.int(1)? as u64),
        name: r.text(2)?,
        alias: r.opt_text(3)?,
        entity_id: r.opt_text(4)?,
        grant_types: from_json(&r.text(5)?)?,
    })
}

/// A row of [`CREDENTIAL_COLUMNS`](super::CREDENTIAL_COLUMNS).
pub fn credential_from_row(r: &dyn Columns) -> StoreResult<StoredCredential> {
    let owner = r.int(2)? as u64;
    Ok(StoredCredential {
        record: CredentialRecord {
            id: r.int(0)?,
            principal: if r.text(1)? == "service" {
                Principal::Service(ServiceId(owner))
            } else {
                Principal::Organization(OrganizationId(owner))
            },
            label: r.text(3)?,
            created_at: r.int(4)?,
            expires_at: r.opt_int(5)?,
            revoked_at: r.opt_int(6)?,
            last_used_at: r.opt_int(7)?,
        },
        hash: hash(r.text(8)?)?,
    })
}

/// A row of [`CREDENTIAL_AND_SERVICE`](super::CREDENTIAL_AND_SERVICE): the credential, and the service when one was joined.
pub fn credential_and_service_from_row(
    r: &dyn Columns,
) -> StoreResult<(StoredCredential, Option<ServiceRecord>)> {
    let service = Offset(r, CREDENTIAL_COLUMN_COUNT);
    let joined = service.opt_int(0)?.is_some();
    Ok((credential_from_row(r)?, if joined { Some(service_from_row(&service)?) } else { None }))
}

/// A row of [`KEY_COLUMNS`](super::KEY_COLUMNS); the private key opened with `keys`.
pub fn key_from_row(keys: &KeyEncryption, r: &dyn Columns) -> StoreResult<SigningKeyRecord> {
    let kid = r.text(0)?;
    let alg = r.text(2)?;
    let private = keys
        .open(&kid, &r.bytes(3)?, r.opt_text(8)?.as_deref())
        .map_err(|e| StoreError::driver(format!("signing key {kid}"), e))?;
    Ok(SigningKeyRecord {
        service_id: ServiceId(r.int(1)? as u64),
        alg: SignAlg::parse(&alg).ok_or_else(|| StoreError::Backend(format!("unknown alg {alg}")))?,
        private_der: PrivateKeyDer(private),
        public_jwk: from_json(&r.text(4)?)?,
        created_at: r.int(5)?,
        retired_at: r.opt_int(6)?,
        revoked_at: r.opt_int(7)?,
        kid,
    })
}

/// A row of [`TOKEN_COLUMNS`](super::TOKEN_COLUMNS).
pub fn token_from_row(r: &dyn Columns) -> StoreResult<TokenRecord> {
    let grant = r.text(6)?;
    Ok(TokenRecord {
        token_id: r.text(0)?,
        service_id: ServiceId(r.int(1)? as u64),
        access_hash: hash(r.text(2)?)?,
        refresh_hash: r.opt_text(3)?.map(hash).transpose()?,
        client_id: ClientId(r.int(4)?),
        subject: r.opt_text(5)?,
        grant_type: GrantType::parse(&grant)
            .ok_or_else(|| StoreError::Backend(format!("unknown grant type {grant}")))?,
        scopes: from_json(&r.text(7)?)?,
        refresh_scopes: opt_json(r.opt_text(8)?)?,
        created_at: r.int(9)?,
        access_expires_at: r.int(10)?,
        refresh_expires_at: r.opt_int(11)?,
        last_refreshed_at: r.int(12)?,
        properties: from_json(&r.text(13)?)?,
        certificate_thumbprint: r.opt_text(14)?,
        dpop_key_thumbprint: r.opt_text(15)?,
        token_type: r.text(16)?,
        authorization_details: opt_json::<Value>(r.opt_text(17)?)?,
        resources: from_json(&r.text(18)?)?,
        acr: r.opt_text(19)?,
        auth_time: r.opt_int(20)?,
        session_id: r.opt_text(21)?,
        client_identifier: r.opt_text(22)?,
        for_external_attachment: r.opt_bool(23)?,
        jwt_kid: r.opt_text(24)?,
        extra: from_json(&r.text(25)?)?,
        revoked_at: r.opt_int(26)?,
        custom_token_kid: r.opt_text(27)?,
        status: match (r.opt_int(28)?, r.opt_int(29)?) {
            (Some(list), Some(idx)) => Some(StatusEntry { list, idx }),
            _ => None,
        },
    })
}

/// A credential just stored as [`INSERT_CREDENTIAL`](super::INSERT_CREDENTIAL) answered its ID:
/// live, never used.
pub fn new_credential(
    id: i64,
    principal: Principal,
    label: &str,
    now_ms: i64,
    expires_at: Option<i64>,
) -> CredentialRecord {
    CredentialRecord {
        id,
        principal,
        label: label.to_owned(),
        created_at: now_ms,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    }
}

/// A row of [`EVENT_COLUMNS`](super::EVENT_COLUMNS). A stored name this version does not know (a
/// newer version wrote it) is a decoding error, never a guess.
pub fn event_from_row(r: &dyn Columns) -> StoreResult<Event> {
    let unknown = |what: &'static str| StoreError::Backend(format!("an event with an unknown {what}"));
    let event_type = EventType::parse(&r.text(2)?).ok_or_else(|| unknown("type"))?;
    let kind = ActorKind::parse(&r.text(3)?).ok_or_else(|| unknown("actor kind"))?;
    let reason = match r.opt_text(12)? {
        None => None,
        Some(name) => Some(
            [
                RevokeReason::ByValue,
                RevokeReason::ByClient,
                RevokeReason::BySubject,
                RevokeReason::FamilyReuse,
                RevokeReason::KeyRevoke,
            ]
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| unknown("reason"))?,
        ),
    };
    Ok(Event {
        event_id: r.int(0)? as u64,
        at: r.int(1)?,
        event_type,
        actor: Actor { kind, id: r.opt_text(4)? },
        service_id: r.opt_int(5)?.map(|id| ServiceId(id as u64)),
        subject: r.opt_text(6)?,
        client_id: r.opt_int(7)?.map(ClientId),
        token_id: r.opt_text(8)?,
        kid: r.opt_text(9)?,
        credential_id: r.opt_text(10)?,
        count: r.opt_int(11)?.map(|c| c as u64),
        reason,
    })
}
