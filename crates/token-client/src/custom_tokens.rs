//! Custom tokens: generation (under the client's limiter), exchange, refresh, the RFC 6749 token
//! endpoint, and the pipeline's hooks.

use token_core::api::Endpoint;
use token_core::custom_token::{
    self, CustomTokenExchangeRequest, GenerateCustomTokenResponse, OAuthTokenResponse,
};
use token_core::grant::JWT_BEARER_GRANT;

use crate::call::{Body, api_error, decode};
use crate::{
    Error, GenerateCustomToken, PipelineBuilder, RefreshRequest, Secret, TokenClient, TokenPairResponse,
};

impl TokenClient {
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

pub(crate) fn custom_token_of(response: GenerateCustomTokenResponse, status: u16) -> Result<Secret, Error> {
    match (response.success, response.data) {
        (true, Some(data)) => Ok(data.custom_token),
        (_, _) => Err(api_error(status, response.error.unwrap_or_else(|| "generation failed".into()), None)),
    }
}
