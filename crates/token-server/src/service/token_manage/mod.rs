//! The operator's token management: list, update, delete and revoke; RFC 7009 revocation
//! (`revocation`). Tokens are named by value or by hash here (the operator holds hashes from the
//! listing); judging a token is introspection's. Every revocation of tokens goes through this
//! component (tenancy's deletions and key revocations included).

pub mod revocation;

use std::collections::HashMap;
use std::sync::Arc;

use token_core::grant::GrantType;
use token_core::token_create::{
    authorization_details_elements, authorization_details_object, check_properties,
};
use token_core::token_manage::{
    AccessTokenInfo, ClientSummary, LIST_DEFAULT_END, LIST_MAX_PAGE, TokenListRequest, TokenListResponse,
    TokenRevokeRequest, TokenRevokeResponse, TokenState, TokenUpdateRequest, TokenUpdateResponse,
};
use token_core::validate::is_base64url_sha256;
use token_core::{ResultCode, ServiceId, Subject, TokenHash, TokenId, ValidationError};

use super::error::ManageError;
use super::issuance::custom_token::{CUSTOM_TOKEN_CLIENT, CUSTOM_TOKEN_CLIENT_IDENTIFIER};
use super::value_format::ValueFormats;
use super::{ServiceError, ServiceResult, Shared};
use crate::clock::Clock;
use crate::random;
use crate::store::{
    Actor, Audit, ClientRecord, ClientStore, ConflictKind, ListingVersion, RevokeTarget, ServiceRecord,
    SingleUseStore, StoreError, StoreResult, Stores, TokenChanges, TokenFilter, TokenRecord, TokenStore,
    ValueKind,
};

/// Tokens a key revocation revokes per write (each batch is one short transaction).
pub const KEY_REVOCATION_BATCH: u32 = 500;

/// The token management component. Clones share what they keep (tenancy holds one: deleting a
/// client, a user's grants and revoking a key end tokens, and ending tokens is this component's).
#[derive(Clone, Debug)]
pub struct TokenManage {
    clients: Arc<dyn ClientStore>,
    tokens: Arc<dyn TokenStore>,
    /// A subject's cutoff of custom tokens (read with a listing, set by a revocation).
    single_use: Arc<dyn SingleUseStore>,
    /// For a regenerated value.
    values: ValueFormats,
    clock: Arc<dyn Clock>,
    /// Where listing pages ended, so that the next page is read by key.
    listing_bookmarks: Arc<ListingBookmarks>,
}

/// Where the pages of token listings served by this instance ended: the listing with `filter` at
/// position `start` continues after token `after` while the listing's version (count and newest
/// row) is the one it had then. The count alone is not enough: a token added and another removed
/// shift positions and keep it.
#[derive(Debug, Default)]
pub struct ListingBookmarks {
    ends: std::sync::Mutex<HashMap<(ServiceId, TokenFilter, u32), ListingBookmark>>,
}

#[derive(Clone, Debug)]
struct ListingBookmark {
    after: String,
    version: ListingVersion,
}

/// Bookmarks kept per instance (then they start over): one per listing a client is paging.
const MAX_BOOKMARKS: usize = 10_000;

impl ListingBookmarks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(ServiceId, TokenFilter, u32), ListingBookmark>> {
        self.ends.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, service: ServiceId, filter: &TokenFilter, start: u32) -> Option<ListingBookmark> {
        if start == 0 {
            return None;
        }
        self.lock().get(&(service, filter.clone(), start)).cloned()
    }

    fn put(&self, service: ServiceId, filter: &TokenFilter, end: u32, bookmark: ListingBookmark) {
        let mut ends = self.lock();
        if ends.len() >= MAX_BOOKMARKS {
            ends.clear();
        }
        ends.insert((service, filter.clone(), end), bookmark);
    }
}

/// The access-token hash that names a token: the hash of the value, or the value itself when it
/// is already a hash and no token has it as a value.
fn hash_candidates(identifier: &str) -> Vec<TokenHash> {
    let mut candidates = vec![TokenHash::of(identifier)];
    candidates.extend(TokenHash::from_encoded(identifier));
    candidates
}

