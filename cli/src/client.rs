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

#[cfg(all(test, feature = "server"))]
#[path = "client_tests.rs"]
mod tests;

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

    /// `GET path` as a stream of the body, or `None` when the server answers 404 (a static
    /// mirror's missing object; `crate::source`).
    pub fn get_reader_opt(&self, path: &str) -> Result<Option<Box<dyn Read + Send>>, Failure> {
        match self.agent.get(&self.url(path)).call() {
            Err(ureq::Error::Status(404, _)) => Ok(None),
            other => Ok(Some(Box::new(
                self.answer(other, "GET", path)?.into_reader(),
            ))),
        }
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
        let format = upload.format;
        if let Some(view) = self.stored_set(format, &root)? {
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
                    if let Ok(Some(view)) = self.stored_set(format, &root) {
                        return check_stored(view, &root);
                    }
                }
                return Err(f);
            }
        };
        check_stored(view, &root)
    }

    /// The set (or passage tree, for format `passages`) stored with `root`, if any.
    fn stored_set(&self, format: UploadFormat, root: &Digest) -> Result<Option<SetView>, Failure> {
        if format != UploadFormat::Passages {
            return self.get_json_opt::<SetView>(&format!("/v1/sets/{}", root.to_hex()));
        }
        let path = format!("/v1/passages/{}/leaves?start=0&limit=1", root.to_hex());
        Ok(self
            .get_json_opt::<PassageLeavesPage>(&path)?
            .map(|p| SetView {
                root: p.root,
                size: p.size,
            }))
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
    /// The version's passage tree (issue 14); `None` for a version without one (and from a
    /// server older than passage trees). The server's word: verify against the entry.
    #[serde(default)]
    #[allow(dead_code)] // read by `prov check WORK`
    pub passages: Option<PassagesRef>,
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

/// A stored passage tree's root and size, as the routes of docs/api.md ("Passages") name it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct PassagesRef {
    pub root: String,
    pub size: u64,
}

/// `GET /v1/datasets/{p}/{d}/{v}/passages/{pid}?reveal=N`: one passage id's range in the
/// version's passage tree. Nothing in it is trusted: the proof is verified against the `passages`
/// of the dataset_version entry at `entry_index`, itself verified against a signed checkpoint.
#[allow(dead_code)] // read by `prov check WORK`
#[derive(Debug, Clone, Deserialize)]
pub struct PassageAnswer {
    pub dataset: String,
    pub entry_index: u64,
    pub passages: PassagesRef,
    pub passage: String,
    pub count: u64,
    pub proof: verifier::range::RangeProof,
}

/// One passage id's count in a [`PassagesAnswer`].
#[allow(dead_code)] // read by `prov check WORK`
#[derive(Debug, Clone, Deserialize)]
pub struct PassageCount {
    pub passage: String,
    pub count: u64,
}

/// `POST /v1/datasets/{p}/{d}/{v}/passages`: many passage ids' ranges, one multi-range proof for
/// all (results sorted by passage id). Trusted as little as [`PassageAnswer`].
#[allow(dead_code)] // read by `prov check WORK`
#[derive(Debug, Clone, Deserialize)]
pub struct PassagesAnswer {
    pub dataset: String,
    pub entry_index: u64,
    pub passages: PassagesRef,
    pub results: Vec<PassageCount>,
    pub proof: verifier::range::RangeProof,
}

/// `GET /v1/passages/{root}/leaves?start=&limit=`: a page of a stored passage tree's leaves.
#[derive(Debug, Clone, Deserialize)]
pub struct PassageLeavesPage {
    pub root: String,
    pub size: u64,
    pub start: u64,
    /// The leaves in hex (64 bytes each for `pid || cid` leaves).
    pub leaves: Vec<String>,
}

/// Most passage ids one `POST .../passages` asks for (the route's bound).
pub const MAX_PASSAGE_QUERY: usize = 4096;

/// `dataset` as `P/D@V`, split for a path; a malformed label is [`Exit::Invalid`].
fn dataset_path(dataset: &str) -> Result<String, Failure> {
    let bad = || {
        Failure::msg(
            Exit::Invalid,
            format!("dataset {dataset:?}: expected PUBLISHER/DATASET@VERSION"),
        )
    };
    let (pd, v) = dataset.split_once('@').ok_or_else(bad)?;
    let (p, d) = pd.split_once('/').ok_or_else(bad)?;
    if p.is_empty() || d.is_empty() || v.is_empty() || d.contains('/') {
        return Err(bad());
    }
    Ok(format!("/v1/datasets/{p}/{d}/{v}"))
}

