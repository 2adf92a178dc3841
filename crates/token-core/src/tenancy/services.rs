//! Services: the endpoints of Authlete's `Service` object (create, list, get, update, delete), the
//! members we store, and the rules a request body is read by.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ListRange, TAG_TENANCY, is_unused, refuse_unsupported, typed, unsupported_members};
use crate::error::ValidationError;
use crate::grant::GrantType;
use crate::keys::SignAlg;

crate::api::endpoint! {
    /// `POST /api/service/create` (organization token): a service of the caller's organization.
    pub struct ServiceCreate {
        operation_id: "service_create_api",
        method: Post,
        path: "/api/service/create",
        summary: "Create a service in the Organization Token's organization (with its first signing key).",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: false,
        errors: crate::api::KEY_MAKING_ERRORS,
        request: Service,
        response: Service,
        error: crate::error_body::ApiErrorBody,
    }
}

crate::api::json_payload!(Service, ServiceListResponse);

crate::api::endpoint! {
    /// `GET /api/service/get/list` (organization token): the organization's services.
    pub struct ServiceList {
        operation_id: "service_get_list_api",
        method: Get,
        path: "/api/service/get/list",
        summary: "List the services of the Organization Token's organization.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: ListRange,
        response: ServiceListResponse,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `GET /api/{serviceId}/service/get` (organization token).
    pub struct ServiceGet {
        operation_id: "service_get_api",
        method: Get,
        path: "/api/{serviceId}/service/get",
        summary: "Get a service's settings.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: Service,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `POST /api/{serviceId}/service/update` (organization token): members given change, the others
    /// stay.
    pub struct ServiceUpdate {
        operation_id: "service_update_api",
        method: Post,
        path: "/api/{serviceId}/service/update",
        summary: "Change a service's settings (members absent stay as they are).",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::KEY_MAKING_ERRORS,
        request: Service,
        response: Service,
        error: crate::error_body::ApiErrorBody,
    }
}
crate::api::endpoint! {
    /// `DELETE /api/{serviceId}/service/delete` (organization token): the service and everything of
    /// it (tokens, clients, keys, its Service Access Tokens).
    pub struct ServiceDelete {
        operation_id: "service_delete_api",
        method: Delete,
        path: "/api/{serviceId}/service/delete",
        summary: "Delete a service with its tokens, clients, keys and Service Access Tokens.",
        tag: TAG_TENANCY,
        auth: Organization,
        idempotent: true,
        errors: crate::api::AUTH_ERRORS,
        request: crate::api::NoBody,
        response: crate::api::NoContent,
        error: crate::error_body::ApiErrorBody,
    }
}

/// A scope of a service, as Authlete's `Scope` object (we store its name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// The scope token (RFC 6749 section 3.3).
    pub name: String,
}

/// Our settings that Authlete's `Service` has no member for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceExtension {
    /// Default `accessTokenTTL` of custom tokens' sessions, seconds (1–3600).
    #[serde(rename = "customTokenAccessTokenTTL", default, skip_serializing_if = "Option::is_none")]
    pub custom_token_access_token_ttl: Option<i64>,
    /// Default `refreshTokenTTL` of custom tokens' sessions, seconds (greater than the access TTL).
    #[serde(rename = "customTokenRefreshTokenTTL", default, skip_serializing_if = "Option::is_none")]
    pub custom_token_refresh_token_ttl: Option<i64>,
    /// Token Status Lists for JWT access tokens (draft-ietf-oauth-status-list-17): the `ttl` of
    /// the lists, seconds (1–86400), turns them on; `0` turns them off. Answers carry it only when
    /// lists are on. Needs the server's `public_base_url` (the lists' URIs).
    #[serde(rename = "statusListTTL", default, skip_serializing_if = "Option::is_none")]
    pub status_list_ttl: Option<i64>,
    /// Whether issuance events (`token.created`, `token.refreshed`, `custom_token.generated`,
    /// `custom_token.exchanged`) are written to the event log (default `true`); the other events
    /// always are.
    #[serde(rename = "issuanceEvents", default, skip_serializing_if = "Option::is_none")]
    pub issuance_events: Option<bool>,
}

/// JWT access tokens of a service: `NONE` (off: opaque tokens only) or the algorithm they are
/// signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AccessTokenSignAlg {
    /// No JWT access tokens.
    #[serde(rename = "NONE")]
    None,
    /// `EdDSA` (Ed25519).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// `ES256` (P-256).
    #[serde(rename = "ES256")]
    Es256,
    /// `RS256` (RSA 2048).
    #[serde(rename = "RS256")]
    Rs256,
}

