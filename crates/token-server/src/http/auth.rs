//! The `ServiceCaller` extractor: the Bearer credential and the path's `{serviceId}`, handed to
//! `Services::authenticate`.

use std::collections::HashMap;

use crate::service::error::RequestError;
use axum::extract::{FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::service::authenticate::Caller;
use crate::service::{ServiceError, Services};

/// An authenticated caller acting on the service named in the path.
#[derive(Debug)]
pub struct ServiceCaller(pub Caller);

/// The token of an `Authorization: Bearer <token>` header, if the header has that form.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    token_core::bearer::parse_bearer(parts.headers.get(AUTHORIZATION)?.to_str().ok()?)
}

impl FromRequestParts<Services> for ServiceCaller {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        let credential = bearer_token(parts).map(str::to_owned);
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, services)
            .await
            .map_err(|e| ServiceError::from(RequestError::Path(e.to_string())))?;
        let raw_service = params.get("serviceId").map(String::as_str).unwrap_or("");
        services.authenticate(credential.as_deref(), raw_service).await.map(ServiceCaller)
    }
}