// Used by `prov check WORK` (cmd/check_work.rs).
#[allow(dead_code)]
impl Client {
    /// One passage id in a dataset version (`P/D@V`): its count and range proof, or `None` when
    /// the version has no passage tree (404 `no-passage-tree`) or does not exist (404).
    pub fn passage(
        &self,
        dataset: &str,
        pid: &ledger::ContentId,
        reveal: u64,
    ) -> Result<Option<PassageAnswer>, Failure> {
        let path = format!("{}/passages/{pid}?reveal={reveal}", dataset_path(dataset)?);
        self.get_json_opt(&path)
    }

    /// Many passage ids (1..=[`MAX_PASSAGE_QUERY`], any order) in a dataset version (`P/D@V`):
    /// the counts and one multi-range proof, or `None` when the version has no passage tree (or
    /// does not exist: 404).
    pub fn passages(
        &self,
        dataset: &str,
        pids: &[ledger::ContentId],
        reveal: u64,
    ) -> Result<Option<PassagesAnswer>, Failure> {
        if pids.is_empty() || pids.len() > MAX_PASSAGE_QUERY {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "{} passage ids: one query asks for 1 to {MAX_PASSAGE_QUERY}",
                    pids.len()
                ),
            ));
        }
        let path = format!("{}/passages", dataset_path(dataset)?);
        let body = serde_json::to_vec(&serde_json::json!({
            "passages": pids.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "reveal": reveal,
        }))
        .or_exit(Exit::Local, "encoding the passage query")?;
        let req = self
            .agent
            .post(&self.url(&path))
            .set("Content-Type", "application/json");
        let resp = match req.send_bytes(&body) {
            Err(ureq::Error::Status(404, _)) => return Ok(None),
            other => self.answer(other, "POST", &path)?,
        };
        let bytes = read_body(resp, &path)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .or_exit(Exit::Server, format!("POST {path}: unexpected answer"))
    }

    /// Every leaf of the stored passage tree `root` (paged through
    /// `GET /v1/passages/{root}/leaves`), checked to be `size` leaves that hash to `root`: what
    /// the server answers is trusted for nothing. `None` when no such tree is stored (404).
    pub fn passage_tree_leaves(
        &self,
        root: &ledger::Digest,
        size: u64,
    ) -> Result<Option<Vec<verifier::range::RangeLeaf>>, Failure> {
        let mut leaves = Vec::new();
        let mut builder = verifier::range::RangeRootBuilder::new();
        while (leaves.len() as u64) < size {
            let start = leaves.len();
            let path = format!(
                "/v1/passages/{}/leaves?start={start}&limit={}",
                root.to_hex(),
                PASSAGE_LEAVES_PAGE
            );
            let Some(page) = self.get_json_opt::<PassageLeavesPage>(&path)? else {
                return Ok(None);
            };
            if page.start != start as u64 || page.size != size || page.leaves.is_empty() {
                return Err(Failure::msg(
                    Exit::Server,
                    format!(
                        "GET {path}: answered start {} size {} with {} leaves, asked for start \
                         {start} of a tree of {size}",
                        page.start,
                        page.size,
                        page.leaves.len()
                    ),
                ));
            }
            for h in &page.leaves {
                let leaf = verifier::range::RangeLeaf::from_hex(h)
                    .or_exit(Exit::Server, format!("GET {path}: a malformed leaf"))?;
                builder
                    .push(&leaf)
                    .or_exit(Exit::Invalid, format!("GET {path}: leaves out of order"))?;
                leaves.push(leaf);
            }
        }
        if leaves.len() as u64 != size || builder.root() != *root {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "the server's passage tree {root} does not hash to its root and size {size}"
                ),
            ));
        }
        Ok(Some(leaves))
    }
}

/// Leaves asked for per page of `GET /v1/passages/{root}/leaves`.
#[allow(dead_code)]
const PASSAGE_LEAVES_PAGE: usize = 1024;
