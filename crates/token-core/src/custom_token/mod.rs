//! Custom tokens (`000_…`): `generateCustomToken` input and output, and its rules.
//!
//! A custom token is what an application back-end hands its end user; the end user exchanges it
//! for an access + refresh token pair whose lifetimes are the TTLs given here.
//!
//! One file per endpoint — [`Generate`], [`Exchange`], [`Refresh`], [`Pipeline`], and [`OAuthToken`]
//! (RFC 6749) — and the claims a custom token carries ([`CustomTokenClaims`]).

mod claims;
mod exchange;
mod generate;
mod oauth;
mod pipeline;
mod refresh;

pub use claims::{
    CUSTOM_TOKEN_CLAIMS, CUSTOM_TOKEN_LEEWAY_SECS, CUSTOM_TOKEN_LIFETIME_SECS, CUSTOM_TOKEN_TYP,
    CustomTokenClaims, exchange_audience,
};
pub use exchange::{CustomTokenExchangeRequest, EXCHANGE_ERRORS, Exchange, TokenPairResponse};
pub use generate::{
    CustomTokenData, CustomTokenDefaults, CustomTokenPlan, GENERATE_ERRORS, Generate, GenerateCustomToken,
    GenerateCustomTokenResponse, MAX_ACCESS_TOKEN_TTL, MAX_CLAIMS_BYTES, MAX_IDENTITY_LEN,
    MAX_PARALLEL_GENERATIONS, MAX_REFRESH_TOKEN_TTL, MAX_USER_ID_LEN, RESERVED_CLAIMS,
};
pub use oauth::{OAUTH_ERRORS, OAuthErrorResponse, OAuthToken, OAuthTokenRequest, OAuthTokenResponse};
pub use pipeline::{
    OP_CREATE_TOKEN, OP_GENERATE_CUSTOM_TOKEN, Pipeline, PipelineOperation, PipelineRequest, PipelineResponse,
};
pub use refresh::{REFRESH_ERRORS, Refresh, RefreshRequest};
