//! Token management: one method per endpoint of `token_create`, `token_manage`, `introspection`
//! and `revocation`.

use token_core::TokenHash;
use token_core::api::{NoBody, NoContent};
use token_core::introspection::{self, StandardIntrospectionRequest, StandardIntrospectionResponse};
use token_core::revocation::{self, RevocationRequest, RevocationResponse};
use token_core::{token_create, token_manage};

use crate::{
    Error, IntrospectionRequest, IntrospectionResponse, Secret, TokenClient, TokenCreateRequest,
    TokenCreateResponse, TokenListRequest, TokenListResponse, TokenRevokeRequest, TokenRevokeResponse,
    TokenUpdateRequest, TokenUpdateResponse,
};

impl TokenClient {
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
}

/// A value or a hash: values are hashed, hashes kept (the server accepts both).
fn identifier_hash(identifier: &str) -> TokenHash {
    TokenHash::from_encoded(identifier).unwrap_or_else(|| TokenHash::of(identifier))
}
