//! What every handler shares: the ledger, the configuration, the rate limiter and the set
//! uploads in progress.

use std::sync::Arc;

use ledger::ledger::Ledger;
use ledger::store::admission::AdmissionPolicy;

use crate::compliance::HeavyReads;
use crate::config::Config;
use crate::explorer::ExplorerSource;
use crate::limits::RateLimiter;
use crate::problem::ApiError;
use crate::proofs::HashCache;
use crate::tiles::TileCache;
use crate::uploads::UploadTable;

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    ledger: Ledger,
    config: Config,
    admission: AdmissionPolicy,
    optout_limiter: RateLimiter,
    registration_limiter: RateLimiter,
    publisher_keys: crate::entries::PublisherKeys,
    upload_limiter: RateLimiter,
    explorer: ExplorerSource,
    uploads: std::sync::Mutex<UploadTable>,
    tiles: TileCache,
    hashes: HashCache,
    heavy: HeavyReads,
    witnessing: crate::witnessing::Witnessing,
    publisher: std::sync::OnceLock<(crate::publish::Target, Arc<crate::publish::Publishing>)>,
}

impl AppState {
    pub fn new(ledger: Ledger, config: Config) -> Self {
        // Install the metrics recorder before the first request records anything.
        let _ = crate::metrics::handle();
        let explorer = match &config.explorer_dir {
            Some(dir) => ExplorerSource::Dir(dir.clone()),
            None => ExplorerSource::Embedded,
        };
        AppState {
            inner: Arc::new(Inner {
                ledger,
                admission: config.admission_policy(),
                optout_limiter: RateLimiter::new(
                    config.limits.anonymous_optouts_per_minute,
                    config.limits.anonymous_optout_burst,
                ),
                publisher_keys: Default::default(),
                registration_limiter: RateLimiter::new(
                    config.limits.publisher_registrations_per_minute,
                    config.limits.publisher_registration_burst,
                ),
                upload_limiter: RateLimiter::new(
                    config.uploads.starts_per_minute,
                    config.uploads.start_burst,
                ),
                explorer,
                heavy: HeavyReads::new(
                    config.limits.heavy_reads,
                    config.limits.bundle_cache_entries,
                    config.limits.bundle_cache_bytes,
                ),
                witnessing: crate::witnessing::Witnessing::new(&config),
                publisher: std::sync::OnceLock::new(),
                config,
                uploads: std::sync::Mutex::new(UploadTable::default()),
                tiles: TileCache::new(4096),
                hashes: HashCache::new(1 << 18),
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    pub(crate) fn optout_limiter(&self) -> &RateLimiter {
        &self.inner.optout_limiter
    }

    /// New publisher names per client address.
    pub(crate) fn registration_limiter(&self) -> &RateLimiter {
        &self.inner.registration_limiter
    }

    pub(crate) fn publisher_keys(&self) -> &crate::entries::PublisherKeys {
        &self.inner.publisher_keys
    }

    /// The deployment's admission policy (the publisher allow-list).
    pub(crate) fn admission(&self) -> &AdmissionPolicy {
        &self.inner.admission
    }

    /// Upload requests per client address.
    pub(crate) fn upload_limiter(&self) -> &RateLimiter {
        &self.inner.upload_limiter
    }

    /// The log's witnesses and the cosignatures collected from them.
    pub fn witnessing(&self) -> &crate::witnessing::Witnessing {
        &self.inner.witnessing
    }

    /// Mirrors the log to `target` (`prov serve --publish`); set once, before serving.
    pub fn set_publisher(&self, target: crate::publish::Target) {
        let publishing = Arc::new(crate::publish::Publishing::new(&target.url));
        let _ = self.inner.publisher.set((target, publishing));
    }

    /// The publish target and the publisher's status, when the log is mirrored.
    pub fn publisher(&self) -> Option<(crate::publish::Target, Arc<crate::publish::Publishing>)> {
        self.inner.publisher.get().cloned()
    }

    /// The publisher's status (`/healthz`), when the log is mirrored.
    pub fn publishing(&self) -> Option<&crate::publish::Publishing> {
        self.inner.publisher.get().map(|(_, p)| &**p)
    }

    pub(crate) fn hashes(&self) -> &HashCache {
        &self.inner.hashes
    }

    /// The heavy-read limit and the compliance bundle cache.
    pub fn heavy(&self) -> &HeavyReads {
        &self.inner.heavy
    }

    pub(crate) fn tiles(&self) -> &TileCache {
        &self.inner.tiles
    }

    pub(crate) fn explorer(&self) -> &ExplorerSource {
        &self.inner.explorer
    }

    /// The uploads in progress. Held only for map operations, never across an await.
    pub(crate) fn uploads(&self) -> std::sync::MutexGuard<'_, UploadTable> {
        // A poisoned map only means a request panicked while holding it; the map is intact.
        self.inner.uploads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the ledger on a blocking thread: for reads that may touch many records
    /// (bundles, set ingest), so they never stall the async workers.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Ledger) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let ledger = self.inner.ledger.clone();
        tokio::task::spawn_blocking(move || f(&ledger))
            .await
            .map_err(|e| ApiError::internal(format!("blocking task: {e}")))?
    }
}
