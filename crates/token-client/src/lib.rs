//! # token-client
//!
//! The typed Rust SDK of the token service, over reqwest (rustls) and the `token-core` types.
//!
//! ```no_run
//! # async fn demo() -> Result<(), token_client::Error> {
//! use token_client::TokenClient;
//! use token_core::custom_token::GenerateCustomToken;
//!
//! let client = TokenClient::builder()
//!     .base_url("http://127.0.0.1:8080")
//!     .service(715948317)
//!     .bearer("sat_…")
//!     .build()?;
//! let custom_token = client.generate_custom_token(&GenerateCustomToken::new("user00", "enduser")).await?;
//! let results = client
//!     .pipeline()
//!     .generate_custom_token(GenerateCustomToken::new("user01", "enduser"))
//!     .generate_custom_token(GenerateCustomToken::new("user02", "enduser"))
//!     .send()
//!     .await?;
//! # let _ = (custom_token, results); Ok(()) }
//! ```
//!
//! - One async method per endpoint, taking and returning the core request/response types.
//! - [`pipeline`](TokenClient::pipeline) batches operations into one round trip, chunked under the
//!   server's cap.
//! - A client-side limiter keeps at most 10 custom-token generations in flight (configurable), so
//!   bursts never meet the server's 429.
//! - [`RetryPolicy`] retries only what is safe to repeat, honouring `Retry-After`.
//! - [`Error`] separates the server's answer, transport failures and undecodable answers.
//! - [`JwksVerifier`] verifies custom tokens and JWT access tokens offline against a cached JWKS.
//! - [`events`](TokenClient::events) and [`organization_events`](TokenClient::organization_events)
//!   read the event log (who changed what, and when) a page at a time;
//!   [`event_stream`](TokenClient::event_stream) follows it: an [`EventStream`] answers each
//!   event once, oldest first, long-polling for new ones.
//!
//! ```no_run
//! # async fn follow(client: token_client::TokenClient) -> Result<(), token_client::Error> {
//! use token_client::EventsRequest;
//!
//! // Every event of the service from the oldest kept, then each new one as it is written.
//! let mut events = client.event_stream(EventsRequest::after(0));
//! while let Some(event) = events.next().await? {
//!     println!("{} {} {:?}", event.event_id, event.event_type, event.subject);
//!     // Keep `events.cursor()` to resume later with `EventsRequest::after(cursor)`.
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod call;
mod custom_tokens;
mod error;
mod events;
mod pipeline;
mod retry;
mod tenancy;
mod token_management;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use token_core::custom_token;
pub use token_core::{Action, ResultCode, Secret, ServiceId};
use tokio::sync::Semaphore;

pub use error::Error;
pub use events::{EventStream, IDLE_PAUSE};
pub use pipeline::{PipelineBuilder, PipelineResult};
pub use retry::{Attempt, RetryPolicy};
/// The core types this client's API takes and returns, so that a caller needs no second dependency
/// (`token_client::token_core::custom_token::GenerateCustomToken`); the ones most calls name are at
/// the root too.
pub use token_core;
pub use token_core::custom_token::{GenerateCustomToken, RefreshRequest, TokenPairResponse};
pub use token_core::events::{Event, EventType, EventsPage, EventsRequest};
pub use token_core::grant::GrantType;
pub use token_core::introspection::{IntrospectionRequest, IntrospectionResponse};
pub use token_core::tenancy::{Client, KeyRotateRequest, ListRange, Service};
pub use token_core::token_create::{TokenCreateRequest, TokenCreateResponse};
pub use token_core::token_manage::{
    TokenListRequest, TokenListResponse, TokenRevokeRequest, TokenRevokeResponse, TokenUpdateRequest,
    TokenUpdateResponse,
};
pub use token_core::{ClientId, OrganizationId, Subject, TokenId};
pub use verify::JwksVerifier;

/// The server's default per-pipeline cap; chunks are never larger.
pub const DEFAULT_PIPELINE_CHUNK: usize = 500;

/// A client of one server. Cheap to clone; clones share connections and the generation limiter.
#[derive(Clone, Debug)]
pub struct TokenClient {
    inner: Arc<Inner>,
    service: Option<ServiceId>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: url::Url,
    bearer: Option<Secret>,
    /// The whole-request timeout (an [`EventStream`]'s long poll stays within it).
    timeout: Duration,
    retry: RetryPolicy,
    generations: Semaphore,
    max_generations: usize,
    pipeline_chunk: usize,
}

/// Builds a [`TokenClient`].
#[derive(Debug, Default)]
pub struct TokenClientBuilder {
    base_url: Option<String>,
    service: Option<ServiceId>,
    bearer: Option<Secret>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    max_generations: Option<usize>,
    pipeline_chunk: Option<usize>,
}

impl TokenClientBuilder {
    /// The server's base URL, e.g. `https://tokens.example.com`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The service every call acts on (override per call with [`TokenClient::service`]).
    pub fn service(mut self, id: impl Into<ServiceId>) -> Self {
        self.service = Some(id.into());
        self
    }

    /// A Service Access Token or an Organization Token.
    pub fn bearer(mut self, secret: impl Into<String>) -> Self {
        self.bearer = Some(Secret::new(secret.into()));
        self
    }

    /// Whole-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How failed requests are retried (default [`RetryPolicy::default`]); only requests that are
    /// safe to repeat are retried whatever the policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Custom-token generations in flight at once from this client (default 10, the server's limit).
    pub fn max_parallel_generations(mut self, n: usize) -> Self {
        self.max_generations = Some(n.max(1));
        self
    }

    /// Operations per pipeline request (default 500, the server's default cap).
    pub fn pipeline_chunk(mut self, n: usize) -> Self {
        self.pipeline_chunk = Some(n.max(1));
        self
    }

    /// The client, or [`Error::Config`] when the base URL is missing or not a URL.
    pub fn build(self) -> Result<TokenClient, Error> {
        let raw = self.base_url.ok_or_else(|| Error::Config("base_url is required".into()))?;
        let mut base = url::Url::parse(&raw).map_err(|e| Error::Config(format!("base_url '{raw}': {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(format!("base_url '{raw}' must be http or https")));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let timeout = self.timeout.unwrap_or(Duration::from_secs(30));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(10)))
            .user_agent(concat!("token-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let max_generations = self.max_generations.unwrap_or(custom_token::MAX_PARALLEL_GENERATIONS);
        Ok(TokenClient {
            inner: Arc::new(Inner {
                http,
                base,
                bearer: self.bearer,
                timeout,
                retry: self.retry.unwrap_or_default(),
                generations: Semaphore::new(max_generations),
                max_generations,
                pipeline_chunk: self.pipeline_chunk.unwrap_or(DEFAULT_PIPELINE_CHUNK),
            }),
            service: self.service,
        })
    }
}

impl TokenClient {
    /// A builder: give it the base URL, and the service and credential for the calls that need them.
    pub fn builder() -> TokenClientBuilder {
        TokenClientBuilder::default()
    }

    /// The same client acting on another service (for Organization Tokens).
    pub fn service(&self, id: impl Into<ServiceId>) -> TokenClient {
        TokenClient { inner: Arc::clone(&self.inner), service: Some(id.into()) }
    }

    fn service_id(&self) -> Result<ServiceId, Error> {
        self.service.ok_or_else(|| Error::Config("no service chosen: use .service(id)".into()))
    }

    /// An offline verifier for this service's custom tokens and JWT access tokens.
    pub fn verifier(&self) -> JwksVerifier {
        JwksVerifier::new(self.clone())
    }
}
