//! Clients: the endpoints of Authlete's `Client` object (create, get, list, update, delete), the
//! members we store, and the rules a request body is read by.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ListRange, TAG_TENANCY, is_unused, refuse_unsupported, typed, unsupported_members};
use crate::error::ValidationError;
use crate::grant::GrantType;
use crate::ids::ClientId;

/// The statuses of a client's create and update.
pub const CLIENT_WRITE_ERRORS: crate::api::ErrorStatuses = &[
    ("400", "The request broke a rule; resultCode and resultMessage say which."),
    ("401", "Missing or unknown Bearer credential (WWW-Authenticate: Bearer)."),
    ("403", "The credential may not act on this service."),
    ("404", "No such service or client."),
    ("409", "The client ID or alias is taken in this service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

crate::api::json_payload!(Client, ClientListResponse);

crate::api::endpoint! {
    /// `POST /api/{serviceId}/client/create`.
    pub struct ClientCreate {
        operation_id: "client_create_api",
        method: Post,
        path: "/api/{serviceId}/client/create",
        summary: "Create a client of the service.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: false,
        errors: CLIENT_WRITE_ERRORS,
        request: Client,
        response: Client,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `GET /api/{serviceId}/client/get/{clientId}` (ID or alias).
    pub struct ClientGet {
        operation_id: "client_get_api",
        method: Get,
        path: "/api/{serviceId}/client/get/{clientId}",
        summary: "Get a client by its ID or alias.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: Client,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `GET /api/{serviceId}/client/get/list`.
    pub struct ClientList {
        operation_id: "client_get_list_api",
        method: Get,
        path: "/api/{serviceId}/client/get/list",
        summary: "List the clients of the service.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: ListRange,
        response: ClientListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `POST /api/{serviceId}/client/update/{clientId}` (ID or alias): members given change.
    pub struct ClientUpdate {
        operation_id: "client_update_api",
        method: Post,
        path: "/api/{serviceId}/client/update/{clientId}",
        summary: "Change a client (members absent stay as they are).",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: CLIENT_WRITE_ERRORS,
        request: Client,
        response: Client,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `DELETE /api/{serviceId}/client/delete/{clientId}` (ID or alias): every token of the client is
    /// revoked with it.
    pub struct ClientDelete {
        operation_id: "client_delete_api",
        method: Delete,
        path: "/api/{serviceId}/client/delete/{clientId}",
        summary: "Delete a client; every token issued to it is revoked.",
        tag: TAG_TENANCY,
        auth: Credential,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: crate::api::NoContent,
        error: crate::error_body::ApiErrorBody,
    }
}

/// A client, as Authlete's `Client` object: the members this server stores.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Client {
    /// The client ID (assigned at creation unless given: a client moving from another server keeps
    /// its ID; given at update, it must be the client's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// The alias, usable wherever a client ID is (never a number); `""` at update removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    /// Whether the client has an alias (answers only; a request's value is not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_alias_enabled: Option<bool>,
    /// The client's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The client's OpenID Federation entity ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// The grant types the client may use (create default: `AUTHORIZATION_CODE`, as Authlete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<GrantType>>,
}

const CLIENT_MEMBERS: &[&str] =
    &["clientId", "clientIdAlias", "clientIdAliasEnabled", "clientName", "entityId", "grantTypes"];

/// The longest client name, alias or entity ID.
pub const MAX_CLIENT_TEXT_LEN: usize = 200;

impl Client {
    /// Reads a request body: refuses members we do not store (by name), `clientSecret` with its
    /// own reason, then the members' types and lengths.
    pub fn from_request(body: Value) -> Result<Client, ValidationError> {
        let Value::Object(map) = &body else {
            return Err(ValidationError::member_invalid("(body)", "a client is a JSON object"));
        };
        if map.get("clientSecret").is_some_and(|v| !is_unused(v)) {
            return Err(ValidationError::member_invalid(
                "clientSecret",
                "clients have no secret here: the authorization server authenticates its clients; this server trusts the service's credential",
            ));
        }
        refuse_unsupported(unsupported_members(&body, CLIENT_MEMBERS, ""))?;
        let client: Client = typed(body)?;
        for (field, value) in [
            ("clientName", &client.client_name),
            ("clientIdAlias", &client.client_id_alias),
            ("entityId", &client.entity_id),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > MAX_CLIENT_TEXT_LEN) {
                return Err(ValidationError::member_invalid(
                    field,
                    &format!("is longer than {MAX_CLIENT_TEXT_LEN} characters"),
                ));
            }
        }
        if client.client_id_alias.as_deref().is_some_and(|a| a.parse::<i64>().is_ok()) {
            return Err(ValidationError::member_invalid(
                "clientIdAlias",
                "must not be a number (it would be taken for a client ID)",
            ));
        }
        if client.client_id.is_some_and(|id| id.get() <= 0) {
            return Err(ValidationError::member_invalid("clientId", "must be a positive number"));
        }
        Ok(client)
    }
}

/// Answer of the client list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientListResponse {
    /// Start index (inclusive).
    pub start: u32,
    /// End index (exclusive).
    pub end: u32,
    /// How many clients the service has.
    pub total_count: u64,
    /// The clients of `[start, end)`.
    pub clients: Vec<Client>,
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::openapi::{Components, Documented, derived, unused_members_only};

    derived!(ClientListResponse);

    impl Documented for Client {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            let reference = components.add::<Self>();
            components.rules::<Self>(|rules| {
                for field in ["clientName", "clientIdAlias", "entityId"] {
                    rules.field(field, json!({"maxLength": MAX_CLIENT_TEXT_LEN}));
                }
                rules.field("clientIdAliasEnabled", json!({"readOnly": true}));
                unused_members_only(rules);
            });
            Some(reference)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_rules() {
        assert!(Client::from_request(json!({"clientName": "c", "clientSecret": ""})).is_ok());
        assert!(Client::from_request(json!({"clientSecret": "s"})).is_err());
        assert!(Client::from_request(json!({"clientIdAlias": "42"})).is_err());
        assert!(Client::from_request(json!({"clientId": 0})).is_err());
        assert!(Client::from_request(json!({"redirectUris": ["https://a"]})).is_err());
        assert!(Client::from_request(json!([])).is_err());
    }
}
