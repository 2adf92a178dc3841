//! Property tests: every model round-trips through JSON, validation never panics on arbitrary
//! input, and each rule has a passing and a failing case with its result code.

use proptest::prelude::*;
use serde_json::{Value, json};
use token_core::custom_token::{
    CustomTokenData, CustomTokenDefaults, GenerateCustomToken, GenerateCustomTokenResponse, RESERVED_CLAIMS,
};
use token_core::token_create::{
    AccessTokenLifetime, ClientPolicy, GrantType, Property, ServicePolicy, TokenCreateRequest,
    TokenCreateResponse,
};
use token_core::{Action, ClientId, ResultCode, Secret, TokenId, ValidationError};

// ---------- strategies

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON `null` and an absent field are the same thing on the wire, so optional values are non-null.
fn some_json() -> impl Strategy<Value = Value> {
    json_value().prop_filter("null reads back as absent", |v| !v.is_null())
}

fn grant_type() -> impl Strategy<Value = GrantType> {
    prop::sample::select(GrantType::ALL.to_vec())
}

fn property() -> impl Strategy<Value = Property> {
    (".{0,10}", ".{0,10}", any::<bool>()).prop_map(|(key, value, hidden)| Property { key, value, hidden })
}

fn secret() -> impl Strategy<Value = Secret> {
    ".{0,20}".prop_map(Secret::new)
}

prop_compose! {
    fn create_request()(
        grant_type in grant_type(),
        client_id in prop::option::of(any::<i64>().prop_map(ClientId)),
        subject in prop::option::of(".{0,120}"),
        scopes in prop::option::of(prop::collection::vec(".{0,10}", 0..4)),
        durations in (prop::option::of(any::<i64>()), prop::option::of(any::<i64>())),
        properties in prop::option::of(prop::collection::vec(property(), 0..3)),
        flags in (prop::option::of(any::<bool>()), prop::option::of(any::<bool>()), prop::option::of(any::<bool>()),
                  prop::option::of(any::<bool>()), prop::option::of(any::<bool>())),
        tokens in (prop::option::of(secret()), prop::option::of(secret())),
        thumbprints in (prop::option::of("[A-Za-z0-9_-]{40,45}"), prop::option::of(".{0,50}")),
        authorization_details in prop::option::of(some_json()),
        resources in prop::option::of(prop::collection::vec(".{0,30}", 0..3)),
        jwt_at_claims in prop::option::of(".{0,40}"),
        texts in (prop::option::of(".{0,10}"), prop::option::of(".{0,10}"), prop::option::of(".{0,10}")),
        auth_time in prop::option::of(any::<i64>()),
    ) -> TokenCreateRequest {
        let mut r = TokenCreateRequest::new(grant_type);
        r.client_id = client_id;
        r.subject = subject;
        r.scopes = scopes;
        (r.access_token_duration, r.refresh_token_duration) = durations;
        r.properties = properties;
        (r.client_id_alias_used, r.access_token_persistent, r.for_external_attachment,
         r.client_entity_id_used, r.metadata_document_used) = flags;
        (r.access_token, r.refresh_token) = tokens;
        (r.certificate_thumbprint, r.dpop_key_thumbprint) = thumbprints;
        r.authorization_details = authorization_details;
        r.resources = resources;
        r.jwt_at_claims = jwt_at_claims;
        (r.acr, r.client_identifier, r.session_id) = texts;
        r.auth_time = auth_time;
        r
    }
}

prop_compose! {
    fn create_response()(
        code in "A[0-9]{6}", message in ".{0,30}",
        action in prop::sample::select(vec![Action::Ok, Action::BadRequest, Action::Forbidden, Action::InternalServerError]),
        tokens in (prop::option::of(secret()), prop::option::of(secret()), prop::option::of(secret())),
        client_id in prop::option::of(any::<i64>().prop_map(ClientId)),
        expiry in (prop::option::of(any::<i64>()), prop::option::of(any::<i64>())),
        grant in prop::option::of(grant_type()),
        properties in prop::option::of(prop::collection::vec(property(), 0..3)),
        scopes in (prop::option::of(prop::collection::vec(".{0,8}", 0..3)), prop::option::of(prop::collection::vec(".{0,8}", 0..3))),
        texts in (prop::option::of(".{0,8}"), prop::option::of(".{0,8}"), prop::option::of(".{0,8}"), prop::option::of(".{0,8}")),
        details in prop::option::of(some_json()),
        external in prop::option::of(any::<bool>()),
        token_id in prop::option::of("[a-z0-9]{0,12}".prop_map(TokenId::new)),
    ) -> TokenCreateResponse {
        TokenCreateResponse {
            result_code: code, result_message: message, action,
            access_token: tokens.0, refresh_token: tokens.1, jwt_access_token: tokens.2,
            client_id, expires_at: expiry.0, expires_in: expiry.1, grant_type: grant, properties,
            scopes: scopes.0, refresh_token_scopes: scopes.1,
            subject: texts.0, token_type: texts.1, client_identifier: texts.2, session_id: texts.3,
            authorization_details: details, for_external_attachment: external, token_id,
        }
    }
}