fn info(token: &TokenRecord, now_ms: i64) -> AccessTokenInfo {
    AccessTokenInfo {
        access_token_hash: token.access_hash.to_string(),
        refresh_token_hash: token.refresh_hash.as_ref().map(ToString::to_string),
        client_id: token.client_id,
        subject: token.subject.clone(),
        grant_type: token.grant_type,
        scopes: token.scopes.clone(),
        refresh_token_scopes: token.refresh_scopes.clone(),
        access_token_expires_at: token.access_expires_at,
        refresh_token_expires_at: token.refresh_expires_at,
        created_at: token.created_at,
        last_refreshed_at: token.last_refreshed_at,
        properties: (!token.properties.is_empty()).then(|| token.properties.clone()),
        token_id: TokenId::new(token.token_id.clone()),
        state: TokenState::of(token.revoked_at, token.access_expires_at, token.refresh_expires_at, now_ms),
    }
}

impl TokenManage {
    pub(super) fn new(stores: &Stores, shared: &Shared, values: ValueFormats) -> Self {
        Self {
            clients: Arc::clone(&stores.clients),
            tokens: Arc::clone(&stores.tokens),
            single_use: Arc::clone(&stores.single_use),
            values,
            clock: Arc::clone(&shared.clock),
            listing_bookmarks: Default::default(),
        }
    }

    /// The client a management request names by ID or alias, or the custom-token sessions'
    /// pseudo-client by its identifier (`custom-token`): their sessions are listed and revoked like
    /// any client's.
    async fn named_client(
        &self,
        service: ServiceId,
        identifier: &str,
    ) -> ServiceResult<Option<ClientRecord>> {
        if identifier == CUSTOM_TOKEN_CLIENT_IDENTIFIER {
            return Ok(Some(ClientRecord {
                client_id: CUSTOM_TOKEN_CLIENT,
                service_id: service,
                name: "custom-token sessions".to_owned(),
                alias: Some(CUSTOM_TOKEN_CLIENT_IDENTIFIER.to_owned()),
                entity_id: None,
                grant_types: vec![GrantType::JwtBearer, GrantType::RefreshToken],
            }));
        }
        Ok(self.clients.client_by_identifier(service, identifier).await?)
    }