impl AccessTokenSignAlg {
    /// The signing algorithm, `None` for `NONE`.
    pub fn sign_alg(self) -> Option<SignAlg> {
        match self {
            AccessTokenSignAlg::None => None,
            AccessTokenSignAlg::EdDsa => Some(SignAlg::EdDsa),
            AccessTokenSignAlg::Es256 => Some(SignAlg::Es256),
            AccessTokenSignAlg::Rs256 => Some(SignAlg::Rs256),
        }
    }

    /// The member's value for a service signing with `alg` (`NONE` for none).
    pub fn of(alg: Option<SignAlg>) -> Self {
        match alg {
            None => AccessTokenSignAlg::None,
            Some(SignAlg::EdDsa) => AccessTokenSignAlg::EdDsa,
            Some(SignAlg::Es256) => AccessTokenSignAlg::Es256,
            Some(SignAlg::Rs256) => AccessTokenSignAlg::Rs256,
        }
    }
}

/// A service, as Authlete's `Service` object: the members this server stores. In a request every
/// member is optional (create: absent members take the defaults; update: absent members stay);
/// `apiKey` and `serviceOwnerNumber` are the server's to assign (given, they must match).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The service ID (Authlete's `apiKey`): the `{serviceId}` of every path of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<u64>,
    /// The ID of the organization that owns the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_owner_number: Option<u64>,
    /// The service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The issuer identifier (`iss` of JWT access tokens and custom tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The scopes token create accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_scopes: Option<Vec<Scope>>,
    /// The grant types the service allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_grant_types: Option<Vec<GrantType>>,
    /// Default access token lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_duration: Option<i64>,
    /// Default refresh token lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_duration: Option<i64>,
    /// JWT access tokens: `NONE` or their signing algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_sign_alg: Option<AccessTokenSignAlg>,
    /// Our settings with no Authlete member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ServiceExtension>,
}

/// Members of [`Service`] this server reads.
const SERVICE_MEMBERS: &[&str] = &[
    "apiKey",
    "serviceOwnerNumber",
    "serviceName",
    "issuer",
    "supportedScopes",
    "supportedGrantTypes",
    "accessTokenDuration",
    "refreshTokenDuration",
    "accessTokenSignAlg",
    "extension",
];
const SCOPE_MEMBERS: &[&str] = &["name"];

impl Service {
    /// Reads a request body: refuses members we do not store (by name; see the module's rule),
    /// `jwks` and `apiSecret` with their own reasons, then the members' types and values.
    pub fn from_request(body: Value) -> Result<Service, ValidationError> {
        let Value::Object(map) = &body else {
            return Err(ValidationError::member_invalid("(body)", "a service is a JSON object"));
        };
        if map.get("jwks").is_some_and(|v| !is_unused(v)) {
            return Err(ValidationError::member_invalid(
                "jwks",
                "keys are never taken or given in a service: use /api/{serviceId}/keys/… (private keys stay in the server)",
            ));
        }
        if map.get("apiSecret").is_some_and(|v| !is_unused(v)) {
            return Err(ValidationError::member_invalid(
                "apiSecret",
                "services have no API secret here: callers use Service Access Tokens and Organization Tokens, issued by the CLI",
            ));
        }
        // serde reads a struct from an array too; the document says object.
        if map.get("extension").is_some_and(|e| !e.is_object() && !e.is_null()) {
            return Err(ValidationError::member_invalid("extension", "must be a JSON object"));
        }
        if let Some(Value::Array(scopes)) = map.get("supportedScopes")
            && let Some(i) = scopes.iter().position(|s| !s.is_object())
        {
            return Err(ValidationError::member_invalid(
                &format!("supportedScopes[{i}]"),
                "must be a Scope object ({\"name\": …})",
            ));
        }
        let mut unsupported = unsupported_members(&body, SERVICE_MEMBERS, "");
        if let Some(Value::Array(scopes)) = map.get("supportedScopes") {
            for (i, scope) in scopes.iter().enumerate() {
                unsupported.extend(unsupported_members(
                    scope,
                    SCOPE_MEMBERS,
                    &format!("supportedScopes[{i}]."),
                ));
            }
        }
        refuse_unsupported(unsupported)?;
        let service: Service = typed(body)?;
        for (field, value) in [
            ("accessTokenDuration", service.access_token_duration),
            ("refreshTokenDuration", service.refresh_token_duration),
        ] {
            if value.is_some_and(|v| v <= 0) {
                return Err(ValidationError::member_invalid(field, "must be a positive number of seconds"));
            }
        }
        if let Some(scope) =
            service.supported_scopes.iter().flatten().find(|s| !crate::validate::is_scope_token(&s.name))
        {
            return Err(ValidationError::member_invalid(
                "supportedScopes",
                &format!("'{}' is not a scope token (RFC 6749 section 3.3)", scope.name),
            ));
        }
        Ok(service)
    }
}