prop_compose! {
    fn custom_token_input()(
        user_id in ".{0,140}", identity in ".{0,140}",
        claims in prop::option::of(some_json()),
        access in prop::option::of(any::<i64>()), refresh in prop::option::of(any::<i64>()),
    ) -> GenerateCustomToken {
        let mut input = GenerateCustomToken::new(user_id, identity);
        (input.claims, input.access_token_ttl, input.refresh_token_ttl) = (claims, access, refresh);
        input
    }
}

fn round_trips<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value);
}

// ---------- the service and client the stateful rules run against

const SCOPES: &[&str] = &["history.read", "timeline.read", "openid"];

fn with_policies<R>(f: impl FnOnce(&ServicePolicy<'_>, &ClientPolicy<'_>) -> R) -> R {
    let scopes: Vec<String> = SCOPES.iter().map(|s| s.to_string()).collect();
    let service = ServicePolicy {
        supported_scopes: &scopes,
        supported_grant_types: &GrantType::ALL,
        access_token_duration: 3600,
        refresh_token_duration: 86400,
    };
    let client = ClientPolicy {
        client_id: ClientId(1001),
        alias: Some("my-app"),
        entity_id: Some("https://rp.example.com"),
        grant_types: &GrantType::ALL,
    };
    f(&service, &client)
}

fn valid_request() -> TokenCreateRequest {
    let mut r = TokenCreateRequest::new(GrantType::AuthorizationCode);
    r.client_id = Some(ClientId(1001));
    r.subject = Some("john".into());
    r.scopes = Some(vec!["history.read".into(), "timeline.read".into()]);
    r
}

fn create_code(edit: impl FnOnce(&mut TokenCreateRequest)) -> Result<(), &'static str> {
    let mut r = valid_request();
    edit(&mut r);
    with_policies(|s, c| r.plan(s, Some(c)).map(|_| ()).map_err(|e| e.result_code().code))
}

const THUMB: &str = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0";

