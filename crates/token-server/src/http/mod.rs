//! The HTTP layer: the route table and router, extractors, wire rendering of errors, and the
//! connection loop. Glue only: every rule lives in `service`.

pub mod auth;
pub mod body;
pub mod conditional;
pub mod error;
pub mod routes;
pub mod serve;
pub mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use token_core::api::{Endpoint, Method};
use token_core::{custom_token, introspection, tenancy, token_create, token_manage};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument as _;

use crate::config::Config;
use crate::http::routes as handlers;
use crate::service::error::RequestError;
use crate::service::{App, ServiceError};

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
const METRICS: Endpoint = operational("metrics", "/metrics");

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
fn row<H, T>(endpoint: Endpoint, handler: H) -> (Route, MethodRouter<App>)
where
    H: Handler<T, App>,
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
fn routes(config: &Config) -> Vec<(Route, MethodRouter<App>)> {
    // A pipeline carries many operations: its body may be larger than a single request's.
    let pipeline_limit = config.max_body_bytes.max(config.pipeline_max_operations.saturating_mul(2048));
    // The custom-token family answers errors as `{success: false, error}`.
    let family = |(route, handler): (Route, MethodRouter<App>)| {
        (route, handler.layer(axum::middleware::map_response(error::custom_token_family)))
    };
    // End-user endpoints may be called by browser apps of the allowed origins.
    let cors = cors_layer(&config.cors_allowed_origins);
    let browser = |(route, handler): (Route, MethodRouter<App>)| match &cors {
        // OPTIONS must reach the route for the layer to answer preflights (the router would
        // answer 405 for a method the route lacks).
        Some(cors) => (route, handler.options(|| async { StatusCode::NO_CONTENT }).layer(cors.clone())),
        None => (route, handler),
    };
    let (pipeline, pipeline_handler) = row(custom_token::PIPELINE_ENDPOINT, handlers::pipeline::pipeline);
    let mut routes = vec![
        family(row(custom_token::GENERATE_ENDPOINT, handlers::custom_token::generate)),
        browser(family(row(custom_token::EXCHANGE_ENDPOINT, handlers::custom_token::exchange))),
        browser(family(row(custom_token::REFRESH_ENDPOINT, handlers::custom_token::refresh))),
        (pipeline, pipeline_handler.layer(DefaultBodyLimit::max(pipeline_limit))),
        browser(row(custom_token::OAUTH_TOKEN_ENDPOINT, handlers::oauth::oauth_token)),
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
        browser(row(token_core::jwks::ENDPOINT, handlers::jwks::public_jwks)),
        browser(row(token_core::status_list::ENDPOINT, handlers::status_list::status_list)),
        row(token_core::jwks::SERVICE_JWKS_ENDPOINT, handlers::jwks::service_jwks),
        row(tenancy::SERVICE_CREATE_ENDPOINT, handlers::tenancy::create_service),
        row(tenancy::SERVICE_LIST_ENDPOINT, handlers::tenancy::list_services),
        row(tenancy::SERVICE_GET_ENDPOINT, handlers::tenancy::get_service),
        row(tenancy::SERVICE_UPDATE_ENDPOINT, handlers::tenancy::update_service),
        row(tenancy::SERVICE_DELETE_ENDPOINT, handlers::tenancy::delete_service),
        row(tenancy::CLIENT_CREATE_ENDPOINT, handlers::tenancy::create_client),
        row(tenancy::CLIENT_GET_ENDPOINT, handlers::tenancy::get_client),
        row(tenancy::CLIENT_LIST_ENDPOINT, handlers::tenancy::list_clients),
        row(tenancy::CLIENT_UPDATE_ENDPOINT, handlers::tenancy::update_client),
        row(tenancy::CLIENT_DELETE_ENDPOINT, handlers::tenancy::delete_client),
        row(tenancy::AUTHORIZATION_LIST_ENDPOINT, handlers::tenancy::list_authorizations),
        row(tenancy::AUTHORIZATION_DELETE_ENDPOINT, handlers::tenancy::delete_authorizations),
        row(tenancy::KEY_LIST_ENDPOINT, handlers::tenancy::list_keys),
        row(tenancy::KEY_ROTATE_ENDPOINT, handlers::tenancy::rotate_key),
        row(tenancy::KEY_REVOKE_ENDPOINT, handlers::tenancy::revoke_key),
    ];
    // Off the main listener when the operator keeps metrics on `metrics_listen` only.
    if config.metrics_on_main_listener {
        routes.push(row(METRICS, handlers::health::metrics));
    }
    routes
}