/// Answer of the service list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceListResponse {
    /// Start index (inclusive).
    pub start: u32,
    /// End index (exclusive).
    pub end: u32,
    /// How many services the organization has.
    pub total_count: u64,
    /// The services of `[start, end)`.
    pub services: Vec<Service>,
}

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::custom_token::{MAX_ACCESS_TOKEN_TTL, MAX_REFRESH_TOKEN_TTL};
    use crate::openapi::{Components, Documented, Rules, SCOPE_TOKEN_PATTERN, derived, unused_members_only};

    derived!(ServiceListResponse);

    // Tenancy: the shape rules of the members we store (rules between members, and what the store
    // holds — a taken alias, an unknown client — are in the descriptions).
    impl Documented for Service {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            let reference = components.add::<Self>();
            components.rules::<Self>(service_rules);
            components.rules::<Scope>(|rules| {
                rules.field("name", json!({"pattern": SCOPE_TOKEN_PATTERN}));
                unused_members_only(rules);
            });
            components.rules::<ServiceExtension>(|rules| {
                rules
                    .field("customTokenAccessTokenTTL", json!({"minimum": 1, "maximum": MAX_ACCESS_TOKEN_TTL}))
                    .field("customTokenRefreshTokenTTL", json!({"minimum": 2, "maximum": MAX_REFRESH_TOKEN_TTL, "description": "Default refreshTokenTTL of custom tokens' sessions, seconds: greater than customTokenAccessTokenTTL (or the service's access TTL when that is not given)."}));
            });
            Some(reference)
        }
    }

    fn service_rules(rules: &mut Rules<'_>) {
        for field in ["accessTokenDuration", "refreshTokenDuration"] {
            rules.field(field, json!({"minimum": 1}));
        }
        rules
            .field("serviceName", json!({"pattern": "\\S", "description": "The service's name (not blank)."}))
            .field("supportedGrantTypes", json!({"minItems": 1}))
            // The server's to assign: a request may leave them out (given, they must match).
            .field("apiKey", json!({"readOnly": true}))
            .field("serviceOwnerNumber", json!({"readOnly": true}));
        unused_members_only(rules);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unused_members_pass_and_used_ones_are_named() {
        let body = json!({"serviceName": "s", "pkceRequired": false, "tosUri": "", "metadata": [],
                          "parRequired": true, "idTokenDuration": 300});
        let err = Service::from_request(body).unwrap_err();
        assert_eq!(
            err.to_string(),
            "These members are not supported by this server (nothing was changed): idTokenDuration, parRequired."
        );
        assert!(Service::from_request(json!({"serviceName": "s", "pkceRequired": false})).is_ok());
    }

    #[test]
    fn scope_members_and_keys_are_refused_by_name() {
        let err = Service::from_request(json!({"supportedScopes": [{"name": "a", "description": "d"}]}))
            .unwrap_err();
        assert!(err.to_string().contains("supportedScopes[0].description"), "{err}");
        let err = Service::from_request(json!({"jwks": "{\"keys\":[]}"})).unwrap_err();
        assert!(err.to_string().contains("keys/"), "{err}");
        let err = Service::from_request(json!({"accessTokenSignAlg": "HS256"})).unwrap_err();
        assert!(err.to_string().contains("accessTokenSignAlg"), "{err}");
        let err = Service::from_request(json!({"supportedScopes": [{"name": "a b"}]})).unwrap_err();
        assert!(err.to_string().contains("scope token"), "{err}");
        let err = Service::from_request(json!({"extension": [null, null]})).unwrap_err();
        assert!(err.to_string().contains("extension"), "arrays are not objects: {err}");
        let err = Service::from_request(json!({"supportedScopes": [["read"]]})).unwrap_err();
        assert!(err.to_string().contains("supportedScopes[0]"), "{err}");
    }
}
