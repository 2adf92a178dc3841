//! The HTTP layer: the route table and router, extractors, wire rendering of errors, and the
//! connection loop. Glue only: every rule lives in `service`.

pub mod auth;
pub mod body;
pub mod conditional;
pub mod decode;
pub mod endpoint;
pub mod error;
pub mod routes;
pub mod serve;
pub mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use token_core::api::{Endpoint, Metadata};
use token_core::{tenancy, token_create, token_manage};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument as _;

use crate::config::Config;
use crate::http::endpoint::route;
use crate::http::error::HttpError;
use crate::http::routes as handlers;
use crate::service::{App, ServiceError};

/// One row of the route table: the endpoint it serves (method, path, who may call it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub endpoint: Metadata,
}

type Row = (Metadata, MethodRouter<App>);

/// Every route with its handler: the router is built from this table and nothing else, so the
/// tests that walk [`route_table`] (the isolation matrix) cover every route there is. Each row is
/// `route::<E>(handler)`: routed at the method and path `E` declares, its answers and errors
/// rendered as `E` declares (`http::endpoint`).
fn routes(config: &Config) -> Vec<Row> {
    use handlers::{custom_token as ct, health, keys, tenancy as t, token_manage as tm};
    use token_core::{custom_token, introspection, revocation, ssf, status_list};
    // A pipeline carries many operations: its body may be larger than a single request's.
    let pipeline_limit = config.max_body_bytes.max(config.pipeline_max_operations.saturating_mul(2048));
    // End-user endpoints may be called by browser apps of the allowed origins.
    let cors = cors_layer(&config.cors_allowed_origins);
    let browser = |(endpoint, handler): Row| match &cors {
        // OPTIONS must reach the route for the layer to answer preflights (the router would
        // answer 405 for a method the route lacks).
        Some(cors) => (endpoint, handler.options(|| async { StatusCode::NO_CONTENT }).layer(cors.clone())),
        None => (endpoint, handler),
    };
    let (pipeline, pipeline_handler) = route::<custom_token::Pipeline, _, _>(handlers::pipeline::pipeline);
    let mut routes = vec![
        route::<custom_token::Generate, _, _>(ct::generate),
        browser(route::<custom_token::Exchange, _, _>(ct::exchange)),
        browser(route::<custom_token::Refresh, _, _>(ct::refresh)),
        (pipeline, pipeline_handler.layer(DefaultBodyLimit::max(pipeline_limit))),
        browser(route::<custom_token::OAuthToken, _, _>(handlers::oauth::oauth_token)),
        route::<health::Healthz, _, _>(health::healthz),
        route::<health::Readyz, _, _>(health::readyz),
        route::<health::OpenApi, _, _>(health::openapi),
        route::<token_create::Create, _, _>(handlers::token_create::create),
        route::<token_manage::List, _, _>(tm::list),
        route::<token_manage::Update, _, _>(tm::update),
        route::<token_manage::Delete, _, _>(tm::delete),
        route::<token_manage::Revoke, _, _>(tm::revoke),
        route::<introspection::Introspect, _, _>(handlers::introspection::introspect),
        route::<introspection::Standard, _, _>(handlers::introspection::standard),
        route::<revocation::Revoke, _, _>(handlers::revocation::revocation),
        browser(route::<token_core::keys::PublicJwks, _, _>(keys::public_jwks)),
        browser(route::<status_list::Get, _, _>(handlers::status_list::status_list)),
        route::<token_core::keys::ServiceJwks, _, _>(keys::service_jwks),
        route::<tenancy::ServiceCreate, _, _>(t::create_service),
        route::<tenancy::ServiceList, _, _>(t::list_services),
        route::<tenancy::ServiceGet, _, _>(t::get_service),
        route::<tenancy::ServiceUpdate, _, _>(t::update_service),
        route::<tenancy::ServiceDelete, _, _>(t::delete_service),
        route::<tenancy::ClientCreate, _, _>(t::create_client),
        route::<tenancy::ClientGet, _, _>(t::get_client),
        route::<tenancy::ClientList, _, _>(t::list_clients),
        route::<tenancy::ClientUpdate, _, _>(t::update_client),
        route::<tenancy::ClientDelete, _, _>(t::delete_client),
        route::<tenancy::AuthorizationList, _, _>(t::list_authorizations),
        route::<tenancy::AuthorizationDelete, _, _>(t::delete_authorizations),
        route::<tenancy::KeyList, _, _>(t::list_keys),
        route::<tenancy::KeyRotate, _, _>(t::rotate_key),
        route::<tenancy::KeyRevoke, _, _>(t::revoke_key),
        route::<token_core::events::ServiceEvents, _, _>(handlers::events::service_events),
        route::<token_core::events::OrganizationEvents, _, _>(handlers::events::organization_events),
        route::<ssf::SsfConfiguration, _, _>(handlers::ssf::configuration),
        route::<ssf::StreamCreate, _, _>(handlers::ssf::create),
        route::<ssf::StreamGet, _, _>(handlers::ssf::read),
        route::<ssf::StreamUpdate, _, _>(handlers::ssf::update),
        route::<ssf::StreamReplace, _, _>(handlers::ssf::replace),
        route::<ssf::StreamDelete, _, _>(handlers::ssf::delete),
        route::<ssf::StreamStatusGet, _, _>(handlers::ssf::status),
        route::<ssf::StreamStatusUpdate, _, _>(handlers::ssf::set_status),
        route::<ssf::StreamVerify, _, _>(handlers::ssf::verify),
        route::<ssf::StreamPoll, _, _>(handlers::ssf::poll),
    ];
    // Off the main listener when the operator keeps metrics on `metrics_listen` only.
    if config.metrics_on_main_listener {
        routes.push(route::<health::Metrics, _, _>(health::metrics));
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
    routes(&Config::default()).into_iter().map(|(endpoint, _)| Route { endpoint }).collect()
}

/// The whole HTTP surface.
pub fn router(state: App) -> Router {
    let config = Arc::clone(state.config());
    let deadline = Duration::from_secs(config.request_timeout_secs);
    let mut router = Router::new();
    for (endpoint, handler) in routes(&config) {
        router = router.route(endpoint.path, handler);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::map_response(no_store))
        .layer(CatchPanicLayer::custom(|_| {
            HttpError::from(ServiceError::Internal("a handler panicked".into())).into_response()
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
        .route(
            <handlers::health::Metrics as Endpoint>::METADATA.path,
            route::<handlers::health::Metrics, _, _>(handlers::health::metrics).1,
        )
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
        .map_or_else(crate::random::request_id, str::to_owned)
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
            let mut response = HttpError::Timeout(deadline.as_secs()).into_response();
            // This answer is made outside the layers that mark answers uncacheable.
            error::no_store(response.headers_mut());
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
    HttpError::NoEndpoint.into_response()
}

async fn method_not_allowed() -> Response {
    let mut response = HttpError::MethodNotAllowed.into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
