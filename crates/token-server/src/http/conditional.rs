//! Answers that verifiers cache and revalidate (the JWK Set, Token Status Lists): the body with its
//! `ETag` and `Cache-Control`, or 304 when the request's `If-None-Match` names that `ETag`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `body` of `content_type` tagged `etag`, or 304 when `If-None-Match` names it (weak or strong,
/// or `*`); `cache_control` when given (else the router's `no-store` applies).
pub fn answer(
    headers: &HeaderMap,
    etag: &str,
    content_type: &'static str,
    body: String,
    cache_control: Option<&str>,
) -> Response {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == "*" || bare(tag) == bare(etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) = cache_control.and_then(|c| HeaderValue::from_str(c).ok()) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}
