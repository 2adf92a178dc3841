//! Token create's request in the OpenAPI document (feature `openapi`): the rules the server
//! enforces on it, from the rules' own constants.

use serde_json::json;
use utoipa::openapi::{RefOr, Schema};

use super::*;
use crate::authorization_details::AuthorizationDetailsSchema;
use crate::openapi::{Components, Documented, Rules, THUMBPRINT_PATTERN, TOKEN_VALUE_PATTERN, derived};

derived!(TokenCreateResponse);

impl Documented for TokenCreateRequest {
    fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
        let reference = components.add::<Self>();
        components.add::<AuthorizationDetailsSchema>();
        components.rules::<Self>(request_rules);
        components.rules::<Property>(property_rules);
        Some(reference)
    }
}

fn request_rules(rules: &mut Rules<'_>) {
    let thumbprint = json!({"pattern": THUMBPRINT_PATTERN, "description": "base64url SHA-256 thumbprint (43 characters)."});
    let token_value = json!({"minLength": 1, "maxLength": 512, "pattern": TOKEN_VALUE_PATTERN});
    rules
        .non_null("clientId")
        .require("clientId")
        .field(
            "subject",
            json!({
                "minLength": 1,
                "maxLength": crate::ids::SUBJECT_MAX_LEN,
                "pattern": "^[\\u0020-\\u007e]*$",
                "description": "The end user (printable ASCII, at most 100 characters); required by the grant types that act for a user.",
            }),
        );
    for field in ["accessTokenDuration", "refreshTokenDuration"] {
        rules.field(field, json!({"minimum": 0, "maximum": MAX_TOKEN_DURATION_SECS}));
    }
    rules
        .field("certificateThumbprint", thumbprint.clone())
        .field("dpopKeyThumbprint", thumbprint)
        .field("resources", json!({"maxItems": MAX_LIST_LEN}))
        .field("authTime", json!({"minimum": 0}));
    for field in ["acr", "sessionId", "clientIdentifier"] {
        rules.field(field, json!({"maxLength": MAX_TEXT_FIELD_LEN}));
    }
    rules
        .field("accessToken", token_value.clone())
        .field("refreshToken", token_value)
        .field("properties", json!({"maxItems": MAX_PROPERTIES}))
        .field("jwtAtClaims", json!({"maxLength": MAX_JWT_AT_CLAIMS_LEN, "contentMediaType": "application/json"}))
        .replace("authorizationDetails", AuthorizationDetailsSchema::nullable_field())
        .set(
            "examples",
            json!([{"grantType": "AUTHORIZATION_CODE", "clientId": 26_888_344_961_664_i64, "subject": "john", "scopes": ["history.read", "timeline.read"], "jwtAtClaims": "{\"some_key\":\"some_value\"}", "accessTokenDuration": 3600, "refreshTokenDuration": 3600}]),
        )
        // Every grant type but CLIENT_CREDENTIALS acts for a user: it needs `subject`.
        .set("if", json!({"properties": {"grantType": {"const": GrantType::ClientCredentials.as_str()}}}))
        .set("else", json!({"required": ["subject"], "properties": {"subject": {"type": "string"}}}));
}

fn property_rules(rules: &mut Rules<'_>) {
    rules
        .field(
            "key",
            json!({
                "minLength": 1,
                "maxLength": MAX_PROPERTY_KEY_LEN,
                "not": {"enum": RESERVED_PROPERTY_KEYS},
            }),
        )
        .field("value", json!({"maxLength": MAX_PROPERTY_VALUE_LEN}));
}
