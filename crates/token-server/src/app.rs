//! Application state and the router: every route of the service in one place.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use token_core::{ResultCode, custom_token, introspection, token_create, token_manage};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::handlers;
use crate::limiter::GenerationLimiter;
use crate::store::{Store, StoreResult};

/// Shared by every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// Custom-token generations in flight per credential.
    pub limiter: Arc<GenerationLimiter>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let limiter = Arc::new(GenerationLimiter::new(config.custom_token_parallel_limit));
        Self { store, config: Arc::new(config), limiter }
    }

    /// Runs blocking store work off the async runtime.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(store.as_ref()))
            .await
            .map_err(|e| ApiError::Internal(format!("store task: {e}")))?
            .map_err(ApiError::from)
    }
}

impl AppState {
    /// The service's current signing key.
    pub async fn signing_key(
        &self,
        service: token_core::ServiceId,
    ) -> Result<crate::store::SigningKeyRecord, ApiError> {
        self.db(move |store| store.current_signing_key(service))
            .await?
            .ok_or_else(|| ApiError::Internal(format!("service {service} has no signing key")))
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    // The custom-token family answers errors as `{success: false, error}`.
    let custom_tokens = Router::new()
        .route(custom_token::GENERATE_ENDPOINT.path, post(handlers::custom_token::generate))
        .route(custom_token::EXCHANGE_ENDPOINT.path, post(handlers::custom_token::exchange))
        .route(custom_token::REFRESH_ENDPOINT.path, post(handlers::custom_token::refresh))
        .layer(axum::middleware::map_response(handlers::custom_token::family_errors));
    // A pipeline carries many operations: its body may be larger than a single request's.
    let pipeline_limit = state.config.max_body_bytes.max(state.config.pipeline_max_operations * 2048);
    Router::new()
        .merge(custom_tokens)
        .route(
            custom_token::PIPELINE_ENDPOINT.path,
            post(handlers::pipeline::pipeline).layer(DefaultBodyLimit::max(pipeline_limit)),
        )
        .route(custom_token::OAUTH_TOKEN_ENDPOINT.path, post(handlers::custom_token::oauth_token))
        .route("/healthz", get(handlers::health::healthz))
        .route("/readyz", get(handlers::health::readyz))
        .route("/openapi.json", get(handlers::health::openapi))
        .route(token_create::ENDPOINT.path, post(handlers::token_create::create))
        .route(token_manage::LIST_ENDPOINT.path, get(handlers::token_manage::list))
        .route(token_manage::UPDATE_ENDPOINT.path, post(handlers::token_manage::update))
        .route(token_manage::DELETE_ENDPOINT.path, delete(handlers::token_manage::delete))
        .route(token_manage::REVOKE_ENDPOINT.path, post(handlers::token_manage::revoke))
        .route(introspection::ENDPOINT.path, post(handlers::introspection::introspect))
        .route(introspection::STANDARD_ENDPOINT.path, post(handlers::introspection::standard))
        .route(token_core::revocation::ENDPOINT.path, post(handlers::introspection::revocation))
        .route(token_core::jwks::ENDPOINT.path, get(handlers::jwks::public_jwks))
        .route(token_core::jwks::SERVICE_JWKS_ENDPOINT.path, get(handlers::jwks::service_jwks))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        // Spans name the route template, never the concrete URI: a path may carry a token value
        // (`/auth/token/delete/{accessTokenIdentifier}`), and secrets must not reach the logs.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), route)
        }))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal("a handler panicked".into()).into_response()))
        .with_state(state)
}

async fn not_found() -> Response {
    ApiError::rule(ResultCode::NOT_FOUND, "No endpoint at this path.").into_response()
}

async fn method_not_allowed() -> Response {
    let mut response =
        ApiError::rule(ResultCode::METHOD_NOT_ALLOWED, "This endpoint does not accept this HTTP method.")
            .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
