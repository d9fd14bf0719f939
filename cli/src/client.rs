//! A small blocking HTTP client for the ledger's API (`ureq`, rustls): JSON under `/v1/`, the
//! C2SP tiles and checkpoint, and set uploads. Every failure carries its exit code: the server
//! unreachable or failing is [`Exit::Server`], a 4xx answer is [`Exit::Refused`] with the RFC 9457
//! problem's detail.
//!
//! The JSON shapes below mirror crate `api`'s, field for field, but only what the CLI reads: the
//! CLI must build without the service (and its RocksDB), so it cannot share the types.

use std::io::Read;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use ledger::set::upload::{UploadFormat, UploadRequest};
use ledger::Digest;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::exit::{Exit, Failure, OrExit};

/// The default `--server`.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Largest response body read into memory (a compliance bundle of many opt-outs is large).
const MAX_BODY: u64 = 1 << 30;

/// The server at one base URL.
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client for `server` (`http://` or `https://`, with or without a trailing slash).
    pub fn new(server: &str) -> Result<Client, Failure> {
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("--server must be an http:// or https:// URL, got {server:?}"),
            ));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(900))
            .timeout_write(Duration::from_secs(900))
            .user_agent(concat!("prov/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client { base, agent })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// `GET path` and the body's bytes.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>, Failure> {
        let resp = self.call(self.agent.get(&self.url(path)), None, path)?;
        read_body(resp, path)
    }

    /// `GET path` as text.
    pub fn get_text(&self, path: &str) -> Result<String, Failure> {
        let bytes = self.get_bytes(path)?;
        String::from_utf8(bytes).or_exit(Exit::Server, format!("GET {path}: body is not UTF-8"))
    }

    /// `GET path` as JSON of type `T`.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        let bytes = self.get_bytes(path)?;
        serde_json::from_slice(&bytes)
            .or_exit(Exit::Server, format!("GET {path}: unexpected answer"))
    }

    /// `GET path` as JSON of type `T`, or `None` when the server answers 404.
    pub fn get_json_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Failure> {
        let resp = match self.agent.get(&self.url(path)).call() {
            Err(ureq::Error::Status(404, _)) => return Ok(None),
            other => self.answer(other, "GET", path)?,
        };
        let bytes = read_body(resp, path)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .or_exit(Exit::Server, format!("GET {path}: unexpected answer"))
    }

    /// `POST path` with a JSON body; the answer as JSON of type `T`.
    pub fn post_json<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T, Failure> {
        let req = self
            .agent
            .post(&self.url(path))
            .set("Content-Type", "application/json");
        let resp = self.call(req, Some(Body::Bytes(body)), path)?;
        let bytes = read_body(resp, path)?;
        serde_json::from_slice(&bytes)
            .or_exit(Exit::Server, format!("POST {path}: unexpected answer"))
    }

    /// Sends `body` (`PUT` or `POST`) with a content type; the answer as JSON of type `T`.
    pub fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: impl Read,
    ) -> Result<T, Failure> {
        let req = self
            .agent
            .request(method, &self.url(path))
            .set("Content-Type", content_type);
        let resp = self.call(req, Some(Body::Reader(Box::new(body))), path)?;
        let bytes = read_body(resp, path)?;
        serde_json::from_slice(&bytes)
            .or_exit(Exit::Server, format!("{method} {path}: unexpected answer"))
    }

    fn call(
        &self,
        req: ureq::Request,
        body: Option<Body<'_>>,
        path: &str,
    ) -> Result<ureq::Response, Failure> {
        let method = req.method().to_string();
        let result = match body {
            None => req.call(),
            Some(Body::Bytes(b)) => req.send_bytes(b),
            Some(Body::Reader(r)) => req.send(r),
        };
        self.answer(result, &method, path)
    }

    /// A response, or the failure a 4xx, 5xx or transport error means.
    fn answer(
        &self,
        result: Result<ureq::Response, ureq::Error>,
        method: &str,
        path: &str,
    ) -> Result<ureq::Response, Failure> {
        match result {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(code, resp)) => {
                let detail = problem_detail(resp);
                let exit = if (400..500).contains(&code) {
                    Exit::Refused
                } else {
                    Exit::Server
                };
                Err(Failure::msg(
                    exit,
                    format!("{method} {path}: the server answered {code}: {detail}"),
                ))
            }
            Err(ureq::Error::Transport(t)) => Err(Failure::msg(
                Exit::Server,
                format!("{method} {path}: cannot reach {}: {t}", self.base),
            )),
        }
    }
}

