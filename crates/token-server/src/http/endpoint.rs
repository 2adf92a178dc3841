//! Routing by endpoint type: `route::<E>(handler)` routes `handler` at `E`'s method and path and
//! renders its answer and its failures as `E` declares (`token_core::api::Endpoint`). A handler is
//! an async function of extractors answering `Result<Reply<E>, Failure<E>>`, so a handler whose
//! answer is not `E::Response`, or whose failures are not rendered in `E`'s error family, does not
//! compile; and extractor rejections (credential, body, path) are rendered in the same family.
//!
//! A handler of token create routes as token create:
//!
//! ```
//! use token_core::token_create::Create;
//! use token_server::http::endpoint::{Failure, Reply, route};
//!
//! async fn handler(_: axum::extract::State<token_server::App>) -> Result<Reply<Create>, Failure<Create>> {
//!     Err(token_server::http::error::HttpError::NoEndpoint)
//! }
//! let _ = route::<Create, _, _>(handler);
//! ```
//!
//! and one that answers the token list does not:
//!
//! ```compile_fail
//! use token_core::token_create::Create;
//! use token_core::token_manage::List;
//! use token_server::http::endpoint::{Failure, Reply, route};
//!
//! async fn handler(_: axum::extract::State<token_server::App>) -> Result<Reply<List>, Failure<List>> {
//!     Err(token_server::http::error::HttpError::NoEndpoint)
//! }
//! let _ = route::<Create, _, _>(handler);
//! ```

use std::future::Future;
use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::Serialize;
use token_core::api::{Carrier, Endpoint, ErrorFamily, Family, Method, Payload};
use token_core::custom_token::{GenerateCustomTokenResponse, OAuthErrorResponse, TokenPairResponse};
use token_core::error_body::ApiErrorBody;

use crate::http::error::{HttpError, OAuthError, render};
use crate::service::App;

/// How a family renders a failure.
pub trait Renders: ErrorFamily {
    /// What a handler of the family fails with.
    type Failure: From<HttpError> + Send + 'static;
    /// The failure on the wire.
    fn render(failure: Self::Failure) -> Response;
}

impl Renders for ApiErrorBody {
    type Failure = HttpError;

    fn render(failure: HttpError) -> Response {
        render(failure, Family::Api)
    }
}

impl Renders for GenerateCustomTokenResponse {
    type Failure = HttpError;

    fn render(failure: HttpError) -> Response {
        render(failure, Family::CustomToken)
    }
}

impl Renders for TokenPairResponse {
    type Failure = HttpError;

    fn render(failure: HttpError) -> Response {
        render(failure, Family::CustomToken)
    }
}

impl Renders for OAuthErrorResponse {
    type Failure = OAuthError;

    fn render(failure: OAuthError) -> Response {
        failure.into_response()
    }
}

/// What a handler of `E` fails with.
pub type Failure<E> = <<E as Endpoint>::Error as Renders>::Failure;

/// A success answer of `E`: built from an `E::Response`, or from its encoding made earlier (an
/// answer rendered once and served many times).
#[derive(Debug)]
pub struct Reply<E> {
    response: Response,
    endpoint: PhantomData<fn() -> E>,
}

impl<E: Endpoint> Reply<E>
where
    E::Response: Serialize,
{
    /// The answer `body`, encoded as `E::Response` travels.
    pub fn new(body: E::Response) -> Self {
        let response = match <E::Response as Payload>::CARRIER {
            Carrier::Nothing => StatusCode::NO_CONTENT.into_response(),
            Carrier::Json => {
                let status = StatusCode::from_u16(E::SUCCESS).unwrap_or(StatusCode::OK);
                (status, axum::Json(body)).into_response()
            }
            // A text payload serializes as one JSON string: its text is the body.
            carrier => match serde_json::to_value(&body) {
                Ok(serde_json::Value::String(text)) => {
                    let media_type = carrier.media_type().unwrap_or("text/plain");
                    ([(axum::http::header::CONTENT_TYPE, media_type)], text).into_response()
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            },
        };
        Self { response, endpoint: PhantomData }
    }
}

impl<E: Endpoint> Reply<E> {
    /// An answer already encoded as `E::Response` travels (e.g. a cached JWK Set with its ETag).
    pub fn encoded(response: Response) -> Self {
        Self { response, endpoint: PhantomData }
    }

    /// The answer's headers, to add to.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.response.headers_mut()
    }
}

/// An async function of extractors that answers `E`.
pub trait Handler<E: Endpoint, Args>: Clone + Send + Sync + 'static
where
    E::Error: Renders,
{
    /// Extracts the arguments from `request` and runs the handler: the answer or the failure,
    /// rendered as `E` declares.
    fn call(self, request: Request, app: App) -> impl Future<Output = Response> + Send;
}

/// Marks the last argument's way of extraction (as axum's own handlers do).
#[derive(Debug)]
pub struct Last<M>(PhantomData<M>);

macro_rules! handler {
    ($($part:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<E, F, Fut, M, $($part,)* L> Handler<E, ($($part,)* Last<M>, L)> for F
        where
            E: Endpoint,
            E::Error: Renders,
            F: FnOnce($($part,)* L) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Result<Reply<E>, Failure<E>>> + Send,
            $($part: FromRequestParts<App> + Send, $part::Rejection: Into<Failure<E>>,)*
            L: FromRequest<App, M> + Send,
            L::Rejection: Into<Failure<E>>,
        {
            async fn call(self, request: Request, app: App) -> Response {
                let (mut parts, body) = request.into_parts();
                $(
                    let $part = match $part::from_request_parts(&mut parts, &app).await {
                        Ok(value) => value,
                        Err(rejection) => return E::Error::render(rejection.into()),
                    };
                )*
                let request = Request::from_parts(parts, body);
                let last = match L::from_request(request, &app).await {
                    Ok(value) => value,
                    Err(rejection) => return E::Error::render(rejection.into()),
                };
                match self($($part,)* last).await {
                    Ok(reply) => reply.response,
                    Err(failure) => E::Error::render(failure),
                }
            }
        }
    };
}

impl<E, F, Fut> Handler<E, ()> for F
where
    E: Endpoint,
    E::Error: Renders,
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply<E>, Failure<E>>> + Send,
{
    async fn call(self, _: Request, _: App) -> Response {
        match self().await {
            Ok(reply) => reply.response,
            Err(failure) => E::Error::render(failure),
        }
    }
}

handler!();
handler!(T1);
handler!(T1, T2);
handler!(T1, T2, T3);
handler!(T1, T2, T3, T4);

/// `handler` routed at `E`'s method; the path is `E`'s (the router takes it from the route table).
pub fn route<E, H, Args>(handler: H) -> (token_core::api::Metadata, MethodRouter<App>)
where
    E: Endpoint,
    E::Error: Renders,
    H: Handler<E, Args>,
    Args: 'static,
{
    let filter = match E::METADATA.method {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Delete => MethodFilter::DELETE,
        Method::Patch => MethodFilter::PATCH,
        Method::Put => MethodFilter::PUT,
    };
    let method_router = on(filter, move |State(app): State<App>, request: Request| {
        let handler = handler.clone();
        async move { handler.call(request, app).await }
    });
    (E::METADATA, method_router)
}
