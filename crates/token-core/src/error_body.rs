//! The error body every token-management endpoint answers with: `{resultCode, resultMessage,
//! action}`.

use serde::{Deserialize, Serialize};

use crate::result_code::Action;

/// An error body of the family: `{resultCode, resultMessage, action}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    /// The result code (`A…`), as in Authlete's API.
    pub result_code: String,
    /// The result code and a message naming the cause: `[code] text`.
    pub result_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// What the caller should do next.
    pub action: Option<Action>,
}

crate::api::json_payload!(ApiErrorBody);

impl crate::api::ErrorFamily for ApiErrorBody {
    const FAMILY: crate::api::Family = crate::api::Family::Api;
}

#[cfg(feature = "openapi")]
crate::openapi::derived!(ApiErrorBody);