/// Bodies up to this size go in one `PUT`; larger ones in chunks of this size.
pub const UPLOAD_CHUNK: u64 = 64 << 20;

/// What a set upload sends: the set's root and size, its body format, and the body.
pub struct SetUpload<'a> {
    pub root: Digest,
    pub size: u64,
    pub format: UploadFormat,
    /// The body's length in bytes.
    pub len: u64,
    pub body: Box<dyn Read + 'a>,
}

impl Client {
    /// Uploads a set (docs/api.md, "Set uploads"): the set already stored is taken as it is;
    /// otherwise `POST /v1/uploads` with a request signed by `key` (anonymous without one), then
    /// the body in one streamed `PUT`, or in numbered chunks and a commit when it is large. A
    /// failed upload is abandoned, so that it does not hold the key's quota until it expires.
    pub fn upload_set(
        &self,
        key: Option<&SigningKey>,
        upload: SetUpload<'_>,
    ) -> Result<SetView, Failure> {
        let root = upload.root;
        let set_path = format!("/v1/sets/{}", root.to_hex());
        if let Some(view) = self.get_json_opt::<SetView>(&set_path)? {
            return check_stored(view, &root);
        }
        let (time, nonce) = crate::cmd::publisher::stamp();
        let request = UploadRequest::anonymous(root, upload.size, upload.format, time)
            .and_then(|r| r.with_nonce(nonce))
            .and_then(|r| match key {
                Some(k) => r.signed(k),
                None => Ok(r),
            })
            .and_then(|r| r.to_json())
            .or_exit(Exit::Invalid, "building the upload request")?;
        let created: UploadCreated = self.post_json("/v1/uploads", &request)?;
        let base = format!("/v1/uploads/{}", created.upload_id);
        let content_type = upload.format.content_type();
        let sent = self.send_upload(&base, content_type, upload);
        let view = match sent {
            Ok(view) => view,
            Err(f) => {
                // Best effort: the server drops it after its idle time anyway.
                let _ = self.call(self.agent.delete(&self.url(&base)), None, &base);
                // A server may answer before reading the whole body (and the client then sees
                // a broken pipe): the set may be there all the same.
                if f.exit == Exit::Server {
                    if let Ok(Some(view)) = self.get_json_opt::<SetView>(&set_path) {
                        return check_stored(view, &root);
                    }
                }
                return Err(f);
            }
        };
        check_stored(view, &root)
    }

    fn send_upload(
        &self,
        base: &str,
        content_type: &str,
        upload: SetUpload<'_>,
    ) -> Result<SetView, Failure> {
        let mut body = upload.body;
        if upload.len <= UPLOAD_CHUNK {
            return self.send("PUT", base, content_type, body);
        }
        let (mut seq, mut leaves) = (0u64, 0u64);
        loop {
            let mut chunk = Vec::new();
            (&mut body)
                .take(UPLOAD_CHUNK)
                .read_to_end(&mut chunk)
                .or_exit(Exit::Local, "reading the set to upload")?;
            if chunk.is_empty() {
                break;
            }
            let r: ChunkReceipt = self.send(
                "POST",
                &format!("{base}/chunks/{seq}"),
                content_type,
                chunk.as_slice(),
            )?;
            seq += 1;
            leaves = r.leaves;
        }
        let view: SetView = self.send(
            "POST",
            &format!("{base}/commit"),
            content_type,
            std::io::empty(),
        )?;
        if view.size != leaves {
            return Err(Failure::msg(
                Exit::Server,
                format!(
                    "the server stored {} leaves, it had received {leaves}",
                    view.size
                ),
            ));
        }
        Ok(view)
    }
}

/// The server's answer must name the set that was sent.
fn check_stored(view: SetView, root: &Digest) -> Result<SetView, Failure> {
    if view.root != root.to_hex() {
        return Err(Failure::msg(
            Exit::Server,
            format!("the server stored set {}, not {root}", view.root),
        ));
    }
    Ok(view)
}

