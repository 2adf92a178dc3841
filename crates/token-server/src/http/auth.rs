//! The `ServiceCaller` extractor: the Bearer credential and the path's `{serviceId}`, handed to
//! `Authentication::authenticate`.

use std::collections::HashMap;

use crate::service::error::RequestError;
use axum::extract::{FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use token_core::OrganizationId;

use token_core::events::Actor;

use crate::service::authentication::Caller;
use crate::service::issuance::refresh::RefreshCaller;
use crate::service::{App, ServiceError};

/// An authenticated caller acting on the service named in the path.
#[derive(Debug)]
pub struct ServiceCaller(pub Caller);

/// The token of an `Authorization: Bearer <token>` header, if the header has that form.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    token_core::bearer::parse_bearer(parts.headers.get(AUTHORIZATION)?.to_str().ok()?)
}

/// The Bearer credential and the path's `{serviceId}` as written (empty when the path has none).
async fn credential_and_service(
    parts: &mut Parts,
    app: &App,
) -> Result<(Option<String>, String), ServiceError> {
    let credential = bearer_token(parts).map(str::to_owned);
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
        .await
        .map_err(|e| ServiceError::from(RequestError::Path(e.to_string())))?;
    Ok((credential, params.remove("serviceId").unwrap_or_default()))
}

impl FromRequestParts<App> for ServiceCaller {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let (credential, raw_service) = credential_and_service(parts, app).await?;
        app.authentication().authenticate(credential.as_deref(), &raw_service).await.map(ServiceCaller)
    }
}

/// An Organization Token acting on the service named in the path (services and keys routes).
#[derive(Debug)]
pub struct OrganizationServiceCaller(pub Caller);

impl FromRequestParts<App> for OrganizationServiceCaller {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let (credential, raw_service) = credential_and_service(parts, app).await?;
        app.authentication()
            .authenticate_organization_on(credential.as_deref(), &raw_service)
            .await
            .map(OrganizationServiceCaller)
    }
}

/// An Organization Token, on routes that name no service: the organization it acts for, and who
/// the event log says acted.
#[derive(Debug)]
pub struct OrganizationCaller(pub OrganizationId, pub Actor);

impl FromRequestParts<App> for OrganizationCaller {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let (organization, actor) =
            app.authentication().authenticate_organization(bearer_token(parts)).await?;
        Ok(OrganizationCaller(organization, actor))
    }
}

/// The URL clients use to reach this server: `public_base_url`, else `http://` + the request's
/// `Host` (a DPoP proof's `htu`, a Shared Signals transmitter's issuer).
pub fn public_base(app: &App, headers: &axum::http::HeaderMap) -> String {
    match &app.config().public_base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => {
            let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            format!("http://{host}")
        }
    }
}

/// [`public_base`] for what is kept or published (a Shared Signals issuer): without
/// `public_base_url`, the `Host` must be a plain authority (`host[:port]`, at most 255
/// characters), never echoed otherwise.
pub fn published_base(app: &App, headers: &axum::http::HeaderMap) -> Result<String, ServiceError> {
    if app.config().public_base_url.is_none() {
        let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let plain = !host.is_empty()
            && host.len() <= 255
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            && host.parse::<axum::http::uri::Authority>().is_ok()
            && match host.rsplit_once(':') {
                // A port, when there is one (not the colons of a bracketed IPv6 address), is 1–65535.
                Some((_, port)) if !host.ends_with(']') => port.parse::<u16>().is_ok_and(|p| p > 0),
                _ => true,
            };
        if !plain {
            let why = "the Host header is not a host[:port] (or set public_base_url)".to_owned();
            return Err(crate::service::error::RequestError::Body(why).into());
        }
    }
    Ok(public_base(app, headers))
}

/// Who asks a public refresh endpoint for a refresh: the service's authorization server when the
/// request carries an `Authorization` header (it must then be a valid credential for the path's
/// service), else the holder; with the request's `DPoP` header and the endpoint's URL as clients
/// use it (`public_base_url`, else `http://` + `Host`) for a proof's `htu`.
pub async fn refresh_caller(
    app: &App,
    headers: &axum::http::HeaderMap,
    path: &str,
    raw_service: &str,
    client_certificate: Option<String>,
) -> Result<RefreshCaller, ServiceError> {
    let credential_id = match headers.get(AUTHORIZATION) {
        None => None,
        Some(value) => {
            let bearer = value.to_str().ok().and_then(token_core::bearer::parse_bearer);
            Some(app.authentication().authenticate(bearer, raw_service).await?.credential_id)
        }
    };
    let base = public_base(app, headers);
    Ok(RefreshCaller {
        authenticated: credential_id.is_some(),
        credential_id,
        client_certificate,
        dpop: headers.get("dpop").and_then(|v| v.to_str().ok()).map(str::to_owned),
        htm: "POST".to_owned(),
        htu: format!("{base}{path}"),
    })
}
