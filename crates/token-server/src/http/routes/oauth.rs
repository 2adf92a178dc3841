//! `POST /api/{serviceId}/oauth/token`: the RFC 6749 token endpoint (form-encoded) for the
//! custom-token family — RFC 7523 `jwt-bearer` with a custom token, and `refresh_token`.

use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use token_core::ResultCode;
use token_core::custom_token::{OAuthToken, OAuthTokenResponse};
use token_core::events::Actor;

use crate::http::auth::refresh_caller;
use crate::http::endpoint::{Failure, Reply};
use crate::http::error::{OAuthError, OAuthErrorCode, no_store};
use crate::service::App;

pub use token_core::grant::JWT_BEARER_GRANT;

/// The single value of form parameter `name`; repeating a parameter is an error (RFC 6749 3.2).
fn form_param<'a>(form: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, OAuthError> {
    let mut values = form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::bad(
            OAuthErrorCode::InvalidRequest,
            format!("'{name}' appears more than once."),
        ));
    }
    Ok(first)
}

pub async fn oauth_token(
    State(app): State<App>,
    Path(raw): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Reply<OAuthToken>, Failure<OAuthToken>> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let description = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "The request body is larger than the configured limit.".to_owned()
            } else {
                format!("The request body could not be read: {}.", rejection.body_text())
            };
            let error = OAuthErrorCode::InvalidRequest;
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                ResultCode::BODY_TOO_LARGE
            } else {
                ResultCode::BODY_MALFORMED
            };
            return Err(OAuthError { status, error, description, retry_after_secs: None, code });
        }
    };
    let answer = oauth_token_answer(&app, &raw, uri.path(), &headers, &body).await?;
    let mut reply = Reply::new(answer);
    no_store(reply.headers_mut());
    Ok(reply)
}

async fn oauth_token_answer(
    app: &App,
    raw: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<OAuthTokenResponse, OAuthError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::bad(
            OAuthErrorCode::InvalidRequest,
            "The token request must be application/x-www-form-urlencoded.",
        ));
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| OAuthError::bad(OAuthErrorCode::InvalidRequest, format!("Malformed form body: {e}.")))?;
    let grant = form_param(&form, "grant_type")?
        .ok_or_else(|| OAuthError::bad(OAuthErrorCode::InvalidRequest, "grant_type is required."))?;
    let field = match grant {
        JWT_BEARER_GRANT => "assertion",
        "refresh_token" => "refresh_token",
        other => {
            return Err(OAuthError::bad(
                OAuthErrorCode::UnsupportedGrantType,
                ResultCode::OAUTH_GRANT_TYPE_UNSUPPORTED
                    .message(format!("grant_type '{other}' is not supported here.")),
            ));
        }
    };
    let value = form_param(&form, field)?.filter(|v| !v.is_empty()).ok_or_else(|| {
        OAuthError::bad(
            OAuthErrorCode::InvalidRequest,
            ResultCode::OAUTH_REQUEST_INVALID.message(format!("{field} is required.")),
        )
    })?;
    let service = app.authentication().public_service(raw).await?;
    let pair = if grant == JWT_BEARER_GRANT {
        app.issuance().exchange_custom_token(&service, value, &Actor::holder(None)).await?
    } else {
        let certificate = form_param(&form, "client_certificate")?.map(str::to_owned);
        let caller = refresh_caller(app, headers, path, raw, certificate).await?;
        app.issuance().refresh(&service, value, &caller).await?
    };
    Ok(OAuthTokenResponse {
        expires_in: pair.expires_in(app.now_ms()),
        scope: (!pair.record.scopes.is_empty()).then(|| pair.record.scopes.join(" ")),
        token_type: pair.record.token_type,
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
    })
}
