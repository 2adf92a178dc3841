//! Token Status List (IETF draft-ietf-oauth-status-list-17) for JWT access tokens: the endpoint
//! serving each Status List Token, the `status` claim a JWT carries, and the bit layout of a list
//! (one bit per token, least significant bit first; 1 = invalid). Compression (zlib, RFC 1950) and
//! signing are the server's; the layout is here so that it is property-tested and shared with the
//! client's verifier.

use serde::{Deserialize, Serialize};

use crate::api::TAG_TOKEN_MANAGEMENT;

crate::api::endpoint! {
    /// `GET /api/{serviceId}/statuslists/{listId}`: a Status List Token (`application/statuslist+jwt`).
    pub struct Get {
        operation_id: "status_list_get",
        method: Get,
        path: "/api/{serviceId}/statuslists/{listId}",
        summary: "A Token Status List of the service (a signed JWT; no credential needed; for verifiers).",
        tag: TAG_TOKEN_MANAGEMENT,
        auth: Public,
        idempotent: true,
        errors: STATUS_LIST_ERRORS,
        request: crate::api::NoBody,
        response: StatusListToken,
        error: crate::error_body::ApiErrorBody,
    }
}

/// The statuses of a list's answer.
pub const STATUS_LIST_ERRORS: crate::api::ErrorStatuses = &[
    ("400", "The service ID or list ID in the path is malformed."),
    ("404", "No such service, the service keeps no status lists, or no such list (or it was retired)."),
];

/// A Status List Token: a compact JWS (`application/statuslist+jwt`), not JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusListToken(pub String);

impl crate::api::Payload for StatusListToken {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Text(MEDIA_TYPE);
}
/// The answer's media type.
pub const MEDIA_TYPE: &str = "application/statuslist+jwt";
/// The JWS `typ` of a Status List Token.
pub const TYP: &str = "statuslist+jwt";
/// Bits per token: one (valid / invalid).
pub const BITS: u8 = 1;
/// Status value of a token that is no longer valid (revoked, replaced, deleted).
pub const INVALID: u8 = 1;
/// Tokens per list: 2^20 (a list of all-valid tokens compresses to about a hundred bytes; fully
/// revoked, 128 KiB at most before compression).
pub const LIST_SIZE: i64 = 1 << 20;
/// Default `ttl` of a list, seconds: how long a verifier may use a fetched list.
pub const DEFAULT_TTL_SECS: i64 = 300;
/// The longest `ttl` a service may set, seconds (a day).
pub const MAX_TTL_SECS: i64 = 86_400;

/// The `status` claim of a JWT access token: `{"status_list": {"idx", "uri"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusClaim {
    /// The token's entry.
    pub status_list: StatusListReference,
}

/// Where a token's status is: index `idx` of the list at `uri`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListReference {
    /// The token's index in the list.
    pub idx: u64,
    /// The list's URI (its Status List Token's `sub`).
    pub uri: String,
}

/// The `status_list` claim of a Status List Token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListClaim {
    /// Bits per token.
    pub bits: u8,
    /// base64url (no padding) of the zlib-compressed bytes.
    pub lst: String,
}

/// The bytes of a list of `size` tokens (bits per token: 1) whose `invalid` indexes are set, least
/// significant bit first: index `i` is bit `i % 8` of byte `i / 8`. Indexes outside the list are
/// ignored.
pub fn encode(size: u64, invalid: impl IntoIterator<Item = u64>) -> Vec<u8> {
    let mut bytes = vec![0u8; size.div_ceil(8) as usize];
    for idx in invalid {
        if idx < size {
            bytes[(idx / 8) as usize] |= 1 << (idx % 8);
        }
    }
    bytes
}

/// The status of index `idx` in decompressed list bytes (`None`: outside the list).
pub fn status(bytes: &[u8], idx: u64) -> Option<u8> {
    let byte = bytes.get(usize::try_from(idx / 8).ok()?)?;
    Some((byte >> (idx % 8)) & 1)
}

#[cfg(feature = "openapi")]
mod documented {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

    use super::StatusListToken;

    impl utoipa::PartialSchema for StatusListToken {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$"))
                .description(Some("A Status List Token (draft-ietf-oauth-status-list-17): a JWT with typ statuslist+jwt signed by the service's current key; claims sub (the list's URI), iat, exp, ttl and status_list {bits: 1, lst}."))
                .into()
        }
    }

    impl utoipa::ToSchema for StatusListToken {}

    crate::openapi::derived!(StatusListToken);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_drafts_example_layout() {
        // draft-ietf-oauth-status-list §4.1's example: statuses 1,0,0,1,1,1,0,1 | 1,1,0,0,0,1,0,1
        // give the bytes 0xB9 0xA3.
        let invalid = [0u64, 3, 4, 5, 7, 8, 9, 13, 15];
        assert_eq!(encode(16, invalid), vec![0xB9, 0xA3]);
    }

    proptest! {
        #[test]
        fn every_index_reads_back_as_written(size in 1u64..4096, picks in proptest::collection::vec(0u64..5000, 0..64)) {
            let bytes = encode(size, picks.iter().copied());
            prop_assert_eq!(bytes.len() as u64, size.div_ceil(8));
            for idx in 0..size {
                let expected = u8::from(picks.contains(&idx));
                prop_assert_eq!(status(&bytes, idx), Some(expected));
            }
            prop_assert_eq!(status(&bytes, size.div_ceil(8) * 8), None);
        }
    }
}
