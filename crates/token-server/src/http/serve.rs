//! The connection loop: HTTP/1.1 on hyper with the limits a server facing the internet needs, none
//! of which `axum::serve` offers — a header-read timeout (slow-header clients), a bound on a
//! request's head, a write timeout (clients that do not read their answers), an idle keep-alive
//! timeout, and a cap on open connections. At the cap a newcomer is not left in the kernel's backlog
//! behind connections that merely stay open: the one idle the longest is closed to make room (one
//! client keeping every slot open with a request now and then cannot lock everyone else out). The
//! request deadline (body included, answered 408) is a
//! layer of the router (`http::request_deadline`), so it also holds for tests that drive the router.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Semaphore, watch};
use tokio::time::Sleep;
use tower::ServiceExt as _;

use crate::config::Config;
use crate::http::router;
use crate::service::App;
use crate::service::metrics::Metrics;

/// The most bytes a request line and headers may take (hyper's read buffer never grows past it):
/// larger heads are answered 431 and the connection closed. Bounds what a client that trickles a
/// huge head can make the server hold, per connection.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The kernel send buffer of each client connection (Linux doubles it for its bookkeeping). Left to
/// autotuning, a client that never reads makes the kernel hold up to `tcp_wmem` (4 MB by default)
/// of answers for it, and the server spend CPU copying them: 200 such clients cost 800 MB of kernel
/// memory. Every answer here but the largest token listings fits in one buffer; a larger one simply
/// leaves as the client reads.
pub const SEND_BUFFER_BYTES: usize = 256 * 1024;

/// A connection's socket with a write deadline: once a write is blocked (the client does not read
/// and the kernel's buffers are full), everything hyper has to send must be handed to the kernel
/// within `timeout`, else writes fail with `TimedOut` and hyper closes the connection. Unlike a
/// per-write timeout, a client that reads a few bytes now and then does not restart the clock: the
/// clock stops only when hyper's output is fully written (its flush returns).
struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    /// Counts the connections this closes (`token_http_write_timeouts_total`).
    timeouts: prometheus::IntCounter,
    /// Armed at the first blocked write since the last completed flush.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    fn new(inner: S, timeout: Duration, timeouts: prometheus::IntCounter) -> Self {
        Self { inner, timeout, timeouts, deadline: None }
    }

    /// A write is blocked: arm the deadline if it is not armed yet, and fail once it has passed.
    /// Polling the timer registers the task's waker, so hyper is woken when it fires even though
    /// the socket never becomes writable.
    fn blocked<T>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        let timeout = self.timeout;
        let deadline = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(deadline.as_mut().poll(cx));
        // hyper gives up on the connection at the first error: counted once.
        self.deadline = None;
        self.timeouts.inc();
        Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the client did not read the answer within {} seconds", timeout.as_secs()),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => this.blocked(cx),
            done => done,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => this.blocked(cx),
            done => done,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.blocked(cx),
            Poll::Ready(result) => {
                // hyper flushes once its buffer is written out: the answer so far has left.
                this.deadline = None;
                Poll::Ready(result)
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending => this.blocked(cx),
            done => done,
        }
    }
}

/// Per-connection activity, for the idle timeout: requests in flight and when the last one ended.
#[derive(Debug)]
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `started` when the connection last became idle.
    idle_since_ms: AtomicU64,
}

impl Activity {
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire));
        Some(self.started.elapsed().saturating_sub(since))
    }
}

/// The open connections of one listener, so that at the cap the one idle the longest can be asked to
/// close.
#[derive(Default)]
struct OpenConnections {
    next_id: AtomicU64,
    open: std::sync::Mutex<OpenById>,
}

/// Each open connection's activity, and how to ask it to close.
type OpenById = std::collections::HashMap<u64, (Arc<Activity>, Arc<tokio::sync::Notify>)>;

