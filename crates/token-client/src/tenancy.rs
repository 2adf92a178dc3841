//! Tenancy in Authlete's shapes: one method per endpoint of services, clients, a user's grants
//! and signing keys, and the JWK Set the keys are published in.

use token_core::api::{Endpoint, NoBody, NoContent};
use token_core::keys::{self, JwkSet};
use token_core::tenancy::{
    self, ClientAuthorizationDeleteResponse, ClientAuthorizationListResponse, ClientListResponse,
    KeyListResponse, KeyRevokeResponse, KeyRotateResponse, ServiceListResponse,
};

use crate::call::{Answer, decode};
use crate::{Client, Error, KeyRotateRequest, ListRange, Service, TokenClient, error};

impl TokenClient {
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
}
