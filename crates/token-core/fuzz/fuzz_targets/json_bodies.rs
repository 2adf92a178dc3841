//! Every JSON request body the server decodes, then the rules it runs on them: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_core::custom_token::{CustomTokenDefaults, CustomTokenExchangeRequest, GenerateCustomToken, RefreshRequest};
use token_core::introspection::{IntrospectionRequest, StandardIntrospectionRequest};
use token_core::revocation::RevocationRequest;
use token_core::token_create::{ServicePolicy, TokenCreateRequest, check_properties};
use token_core::token_manage::{TokenRevokeRequest, TokenUpdateRequest};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<TokenCreateRequest>(data) {
        if request.check().is_ok() {
            let scopes = vec!["openid".to_owned()];
            let grants = token_core::token_create::GrantType::ALL.to_vec();
            let policy = ServicePolicy {
                supported_scopes: &scopes,
                supported_grant_types: &grants,
                access_token_duration: 3600,
                refresh_token_duration: 86_400,
            };
            let _ = request.plan(&policy, None);
        }
    }
    if let Ok(input) = serde_json::from_slice::<GenerateCustomToken>(data) {
        let _ = input.plan(CustomTokenDefaults { access_token_ttl: 3600, refresh_token_ttl: 7200 });
    }
    if let Ok(update) = serde_json::from_slice::<TokenUpdateRequest>(data)
        && let Some(properties) = &update.properties
    {
        let _ = check_properties(properties);
    }
    let _ = serde_json::from_slice::<TokenRevokeRequest>(data);
    let _ = serde_json::from_slice::<IntrospectionRequest>(data);
    let _ = serde_json::from_slice::<StandardIntrospectionRequest>(data);
    let _ = serde_json::from_slice::<RevocationRequest>(data);
    let _ = serde_json::from_slice::<CustomTokenExchangeRequest>(data);
    let _ = serde_json::from_slice::<RefreshRequest>(data);
});
