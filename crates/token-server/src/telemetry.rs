//! The binary's logs and, with the `otlp` feature and `otlp_endpoint` set, OpenTelemetry trace
//! export: one span per request (named `METHOD /route/template`, with the request ID, service ID,
//! status and `resultCode`; never a token) sent over OTLP/HTTP by a batch exporter on its own
//! thread, flushed at shutdown.

use std::io::IsTerminal;

use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{Config, LogFormat};

type Filtered = Layered<EnvFilter, Registry>;
type BoxedLayer = Box<dyn Layer<Filtered> + Send + Sync>;

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes what is still buffered.
#[derive(Default)]
#[must_use = "call shutdown() at exit so that buffered spans are sent"]
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Sends the spans still buffered (bounded by the exporter's timeout).
    pub fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("token-server: trace export shutdown: {e}");
        }
    }
}

/// Libraries that handle secrets (statement parameters, headers, TLS keys), kept at `warn`.
const SECRET_SEEING_LIBRARIES: &[&str] = &[
    "tokio_postgres=warn",
    "postgres_protocol=warn",
    "deadpool_postgres=warn",
    "rusqlite=warn",
    "hyper=warn",
    "hyper_util=warn",
    "h2=warn",
    "reqwest=warn",
    "rustls=warn",
    "tokio_rustls=warn",
];

/// Installs the global subscriber: `RUST_LOG` (default `info`) filters; lines go to stderr as
/// text or JSON; spans go to `otlp_endpoint` when set. Call before any async runtime starts (the
/// exporter's HTTP client is a blocking one on the exporter's own thread).
pub fn init(config: &Config) -> Result<Telemetry, String> {
    // Without RUST_LOG: info, but not PostgreSQL's NOTICEs (e.g. "relation already exists,
    // skipping" at every start), which tokio-postgres logs at info.
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Whatever RUST_LOG says, the libraries that see secrets log warnings and errors only: at debug
    // tokio-postgres logs every statement's parameters (token hashes, and private keys when no
    // key-encryption key is set), hyper and h2 log headers (Bearer credentials) at trace.
    // TOKEN_SERVER_UNSAFE_LIBRARY_LOGS=true lifts this for debugging a driver, on a test system:
    // the log then holds secrets (docs/operations.md).
    if std::env::var("TOKEN_SERVER_UNSAFE_LIBRARY_LOGS").as_deref() != Ok("true") {
        for directive in SECRET_SEEING_LIBRARIES {
            filter = filter.add_directive(directive.parse().map_err(|e| format!("{directive}: {e}"))?);
        }
    }
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let fmt: BoxedLayer = match config.log_format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).with_current_span(false).boxed(),
    };
    let (export, telemetry) = export_layer(config)?;
    let layers: Vec<BoxedLayer> = std::iter::once(fmt).chain(export).collect();
    Registry::default().with(filter).with(layers).try_init().map_err(|e| e.to_string())?;
    Ok(telemetry)
}

#[cfg(feature = "otlp")]
fn export_layer(config: &Config) -> Result<(Option<BoxedLayer>, Telemetry), String> {
    match &config.otlp_endpoint {
        None => Ok((None, Telemetry::default())),
        Some(endpoint) => {
            let (layer, provider) = otlp_layer(endpoint)?;
            Ok((Some(layer), Telemetry { provider: Some(provider) }))
        }
    }
}

#[cfg(not(feature = "otlp"))]
fn export_layer(config: &Config) -> Result<(Option<BoxedLayer>, Telemetry), String> {
    match &config.otlp_endpoint {
        None => Ok((None, Telemetry::default())),
        Some(endpoint) => Err(format!(
            "otlp_endpoint {endpoint} is set, but this build has no trace export (feature `otlp`)"
        )),
    }
}

#[cfg(feature = "otlp")]
fn otlp_layer(endpoint: &str) -> Result<(BoxedLayer, opentelemetry_sdk::trace::SdkTracerProvider), String> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;

    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| format!("otlp_endpoint {endpoint}: {e}"))?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(opentelemetry_sdk::Resource::builder().with_service_name("token-server").build())
        .build();
    let tracer = provider.tracer("token-server");
    Ok((tracing_opentelemetry::layer().with_tracer(tracer).boxed(), provider))
}
