//! The HTTPS server of ES9+ (SGP.22 v2.x §6.1-§6.3), on tokio + hyper 1 with rustls
//! (ring provider). It owns the transport rules and nothing of the SM-DP+: each request
//! that passes them goes to an [`Es9Handler`] on the blocking pool (the handler is
//! synchronous: signatures, the store), and its [`Es9Reply`] goes back.
//!
//! The rules, in the order they are checked:
//! - path `/gsma/rsp2/es9plus/<function>` with `<function>` one of [`FUNCTIONS`]
//!   (SGP.22 §6.1.1), or `/veuicc/sm/v1/<function>` with one of the remote SM's
//!   functions (`crate::sm::remote::wire::FUNCTIONS`, issue 12), or
//!   `/veuicc/sm/v1/admin/<function>` (`crate::sm::remote::admin::FUNCTIONS`) when the
//!   handler serves it ([`Es9Handler::serves`]: only with an operator token), else 404;
//!   the admin functions get the `Authorization` header ([`Es9Handler::handle_authorized`],
//!   held in a zeroized buffer, never logged);
//! - method POST (§6.1.1: "HTTP POST"), else 405 with `Allow: POST`;
//! - for ES9+, header `X-Admin-Protocol: gsma/rsp/v2.<x>.<y>` (§6.1.1), else 400; the
//!   value is echoed in the response (§6.1.2: the response carries the header too);
//! - `Content-Type: application/json`, parameters such as `charset=UTF-8` allowed
//!   (§6.5.1), else 415;
//! - a body of at most [`MAX_REQUEST_BODY`] bytes: a larger `Content-Length` is refused
//!   with 413 before any of the body is kept, and a chunked body is cut off with 413 at
//!   the limit; what the client still sends is read and dropped for a moment (at most
//!   1 MiB, within the body timeout) so that it sees the 413 instead of a reset.
//!
//! Against slow or idle clients (slowloris) every stage has a deadline ([`Limits`]): the
//! TLS handshake, the request head (hyper's `header_read_timeout`, which also bounds how
//! long a kept-alive connection may sit idle), and the body (408 and the connection
//! closed). At most [`Limits::max_connections`] connections are served at once: the
//! accept loop waits for a free slot, so more clients wait in the listen backlog instead
//! of each costing a task.
//!
//! One line per request on stderr: time, peer, function, HTTP status, duration; never a
//! body or a header value. Shutdown (SIGTERM or Ctrl-C in [`Foreground`], or the future
//! given to [`Listening::serve`]): stop accepting, let the requests in flight finish (at most
//! [`Limits::drain_timeout`]), close idle connections, return.
//!
//! Files: this one (bind, accept, TLS, connections, shutdown), `request.rs` (one
//! request through the rules above, to the handler, and its log line), `limits.rs` (the
//! deadlines and the connection cap), `identity.rs` (the DPtls key and certificate).

mod identity;
mod limits;
mod request;

pub use limits::Limits;
use request::{log_line, respond, Shared};
pub use request::{valid_admin_protocol, ADMIN_PROTOCOL_HEADER};

pub use identity::{
    IdentityError, TlsIdentity, DPTLS_CERT_DER, DPTLS_CERT_PEM, DPTLS_DIR, DPTLS_KEY_PEM,
};

use super::Es9Handler;

use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

pub use super::PATH_PREFIX;

/// What to serve, where.
#[derive(Debug)]
pub struct ServerConfig {
    /// The address to bind (port 0: any free port; [`Listening::local_addr`] tells).
    pub listen: SocketAddr,
    pub identity: TlsIdentity,
    pub limits: Limits,
    /// Write the per-request log lines on stderr.
    pub log: bool,
}

impl ServerConfig {
    /// Default limits, logging on.
    pub fn new(listen: SocketAddr, identity: TlsIdentity) -> ServerConfig {
        ServerConfig {
            listen,
            identity,
            limits: Limits::default(),
            log: true,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("cannot start the server: {0}")]
    Runtime(std::io::Error),
}

/// A bound listener, not yet accepting.
pub struct Listening {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    addr: SocketAddr,
    limits: Limits,
    log: bool,
}

/// What a finished [`Listening::serve`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// Requests answered (any status).
    pub requests: u64,
    /// False when requests were still in flight at the end of the drain timeout.
    pub drained: bool,
}

/// Binds the listener and prepares TLS; must run inside a tokio runtime. The handler
/// comes at [`Listening::serve`], so it can be made knowing the bound address.
pub async fn bind(config: ServerConfig) -> Result<Listening, ServerError> {
    let tls = config.identity.server_config()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    Ok(Listening {
        listener,
        acceptor: TlsAcceptor::from(tls),
        addr,
        limits: config.limits,
        log: config.log,
    })
}

