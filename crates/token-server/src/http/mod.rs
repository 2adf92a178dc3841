//! The HTTP layer: the route table and router, extractors, wire rendering of errors, and the
//! connection loop. Glue only: every rule lives in `service`.

pub mod auth;
pub mod body;
pub mod error;
pub mod routes;
pub mod serve;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use token_core::api::{Endpoint, Method};
use token_core::{ResultCode, custom_token, introspection, token_create, token_manage};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::http::routes as handlers;
use crate::service::{ServiceError, Services};

/// Who may call a route: declared by its endpoint (`token_core::api::Endpoint::auth`).
pub use token_core::api::Auth as Access;

/// One row of the route table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub endpoint: Endpoint,
    pub access: Access,
}

const HEALTHZ: Endpoint = operational("healthz", "/healthz");
const READYZ: Endpoint = operational("readyz", "/readyz");
const OPENAPI: Endpoint = operational("openapi", "/openapi.json");

const fn operational(operation_id: &'static str, path: &'static str) -> Endpoint {
    Endpoint {
        operation_id,
        method: Method::Get,
        path,
        summary: "",
        tag: "Operations",
        auth: Access::Public,
        request: None,
        response: None,
    }
}

/// A row of the table: the endpoint's declaration and its handler, routed on the method the
/// endpoint declares (so the router and the declaration cannot disagree).
fn row<H, T>(endpoint: Endpoint, handler: H) -> (Route, MethodRouter<Services>)
where
    H: Handler<T, Services>,
    T: 'static,
{
    let filter = match endpoint.method {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Delete => MethodFilter::DELETE,
    };
    (Route { endpoint, access: endpoint.auth }, on(filter, handler))
}

/// Every route with its handler: the router is built from this table and nothing else, so the
/// tests that walk [`route_table`] (the isolation matrix) cover every route there is.
fn routes(config: &Config) -> Vec<(Route, MethodRouter<Services>)> {
    // A pipeline carries many operations: its body may be larger than a single request's.
    let pipeline_limit = config.max_body_bytes.max(config.pipeline_max_operations.saturating_mul(2048));
    // The custom-token family answers errors as `{success: false, error}`.
    let family = |(route, handler): (Route, MethodRouter<Services>)| {
        (route, handler.layer(axum::middleware::map_response(handlers::custom_token::family_errors)))
    };
    let (pipeline, pipeline_handler) = row(custom_token::PIPELINE_ENDPOINT, handlers::pipeline::pipeline);
    vec![
        family(row(custom_token::GENERATE_ENDPOINT, handlers::custom_token::generate)),
        family(row(custom_token::EXCHANGE_ENDPOINT, handlers::custom_token::exchange)),
        family(row(custom_token::REFRESH_ENDPOINT, handlers::custom_token::refresh)),
        (pipeline, pipeline_handler.layer(DefaultBodyLimit::max(pipeline_limit))),
        row(custom_token::OAUTH_TOKEN_ENDPOINT, handlers::oauth::oauth_token),
        row(HEALTHZ, handlers::health::healthz),
        row(READYZ, handlers::health::readyz),
        row(OPENAPI, handlers::health::openapi),
        row(token_create::ENDPOINT, handlers::token_create::create),
        row(token_manage::LIST_ENDPOINT, handlers::token_manage::list),
        row(token_manage::UPDATE_ENDPOINT, handlers::token_manage::update),
        row(token_manage::DELETE_ENDPOINT, handlers::token_manage::delete),
        row(token_manage::REVOKE_ENDPOINT, handlers::token_manage::revoke),
        row(introspection::ENDPOINT, handlers::introspection::introspect),
        row(introspection::STANDARD_ENDPOINT, handlers::introspection::standard),
        row(token_core::revocation::ENDPOINT, handlers::revocation::revocation),
        row(token_core::jwks::ENDPOINT, handlers::jwks::public_jwks),
        row(token_core::jwks::SERVICE_JWKS_ENDPOINT, handlers::jwks::service_jwks),
    ]
}

/// The route table the router is built from (method, path, access), for tests and docs.
pub fn route_table() -> Vec<Route> {
    routes(&Config::default()).into_iter().map(|(route, _)| route).collect()
}

/// The whole HTTP surface.
pub fn router(state: Services) -> Router {
    let deadline = Duration::from_secs(state.config.request_timeout_secs);
    let mut router = Router::new();
    for (route, handler) in routes(&state.config) {
        router = router.route(route.endpoint.path, handler);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::map_response(no_store))
        // Spans name the route template, never the concrete URI: a path may carry a token value
        // (`/auth/token/delete/{accessTokenIdentifier}`), and secrets must not reach the logs.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), route)
        }))
        .layer(CatchPanicLayer::custom(|_| {
            ServiceError::Internal("a handler panicked".into()).into_response()
        }))
        .layer(axum::middleware::from_fn(body::drain_unread_body))
        .layer(axum::middleware::from_fn(move |request, next| request_deadline(deadline, request, next)))
        .with_state(state)
}

/// Answers 408 when the request (reading its body included) is not answered within `deadline`:
/// a client that trickles its body cannot hold a connection and a task for ever.
async fn request_deadline(deadline: Duration, request: axum::extract::Request, next: Next) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = ServiceError::rule(
                ResultCode::REQUEST_TIMEOUT,
                format!("The request was not received and answered within {} seconds.", deadline.as_secs()),
            )
            .into_response();
            // The rest of the body may still be on its way: do not read it, close the connection.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// Answers carry tokens and credentials: no cache may keep them (RFC 6749 section 5.1). Routes
/// that are meant to be cached (the public JWK Set) set their own `Cache-Control`.
async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}

async fn not_found() -> Response {
    ServiceError::rule(ResultCode::NOT_FOUND, "No endpoint at this path.").into_response()
}

async fn method_not_allowed() -> Response {
    let mut response =
        ServiceError::rule(ResultCode::METHOD_NOT_ALLOWED, "This endpoint does not accept this HTTP method.")
            .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
