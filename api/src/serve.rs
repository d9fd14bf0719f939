//! Running the service: open (or create) the ledger, bind, serve until SIGINT or SIGTERM, then
//! drain: stop accepting, finish the requests in flight (so every acknowledged write was
//! answered after its batch was durable), and close the ledger, which flushes the sequencer.

use std::future::Future;
use std::net::SocketAddr;

use ledger::ledger::Ledger;
use ledger::sequencer::SequencerConfig;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::router::router;
use crate::state::AppState;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("ledger: {0}")]
    Ledger(String),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
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
        let state = AppState::new(ledger, config);
        Ok(Server {
            listener,
            state,
            created,
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

    /// Serves until `shutdown` completes, then drains and closes the ledger.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let app = router(self.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let housekeeping = tokio::spawn(crate::sets::housekeeping(self.state.clone(), stopped));
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        // Let a collection in progress finish, so that nothing holds the ledger once this
        // returns (a caller may reopen the directory at once).
        let _ = stop.send(true);
        let _ = housekeeping.await;
        served?;
        tracing::info!("drained; closing the ledger");
        // Every acknowledged write was answered after its batch was durable; closing integrates
        // whatever is still queued and stops the sequencer.
        let ledger = self.state.ledger().clone();
        tokio::task::spawn_blocking(move || ledger.close())
            .await
            .map_err(|e| ServeError::Ledger(format!("closing: {e}")))?;
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
    if dir.exists() {
        let l = Ledger::open(dir, SequencerConfig::default())
            .map_err(|e| ServeError::Ledger(e.to_string()))?;
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
    let l = Ledger::create(dir, origin, SequencerConfig::default())
        .map_err(|e| ServeError::Ledger(e.to_string()))?;
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
