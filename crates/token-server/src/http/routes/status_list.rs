//! Token Status Lists (draft-ietf-oauth-status-list-17): each list as a signed JWT
//! (`application/statuslist+jwt`), public for verifiers, cacheable for its `ttl`, revalidated by
//! `ETag`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use token_core::status_list::Get;

use crate::http::conditional;
use crate::http::endpoint::{Failure, Reply};
use crate::service::App;

pub async fn status_list(
    State(app): State<App>,
    Path((service, list)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Reply<Get>, Failure<Get>> {
    let token = app.status_lists().token(&service, &list).await?;
    let cache_control = format!("public, max-age={}", token.ttl_secs);
    let media_type = token_core::status_list::MEDIA_TYPE;
    Ok(Reply::encoded(conditional::answer(
        &headers,
        &token.etag,
        media_type,
        token.jwt,
        Some(&cache_control),
    )))
}