impl OpenConnections {
    fn lock(&self) -> std::sync::MutexGuard<'_, OpenById> {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn register(&self, activity: Arc<Activity>, evict: Arc<tokio::sync::Notify>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, (activity, evict));
        id
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Asks the connection idle the longest (no request in flight) to close, and forgets it (one
    /// request each); `false` when every connection has a request in flight.
    fn evict_idlest(&self) -> bool {
        let mut open = self.lock();
        let idlest = open
            .iter()
            .filter_map(|(id, (activity, _))| activity.idle_for().map(|idle| (idle, *id)))
            .max()
            .map(|(_, id)| id);
        match idlest.and_then(|id| open.remove(&id)) {
            Some((_, evict)) => {
                evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Decrements the in-flight count when a request ends, however it ends (answered or dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = self.0.started.elapsed().as_millis() as u64;
        self.0.idle_since_ms.store(now, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `state` on `listener` until `shutdown` resolves, then lets open requests finish (up to
/// the request timeout) and closes every connection.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_tls(listener, state, None, shutdown).await
}

/// [`serve`], over HTTPS when `tls` is given (the certificate of each new connection is the one
/// `tls` holds then: a reload reaches new connections, open ones keep theirs).
pub async fn serve_with_tls(
    listener: tokio::net::TcpListener,
    state: App,
    tls: Option<Arc<super::tls::TlsFiles>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (config, metrics) = (Arc::clone(state.config()), Arc::clone(state.metrics()));
    // Shared Signals: the streams' SETs, made from the event log and pushed (service::ssf), for
    // as long as the server serves.
    let deliverer = tokio::spawn(state.ssf().clone().deliver());
    let served = serve_router(listener, router(state), &config, &metrics, tls, shutdown).await;
    deliverer.abort();
    served
}

/// Serves the metrics listener (`metrics_listen`: `GET /metrics` only) on `listener` until
/// `shutdown` resolves, with the same connection limits as the main listener.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (config, metrics) = (Arc::clone(state.config()), Arc::clone(state.metrics()));
    // A scraper needs a connection or two: the metrics listener never takes the main one's room.
    let config =
        Config { max_connections: config.max_connections.min(METRICS_MAX_CONNECTIONS), ..(*config).clone() };
    serve_router(listener, crate::http::metrics_router(state), &config, &metrics, None, shutdown).await
}

/// Connections the metrics listener keeps open at most.
pub const METRICS_MAX_CONNECTIONS: usize = 16;
/// Descriptors kept for everything but the main listener's connections: the store's files or
/// connections, the metrics listener's, the listeners, logs, TLS files, the blocking pool.
const RESERVED_DESCRIPTORS: u64 = 128 + METRICS_MAX_CONNECTIONS as u64;

/// Raises the soft limit on open files to the hard limit (a service gets 1,024 by default, less
/// than a busy listener holds), then lowers `max_connections` below what the limit leaves: at the
/// cap the server stops accepting and the kernel's backlog holds newcomers, instead of `accept`
/// failing for want of a descriptor while the connections it would have served wait. Both are
/// logged; neither stops the server (a sandbox may forbid `setrlimit`: the unit sets
/// `LimitNOFILE` instead).
pub fn fit_descriptor_limit(config: &mut Config) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let mut soft = limit.current;
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                tracing::info!(from = ?limit.current, to = ?limit.maximum, "raised the open-file limit");
                soft = limit.maximum;
            }
            Err(e) => {
                tracing::warn!(error = %e, soft = ?limit.current, "could not raise the open-file limit")
            }
        }
    }
    let Some(soft) = soft else { return };
    let pool = config.database_pool_size as u64;
    let room = soft.saturating_sub(RESERVED_DESCRIPTORS + pool).max(1);
    if config.max_connections as u64 > room {
        tracing::warn!(
            max_connections = config.max_connections,
            open_file_limit = soft,
            now = room,
            "max_connections lowered to what the open-file limit leaves room for; raise LimitNOFILE (ulimit -n)"
        );
        config.max_connections = room as usize;
    }
}

/// Logs a failing `accept` at most once per [`ACCEPT_WARNING_EVERY`], with how many failed since.
#[derive(Debug, Default)]
struct AcceptWarnings {
    last: Option<std::time::Instant>,
    suppressed: u64,
}

const ACCEPT_WARNING_EVERY: Duration = Duration::from_secs(10);

impl AcceptWarnings {
    fn failed(&mut self, error: &std::io::Error) {
        if self.last.is_some_and(|at| at.elapsed() < ACCEPT_WARNING_EVERY) {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(error = %error, failed_since_last_warning = self.suppressed, "accept failed");
        self.last = Some(std::time::Instant::now());
        self.suppressed = 0;
    }
}

/// Serves `app` on `listener` with the connection limits of `config` (the main listener and the
/// metrics listener alike).
async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    config: &Config,
    metrics: &Metrics,
    tls: Option<Arc<super::tls::TlsFiles>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max_connections = config.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max_connections));
    let connections = Arc::new(OpenConnections::default());
    let header_timeout = Duration::from_secs(config.header_read_timeout_secs);
    let idle_timeout = Duration::from_secs(config.idle_timeout_secs);
    let write_timeout = Duration::from_secs(config.write_timeout_secs);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut accept_warnings = AcceptWarnings::default();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning, and
                    // say so without filling the log.
                    accept_warnings.failed(&e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // At the cap, the newcomer (held here, one descriptor) gets the slot of the connection idle
        // the longest; when every one is busy, the first to become idle or close.
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let mut retry = tokio::time::interval(Duration::from_millis(100));
                loop {
                    tokio::select! {
                        permit = Arc::clone(&permits).acquire_owned() => match permit {
                            Ok(permit) => break permit,
                            Err(_) => return Ok(()),
                        },
                        _ = retry.tick() => {
                            connections.evict_idlest();
                        }
                        () = &mut shutdown => {
                            drop(stream);
                            return finish(stop_tx, &permits, max_connections, config).await;
                        }
                    }
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER_BYTES);
        let activity = Arc::new(Activity {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        });
        let evict = Arc::new(tokio::sync::Notify::new());
        let id = connections.register(Arc::clone(&activity), Arc::clone(&evict));
        let connection = Connection {
            app: app.clone(),
            write_timeouts: metrics.write_timeouts.clone(),
            remote,
            header_timeout,
            idle_timeout,
            write_timeout,
            stop: stop_rx.clone(),
            activity,
            evict,
        };
        let registry = Arc::clone(&connections);
        let open = metrics.connections_open.clone();
        open.inc();
        let acceptor = tls.as_ref().map(|tls| tls.acceptor());
        tokio::spawn(async move {
            match acceptor {
                None => connection.run(stream).await,
                // The handshake gets the time a client has to send its headers.
                Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => connection.run(stream).await,
                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                },
            }
            registry.remove(id);
            open.dec();
            drop(permit);
        });
    }
    finish(stop_tx, &permits, max_connections, config).await
}

