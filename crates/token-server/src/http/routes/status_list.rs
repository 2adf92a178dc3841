//! Token Status Lists (draft-ietf-oauth-status-list-17): each list as a signed JWT
//! (`application/statuslist+jwt`), public for verifiers, cacheable for its `ttl`, revalidated by
//! `ETag`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::http::conditional;
use crate::service::{App, ServiceError};

pub async fn status_list(
    State(app): State<App>,
    Path((service, list)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let token = app.status_lists().token(&service, &list).await?;
    let cache_control = format!("public, max-age={}", token.ttl_secs);
    let media_type = token_core::status_list::MEDIA_TYPE;
    Ok(conditional::answer(&headers, &token.etag, media_type, token.jwt, Some(&cache_control)))
}