impl Listening {
    /// The address actually bound (the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Accepts and serves connections until `shutdown` completes, then drains.
    pub async fn serve(
        self,
        handler: Arc<dyn Es9Handler>,
        shutdown: impl Future<Output = ()>,
    ) -> Served {
        let Listening {
            listener,
            acceptor,
            limits,
            log,
            ..
        } = self;
        let shared = Arc::new(Shared {
            handler,
            limits,
            log,
            requests: AtomicU64::new(0),
        });
        let slots = Arc::new(Semaphore::new(shared.limits.max_connections.max(1)));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        // Tells connections still in their TLS handshake that shutdown began.
        let (stopping_tx, stopping_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = &mut shutdown => break,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and the like: say so, give the system a moment, go on.
                    if shared.log {
                        log_line(&format!("accept failed: {e}"));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let shared = shared.clone();
            let watcher = graceful.watcher();
            let mut stopping = stopping_rx.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let handshake =
                    tokio::time::timeout(shared.limits.handshake_timeout, acceptor.accept(tcp));
                let tls = tokio::select! {
                    r = handshake => r,
                    _ = stopping.wait_for(|s| *s) => return,
                };
                let tls = match tls {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        if shared.log {
                            log_line(&format!("{peer} TLS handshake failed: {e}"));
                        }
                        return;
                    }
                    Err(_) => {
                        if shared.log {
                            log_line(&format!("{peer} TLS handshake timed out"));
                        }
                        return;
                    }
                };
                let svc_shared = shared.clone();
                let service = hyper::service::service_fn(move |req| {
                    let shared = svc_shared.clone();
                    async move { Ok::<_, Infallible>(respond(req, &shared, peer).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(shared.limits.header_timeout)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(tls), service);
                // Errors here are the client's doing (reset, timeout, bad HTTP): hyper
                // already answered what could be answered.
                let _ = watcher.watch(conn).await;
            });
        }
        drop(listener);
        let _ = stopping_tx.send(true);
        let drained = tokio::time::timeout(shared.limits.drain_timeout, graceful.shutdown())
            .await
            .is_ok();
        Served {
            requests: shared.requests.load(Ordering::Relaxed),
            drained,
        }
    }
}

/// The server on a thread of its own with its own runtime, for tests and benchmarks that
/// live in synchronous code. Dropping it shuts it down (and waits).
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Served>>,
}

impl RunningServer {
    /// Binds (so the address is known and connectable when this returns) and serves.
    pub fn start(
        config: ServerConfig,
        handler: Arc<dyn Es9Handler>,
    ) -> Result<RunningServer, ServerError> {
        let rt = runtime()?;
        let listening = rt.block_on(bind(config))?;
        let addr = listening.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("es9p-server".into())
            .spawn(move || {
                rt.block_on(listening.serve(handler, async {
                    let _ = stopped.await;
                }))
            })
            .map_err(ServerError::Runtime)?;
        Ok(RunningServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits for the requests in flight, and reports.
    pub fn shutdown(mut self) -> Option<Served> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Option<Served> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// A multi-threaded runtime (one worker per core) with timers and I/O.
pub fn runtime() -> Result<tokio::runtime::Runtime, ServerError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("es9p")
        .build()
        .map_err(ServerError::Runtime)
}

/// The server in the foreground of a process (`sm-cli smdp serve`): bound, with its
/// SIGTERM and SIGINT handlers installed, so that once [`Foreground::local_addr`] is
/// printed a signal can only mean "shut down".
pub struct Foreground {
    rt: tokio::runtime::Runtime,
    listening: Listening,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Foreground {
    pub fn bind(config: ServerConfig) -> Result<Foreground, ServerError> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = runtime()?;
        let listening = rt.block_on(bind(config))?;
        let (term, int) = {
            let _in_runtime = rt.enter();
            (
                signal(SignalKind::terminate()).map_err(ServerError::Runtime)?,
                signal(SignalKind::interrupt()).map_err(ServerError::Runtime)?,
            )
        };
        Ok(Foreground {
            rt,
            listening,
            term,
            int,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listening.local_addr()
    }

    /// Serves until SIGTERM or SIGINT (Ctrl-C), then drains.
    pub fn serve_until_signal(self, handler: Arc<dyn Es9Handler>) -> Served {
        let Foreground {
            rt,
            listening,
            mut term,
            mut int,
        } = self;
        let log = listening.log;
        rt.block_on(listening.serve(handler, async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            if log {
                log_line("shutting down: no new connections, finishing requests in flight");
            }
        }))
    }
}