/// Stops accepting and lets open requests finish (up to the request timeout).
async fn finish(
    stop_tx: watch::Sender<bool>,
    permits: &Semaphore,
    max_connections: usize,
    config: &Config,
) -> std::io::Result<()> {
    tracing::info!("no longer accepting connections; finishing open requests");
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(config.request_timeout_secs.saturating_add(1));
    let _ = tokio::time::timeout(grace, permits.acquire_many(max_connections as u32)).await;
    Ok(())
}

struct Connection {
    app: Router,
    remote: SocketAddr,
    header_timeout: Duration,
    idle_timeout: Duration,
    write_timeout: Duration,
    write_timeouts: prometheus::IntCounter,
    stop: watch::Receiver<bool>,
    activity: Arc<Activity>,
    /// Notified when the server is full and this connection is the one idle the longest.
    evict: Arc<tokio::sync::Notify>,
}

impl Connection {
    async fn run<S>(mut self, stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::clone(&self.activity);
        let (app, remote, seen) = (self.app, self.remote, Arc::clone(&activity));
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            seen.in_flight.fetch_add(1, Ordering::AcqRel);
            let guard = InFlight(Arc::clone(&seen));
            request.extensions_mut().insert(ConnectInfo(remote));
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(axum::body::Body::new)).await;
                drop(guard);
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .max_header_size(MAX_HEAD_BYTES)
            .max_buf_size(MAX_HEAD_BYTES)
            .keep_alive(true);
        let stream = WriteDeadline::new(stream, self.write_timeout, self.write_timeouts.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        let mut tick = tokio::time::interval(
            self.idle_timeout.min(Duration::from_secs(1)).max(Duration::from_millis(100)),
        );
        let mut closing = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = tick.tick(), if !closing => {
                    if activity.idle_for().is_some_and(|idle| idle >= self.idle_timeout) {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
                () = self.evict.notified(), if !closing => {
                    // Idle when chosen; a request that arrived since is answered first.
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                changed = self.stop.changed(), if !closing => {
                    if changed.is_err() || *self.stop.borrow() {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}