proptest! {
    #[test]
    fn token_create_request_round_trips(r in create_request()) { round_trips(&r); }

    #[test]
    fn token_create_response_round_trips(r in create_response()) { round_trips(&r); }

    #[test]
    fn custom_token_models_round_trip(input in custom_token_input(), token in secret(), error in prop::option::of(".{0,20}")) {
        round_trips(&input);
        round_trips(&GenerateCustomTokenResponse { success: error.is_none(), data: Some(CustomTokenData { custom_token: token }), error });
    }

    #[test]
    fn token_create_validation_never_panics(r in create_request()) {
        let outcome = with_policies(|s, c| r.plan(s, Some(c)).map(|_| ()));
        if let Err(e) = outcome {
            let message = e.wire_message();
            let prefix = format!("[{}] ", e.result_code().code);
            prop_assert!(message.starts_with(&prefix), "{}", message);
            prop_assert!(ResultCode::lookup(e.result_code().code).is_some());
        }
        let _ = r.check();
    }

    #[test]
    fn custom_token_validation_never_panics(input in custom_token_input(), a in any::<i64>(), b in any::<i64>()) {
        let defaults = CustomTokenDefaults { access_token_ttl: a, refresh_token_ttl: b };
        if let Ok(plan) = input.plan(defaults) {
            prop_assert!((1..=3600).contains(&plan.access_token_ttl));
            prop_assert!(plan.refresh_token_ttl > plan.access_token_ttl);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_the_decoder(v in json_value()) {
        let _ = serde_json::from_value::<TokenCreateRequest>(v.clone());
        let _ = serde_json::from_value::<GenerateCustomToken>(v);
    }

    #[test]
    fn any_ascii_subject_up_to_100_is_accepted(subject in "[ -~]{1,100}") {
        prop_assert_eq!(create_code(|r| r.subject = Some(subject)), Ok(()));
    }

    #[test]
    fn subjects_over_100_are_rejected(subject in "[a-z]{101,300}") {
        prop_assert_eq!(create_code(|r| r.subject = Some(subject)), Err("A109202"));
    }
}

// ---------- one passing and one failing case per rule

#[test]
fn subject_rules() {
    assert_eq!(create_code(|_| {}), Ok(()));
    assert_eq!(create_code(|r| r.subject = None), Err("A109201"));
    assert_eq!(
        create_code(|r| {
            r.grant_type = GrantType::ClientCredentials;
            r.subject = None
        }),
        Ok(())
    );
    assert_eq!(create_code(|r| r.subject = Some("jöhn".into())), Err("A109202"));
    assert_eq!(create_code(|r| r.subject = Some("x".repeat(100))), Ok(()));
    assert_eq!(create_code(|r| r.subject = Some("x".repeat(101))), Err("A109202"));
    assert_eq!(create_code(|r| r.subject = Some(String::new())), Err("A109202"));
}

#[test]
fn duration_rules() {
    assert_eq!(create_code(|r| r.access_token_duration = Some(0)), Ok(()));
    assert_eq!(create_code(|r| r.access_token_duration = Some(-1)), Err("A109203"));
    assert_eq!(create_code(|r| r.refresh_token_duration = Some(-5)), Err("A109203"));
    assert_eq!(create_code(|r| r.access_token_duration = Some(i64::MAX)), Err("A109203"));
    let e = valid_request_with(|r| r.access_token_duration = Some(-1)).unwrap_err();
    assert!(e.to_string().contains("accessTokenDuration"), "{e}");
}

#[test]
fn durations_default_and_persistence() {
    let plan = valid_request_with(|r| r.access_token_duration = Some(0)).unwrap();
    assert_eq!(plan.access_token_lifetime, AccessTokenLifetime::Seconds(3600));
    assert_eq!(plan.refresh_token_lifetime, Some(86400));
    let plan = valid_request_with(|r| r.access_token_duration = Some(60)).unwrap();
    assert_eq!(plan.access_token_expiry(1_000), (61_000, 60));
    let plan = valid_request_with(|r| {
        r.access_token_persistent = Some(true);
        r.access_token_duration = Some(60)
    })
    .unwrap();
    assert_eq!(plan.access_token_lifetime, AccessTokenLifetime::Persistent);
    assert_eq!(plan.access_token_expiry(1_000), (0, 0));
}

#[test]
fn refresh_token_only_where_the_document_allows() {
    for grant in [GrantType::Implicit, GrantType::ClientCredentials] {
        let plan = valid_request_with(|r| r.grant_type = grant).unwrap();
        assert_eq!(plan.refresh_token_lifetime, None, "{grant:?}");
        assert_eq!(plan.refresh_token_scopes(), None);
    }
    let plan = valid_request_with(|r| r.grant_type = GrantType::Password).unwrap();
    assert_eq!(plan.refresh_token_scopes(), Some(vec!["history.read".into(), "timeline.read".into()]));
    // A service without REFRESH_TOKEN issues none.
    let scopes: Vec<String> = SCOPES.iter().map(|s| s.to_string()).collect();
    let grants = [GrantType::AuthorizationCode];
    let service = ServicePolicy {
        supported_scopes: &scopes,
        supported_grant_types: &grants,
        access_token_duration: 1,
        refresh_token_duration: 2,
    };
    let client =
        ClientPolicy { client_id: ClientId(1001), alias: None, entity_id: None, grant_types: &grants };
    assert_eq!(valid_request().plan(&service, Some(&client)).unwrap().refresh_token_lifetime, None);
}

#[test]
fn thumbprint_rules() {
    assert_eq!(create_code(|r| r.certificate_thumbprint = Some(THUMB.into())), Ok(()));
    assert_eq!(create_code(|r| r.certificate_thumbprint = Some(format!("{THUMB}="))), Err("A109204"));
    assert_eq!(create_code(|r| r.dpop_key_thumbprint = Some("abc".into())), Err("A109204"));
    let plan = valid_request_with(|r| r.dpop_key_thumbprint = Some(THUMB.into())).unwrap();
    assert_eq!(plan.token_type, "DPoP");
    assert_eq!(valid_request_with(|_| {}).unwrap().token_type, "Bearer");
}

#[test]
fn resource_rules() {
    assert_eq!(create_code(|r| r.resources = Some(vec!["https://api.example.com/".into()])), Ok(()));
    assert_eq!(create_code(|r| r.resources = Some(vec!["/relative".into()])), Err("A109205"));
    assert_eq!(create_code(|r| r.resources = Some(vec!["https://a.example/#f".into()])), Err("A109205"));
}

#[test]
fn auth_time_rule() {
    assert_eq!(create_code(|r| r.auth_time = Some(1_700_000_000)), Ok(()));
    assert_eq!(create_code(|r| r.auth_time = Some(-1)), Err("A109206"));
}

#[test]
fn scope_rules() {
    assert_eq!(create_code(|r| r.scopes = Some(vec!["openid".into()])), Ok(()));
    let e = valid_request_with(|r| r.scopes = Some(vec!["admin.write".into()])).unwrap_err();
    assert_eq!(e.result_code().code, "A109207");
    assert!(e.to_string().contains("admin.write"), "{e}");
}

#[test]
fn client_rules() {
    assert_eq!(create_code(|r| r.client_id = None), Err("A109301"));
    assert_eq!(create_code(|r| r.client_id = Some(ClientId(42))), Err("A109302"));
    assert_eq!(ResultCode::CLIENT_UNKNOWN.action, Action::Forbidden);
    let r = valid_request();
    let none = with_policies(|s, _| r.plan(s, None).unwrap_err());
    assert_eq!(none, ValidationError::ClientUnknown { client_id: 1001 });
    let grants = [GrantType::ClientCredentials];
    let denied = with_policies(|s, c| {
        let c = ClientPolicy { grant_types: &grants, ..c.clone() };
        r.plan(s, Some(&c)).unwrap_err()
    });
    assert_eq!(denied.result_code().code, "A109303");
}

#[test]
fn client_identifier_echo() {
    assert_eq!(valid_request_with(|_| {}).unwrap().client_identifier, None);
    let alias = valid_request_with(|r| r.client_id_alias_used = Some(true)).unwrap();
    assert_eq!(alias.client_identifier.as_deref(), Some("my-app"));
    let entity = valid_request_with(|r| r.client_entity_id_used = Some(true)).unwrap();
    assert_eq!(entity.client_identifier.as_deref(), Some("https://rp.example.com"));
    let explicit = valid_request_with(|r| r.client_identifier = Some("given".into())).unwrap();
    assert_eq!(explicit.client_identifier.as_deref(), Some("given"));
}

#[test]
fn jwt_at_claims_rules() {
    assert_eq!(create_code(|r| r.jwt_at_claims = Some(r#"{"tenant":"acme"}"#.into())), Ok(()));
    assert_eq!(create_code(|r| r.jwt_at_claims = Some("[1]".into())), Err("A109209"));
    assert_eq!(create_code(|r| r.jwt_at_claims = Some("{not json".into())), Err("A109209"));
    assert_eq!(create_code(|r| r.jwt_at_claims = Some(r#"{"sub":"x"}"#.into())), Err("A109209"));
}

#[test]
fn authorization_details_rules() {
    assert_eq!(create_code(|r| r.authorization_details = Some(json!([{"type": "payment"}]))), Ok(()));
    assert_eq!(create_code(|r| r.authorization_details = Some(json!({"elements": [{"type": "a"}]}))), Ok(()));
    assert_eq!(create_code(|r| r.authorization_details = Some(json!([{"actions": []}]))), Err("A109210"));
    assert_eq!(create_code(|r| r.authorization_details = Some(json!("x"))), Err("A109210"));
}

#[test]
fn property_rules() {
    assert_eq!(create_code(|r| r.properties = Some(vec![Property::new("a", "1")])), Ok(()));
    assert_eq!(create_code(|r| r.properties = Some(vec![Property::new("", "1")])), Err("A109211"));
    assert_eq!(
        create_code(|r| r.properties = Some(vec![Property::new("a", "1"), Property::new("a", "2")])),
        Err("A109211")
    );
}

#[test]
fn token_value_and_text_rules() {
    assert_eq!(create_code(|r| r.access_token = Some(Secret::new("my-imported-token"))), Ok(()));
    assert_eq!(create_code(|r| r.access_token = Some(Secret::new("has space"))), Err("A109212"));
    assert_eq!(create_code(|r| r.refresh_token = Some(Secret::new(""))), Err("A109212"));
    assert_eq!(create_code(|r| r.session_id = Some("s".repeat(300))), Err("A109215"));
}

#[test]
fn grant_type_must_be_supported_by_the_service() {
    let scopes: Vec<String> = SCOPES.iter().map(|s| s.to_string()).collect();
    let grants = [GrantType::ClientCredentials];
    let service = ServicePolicy {
        supported_scopes: &scopes,
        supported_grant_types: &grants,
        access_token_duration: 1,
        refresh_token_duration: 2,
    };
    let client = ClientPolicy {
        client_id: ClientId(1001),
        alias: None,
        entity_id: None,
        grant_types: &GrantType::ALL,
    };
    assert_eq!(valid_request().plan(&service, Some(&client)).unwrap_err().result_code().code, "A109208");
}

fn valid_request_with(
    edit: impl FnOnce(&mut TokenCreateRequest),
) -> Result<token_core::token_create::TokenCreatePlan, ValidationError> {
    let mut r = valid_request();
    edit(&mut r);
    with_policies(|s, c| r.plan(s, Some(c)))
}

// ---------- custom tokens

const DEFAULTS: CustomTokenDefaults =
    CustomTokenDefaults { access_token_ttl: 3600, refresh_token_ttl: 86400 };

fn custom_code(edit: impl FnOnce(&mut GenerateCustomToken)) -> Result<(), &'static str> {
    let mut input = GenerateCustomToken::new("user00", "enduser");
    edit(&mut input);
    input.plan(DEFAULTS).map(|_| ()).map_err(|e| e.result_code().code)
}

#[test]
fn user_id_and_identity_rules() {
    assert_eq!(custom_code(|_| {}), Ok(()));
    assert_eq!(custom_code(|i| i.user_id = String::new()), Err("A401201"));
    assert_eq!(custom_code(|i| i.user_id = "  ".into()), Err("A401201"));
    assert_eq!(custom_code(|i| i.user_id = "u".repeat(129)), Err("A401201"));
    assert_eq!(custom_code(|i| i.user_id = "ü".repeat(128)), Ok(()));
    assert_eq!(custom_code(|i| i.identity = String::new()), Err("A401202"));
    assert_eq!(custom_code(|i| i.identity = "r".repeat(129)), Err("A401202"));
}

#[test]
fn ttl_rules() {
    assert_eq!(custom_code(|i| i.access_token_ttl = Some(1)), Ok(()));
    assert_eq!(custom_code(|i| i.access_token_ttl = Some(3600)), Ok(()));
    assert_eq!(custom_code(|i| i.access_token_ttl = Some(3601)), Err("A401203"));
    assert_eq!(custom_code(|i| i.access_token_ttl = Some(0)), Err("A401203"));
    assert_eq!(custom_code(|i| i.access_token_ttl = Some(-3)), Err("A401203"));
    assert_eq!(
        custom_code(|i| {
            i.access_token_ttl = Some(600);
            i.refresh_token_ttl = Some(601)
        }),
        Ok(())
    );
    assert_eq!(
        custom_code(|i| {
            i.access_token_ttl = Some(600);
            i.refresh_token_ttl = Some(600)
        }),
        Err("A401204")
    );
    // Only refreshTokenTTL given: compared against the default accessTokenTTL (3600).
    assert_eq!(custom_code(|i| i.refresh_token_ttl = Some(3000)), Err("A401204"));
    assert_eq!(custom_code(|i| i.refresh_token_ttl = Some(3601)), Ok(()));
    // Only accessTokenTTL given: the default refreshTokenTTL must still be greater.
    let small = CustomTokenDefaults { access_token_ttl: 60, refresh_token_ttl: 120 };
    let mut input = GenerateCustomToken::new("u", "r");
    input.access_token_ttl = Some(300);
    assert_eq!(input.plan(small).unwrap_err().result_code().code, "A401204");
    assert_eq!(custom_code(|i| i.refresh_token_ttl = Some(i64::MAX)), Err("A401204"));
    let e = GenerateCustomToken::new("u", "r").ttls(7200, 9000).plan(DEFAULTS).unwrap_err();
    assert!(e.to_string().contains("accessTokenTTL"), "{e}");
}

#[test]
fn claims_rules() {
    assert_eq!(custom_code(|i| i.claims = Some(json!({"name": "John Doe"}))), Ok(()));
    assert_eq!(custom_code(|i| i.claims = Some(json!(["x"]))), Err("A401205"));
    assert_eq!(custom_code(|i| i.claims = Some(json!("x"))), Err("A401205"));
    for name in RESERVED_CLAIMS {
        assert_eq!(custom_code(|i| i.claims = Some(json!({ *name: 1 }))), Err("A401206"), "{name}");
    }
    assert_eq!(custom_code(|i| i.claims = Some(json!({"blob": "x".repeat(990)}))), Err("A401207"));
    assert_eq!(custom_code(|i| i.claims = Some(json!({"blob": "x".repeat(900)}))), Ok(()));
}