    /// Revokes every token of `target` at `now_ms`, a bounded batch per write; how many were live.
    pub(super) async fn revoke_target(
        &self,
        service: ServiceId,
        target: &RevokeTarget,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<u64> {
        self.tokens.revoke(service, target, now_ms, audit).await
    }

    /// Revokes every live token of `service` whose JWT access token or whose custom token the key
    /// `kid` signed, [`KEY_REVOCATION_BATCH`] per write (writers are never held long); how many.
    pub(super) async fn revoke_signed_by(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<u64> {
        let mut revoked = 0;
        loop {
            let batch =
                self.tokens.revoke_signed_by(service, kid, now_ms, KEY_REVOCATION_BATCH, audit).await?;
            revoked += batch;
            if batch < u64::from(KEY_REVOCATION_BATCH) {
                return Ok(revoked);
            }
        }
    }

    /// The service's tokens, newest first, a page at a time (never their values).
    pub async fn list_tokens(
        &self,
        service: ServiceId,
        request: TokenListRequest,
    ) -> ServiceResult<TokenListResponse> {
        let start = request.start.unwrap_or(0);
        let end = request.end.unwrap_or(start.saturating_add(LIST_DEFAULT_END));
        if end < start || end - start > LIST_MAX_PAGE {
            return Err(ServiceError::from(ManageError::ListRange { start, end, max: LIST_MAX_PAGE }));
        }
        let client = match request.client_identifier.clone() {
            None => None,
            Some(identifier) => Some(
                self.named_client(service, &identifier)
                    .await?
                    .ok_or_else(|| ServiceError::from(ManageError::ListClientUnknown))?,
            ),
        };
        if let Some(subject) = request.subject.as_deref().filter(|s| !s.is_empty()) {
            Subject::parse("subject", subject)?;
        }
        let filter =
            TokenFilter { client_id: client.as_ref().map(|c| c.client_id), subject: request.subject.clone() };
        let tokens_store = &self.tokens;
        // A page that follows one served before is read by key, after that page's last token:
        // walking a listing of 400,000 tokens a page at a time costs each page what the first
        // cost, instead of an OFFSET that grows with `start`. Valid while the listing's version is
        // unchanged (tokens added or removed since shift positions: then by position).
        let bookmarks = &self.listing_bookmarks;
        let by_key = match bookmarks.get(service, &filter, start) {
            Some(ListingBookmark { after, version }) => {
                match tokens_store.list_tokens_after(service, &filter, &after, end - start).await? {
                    Some((now, page)) if now == version => Some((now, page)),
                    _ => None,
                }
            }
            None => None,
        };
        let (version, tokens) = match by_key {
            Some(page) => page,
            None => tokens_store.list_tokens(service, &filter, start, end).await?,
        };
        if let Some(last) = tokens.last()
            && tokens.len() == (end - start) as usize
        {
            bookmarks.put(service, &filter, end, ListingBookmark { after: last.token_id.clone(), version });
        }
        let tokens_valid_after_time = match request.subject.as_deref() {
            Some(subject) if !subject.is_empty() => {
                self.single_use.custom_tokens_valid_after(service, subject).await?
            }
            _ => None,
        };
        let now = self.clock.now_ms();
        Ok(TokenListResponse {
            tokens_valid_after_time,
            start,
            end,
            total_count: version.total,
            client: client.map(|c| ClientSummary {
                client_id: c.client_id,
                client_id_alias: c.alias,
                client_name: Some(c.name),
            }),
            subject: request.subject,
            access_tokens: tokens.iter().map(|token| info(token, now)).collect(),
        })
    }

    /// Changes a token's lifetimes, scopes, properties, bindings or value, atomically: a
    /// revocation is never undone.
    pub async fn update_token(
        &self,
        service: &ServiceRecord,
        request: TokenUpdateRequest,
        actor: &Actor,
    ) -> ServiceResult<TokenUpdateResponse> {
        let invalid = |message: String| ServiceError::from(ManageError::UpdateInvalid(message));
        if request.access_token.secret().is_empty() {
            return Err(invalid("accessToken is required.".into()));
        }
        for (field, value) in [
            ("accessTokenExpiresAt", request.access_token_expires_at),
            ("refreshTokenExpiresAt", request.refresh_token_expires_at),
        ] {
            if value.is_some_and(|v| v < 0) {
                return Err(invalid(format!("{field} must not be negative (milliseconds since the epoch).")));
            }
        }
        for (field, value) in [
            ("certificateThumbprint", &request.certificate_thumbprint),
            ("dpopKeyThumbprint", &request.dpop_key_thumbprint),
        ] {
            if value.as_deref().is_some_and(|v| !v.is_empty() && !is_base64url_sha256(v)) {
                return Err(ServiceError::Invalid(ValidationError::ThumbprintInvalid { field }));
            }
        }
        if let Some(properties) = &request.properties {
            check_properties(properties)?;
        }
        if let Some(details) = &request.authorization_details {
            authorization_details_elements(details)?;
        }
        if let Some(scopes) = &request.scopes
            && let Some(scope) = scopes.iter().find(|s| !service.supported_scopes.contains(s))
        {
            return Err(ValidationError::ScopeUnsupported { scope: scope.clone() }.into());
        }

        let not_found = || ServiceError::from(ManageError::UpdateNotFound);
        let mut changes = TokenChanges {
            access_expires_at: if request.access_token_persistent == Some(true) {
                Some(0)
            } else {
                request.access_token_expires_at
            },
            refresh_expires_at: request.refresh_token_expires_at,
            scopes: request.scopes.clone(),
            properties: request.properties.clone(),
            // An empty string removes a binding.
            certificate_thumbprint: request
                .certificate_thumbprint
                .as_ref()
                .map(|t| (!t.is_empty()).then(|| t.clone())),
            dpop_key_thumbprint: request
                .dpop_key_thumbprint
                .as_ref()
                .map(|t| (!t.is_empty()).then(|| t.clone())),
            authorization_details: request.authorization_details.as_ref().map(authorization_details_object),
            new_access_hash: None,
        };
        // The operator may name the token by its value or by its hash (as listed).
        let service_id = service.id;
        let mut found = None;
        for hash in hash_candidates(request.access_token.secret()) {
            if let Some(token) = self.tokens.token_by_access_hash(service_id, &hash).await? {
                found = Some((hash, token));
                break;
            }
        }
        let (hash, current) = found.ok_or_else(not_found)?;
        // A regenerated value carries the token's ID, as every generated value does.
        let new_value = if request.access_token_value_updated == Some(true) {
            let format = self.values.current().await?;
            Some(random::token_value(ValueKind::Access, &current.token_id, format))
        } else {
            None
        };
        changes.new_access_hash = new_value.as_ref().map(|value| value.hash());
        let audit = Audit::new(actor.clone(), self.clock.now_ms());
        let updated = match self.tokens.update_token(service_id, &hash, &changes, &audit).await {
            Ok(token) => token,
            Err(StoreError::Conflict(ConflictKind::TokenValue)) => {
                return Err(ManageError::ValueInUse.into());
            }
            Err(e) => return Err(e.into()),
        };
        let token = updated.ok_or_else(not_found)?;

        Ok(TokenUpdateResponse {
            result_code: ResultCode::TOKEN_UPDATED.code.to_owned(),
            result_message: ResultCode::TOKEN_UPDATED.message("The access token was updated."),
            action: ResultCode::TOKEN_UPDATED.action,
            access_token: Some(new_value.unwrap_or(request.access_token)),
            access_token_expires_at: Some(token.access_expires_at),
            refresh_token_expires_at: token.refresh_expires_at,
            scopes: Some(token.scopes),
            properties: Some(token.properties),
            authorization_details: token.authorization_details,
            token_type: Some(token.token_type),
            token_id: Some(TokenId::new(token.token_id)),
        })
    }

    /// Deletes the token named by its value or hash.
    pub async fn delete_token(
        &self,
        service: ServiceId,
        identifier: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let audit = Audit::new(actor.clone(), self.clock.now_ms());
        for hash in hash_candidates(identifier) {
            if self.tokens.delete_token(service, &hash, &audit).await? {
                return Ok(());
            }
        }
        Err(ManageError::DeleteNotFound.into())
    }

    /// Revokes tokens by value or hash, every token of a client (and subject), or every token of
    /// a subject. A token row is its whole refresh family (rotation rewrites the row), so
    /// revoking the row ends every value the family ever had.
    pub async fn revoke_tokens(
        &self,
        service: ServiceId,
        request: TokenRevokeRequest,
        actor: &Actor,
    ) -> ServiceResult<TokenRevokeResponse> {
        let audit = Audit::new(actor.clone(), self.clock.now_ms());
        // The subject rule of token create (printable ASCII, at most 100) wherever a subject is
        // given: a revocation by subject records a cutoff, so an unbounded one would be unbounded
        // storage, and a subject no token can have names nothing.
        if let Some(subject) = request.subject.as_deref().filter(|s| !s.is_empty()) {
            Subject::parse("subject", subject)?;
        }
        let targets: Vec<RevokeTarget> = if let Some(access) = &request.access_token_identifier {
            hash_candidates(access.secret()).into_iter().map(RevokeTarget::AccessHash).collect()
        } else if let Some(refresh) = &request.refresh_token_identifier {
            hash_candidates(refresh.secret()).into_iter().map(RevokeTarget::RefreshHash).collect()
        } else if let Some(identifier) = request.client_identifier.clone() {
            let client = self
                .named_client(service, &identifier)
                .await?
                .ok_or_else(|| ServiceError::from(ManageError::RevokeClientUnknown))?;
            vec![RevokeTarget::ClientSubject {
                client_id: client.client_id,
                subject: request.subject.clone(),
            }]
        } else if let Some(subject) = request.subject.clone().filter(|s| !s.is_empty()) {
            // The end user signed out everywhere: every family of the subject, every client, and
            // every custom token generated for them until now (Firebase's
            // `tokensValidAfterTime`). The cutoff first: an exchange that stores its token after
            // it is refused, one that stored before is found by the revocation below.
            self.single_use.end_custom_tokens(service, &subject, self.clock.now_ms(), &audit).await?;
            vec![RevokeTarget::Subject(subject)]
        } else {
            return Err(ManageError::RevokeRequestInvalid.into());
        };
        let now = self.clock.now_ms();
        let mut count = 0;
        for target in &targets {
            count += self.tokens.revoke(service, target, now, &audit).await?;
        }
        // A value the family had before a rotation still names the family (RFC 7009 §2.1): a
        // thief who refreshed must not keep the new pair because the owner revoked the old one.
        if count == 0 {
            for target in &targets {
                let (hash, kind) = match target {
                    RevokeTarget::AccessHash(hash) => (hash, ValueKind::Access),
                    RevokeTarget::RefreshHash(hash) => (hash, ValueKind::Refresh),
                    RevokeTarget::ClientSubject { .. }
                    | RevokeTarget::Subject(_)
                    | RevokeTarget::Family(_) => {
                        continue;
                    }
                };
                if let Some(family) = self.tokens.token_by_rotated_value(service, hash, kind).await? {
                    let family = RevokeTarget::Family(family.token_id);
                    count += self.tokens.revoke(service, &family, now, &audit).await?;
                }
            }
        }
        Ok(TokenRevokeResponse {
            result_code: ResultCode::TOKENS_REVOKED.code.to_owned(),
            result_message: ResultCode::TOKENS_REVOKED.message(format!("Revoked {count} access token(s).")),
            action: ResultCode::TOKENS_REVOKED.action,
            count,
        })
    }
}
