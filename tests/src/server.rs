//! A real `prov serve` in-process: a RocksDB ledger in a temporary directory, a socket on
//! 127.0.0.1 with a port the OS picks, and graceful shutdown on drop or [`TestServer::stop`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use api::{Config, ServeError, Server};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server. Dropping it shuts the server down (without waiting).
pub struct TestServer {
    pub addr: SocketAddr,
    /// The ledger directory (inside `_dir`).
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    dir: Option<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    /// A server over a new ledger, default limits.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server over a new ledger, with `tweak` applied to the configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("ledger");
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.clone(),
            origin: Some(crate::fixtures::ORIGIN.into()),
            ..Config::default()
        };
        tweak(&mut config);
        Self::launch(config, Some(dir)).await
    }

    /// A server over the ledger in `data_dir` (e.g. one a stopped server left behind).
    pub async fn reopen(data_dir: &Path, dir: TempDir) -> TestServer {
        let config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            ..Config::default()
        };
        Self::launch(config, Some(dir)).await
    }

    async fn launch(config: Config, dir: Option<TempDir>) -> TestServer {
        let data_dir = config.data_dir.clone();
        let server = Server::bind(config).await.expect("server binds");
        let addr = server.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            data_dir,
            client: reqwest::Client::new(),
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self.get(path).await;
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    /// `POST /v1/entries` with an entry's bytes.
    pub async fn submit(&self, entry: &ledger::entry::Entry) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .post(self.url("/v1/entries"))
            .header("content-type", "application/json")
            .body(entry.as_bytes().to_vec())
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    /// Uploads a set's leaves (`POST /v1/uploads` with a request signed by a fixed test key,
    /// then `PUT /v1/uploads/{id}`); panics unless stored.
    pub async fn upload_set(&self, set: &ledger::set::SortedSet) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[201u8; 32]);
        let id = self.start_upload(set, Some(&key)).await;
        let resp = self
            .client
            .put(self.url(&format!("/v1/uploads/{id}")))
            .header("content-type", "application/octet-stream")
            .body(crate::fixtures::leaves_bytes(set))
            .send()
            .await
            .expect("PUT");
        assert!(resp.status().is_success(), "set upload: {}", resp.status());
    }

    /// `POST /v1/uploads` for `set` (72-byte leaves), signed by `key` or anonymous, stamped now;
    /// the upload id. Panics unless the upload started.
    pub async fn start_upload(
        &self,
        set: &ledger::set::SortedSet,
        key: Option<&ed25519_dalek::SigningKey>,
    ) -> String {
        let (status, body) = self.post_upload_request(upload_request(set, key)).await;
        assert_eq!(status, 201, "{body}");
        body["upload_id"].as_str().expect("upload_id").to_string()
    }

    /// `POST /v1/uploads` with a request's bytes: the status and the JSON answer.
    pub async fn post_upload_request(&self, request: Vec<u8>) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .post(self.url("/v1/uploads"))
            .header("content-type", "application/json")
            .body(request)
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    /// Shuts down gracefully, waits for the server to finish, and hands back the temporary
    /// directory holding the ledger (so a test can reopen it).
    pub async fn stop(mut self) -> TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server ran cleanly");
        }
        self.dir.take().expect("temp dir")
    }
}

/// An upload request for `set` (72-byte leaves), signed by `key` or anonymous, stamped now, with
/// a nonce that differs from call to call.
pub fn upload_request(
    set: &ledger::set::SortedSet,
    key: Option<&ed25519_dalek::SigningKey>,
) -> Vec<u8> {
    use ledger::set::upload::{UploadFormat, UploadRequest};
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    let nonce = (u64::from(now.subsec_nanos()) << 16) + NEXT.fetch_add(1, Ordering::Relaxed);
    let r = UploadRequest::anonymous(
        set.root(),
        set.size().0,
        UploadFormat::Leaves,
        now.as_secs(),
    )
    .and_then(|r| r.with_nonce(nonce))
    .expect("request");
    let r = match key {
        Some(k) => r.signed(k).expect("signed"),
        None => r,
    };
    r.to_json().expect("request JSON")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
