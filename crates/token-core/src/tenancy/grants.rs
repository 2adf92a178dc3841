//! A user's grants: the clients holding live tokens for a subject (Authlete's `ClientLimited`), and
//! the revocation of one client's grant.

use serde::{Deserialize, Serialize};

use super::{ListRange, TAG_TENANCY};
use crate::ids::ClientId;
use crate::result_code::Action;

crate::api::json_payload!(ClientAuthorizationListResponse, ClientAuthorizationDeleteResponse);

crate::api::endpoint! {
    /// `GET /api/{serviceId}/client/authorization/get/list/{subject}`.
    pub struct AuthorizationList {
        operation_id: "client_authorization_get_list_api",
        method: Get,
        path: "/api/{serviceId}/client/authorization/get/list/{subject}",
        summary: "List the clients holding live tokens for a subject.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: ListRange,
        response: ClientAuthorizationListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `DELETE /api/{serviceId}/client/authorization/delete/{clientId}/{subject}`.
    pub struct AuthorizationDelete {
        operation_id: "client_authorization_delete_api",
        method: Delete,
        path: "/api/{serviceId}/client/authorization/delete/{clientId}/{subject}",
        summary: "Revoke every live token a client holds for a subject.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: ClientAuthorizationDeleteResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

/// A client in a grant list (Authlete's `ClientLimited`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientLimited {
    /// The client ID.
    pub client_id: ClientId,
    /// The client's name.
    pub client_name: String,
    /// The alias, when the client has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    /// Whether the client has an alias.
    pub client_id_alias_enabled: bool,
}

/// Answer of the grant list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientAuthorizationListResponse {
    /// The subject asked about.
    pub subject: String,
    /// Start index (inclusive).
    pub start: u32,
    /// End index (exclusive).
    pub end: u32,
    /// How many clients hold live tokens for the subject.
    pub total_count: u64,
    /// The clients of `[start, end)`.
    pub clients: Vec<ClientLimited>,
}

/// Answer of the grant delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientAuthorizationDeleteResponse {
    /// `A210001`.
    pub result_code: String,
    /// `[A210001] …`.
    pub result_message: String,
    /// `OK`.
    pub action: Action,
    /// The service ID.
    pub service_api_key: u64,
    /// The client whose tokens were revoked.
    pub client_id: ClientId,
    /// The subject whose tokens were revoked.
    pub subject: String,
    /// How many live tokens were revoked.
    pub count: u64,
}

#[cfg(feature = "openapi")]
mod documented {
    use super::*;
    use crate::openapi::derived;

    derived!(ClientAuthorizationListResponse, ClientAuthorizationDeleteResponse);
}
