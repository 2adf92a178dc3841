//! Operational metrics in the Prometheus text format (`GET /metrics`). One registry per
//! [`super::App`] (no process-global state: two servers in one process count apart).
//! Labels are bounded sets (route templates, status codes, grant types, result codes); never a
//! service ID, a subject or anything a caller chooses freely.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Every metric the server exports.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// Answers by route template, method and status.
    pub http_requests: IntCounterVec,
    /// Latency by route template.
    pub http_duration: HistogramVec,
    /// Error answers by `resultCode`.
    pub errors: IntCounterVec,
    /// Tokens issued by `auth/token/create`, by grant type.
    pub tokens_issued: IntCounterVec,
    pub custom_tokens_generated: IntCounter,
    pub custom_tokens_exchanged: IntCounter,
    pub refreshes: IntCounter,
    /// Refresh tokens presented again after rotation (the family was revoked).
    pub refresh_reuse_detected: IntCounter,
    /// Custom-token generations in flight, all callers (set at scrape time).
    pub generations_in_flight: IntGauge,
    pub janitor_runs: IntCounter,
    pub janitor_rows_removed: IntCounter,
    /// Client connections open now, every listener.
    pub connections_open: IntGauge,
    /// Connections closed because an answer stayed blocked past `write_timeout_secs`.
    pub write_timeouts: IntCounter,
    /// Token Status Lists whose bits were read and compressed again (their bits changed).
    pub status_list_renders: IntCounter,
}

pub const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help).expect("a valid metric name");
    registry.register(Box::new(metric.clone())).expect("registered once");
    metric
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric name");
    registry.register(Box::new(metric.clone())).expect("registered once");
    metric
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "token_http_request_duration_seconds",
                "Time to answer a request, by route template.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )
        .expect("a valid metric name");
        registry.register(Box::new(http_duration.clone())).expect("registered once");
        let generations_in_flight =
            IntGauge::new("token_custom_token_generations_in_flight", "Custom-token generations in flight.")
                .expect("a valid metric name");
        registry.register(Box::new(generations_in_flight.clone())).expect("registered once");
        let connections_open =
            IntGauge::new("token_http_connections_open", "Client connections open now, every listener.")
                .expect("a valid metric name");
        registry.register(Box::new(connections_open.clone())).expect("registered once");
        Self {
            http_requests: counter_vec(
                &registry,
                "token_http_requests_total",
                "Answers by route template, method and status.",
                &["route", "method", "status"],
            ),
            http_duration,
            errors: counter_vec(
                &registry,
                "token_errors_total",
                "Error answers by resultCode.",
                &["result_code"],
            ),
            tokens_issued: counter_vec(
                &registry,
                "token_tokens_issued_total",
                "Tokens issued by auth/token/create, by grant type.",
                &["grant_type"],
            ),
            custom_tokens_generated: counter(
                &registry,
                "token_custom_tokens_generated_total",
                "Custom tokens generated.",
            ),
            custom_tokens_exchanged: counter(
                &registry,
                "token_custom_tokens_exchanged_total",
                "Custom tokens exchanged for a token pair.",
            ),
            refreshes: counter(&registry, "token_refreshes_total", "Refresh-token rotations."),
            refresh_reuse_detected: counter(
                &registry,
                "token_refresh_reuse_detected_total",
                "Rotated refresh tokens presented again (their family was revoked).",
            ),
            generations_in_flight,
            janitor_runs: counter(&registry, "token_janitor_runs_total", "Janitor runs."),
            janitor_rows_removed: counter(
                &registry,
                "token_janitor_rows_removed_total",
                "Rows the janitor removed.",
            ),
            connections_open,
            write_timeouts: counter(
                &registry,
                "token_http_write_timeouts_total",
                "Connections closed because an answer stayed blocked past write_timeout_secs.",
            ),
            status_list_renders: counter(
                &registry,
                "token_status_list_renders_total",
                "Token Status Lists whose bits were read and compressed again (because they changed).",
            ),
            registry,
        }
    }

    /// Registers a metric kept elsewhere (the store's commit statistics).
    pub fn register(&self, metric: Box<dyn prometheus::core::Collector>) {
        if let Err(e) = self.registry.register(metric) {
            tracing::warn!(error = %e, "a metric could not be registered");
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_registered_and_rendered() {
        let metrics = Metrics::new();
        crate::store::StoreMetrics::new().register_with(|m| metrics.register(m));
        metrics.tokens_issued.with_label_values(&["PASSWORD"]).inc();
        let text = metrics.render();
        assert!(text.contains("token_tokens_issued_total{grant_type=\"PASSWORD\"} 1"), "{text}");
        assert!(text.contains("token_store_batch_writes_bucket"), "{text}");
    }
}
