//! Lingering close, done right: a handler that answers without reading the whole request body (a
//! 413, a 429, a GET that ignores a body) leaves bytes in flight; closing the socket with unread
//! data makes the kernel send RST, which can destroy the answer before the client reads it. So the
//! rest of the body is drained (bounded in bytes and time) before the answer goes out, and the
//! connection stays reusable; past the bounds the answer says `Connection: close`.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt as _;

/// Most bytes drained after an answer, and for how long.
const DRAIN_MAX_BYTES: usize = 4 << 20;
const DRAIN_MAX_TIME: Duration = Duration::from_secs(1);

/// The request body, shared between the handler and the middleware that drains what is left.
struct SharedBody(Arc<Mutex<Option<Body>>>);

impl http_body::Body for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|b| b.size_hint()).unwrap_or_default()
    }
}

/// Runs the request, then drains what the handler did not read.
pub async fn drain_unread_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let shared = Arc::new(Mutex::new(Some(body)));
    let request = Request::from_parts(parts, Body::new(SharedBody(Arc::clone(&shared))));
    let mut response = next.run(request).await;
    let rest = shared.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(mut rest) = rest.filter(|b| !b.is_end_stream()) {
        let drained = tokio::time::timeout(DRAIN_MAX_TIME, async move {
            let mut seen = 0usize;
            while let Some(frame) = rest.frame().await {
                let Ok(frame) = frame else { return false };
                seen += frame.data_ref().map_or(0, Bytes::len);
                if seen > DRAIN_MAX_BYTES {
                    return false;
                }
            }
            true
        })
        .await;
        if !matches!(drained, Ok(true)) {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    response
}
