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

#![warn(missing_docs)]

mod error;
mod pipeline;
mod retry;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use token_core::TokenHash;
use token_core::api::{Auth, Carrier, Endpoint, Metadata, NoBody, NoContent, Payload};
use token_core::custom_token::{
    self, CustomTokenExchangeRequest, GenerateCustomTokenResponse, OAuthTokenResponse,
};
use token_core::introspection::{self, StandardIntrospectionRequest, StandardIntrospectionResponse};
use token_core::keys::{self, JwkSet};
use token_core::revocation::{self, RevocationRequest, RevocationResponse};
use token_core::tenancy::{
    self, ClientAuthorizationDeleteResponse, ClientAuthorizationListResponse, ClientListResponse,
    KeyListResponse, KeyRevokeResponse, KeyRotateResponse, ServiceListResponse,
};
use token_core::token_create;
use token_core::token_manage;
pub use token_core::{Action, ResultCode, Secret, ServiceId};
use tokio::sync::Semaphore;

pub use error::Error;
pub use pipeline::{PipelineBuilder, PipelineResult};
pub use retry::{Attempt, RetryPolicy};
/// The core types this client's API takes and returns, so that a caller needs no second dependency
/// (`token_client::token_core::custom_token::GenerateCustomToken`); the ones most calls name are at
/// the root too.
pub use token_core;
pub use token_core::custom_token::{GenerateCustomToken, RefreshRequest, TokenPairResponse};
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

use token_core::grant::JWT_BEARER_GRANT;

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
        let http = reqwest::Client::builder()
            .timeout(self.timeout.unwrap_or(Duration::from_secs(30)))
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
                retry: self.retry.unwrap_or_default(),
                generations: Semaphore::new(max_generations),
                max_generations,
                pipeline_chunk: self.pipeline_chunk.unwrap_or(DEFAULT_PIPELINE_CHUNK),
            }),
            service: self.service,
        })
    }
}

/// A request body.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    None,
    Json(Value),
    /// `application/x-www-form-urlencoded`.
    Form(String),
}

