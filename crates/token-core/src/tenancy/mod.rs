//! Tenancy over HTTP in the Authlete API's shape: services, clients, a user's grants, and (our own
//! paths: Authlete has none) signing keys. Request and response of each endpoint side by side, with
//! their endpoint metadata.
//!
//! Authlete's `Service` and `Client` carry well over a hundred members; we store a few. The rule
//! for the rest ([`unsupported_members`]): a member we do not store is refused by name unless its
//! value says "not used" (`null`, `false`, `""`, `[]`, `{}`), so an object read from Authlete can
//! be sent here as it is, and nothing a caller meant is silently dropped.

mod clients;
mod grants;
mod model;
mod services;
mod signing_keys;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ValidationError;

pub use clients::{
    CLIENT_WRITE_ERRORS, Client, ClientCreate, ClientDelete, ClientGet, ClientList, ClientListResponse,
    ClientUpdate, MAX_CLIENT_TEXT_LEN,
};
pub use grants::{
    AuthorizationDelete, AuthorizationList, ClientAuthorizationDeleteResponse,
    ClientAuthorizationListResponse, ClientLimited,
};
pub use model::{Principal, ServiceSettings};
pub use services::{
    AccessTokenSignAlg, Scope, Service, ServiceCreate, ServiceDelete, ServiceExtension, ServiceGet,
    ServiceList, ServiceListResponse, ServiceUpdate,
};
pub use signing_keys::{
    KeyList, KeyListResponse, KeyRevoke, KeyRevokeResponse, KeyRotate, KeyRotateRequest, KeyRotateResponse,
    KeyState, SigningKeyInfo,
};

/// OpenAPI tag of this family.
pub const TAG_TENANCY: &str = "Tenancy";

impl crate::api::Payload for ListRange {
    const CARRIER: crate::api::Carrier = crate::api::Carrier::Query;
}

/// `start`/`end` of a list (`end` exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(rename_all = "camelCase")]
pub struct ListRange {
    /// Start index (inclusive), default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u32>,
    /// End index (exclusive), default start + 100; at most start + 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u32>,
}

/// Entries a list answers when `end` is not given.
pub const LIST_DEFAULT_PAGE: u32 = 100;
/// The most entries one list answer holds.
pub const LIST_MAX_PAGE: u32 = 1000;

impl ListRange {
    /// The page `[start, end)`, checked: `end ≥ start`, at most [`LIST_MAX_PAGE`] entries.
    pub fn bounds(self) -> Result<(u32, u32), ValidationError> {
        let start = self.start.unwrap_or(0);
        let end = self.end.unwrap_or(start.saturating_add(LIST_DEFAULT_PAGE));
        // The document states both as int32.
        if start > i32::MAX as u32 || end > i32::MAX as u32 {
            return Err(ValidationError::member_invalid("start", "start and end must be at most 2147483647"));
        }
        if end < start || end - start > LIST_MAX_PAGE {
            return Err(ValidationError::member_invalid(
                "end",
                &format!("must be ≥ start and at most start + {LIST_MAX_PAGE}"),
            ));
        }
        Ok((start, end))
    }

    /// The entries of `items` in `[start, end)`.
    pub fn page<T>(self, items: Vec<T>) -> Result<(u32, u32, Vec<T>), ValidationError> {
        let (start, end) = self.bounds()?;
        let page = items.into_iter().skip(start as usize).take((end - start) as usize).collect();
        Ok((start, end, page))
    }
}

// ---------------------------------------------------------------- the members rule

/// Whether a value says "not used": `null`, `false`, `""`, `[]`, `{}`.
fn is_unused(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(true) | Value::Number(_) => false,
    }
}

/// The members of `object` outside `supported` whose value is used, prefixed with `at`, sorted.
pub fn unsupported_members(object: &Value, supported: &[&str], at: &str) -> Vec<String> {
    let Value::Object(map) = object else { return Vec::new() };
    let mut names: Vec<String> = map
        .iter()
        .filter(|(name, value)| !supported.contains(&name.as_str()) && !is_unused(value))
        .map(|(name, _)| format!("{at}{name}"))
        .collect();
    names.sort();
    names
}

fn refuse_unsupported(members: Vec<String>) -> Result<(), ValidationError> {
    if members.is_empty() {
        return Ok(());
    }
    // Bounded: a body of thousands of members gets a message of the first few.
    const SHOWN: usize = 10;
    let more = members.len().saturating_sub(SHOWN);
    let mut list: Vec<String> = members.into_iter().take(SHOWN).collect();
    if more > 0 {
        list.push(format!("and {more} more"));
    }
    Err(ValidationError::MembersUnsupported { members: list.join(", ") })
}

/// The supported members as their types, naming the member that does not fit.
fn typed<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let member = e.path().to_string();
        ValidationError::member_invalid(&member, &e.into_inner().to_string())
    })
}

#[cfg(feature = "openapi")]
mod documented {
    use utoipa::openapi::path::{Parameter, ParameterIn};
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::openapi::{Components, Documented};

    impl Documented for ListRange {
        fn schema(_: &mut Components) -> Option<RefOr<Schema>> {
            None
        }

        fn parameters() -> Vec<Parameter> {
            use utoipa::IntoParams;
            Self::into_params(|| Some(ParameterIn::Query))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_ranges() {
        assert_eq!(ListRange::default().bounds().unwrap(), (0, LIST_DEFAULT_PAGE));
        assert!(ListRange { start: Some(5), end: Some(4) }.bounds().is_err());
        assert!(ListRange { start: Some(0), end: Some(LIST_MAX_PAGE + 1) }.bounds().is_err());
        let (_, _, page) = ListRange { start: Some(1), end: Some(3) }.page(vec![1, 2, 3, 4]).unwrap();
        assert_eq!(page, vec![2, 3]);
    }
}