enum Body<'a> {
    Bytes(&'a [u8]),
    Reader(Box<dyn Read + 'a>),
}

fn read_body(resp: ureq::Response, path: &str) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    resp.into_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut out)
        .or_exit(Exit::Server, format!("reading the answer to {path}"))?;
    if out.len() as u64 > MAX_BODY {
        return Err(Failure::msg(
            Exit::Server,
            format!("the answer to {path} is larger than {MAX_BODY} bytes"),
        ));
    }
    Ok(out)
}

/// The `title: detail` of an RFC 9457 problem body, or the body's first bytes.
fn problem_detail(resp: ureq::Response) -> String {
    #[derive(Deserialize)]
    struct Problem {
        #[serde(default)]
        title: String,
        #[serde(default)]
        detail: Option<String>,
        #[serde(rename = "type", default)]
        type_: String,
    }
    let mut body = Vec::new();
    let _ = resp.into_reader().take(64 * 1024).read_to_end(&mut body);
    match serde_json::from_slice::<Problem>(&body) {
        Ok(p) => {
            let slug = p.type_.rsplit(':').next().unwrap_or_default().to_string();
            match p.detail {
                Some(d) if !slug.is_empty() => format!("{slug}: {d}"),
                Some(d) => d,
                None => p.title,
            }
        }
        Err(_) => String::from_utf8_lossy(&body).chars().take(300).collect(),
    }
}

/// `POST /v1/entries` and `POST /v1/publishers`: the sequencer's answer.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Receipt {
    pub index: u64,
    pub leaf_hash: String,
    pub tree_size: u64,
    pub checkpoint: String,
}

/// A publisher name a key holds (`GET /v1/keys/{key}`).
#[derive(Debug, Clone, Deserialize)]
pub struct KeyName {
    pub publisher: String,
}

/// `GET /v1/keys/{key}`: the publisher names the key is the current key of.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyView {
    pub names: Vec<KeyName>,
}

impl Client {
    /// The publisher names `key` holds on this ledger, in log order; empty when it holds none.
    pub fn names_of_key(&self, key: &ed25519_dalek::VerifyingKey) -> Result<Vec<KeyName>, Failure> {
        let path = format!("/v1/keys/{}", hex::encode(key.as_bytes()));
        Ok(self
            .get_json_opt::<KeyView>(&path)?
            .map(|v| v.names)
            .unwrap_or_default())
    }
}

/// `GET /v1/entries/{index}`.
#[derive(Debug, Clone, Deserialize)]
pub struct EntryView {
    pub index: u64,
    /// The entry's exact bytes.
    pub canonical: String,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Deserialize)]
pub struct Health {
    pub verifier_key: String,
    pub tree_size: u64,
}

/// `GET /v1/sets/{root}`, `PUT /v1/uploads/{id}`, `POST /v1/uploads/{id}/commit`.
#[derive(Debug, Clone, Deserialize)]
pub struct SetView {
    pub root: String,
    pub size: u64,
}

/// `POST /v1/uploads`.
#[derive(Debug, Clone, Deserialize)]
pub struct UploadCreated {
    pub upload_id: String,
}

/// `POST /v1/uploads/{id}/chunks/{seq}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChunkReceipt {
    /// Leaves received so far.
    pub leaves: u64,
}

/// `GET /v1/datasets/{publisher}/{dataset}/{version}`.
#[derive(Debug, Clone, Deserialize)]
pub struct DatasetVersionView {
    pub label: String,
    pub index: u64,
    pub manifest_root: String,
}

/// `GET /v1/models/{publisher}/{model}/checkpoints`.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckpointPage {
    pub items: Vec<ModelCheckpointView>,
    pub next: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelCheckpointView {
    pub index: u64,
    pub publisher: String,
    pub model: String,
    pub checkpoint: String,
}

/// `GET /v1/content/{cid}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ContentView {
    pub dataset_versions: Vec<Appearance>,
    #[serde(default)]
    pub checkpoints: Vec<ModelCheckpointView>,
    pub next: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Appearance {
    pub dataset: DatasetVersionView,
}

/// `GET /v1/entries/{index}/inclusion?tree_size=N` (JSON form).
#[derive(Debug, Clone, Deserialize)]
pub struct InclusionProofView {
    pub checkpoint: Option<String>,
}

/// `GET /v1/proofs/consistency` (JSON form).
#[derive(Debug, Clone, Deserialize)]
pub struct ConsistencyProofView {
    pub hashes: Vec<String>,
}