/// The answer of one HTTP exchange.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after_secs: Option<u64>,
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

    /// The URL of `endpoint`: `{serviceId}` is this client's service (required only by paths
    /// that name one), the other `{name}`s the values of `extra`, each percent-encoded as one path
    /// segment (an alias or a subject may hold `/`, `?` or `%`).
    fn url(&self, endpoint: &Metadata, extra: &[(&str, &str)]) -> Result<url::Url, Error> {
        let mut url = self.inner.base.clone();
        let service =
            if endpoint.path.contains("{serviceId}") { Some(self.service_id()?.to_string()) } else { None };
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| Error::Config("the base URL cannot be a base".into()))?;
            segments.pop_if_empty();
            for segment in endpoint.path.trim_start_matches('/').split('/') {
                let value = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some("serviceId") => service.as_deref().unwrap_or_default(),
                    Some(name) => extra
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| *v)
                        .ok_or_else(|| Error::Config(format!("no value for {{{name}}}")))?,
                    None => segment,
                };
                segments.push(value);
            }
        }
        Ok(url)
    }

    /// Sends to `endpoint` (its declared method; the Bearer credential when it declares one) with
    /// the retry policy; `idempotent` says whether a lost or 5xx attempt may be repeated.
    pub(crate) async fn send(
        &self,
        endpoint: &Metadata,
        url: url::Url,
        body: Body,
        idempotent: bool,
    ) -> Result<Answer, Error> {
        let authenticated = endpoint.auth != token_core::api::Auth::Public;
        self.send_as(endpoint, url, body, idempotent, authenticated).await
    }

    /// As [`send`](Self::send), with the Bearer credential (when this client has one) if
    /// `authenticated`: the refresh endpoints take it optionally.
    async fn send_as(
        &self,
        endpoint: &Metadata,
        url: url::Url,
        body: Body,
        idempotent: bool,
        authenticated: bool,
    ) -> Result<Answer, Error> {
        let method = match endpoint.method {
            token_core::api::Method::Get => Method::GET,
            token_core::api::Method::Post => Method::POST,
            token_core::api::Method::Delete => Method::DELETE,
        };
        let mut attempt = 0u32;
        loop {
            let mut request = self.inner.http.request(method.clone(), url.clone());
            if authenticated && let Some(bearer) = &self.inner.bearer {
                request = request.bearer_auth(bearer.secret());
            }
            match &body {
                Body::None => {}
                Body::Json(value) => request = request.json(value),
                Body::Form(text) => {
                    request = request
                        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(text.clone());
                }
            }
            let what = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after_secs = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse().ok());
                    let body = response.bytes().await.map_err(error::transport)?.to_vec();
                    let answer = Answer { status, body, retry_after_secs };
                    if status < 400 {
                        return Ok(answer);
                    }
                    let jitter = jitter();
                    match self.inner.retry.next_delay(
                        attempt,
                        Attempt::Status { status, retry_after_secs },
                        idempotent,
                        jitter,
                    ) {
                        Some(delay) => {
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                            continue;
                        }
                        None => return Ok(answer),
                    }
                }
                Err(e) => {
                    let what = if e.is_connect() { Attempt::NotSent } else { Attempt::Lost };
                    (what, e)
                }
            };
            let (what, e) = what;
            let jitter = jitter();
            match self.inner.retry.next_delay(attempt, what, idempotent, jitter) {
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(error::transport(e)),
            }
        }
    }

    /// Calls endpoint `E` (generic over the same `token_core::api::Endpoint` the server routes
    /// by): its method and path (`{serviceId}` is this client's service, the other parameters are
    /// `path`'s values), the Bearer credential when `E` needs one, `request` carried as `E`
    /// declares (JSON body, query string, form), retried only when `E` is idempotent; the answer
    /// decoded as `E::Response`, an error answer (in `E`'s error family) as [`Error::Api`].
    pub async fn call<E: Endpoint>(
        &self,
        path: &[(&str, &str)],
        request: &E::Request,
    ) -> Result<E::Response, Error>
    where
        E::Request: Serialize,
        E::Response: DeserializeOwned,
    {
        self.call_as::<E>(path, request, E::METADATA.auth != Auth::Public).await
    }

    /// As [`call`](Self::call), with the Bearer credential (when this client has one) if
    /// `authenticated`: the refresh endpoints take it optionally.
    async fn call_as<E: Endpoint>(
        &self,
        path: &[(&str, &str)],
        request: &E::Request,
        authenticated: bool,
    ) -> Result<E::Response, Error>
    where
        E::Request: Serialize,
        E::Response: DeserializeOwned,
    {
        let metadata = E::METADATA;
        let mut url = self.url(&metadata, path)?;
        let encode = |e: serde_json::Error| Error::Config(format!("cannot encode the request: {e}"));
        let body = match <E::Request as Payload>::CARRIER {
            Carrier::Nothing => Body::None,
            Carrier::Json | Carrier::Text(_) => Body::Json(serde_json::to_value(request).map_err(encode)?),
            Carrier::Query | Carrier::Form => {
                let pairs = form_pairs(&serde_json::to_value(request).map_err(encode)?);
                if <E::Request as Payload>::CARRIER == Carrier::Query {
                    if !pairs.is_empty() {
                        url.query_pairs_mut().extend_pairs(&pairs);
                    }
                    Body::None
                } else {
                    Body::Form(
                        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish(),
                    )
                }
            }
        };
        let answer = self.send_as(&metadata, url, body, metadata.idempotent, authenticated).await?;
        if <E::Response as Payload>::CARRIER == Carrier::Nothing && answer.status < 400 {
            // A 204: no body to read.
            return decode(Answer { body: b"null".to_vec(), ..answer });
        }
        decode(answer)
    }

    // ---------------------------------------------------------------- token management

    /// `POST /auth/token/create`.
    pub async fn create_token(&self, request: &TokenCreateRequest) -> Result<TokenCreateResponse, Error> {
        self.call::<token_create::Create>(&[], request).await
    }

    /// `GET /auth/token/get/list`.
    pub async fn list_tokens(&self, request: &TokenListRequest) -> Result<TokenListResponse, Error> {
        self.call::<token_manage::List>(&[], request).await
    }

    /// `POST /auth/token/update`.
    pub async fn update_token(&self, request: &TokenUpdateRequest) -> Result<TokenUpdateResponse, Error> {
        self.call::<token_manage::Update>(&[], request).await
    }

    /// `DELETE /auth/token/delete/{…}`. The token is sent as its hash, so its value never appears in
    /// a URL (or a log line that prints one).
    pub async fn delete_token(&self, access_token: &Secret) -> Result<(), Error> {
        let hash = identifier_hash(access_token.secret());
        self.call::<token_manage::Delete>(&[("accessTokenIdentifier", hash.as_str())], &NoBody)
            .await
            .map(|NoContent| ())
    }

    /// `POST /auth/token/revoke`.
    pub async fn revoke(&self, request: &TokenRevokeRequest) -> Result<TokenRevokeResponse, Error> {
        self.call::<token_manage::Revoke>(&[], request).await
    }

    /// Signs the end user `subject` out everywhere: revokes every live token of the subject in
    /// the service, of every client and custom-token session, each family with every value it
    /// ever had (Firebase's `revokeRefreshTokens(uid)`). `count` says how many were live.
    pub async fn revoke_user(&self, subject: &str) -> Result<TokenRevokeResponse, Error> {
        self.revoke(&TokenRevokeRequest::subject(subject)).await
    }

    // ---------------------------------------------------------------- tenancy (Authlete's shapes)

    /// `POST /api/service/create` (Organization Token): a service of the token's organization.
    pub async fn create_service(&self, service: &Service) -> Result<Service, Error> {
        self.call::<tenancy::ServiceCreate>(&[], service).await
    }

    /// `GET /api/service/get/list` (Organization Token).
    pub async fn list_services(&self, range: ListRange) -> Result<ServiceListResponse, Error> {
        self.call::<tenancy::ServiceList>(&[], &range).await
    }

    /// `GET /api/{serviceId}/service/get` (Organization Token): this client's service.
    pub async fn get_service(&self) -> Result<Service, Error> {
        self.call::<tenancy::ServiceGet>(&[], &NoBody).await
    }

    /// `POST /api/{serviceId}/service/update` (Organization Token): the members given change.
    pub async fn update_service(&self, service: &Service) -> Result<Service, Error> {
        self.call::<tenancy::ServiceUpdate>(&[], service).await
    }

    /// `DELETE /api/{serviceId}/service/delete` (Organization Token): this client's service, with
    /// its tokens, clients, keys and Service Access Tokens.
    pub async fn delete_service(&self) -> Result<(), Error> {
        self.call::<tenancy::ServiceDelete>(&[], &NoBody).await.map(|NoContent| ())
    }

    /// `POST /api/{serviceId}/client/create`.
    pub async fn create_client(&self, client: &Client) -> Result<Client, Error> {
        self.call::<tenancy::ClientCreate>(&[], client).await
    }

    /// `GET /api/{serviceId}/client/get/{clientId}`: by ID or alias.
    pub async fn get_client(&self, client: &str) -> Result<Client, Error> {
        self.call::<tenancy::ClientGet>(&[("clientId", client)], &NoBody).await
    }

    /// `GET /api/{serviceId}/client/get/list`.
    pub async fn list_clients(&self, range: ListRange) -> Result<ClientListResponse, Error> {
        self.call::<tenancy::ClientList>(&[], &range).await
    }

    /// `POST /api/{serviceId}/client/update/{clientId}` (ID or alias): the members given change.
    pub async fn update_client(&self, client: &str, update: &Client) -> Result<Client, Error> {
        self.call::<tenancy::ClientUpdate>(&[("clientId", client)], update).await
    }

    /// `DELETE /api/{serviceId}/client/delete/{clientId}` (ID or alias): its tokens are revoked.
    pub async fn delete_client(&self, client: &str) -> Result<(), Error> {
        self.call::<tenancy::ClientDelete>(&[("clientId", client)], &NoBody).await.map(|NoContent| ())
    }

    /// `GET /api/{serviceId}/client/authorization/get/list/{subject}`: the clients holding live
    /// tokens of the end user `subject`.
    pub async fn list_user_grants(
        &self,
        subject: &str,
        range: ListRange,
    ) -> Result<ClientAuthorizationListResponse, Error> {
        self.call::<tenancy::AuthorizationList>(&[("subject", subject)], &range).await
    }

    /// `DELETE /api/{serviceId}/client/authorization/delete/{clientId}/{subject}`: ends the end
    /// user's grant to one client (every live token it holds for the subject).
    pub async fn revoke_user_grant(
        &self,
        client: &str,
        subject: &str,
    ) -> Result<ClientAuthorizationDeleteResponse, Error> {
        self.call::<tenancy::AuthorizationDelete>(&[("clientId", client), ("subject", subject)], &NoBody)
            .await
    }

    /// `GET /api/{serviceId}/keys/list` (Organization Token).
    pub async fn list_keys(&self) -> Result<KeyListResponse, Error> {
        self.call::<tenancy::KeyList>(&[], &NoBody).await
    }

    /// `POST /api/{serviceId}/keys/rotate` (Organization Token).
    pub async fn rotate_key(&self, request: &KeyRotateRequest) -> Result<KeyRotateResponse, Error> {
        self.call::<tenancy::KeyRotate>(&[], request).await
    }

    /// `POST /api/{serviceId}/keys/revoke/{kid}` (Organization Token).
    pub async fn revoke_key(&self, kid: &str) -> Result<KeyRevokeResponse, Error> {
        self.call::<tenancy::KeyRevoke>(&[("kid", kid)], &NoBody).await
    }

    /// `POST /auth/introspection`.
    pub async fn introspect(&self, request: &IntrospectionRequest) -> Result<IntrospectionResponse, Error> {
        self.call::<introspection::Introspect>(&[], request).await
    }

    /// `POST /auth/introspection/standard` (RFC 7662 wrapper).
    pub async fn introspect_standard(
        &self,
        request: &StandardIntrospectionRequest,
    ) -> Result<StandardIntrospectionResponse, Error> {
        self.call::<introspection::Standard>(&[], request).await
    }

    /// `POST /auth/revocation` (RFC 7009 wrapper).
    pub async fn revocation(&self, request: &RevocationRequest) -> Result<RevocationResponse, Error> {
        self.call::<revocation::Revoke>(&[], request).await
    }

    /// `GET /service/jwks/get`: the service's public keys, through the authenticated path.
    pub async fn service_jwks(&self) -> Result<JwkSet, Error> {
        self.call::<keys::ServiceJwks>(&[], &NoBody).await
    }

    /// `GET /jwks`: the service's public keys.
    pub async fn jwks(&self) -> Result<JwkSet, Error> {
        self.call::<keys::PublicJwks>(&[], &NoBody).await
    }

    /// `GET /jwks` revalidated: `None` when the server answers 304 (the set whose `ETag` is
    /// `etag` is still current), else the set and its `ETag`.
    pub async fn jwks_if_none_match(
        &self,
        etag: Option<&str>,
    ) -> Result<Option<(JwkSet, Option<String>)>, Error> {
        let url = self.url(&keys::PublicJwks::METADATA, &[])?;
        let mut request = self.inner.http.get(url);
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(error::transport)?;
        let status = response.status().as_u16();
        if status == 304 {
            return Ok(None);
        }
        let etag =
            response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.bytes().await.map_err(error::transport)?.to_vec();
        let set = decode(Answer { status, body, retry_after_secs: None })?;
        Ok(Some((set, etag)))
    }

    // ---------------------------------------------------------------- custom tokens

    /// `generateCustomToken`: the custom token for an end user. At most
    /// `max_parallel_generations` run at once from this client; the rest wait their turn.
    pub async fn generate_custom_token(&self, input: &GenerateCustomToken) -> Result<Secret, Error> {
        let _slot = self
            .inner
            .generations
            .acquire()
            .await
            .map_err(|_| Error::Config("the generation limiter is closed".into()))?;
        let response = self.call::<custom_token::Generate>(&[], input).await?;
        custom_token_of(response, 200)
    }

    /// The generation limit of this client.
    pub fn max_parallel_generations(&self) -> usize {
        self.inner.max_generations
    }

    /// Exchange a custom token for an access + refresh token pair (what the end user's app does).
    pub async fn exchange_custom_token(&self, custom_token: &Secret) -> Result<TokenPairResponse, Error> {
        let request = CustomTokenExchangeRequest { custom_token: custom_token.clone() };
        self.call::<custom_token::Exchange>(&[], &request).await
    }

    /// Use a refresh token: a new access token and a rotated refresh token. A client built with
    /// a Bearer credential (the service's back end or authorization server) sends it, and may then
    /// refresh any token of the service; without one, only custom-token sessions refresh.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenPairResponse, Error> {
        self.refresh_with(&RefreshRequest::new(refresh_token.clone())).await
    }

    /// [`refresh`](Self::refresh) with every field of the request (e.g. the client certificate
    /// of a certificate-bound token).
    pub async fn refresh_with(&self, request: &RefreshRequest) -> Result<TokenPairResponse, Error> {
        // The credential is optional here: sent when this client has one.
        self.call_as::<custom_token::Refresh>(&[], request, true).await
    }

    /// The RFC 6749 token endpoint with an RFC 7523 assertion (a custom token).
    pub async fn token_with_assertion(&self, custom_token: &Secret) -> Result<OAuthTokenResponse, Error> {
        self.oauth_token(&[("grant_type", JWT_BEARER_GRANT), ("assertion", custom_token.secret())]).await
    }

    /// The RFC 6749 token endpoint with `grant_type=refresh_token`.
    pub async fn token_with_refresh_token(
        &self,
        refresh_token: &Secret,
    ) -> Result<OAuthTokenResponse, Error> {
        self.oauth_token(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token.secret())]).await
    }

    async fn oauth_token(&self, form: &[(&str, &str)]) -> Result<OAuthTokenResponse, Error> {
        let metadata = custom_token::OAuthToken::METADATA;
        let url = self.url(&metadata, &[])?;
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        // The credential is optional here: sent when this client has one.
        let answer = self.send_as(&metadata, url, Body::Form(body), metadata.idempotent, true).await?;
        decode(answer)
    }

    /// Batch operations into one round trip: `client.pipeline().generate_custom_token(a).send()`.
    pub fn pipeline(&self) -> PipelineBuilder<'_> {
        PipelineBuilder::new(self)
    }

    /// An offline verifier for this service's custom tokens and JWT access tokens.
    pub fn verifier(&self) -> JwksVerifier {
        JwksVerifier::new(self.clone())
    }

    pub(crate) fn pipeline_url(&self) -> Result<url::Url, Error> {
        self.url(&custom_token::Pipeline::METADATA, &[])
    }

    pub(crate) fn pipeline_chunk(&self) -> usize {
        self.inner.pipeline_chunk
    }

    pub(crate) async fn generation_slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Error> {
        self.inner
            .generations
            .acquire()
            .await
            .map_err(|_| Error::Config("the generation limiter is closed".into()))
    }
}

