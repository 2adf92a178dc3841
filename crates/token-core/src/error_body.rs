//! The error body every token-management endpoint answers with: `{resultCode, resultMessage,
//! action}`.

use serde::{Deserialize, Serialize};

use crate::result_code::Action;

/// An error body of the family: `{resultCode, resultMessage, action}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    pub result_code: String,
    pub result_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}
