//! Token Status Lists (draft-ietf-oauth-status-list-17): each list as a signed JWT
//! (`application/statuslist+jwt`), public for verifiers, cacheable for its `ttl`, revalidated by
//! `ETag`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::service::{ServiceError, Services};

pub async fn status_list(
    State(services): State<Services>,
    Path((service, list)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let token = services.status_list_token(&service, &list).await?;
    let cache = HeaderValue::from_str(&format!("public, max-age={}", token.ttl_secs))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    let etag = HeaderValue::from_str(&token.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == token.etag || t.trim() == "*"));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(token_core::status_list::MEDIA_TYPE))], token.jwt)
            .into_response()
    };
    response.headers_mut().insert(header::CACHE_CONTROL, cache);
    response.headers_mut().insert(header::ETAG, etag);
    Ok(response)
}