/// A query or form's pairs from a request's JSON: its members that are given (`null` is left out),
/// strings as they are, numbers and booleans as JSON writes them.
fn form_pairs(value: &Value) -> Vec<(String, String)> {
    let Value::Object(members) = value else { return Vec::new() };
    members
        .iter()
        .filter_map(|(name, value)| match value {
            Value::Null => None,
            Value::String(text) => Some((name.clone(), text.clone())),
            other => Some((name.clone(), other.to_string())),
        })
        .collect()
}

/// A random fraction in `[0, 1)` for the retry policy's jitter.
fn jitter() -> f64 {
    rand::thread_rng().r#gen()
}

/// A value or a hash: values are hashed, hashes kept (the server accepts both).
fn identifier_hash(identifier: &str) -> TokenHash {
    TokenHash::from_encoded(identifier).unwrap_or_else(|| TokenHash::of(identifier))
}

pub(crate) fn custom_token_of(response: GenerateCustomTokenResponse, status: u16) -> Result<Secret, Error> {
    match (response.success, response.data) {
        (true, Some(data)) => Ok(data.custom_token),
        (_, _) => Err(api_error(status, response.error.unwrap_or_else(|| "generation failed".into()), None)),
    }
}

/// An API error from a message (`[code] text`), with the catalogue's action when it knows the code.
pub(crate) fn api_error(status: u16, message: String, retry_after_secs: Option<u64>) -> Error {
    let result_code = error::code_of(&message);
    let code = result_code.as_deref().and_then(ResultCode::lookup);
    Error::Api { status, result_code, code, message, action: code.map(|c| c.action), retry_after_secs }
}

