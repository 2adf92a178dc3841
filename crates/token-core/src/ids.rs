//! Newtype identifiers. Each one parses through a single constructor so an invalid value cannot
//! exist past the edge of the system.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A numeric ID in any form but its canonical decimal one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical decimal ID")]
pub struct NonCanonicalId;

macro_rules! numeric_id {
    ($(#[$meta:meta])* $name:ident($inner:ty)) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The raw numeric value.
            pub fn get(self) -> $inner {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                Self(value)
            }
        }

        /// Only the canonical decimal form: `+123`, `0123` or `-0` name no ID (proxies and
        /// access rules match paths textually, so two spellings of one ID would bypass them).
        impl FromStr for $name {
            type Err = NonCanonicalId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.parse::<$inner>() {
                    Ok(value) if value.to_string() == s => Ok(Self(value)),
                    _ => Err(NonCanonicalId),
                }
            }
        }
    };
}

/// The ID types also convert from the other integer type of the family (a service ID from an
/// `i64` as a database or JSON reader hands it, a client ID from a `u64`), refusing what does not
/// fit: callers need not care which of the two a given ID is stored as.
macro_rules! other_integer {
    ($name:ident($inner:ty) from $other:ty) => {
        impl TryFrom<$other> for $name {
            type Error = std::num::TryFromIntError;
            fn try_from(value: $other) -> Result<Self, Self::Error> {
                <$inner>::try_from(value).map(Self)
            }
        }
    };
}

other_integer!(ServiceId(u64) from i64);
other_integer!(OrganizationId(u64) from i64);
other_integer!(ClientId(i64) from u64);

numeric_id! {
    /// A service (tenant of an organization) — the `{serviceId}` of every API path.
    ServiceId(u64)
}
numeric_id! {
    /// An organization, which owns services.
    OrganizationId(u64)
}
numeric_id! {
    /// A client application registered in a service (`integer<int64>` on the wire).
    ClientId(i64)
}

/// The public, non-secret identifier of an issued token (`tokenId` on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct TokenId(String);

impl TokenId {
    /// A token ID from its text.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest subject the token-create API accepts (`004_…`: "must not exceed 100").
pub const SUBJECT_MAX_LEN: usize = 100;

/// The subject (user identifier) of a token: printable ASCII only, 1 to [`SUBJECT_MAX_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Subject(String);

impl Subject {
    /// Parses a subject, naming the `field` it came from in the error.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::SubjectEmpty { field });
        }
        // Printable ASCII: a control character (NUL above all) is no user identifier, and some
        // stores cannot hold it.
        if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(ValidationError::SubjectNotAscii { field });
        }
        if value.len() > SUBJECT_MAX_LEN {
            return Err(ValidationError::SubjectTooLong { field, len: value.len() });
        }
        Ok(Self(value.to_owned()))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ID as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Subject::parse("subject", &raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
