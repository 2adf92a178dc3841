//! Token Status Lists (IETF draft-ietf-oauth-status-list-17) for JWT access tokens: each JWT of a
//! service that keeps lists gets an index (reserved from the store in blocks, so instances never
//! share one; gaps are allowed), its `status` claim names it, and a public endpoint serves each
//! list as a signed Status List Token. The bits themselves are the store's: the database sets a
//! token's bit in the transaction that ends it (store/*/migrations, `status_bits`).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;
use token_core::ServiceId;
use token_core::status_list::{self, StatusClaim, StatusListClaim, StatusListReference};

use super::error::{ManageError, RequestError};
use super::{ServiceResult, Services};
use crate::store::{ServiceRecord, StatusEntry};

/// Indexes reserved from the store at a time, per service and instance: a refill holds issuing of
/// that instance for one store write, so it is rare (a list has 2^20; a restart leaves at most
/// this many as a gap).
const RESERVE_BLOCK: i64 = 4096;
/// How long a Status List Token stays valid (`exp - iat`): verifiers refetch after `ttl` anyway.
const LIST_TOKEN_LIFETIME_SECS: i64 = 86_400;

/// What an instance keeps: the indexes it reserved and not yet handed out, and rendered lists.
#[derive(Debug, Default)]
pub struct StatusLists {
    /// Per service: `(list, next index, end)`.
    blocks: tokio::sync::Mutex<HashMap<ServiceId, (i64, i64, i64)>>,
    /// Per list: the answer and when it was rendered.
    rendered: Mutex<HashMap<(ServiceId, i64), (Instant, StatusListToken)>>,
}

/// A Status List Token as served: the JWT, its `ETag` (of the list's bits) and its `ttl`.
#[derive(Clone, Debug)]
pub struct StatusListToken {
    pub jwt: String,
    pub etag: String,
    pub ttl_secs: i64,
}

/// The URI of list `list` of `service` under `base` (`public_base_url`).
fn list_uri(base: &str, service: ServiceId, list: i64) -> String {
    format!(
        "{}{}",
        base.trim_end_matches('/'),
        status_list::ENDPOINT.path_for(service).replace("{listId}", &list.to_string())
    )
}

impl Services {
    /// A new JWT's entry in `service`'s lists, when it keeps them (`None` otherwise).
    pub(super) async fn status_entry(&self, service: &ServiceRecord) -> ServiceResult<Option<StatusEntry>> {
        // Without a public base URL there is no URI to put in the claim: no entry either.
        if service.status_list_ttl.is_none() || self.inner.config.public_base_url.is_none() {
            return Ok(None);
        }
        // Held across a refill, so concurrent issuers wait for one reservation instead of each
        // reserving a block and leaving all but one as gaps.
        let mut blocks = self.inner.status_lists.blocks.lock().await;
        let block = match blocks.get_mut(&service.id) {
            Some(block) if block.1 < block.2 => block,
            _ => {
                let (list, first, count) = self
                    .inner
                    .stores
                    .status_lists
                    .reserve_status_indexes(service.id, RESERVE_BLOCK, status_list::LIST_SIZE, self.now_ms())
                    .await?;
                blocks.entry(service.id).insert_entry((list, first, first + count)).into_mut()
            }
        };
        let (list, next, _) = block;
        *next += 1;
        Ok(Some(StatusEntry { list: *list, idx: *next - 1 }))
    }

    /// The `status` claim for `entry` (`public_base_url` is required while lists are on).
    pub(super) fn status_claim(&self, service: ServiceId, entry: StatusEntry) -> Option<StatusClaim> {
        let base = self.inner.config.public_base_url.as_deref()?;
        Some(StatusClaim {
            status_list: StatusListReference {
                idx: entry.idx as u64,
                uri: list_uri(base, service, entry.list),
            },
        })
    }

    /// `GET /api/{serviceId}/statuslists/{listId}`: the list as a Status List Token signed by the
    /// service's current key, rendered at most once per `tenancy_cache_ms` (≤ 1 s) per list, so a
    /// bit set by any instance is served within that bound.
    pub async fn status_list_token(
        &self,
        raw_service: &str,
        raw_list: &str,
    ) -> ServiceResult<StatusListToken> {
        let service = self.public_service(raw_service).await?;
        let list: i64 = raw_list.parse().ok().filter(|l| *l > 0).ok_or_else(|| {
            RequestError::Path(format!(
                "'{}' is not a status list ID",
                raw_list.chars().take(32).collect::<String>()
            ))
        })?;
        let (Some(ttl_secs), Some(base)) =
            (service.status_list_ttl, self.inner.config.public_base_url.clone())
        else {
            return Err(ManageError::StatusListUnknown(list).into());
        };
        let fresh = Duration::from_millis(self.inner.config.tenancy_cache_ms);
        let key = (service.id, list);
        {
            let rendered = self.inner.status_lists.rendered.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, token)) = rendered.get(&key)
                && at.elapsed() < fresh
                && token.ttl_secs == ttl_secs
            {
                return Ok(token.clone());
            }
        }
        let rendered_at = Instant::now();
        let stored = self
            .inner
            .stores
            .status_lists
            .status_list(service.id, list)
            .await?
            .ok_or(ManageError::StatusListUnknown(list))?;
        let bytes = status_list::encode(stored.size as u64, stored.invalid.iter().map(|i| *i as u64));
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        zlib.write_all(&bytes)
            .and_then(|()| zlib.flush())
            .map_err(|e| super::ServiceError::Internal(format!("zlib: {e}")))?;
        let compressed = zlib.finish().map_err(|e| super::ServiceError::Internal(format!("zlib: {e}")))?;
        let lst = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&compressed);
        let now = self.now_ms() / 1000;
        let claims = json!({
            "sub": list_uri(&base, service.id, list),
            "iat": now,
            "exp": now + LIST_TOKEN_LIFETIME_SECS,
            "ttl": ttl_secs,
            "status_list": StatusListClaim { bits: status_list::BITS, lst: lst.clone() },
        });
        let key_record = self.signing_key(service.id).await?;
        let jwt = super::keys::sign(&key_record, status_list::TYP, &claims)?;
        let etag = format!(
            "W/\"{}\"",
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(lst.as_bytes()))
                [..22]
        );
        let token = StatusListToken { jwt, etag, ttl_secs };
        let mut rendered = self.inner.status_lists.rendered.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: lists of services that are gone or retired do not pile up.
        if rendered.len() > 10_000 {
            rendered.clear();
        }
        rendered.insert(key, (rendered_at, token.clone()));
        Ok(token)
    }
}