/// Decodes a success body as `T`, or any of the server's error shapes as [`Error::Api`].
pub(crate) fn decode<T: DeserializeOwned>(answer: Answer) -> Result<T, Error> {
    let text = || String::from_utf8_lossy(&answer.body).into_owned();
    if answer.status < 400 {
        return serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
            status: answer.status,
            reason: e.to_string(),
            body: text(),
        });
    }
    let value: Value = serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
        status: answer.status,
        reason: format!("error answer is not JSON: {e}"),
        body: text(),
    })?;
    if let Some(code) = value.get("resultCode").and_then(Value::as_str) {
        let message = value.get("resultMessage").and_then(Value::as_str).unwrap_or_default().to_owned();
        let action: Option<Action> = value.get("action").and_then(|a| serde_json::from_value(a.clone()).ok());
        return Err(Error::Api {
            status: answer.status,
            result_code: Some(code.to_owned()),
            code: ResultCode::lookup(code),
            message,
            action,
            retry_after_secs: answer.retry_after_secs,
        });
    }
    if let Some(message) = value.get("error").and_then(Value::as_str) {
        let message = match value.get("error_description").and_then(Value::as_str) {
            Some(description) => format!("{message}: {description}"),
            None => message.to_owned(),
        };
        return Err(api_error(answer.status, message, answer.retry_after_secs));
    }
    Err(Error::Decode { status: answer.status, reason: "unrecognised error answer".into(), body: text() })
}