/// CORS for the end-user endpoints: the allowed origins only (no wildcard, no credentials mode:
/// these endpoints take their secret in the body, never a cookie), preflights answered for
/// POST/GET with the headers those endpoints read; `None` when no origin is configured.
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([axum::http::Method::POST, axum::http::Method::GET])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::HeaderName::from_static("dpop"),
                header::HeaderName::from_static(REQUEST_ID),
            ])
            .expose_headers([header::HeaderName::from_static(REQUEST_ID)])
            .max_age(Duration::from_secs(600)),
    )
}

/// The route table the router is built from (method, path, access), for tests and docs.
pub fn route_table() -> Vec<Route> {
    routes(&Config::default()).into_iter().map(|(route, _)| route).collect()
}

/// The whole HTTP surface.
pub fn router(state: App) -> Router {
    let config = Arc::clone(state.config());
    let deadline = Duration::from_secs(config.request_timeout_secs);
    let mut router = Router::new();
    for (route, handler) in routes(&config) {
        router = router.route(route.endpoint.path, handler);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::map_response(no_store))
        .layer(CatchPanicLayer::custom(|_| {
            ServiceError::Internal("a handler panicked".into()).into_response()
        }))
        .layer(axum::middleware::from_fn(body::drain_unread_body))
        .layer(axum::middleware::from_fn(move |request, next| request_deadline(deadline, request, next)))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access_log))
        .with_state(state)
}

/// The metrics listener (`metrics_listen`): `GET /metrics` and nothing else, behind the same
/// connection limits as the main listener.
pub fn metrics_router(state: App) -> Router {
    Router::new()
        .route(METRICS.path, axum::routing::get(handlers::health::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// The header carrying a request's ID (accepted from the client, else generated; always echoed).
pub const REQUEST_ID: &str = "x-request-id";

/// A request's ID, in the request's extensions for handlers that want it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The client's request ID when it is 1–128 visible ASCII characters (it goes into logs and
/// headers as it is), else a new random one.
fn request_id(request: &axum::extract::Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(crate::service::random::request_id, str::to_owned)
}

/// The service ID a path names (`/api/{serviceId}/…`), if it is a number: the only part of a
/// concrete path that is logged (other segments may carry token values).
fn service_of(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/api/")?.split('/').next()?;
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// One log line per request (target `token_server::access`): request ID, method, route template
/// (never the concrete URI: a path may carry a token value, and secrets must not reach the logs),
/// status, latency, service ID and, for errors, the `resultCode`. Everything the handler logs is
/// inside the `request` span that carries the same ID.
async fn access_log(
    axum::extract::State(app): axum::extract::State<App>,
    mut request: axum::extract::Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    // Labels and log fields from a fixed set: a client chooses the method and the path freely,
    // and each distinct label value would be a metric series kept for the process's life.
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    let service = service_of(request.uri().path()).unwrap_or("-").to_owned();
    request.extensions_mut().insert(RequestId(id.clone()));
    // `otel.*` fields name and mark the span for OpenTelemetry export (feature `otlp`).
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %method,
        route = %route,
        service_id = %service,
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.response.status_code = tracing::field::Empty,
        result_code = tracing::field::Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let result_code =
        response.extensions().get::<crate::service::error::ErrorInfo>().map_or("-", |info| info.code.code);
    span.record("http.response.status_code", response.status().as_u16());
    if result_code != "-" {
        span.record("result_code", result_code);
    }
    let elapsed = started.elapsed();
    let status = response.status();
    let metrics = app.metrics();
    metrics.http_requests.with_label_values(&[route, method, status.as_str()]).inc();
    metrics.http_duration.with_label_values(&[route]).observe(elapsed.as_secs_f64());
    if result_code != "-" {
        metrics.errors.with_label_values(&[result_code]).inc();
    }
    tracing::info!(
        target: "token_server::access",
        request_id = %id,
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_ms = (elapsed.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
        service_id = %service,
        result_code = %result_code,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The route label of a request that matched no route (its concrete path is never a label).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The method as a label or log field: one of the methods HTTP defines, else `OTHER` (hyper accepts
/// any token as a method, as long as the header limit).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE"];
    KNOWN.into_iter().find(|known| *known == method.as_str()).unwrap_or("OTHER")
}

/// Answers 408 when the request (reading its body included) is not answered within `deadline`:
/// a client that trickles its body cannot hold a connection and a task for ever.
async fn request_deadline(deadline: Duration, request: axum::extract::Request, next: Next) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = ServiceError::from(RequestError::Timeout(deadline.as_secs())).into_response();
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
    ServiceError::from(RequestError::NoEndpoint).into_response()
}

async fn method_not_allowed() -> Response {
    let mut response = ServiceError::from(RequestError::MethodNotAllowed).into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
