//! Running the service: open (or create) the ledger, bind, serve until SIGINT or SIGTERM, then
//! drain: stop accepting, finish the requests in flight (so every acknowledged write was
//! answered after its batch was durable), and close the ledger, which flushes the sequencer.
//!
//! The accept loop is our own (hyper's HTTP/1 connections, one task each) rather than
//! `axum::serve`, for the defences a public service needs before any handler runs:
//! - a **header read timeout** (`limits.header_read_timeout_secs`): a connection that has not
//!   sent a request's headers within it (slow-loris, or an idle socket) is closed;
//! - a **connection limit** per peer address and in all ([`ConnectionLimiter`]): a connection
//!   over it is closed at once, so one address cannot hold every socket;
//! - the **client's address** ([`client_ip`]): from `X-Forwarded-For` only when the peer is a
//!   configured trusted proxy, set on each request as [`ClientIp`] for every per-client limit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use ledger::ledger::{Ledger, LedgerError};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::config::Config;
use crate::limits::{client_ip, ClientIp, ConnectionLimiter};
use crate::router::router;
use crate::state::AppState;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("ledger")]
    Ledger(#[source] LedgerError),
    #[error("closing the ledger")]
    Close(#[source] tokio::task::JoinError),
    #[error("server")]
    Io(#[from] std::io::Error),
    #[error("reloading the cosigned checkpoint")]
    Cosigned(#[source] crate::witnessing::PersistError),
    #[error("publish target")]
    Publish(#[source] crate::publish::TargetError),
}

/// A bound, not yet running server: lets a caller (a test, the CLI) learn the address and the
/// ledger's identity before serving.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    created: bool,
}

impl Server {
    /// Opens the ledger in `config.data_dir` (creating it when the directory does not exist)
    /// and binds `config.listen`.
    pub async fn bind(config: Config) -> Result<Server, ServeError> {
        let (ledger, created) = open_or_create(&config)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let dir = config.data_dir.clone();
        let state = AppState::new(ledger, config);
        // The cosigned checkpoint published before a restart, so `/checkpoint.cosigned` never
        // goes backwards across one.
        if let Some(size) = state
            .witnessing()
            .load(&dir, state.ledger())
            .map_err(ServeError::Cosigned)?
        {
            tracing::info!(size, "reloaded the cosigned checkpoint");
        }
        attach_publisher(&state)?;
        Ok(Server {
            listener,
            state,
            created,
        })
    }

    /// Binds `config.listen` to serve `ledger`, already opened (on any store: tests serve a
    /// ledger on a fault-injecting store this way). `config.data_dir` is not used.
    pub async fn with_ledger(ledger: Ledger, config: Config) -> Result<Server, ServeError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let state = AppState::new(ledger, config);
        attach_publisher(&state)?;
        Ok(Server {
            listener,
            state,
            created: false,
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        Ok(self.listener.local_addr()?)
    }

    /// Whether [`Server::bind`] created a new ledger.
    pub fn created(&self) -> bool {
        self.created
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Hands the hashing of uploaded sets' full records to `device` (`--set-hasher`; see
    /// [`crate::setdevice`]), its refused answers logged. `false` if one was already set.
    pub fn set_record_roots(&self, device: Arc<dyn ledger::store::setdevice::RecordRoots>) -> bool {
        let described = device.describe();
        let set = self
            .state
            .ledger()
            .sets()
            .set_record_roots(Arc::new(crate::setdevice::Logged(device)));
        if set {
            tracing::info!(hasher = %described, "set ingest: full records hashed in batches");
        }
        set
    }

    /// Serves until `shutdown` completes, then drains and closes the ledger.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let config = self.state.config();
        let limits = &config.limits;
        let trusted: Arc<[crate::limits::IpBlock]> = config.trusted_proxies.clone().into();
        let conns = ConnectionLimiter::new(
            limits.max_connections_per_ip,
            limits.max_connections,
            config.trusted_proxies.clone(),
        );
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout())
            .keep_alive(true);
        let app = router(self.state.clone());
        let (stop_housekeeping, stopped) = tokio::sync::watch::channel(false);
        let witnesses = crate::witnessing::spawn(self.state.clone(), stopped.clone());
        let publisher = crate::publish::spawn(self.state.clone(), stopped.clone());
        let housekeeping = tokio::spawn(crate::sets::housekeeping(self.state.clone(), stopped));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Per-connection errors (reset before accept) and running out of file
                        // descriptors: neither stops the service; the latter needs a breath.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            while tasks.try_join_next().is_some() {}
            let Some(permit) = conns.admit(peer.ip()) else {
                tracing::debug!(%peer, "connection limit: closing");
                metrics::counter!("prov_connections_refused_total").increment(1);
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (app, trusted, http) = (app.clone(), trusted.clone(), http.clone());
            let mut stop = stop_rx.clone();
            tasks.spawn(async move {
                let _permit = permit;
                let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                    let client = client_ip(peer.ip(), req.headers(), &trusted);
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.extensions_mut().insert(ClientIp(client));
                    app.clone().oneshot(req)
                });
                let conn = http.serve_connection(TokioIo::new(stream), svc);
                let mut conn = std::pin::pin!(conn);
                let done = tokio::select! {
                    r = conn.as_mut() => Some(r),
                    _ = stop.wait_for(|stop| *stop) => None,
                };
                let r = match done {
                    Some(r) => r,
                    None => {
                        // Drain: finish the request in flight, then close.
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
            });
        }
        drop(self.listener);
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        // Let a collection in progress finish, so that nothing holds the ledger once this
        // returns (a caller may reopen the directory at once).
        let _ = stop_housekeeping.send(true);
        let _ = housekeeping.await;
        for w in witnesses {
            let _ = w.await;
        }
        if let Some(p) = publisher {
            // A round in flight is abandoned at its next await: every step is safe to replay.
            let _ = p.await;
        }
        tracing::info!("drained; closing the ledger");
        // Every acknowledged write was answered after its batch was durable; closing integrates
        // whatever is still queued and stops the sequencer.
        let ledger = self.state.ledger().clone();
        tokio::task::spawn_blocking(move || ledger.close())
            .await
            .map_err(ServeError::Close)?;
        Ok(())
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run(self) -> Result<(), ServeError> {
        self.run_until(shutdown_signal()).await
    }
}

/// Opens or creates the ledger, announces it on stdout (origin, verifier key, explorer
/// address), and serves until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let server = Server::bind(config).await?;
    let shutdown = shutdown_signal();
    let addr = server.local_addr()?;
    let l = server.state().ledger();
    let dir = server.state().config().data_dir.display();
    if server.created() {
        println!("created a new ledger in {dir}");
    } else {
        println!("opened the ledger in {dir}");
    }
    println!("origin: {}", l.origin());
    println!("verifier key: {}", l.verifier_key());
    println!("explorer: http://{addr}/");
    server.run_until(shutdown).await
}

/// [`serve`] on a new multi-threaded tokio runtime, for a synchronous `main`.
pub fn serve_blocking(config: Config) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(config))
}

/// The ledger in `config.data_dir`: opened if the directory exists (refused if it is not a
/// ledger), created with a new key if it does not. The bool says whether it was created.
fn open_or_create(config: &Config) -> Result<(Ledger, bool), ServeError> {
    let dir = &config.data_dir;
    let seq = config.limits.sequencer();
    if dir.exists() {
        let l = Ledger::open(dir, seq).map_err(ServeError::Ledger)?;
        let key = dir.join(ledger::ledger::KEY_FILE);
        if let Some(mode) = ledger::store::keyfile::loose_mode(&key) {
            // Not refused (a restored backup often loses its modes), but said at every start.
            tracing::warn!(
                key = %key.display(),
                mode = format!("{mode:o}"),
                "the log's signing key is readable by other users; chmod 600 it"
            );
        }
        return Ok((l, false));
    }
    let origin = config.origin.as_deref().unwrap_or(DEFAULT_ORIGIN);
    let l = Ledger::create(dir, origin, seq).map_err(ServeError::Ledger)?;
    tracing::info!(dir = %dir.display(), origin, vkey = %l.verifier_key(), "created a ledger");
    Ok((l, true))
}

/// The origin of a ledger created without `origin` in the configuration.
pub const DEFAULT_ORIGIN: &str = "localhost/prov-ledger";

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled: call it before announcing the service, so that
/// a signal sent as soon as the address is printed shuts it down gracefully instead of killing
/// it. (Regression: with lazily installed handlers, an early SIGTERM ended the process at once.)
/// Must be called inside a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let listen = |kind: tokio::signal::unix::SignalKind, name: &'static str| {
        let sig = tokio::signal::unix::signal(kind);
        async move {
            match sig {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for {name}");
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    #[cfg(unix)]
    let (int, term) = (
        listen(tokio::signal::unix::SignalKind::interrupt(), "SIGINT"),
        listen(tokio::signal::unix::SignalKind::terminate(), "SIGTERM"),
    );
    #[cfg(not(unix))]
    let (int, term) = (
        async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for ctrl-c");
                std::future::pending::<()>().await;
            }
        },
        std::future::pending::<()>(),
    );
    async move {
        tokio::select! {
            () = int => tracing::info!("SIGINT: shutting down"),
            () = term => tracing::info!("SIGTERM: shutting down"),
        }
    }
}

/// Builds the publish target of `state`'s configuration (`prov serve --publish`), if any.
fn attach_publisher(state: &AppState) -> Result<(), ServeError> {
    let config = state.config();
    if let Some(url) = &config.publish {
        let options: Vec<(String, String)> = config
            .publish_options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let target = crate::publish::open(url, &options).map_err(ServeError::Publish)?;
        state.set_publisher(target);
    }
    Ok(())
}
