//! The examples of the two seed documents map onto the core types exactly.

use serde_json::{Value, json};
use token_core::custom_token::{CustomTokenDefaults, GenerateCustomToken, GenerateCustomTokenResponse};
use token_core::token_create::{GrantType, TokenCreateRequest, TokenCreateResponse};
use token_core::{Action, ClientId};

/// The response example of `004_…`, verbatim.
const CREATE_RESPONSE_EXAMPLE: &str = r#"{
  "resultCode": "A109001",
  "resultMessage": "[A109001] An access token was created successfully: authorization_code, client = 26888344961664",
  "accessToken": "Z5a40U6dWvw2gMoCOAFbZcM85q4HC0Z--0YKD9-Nf6Q",
  "action": "OK",
  "clientId": 26888344961664,
  "expiresAt": 1642048148973,
  "expiresIn": 3600,
  "grantType": "AUTHORIZATION_CODE",
  "refreshToken": "9beh15GWkGLseBBO1tPobnsGpKLHV3mTkm0EWnNBa4g",
  "scopes": [
    "history.read",
    "timeline.read"
  ],
  "subject": "john",
  "tokenType": "Bearer"
}"#;

#[test]
fn create_response_example_round_trips() {
    let parsed: TokenCreateResponse = serde_json::from_str(CREATE_RESPONSE_EXAMPLE).unwrap();
    assert_eq!(parsed.result_code, "A109001");
    assert_eq!(parsed.action, Action::Ok);
    assert_eq!(parsed.client_id, Some(ClientId(26888344961664)));
    assert_eq!(parsed.expires_at, Some(1642048148973));
    assert_eq!(parsed.grant_type, Some(GrantType::AuthorizationCode));
    assert_eq!(parsed.access_token.as_ref().unwrap().secret(), "Z5a40U6dWvw2gMoCOAFbZcM85q4HC0Z--0YKD9-Nf6Q");
    let original: Value = serde_json::from_str(CREATE_RESPONSE_EXAMPLE).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), original);
}

#[test]
fn create_request_example_parses() {
    // The TypeScript usage block of `004_…`.
    let request: TokenCreateRequest = serde_json::from_value(json!({
        "grantType": "AUTHORIZATION_CODE",
        "clientId": 26888344961664i64,
        "subject": "john",
        "scopes": ["history.read", "timeline.read"]
    }))
    .unwrap();
    assert_eq!(request.grant_type, GrantType::AuthorizationCode);
    assert_eq!(request.subject.as_deref(), Some("john"));
    request.check().unwrap();
}

#[test]
fn every_grant_type_has_its_wire_name() {
    for grant in GrantType::ALL {
        assert_eq!(serde_json::to_value(grant).unwrap(), json!(grant.as_str()));
        assert_eq!(GrantType::parse(grant.as_str()), Some(grant));
    }
    assert!(serde_json::from_value::<GrantType>(json!("authorization_code")).is_err());
}

#[test]
fn custom_token_usage_examples_map_onto_the_input() {
    let defaults = CustomTokenDefaults { access_token_ttl: 3600, refresh_token_ttl: 86400 * 30 };
    // rdk.generateCustomToken({ userId: 'user00', identity: 'enduser', claims: { name: 'John Doe' } })
    let first: GenerateCustomToken = serde_json::from_value(
        json!({"userId": "user00", "identity": "enduser", "claims": {"name": "John Doe"}}),
    )
    .unwrap();
    assert_eq!(first.user_id, "user00");
    assert_eq!(first.access_token_ttl, None);
    first.plan(defaults).unwrap();

    // ... accessTokenTTL: 3600, refreshTokenTTL: 86400 (exact casing)
    let second: GenerateCustomToken = serde_json::from_value(json!({
        "userId": "user00", "identity": "enduser", "claims": {"name": "John Doe"},
        "accessTokenTTL": 3600, "refreshTokenTTL": 86400
    }))
    .unwrap();
    let plan = second.plan(defaults).unwrap();
    assert_eq!((plan.access_token_ttl, plan.refresh_token_ttl), (3600, 86400));
    let back = serde_json::to_value(&second).unwrap();
    assert!(back.get("accessTokenTTL").is_some() && back.get("accessTokenTtl").is_none());

    // The pipeline's two inputs.
    for (user, name) in [("user01", "John Doe"), ("user02", "Jane Doe")] {
        let input: GenerateCustomToken =
            serde_json::from_value(json!({"userId": user, "identity": "enduser", "claims": {"name": name}}))
                .unwrap();
        input.plan(defaults).unwrap();
    }
}

#[test]
fn custom_token_response_shape() {
    let ok = GenerateCustomTokenResponse::ok(token_core::Secret::new("abc"));
    assert_eq!(serde_json::to_value(&ok).unwrap(), json!({"success": true, "data": {"customToken": "abc"}}));
    let failed = GenerateCustomTokenResponse::failed("boom");
    assert_eq!(serde_json::to_value(&failed).unwrap(), json!({"success": false, "error": "boom"}));
}
