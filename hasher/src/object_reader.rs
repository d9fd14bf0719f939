//! The object store behind [`crate::object`] (feature `object-store`): the `object_store` crate
//! (S3 and S3-compatible stores, GCS, Azure, local files) driven from the pipeline's plain
//! threads through a small tokio runtime of its own. Credentials and endpoints come from the
//! environment, as `object_store`'s `from_env` builders read them (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ALLOW_HTTP`, `GOOGLE_*`,
//! `AZURE_*`).

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreScheme};

use crate::object::{options, ListedObject, ObjectError};

/// One store (a URL's bucket and prefix) and the runtime its requests run on.
pub struct Store {
    /// The URL it was opened with, without a trailing `/`.
    url: String,
    store: Arc<dyn ObjectStore>,
    /// The key prefix the URL names (empty: the whole bucket).
    prefix: String,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

/// Stores opened so far, by URL: a listed corpus's files are opened by their URLs later.
fn stores() -> &'static Mutex<HashMap<String, Arc<Store>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<Store>>>> = OnceLock::new();
    STORES.get_or_init(|| Mutex::new(HashMap::new()))
}

impl Store {
    /// The store of `url` (`s3://bucket/prefix`, `gs://...`, `az://...`, `file:///dir`), opened
    /// once per process.
    pub fn open(url: &str) -> Result<Arc<Store>, ObjectError> {
        let url = url.trim_end_matches('/');
        if let Some(s) = stores().lock().ok().and_then(|m| m.get(url).cloned()) {
            return Ok(s);
        }
        let s = Arc::new(Store::build(url)?);
        if let Ok(mut m) = stores().lock() {
            m.insert(url.to_string(), s.clone());
        }
        Ok(s)
    }

    fn build(url: &str) -> Result<Store, ObjectError> {
        let bad = |source| ObjectError::Url {
            url: url.to_string(),
            source,
        };
        let parsed = url::Url::parse(url).map_err(|source| ObjectError::BadUrl {
            url: url.to_string(),
            source,
        })?;
        let (scheme, prefix) = ObjectStoreScheme::parse(&parsed).map_err(|e| bad(e.into()))?;
        let store: Arc<dyn ObjectStore> = match scheme {
            ObjectStoreScheme::Local => Arc::new(object_store::local::LocalFileSystem::new()),
            ObjectStoreScheme::AmazonS3 => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(bad)?,
            ),
            ObjectStoreScheme::GoogleCloudStorage => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(bad)?,
            ),
            ObjectStoreScheme::MicrosoftAzure => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(bad)?,
            ),
            _ => {
                return Err(bad(object_store::Error::NotSupported {
                    source: "only s3://, gs://, az:// and file:// URLs are read".into(),
                }))
            }
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("prov-object-store")
            .enable_all()
            .build()
            .map_err(ObjectError::Runtime)?;
        Ok(Store {
            url: url.to_string(),
            store,
            prefix: prefix.as_ref().to_string(),
            rt,
        })
    }

    /// The store an object URL belongs to (the longest URL already opened that is a prefix of
    /// it, else its parent) and the object's key relative to that store's prefix.
    pub fn for_object(url: &str) -> Result<(Arc<Store>, String), ObjectError> {
        let found = stores().lock().ok().and_then(|m| {
            m.iter()
                .filter_map(|(base, s)| {
                    let rel = url.strip_prefix(base.as_str())?.strip_prefix('/')?;
                    Some((base.len(), s.clone(), rel.to_string()))
                })
                .max_by_key(|(n, _, _)| *n)
        });
        if let Some((_, s, rel)) = found {
            return Ok((s, rel));
        }
        let (base, rel) = url.rsplit_once('/').unwrap_or((url, ""));
        Ok((Store::open(base)?, rel.to_string()))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn err(&self, source: object_store::Error) -> ObjectError {
        ObjectError::Store {
            url: self.url.clone(),
            source,
        }
    }

    /// The key of `rel` under this store's prefix.
    fn key(&self, rel: &str) -> ObjPath {
        let full = match (self.prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{rel}", self.prefix),
        };
        ObjPath::parse(&full).unwrap_or_else(|_| ObjPath::from(full))
    }

    /// Every object under the prefix, sorted by key, each with the full URL to open it by. A
    /// URL naming one object lists that object under its file name.
    pub fn list_corpus(&self) -> Result<Vec<ListedObject>, ObjectError> {
        let prefix = (!self.prefix.is_empty()).then(|| self.key(""));
        let metas: Vec<_> = self
            .rt
            .block_on(self.store.list(prefix.as_ref()).try_collect::<Vec<_>>())
            .map_err(|e| self.err(e))?;
        let under = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut out: Vec<ListedObject> = metas
            .into_iter()
            .filter_map(|m| {
                let rel = m
                    .location
                    .as_ref()
                    .strip_prefix(under.as_str())?
                    .to_string();
                Some(ListedObject {
                    path: format!("{}/{rel}", self.url),
                    rel,
                    size: m.size,
                })
            })
            .collect();
        if out.is_empty() && !self.prefix.is_empty() {
            // Perhaps one object: `prov hash s3://bucket/data.jsonl`.
            let head = self.rt.block_on(self.store.head(&self.key("")));
            match head {
                Ok(m) => {
                    let name = self.prefix.rsplit('/').next().unwrap_or("").to_string();
                    out.push(ListedObject {
                        path: self.url.clone(),
                        rel: name,
                        size: m.size,
                    });
                }
                Err(e) => return Err(self.err(e)),
            }
        }
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(out)
    }

    /// The names of the objects directly under `rel/` (a tile's `.p/` widths).
    pub fn list_names(&self, rel: &str) -> Result<Vec<String>, ObjectError> {
        let dir = self.key(rel);
        let listed = self
            .rt
            .block_on(self.store.list_with_delimiter(Some(&dir)))
            .map_err(|e| self.err(e))?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|m| m.location.filename().map(str::to_string))
            .collect())
    }

    /// A streaming reader of the object `rel`, `None` when it does not exist.
    pub fn reader_opt(self: &Arc<Self>, rel: &str) -> Result<Option<ObjectReader>, ObjectError> {
        match self.reader(rel) {
            Err(e) if e.is_not_found() => Ok(None),
            other => other.map(Some),
        }
    }

    /// The object `rel` whole, `None` when it does not exist.
    pub fn get(&self, rel: &str) -> Result<Option<Bytes>, ObjectError> {
        let key = self.key(rel);
        let got = self.rt.block_on(async {
            let r = self.store.get(&key).await?;
            r.bytes().await
        });
        match got {
            Ok(b) => Ok(Some(b)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Bytes `range` of the object `rel`.
    pub fn get_range(&self, rel: &str, range: Range<u64>) -> Result<Bytes, ObjectError> {
        let key = self.key(rel);
        self.rt
            .block_on(self.store.get_range(&key, range))
            .map_err(|e| self.err(e))
    }

    /// A streaming reader of the object `rel` (its size read first).
    pub fn reader(self: &Arc<Self>, rel: &str) -> Result<ObjectReader, ObjectError> {
        let key = self.key(rel);
        let meta = self
            .rt
            .block_on(self.store.head(&key))
            .map_err(|e| self.err(e))?;
        Ok(ObjectReader::new(self.clone(), key, 0, meta.size))
    }

    /// Random access to the object `rel` for the Parquet reader.
    pub fn chunks(self: &Arc<Self>, rel: &str) -> Result<ObjectChunks, ObjectError> {
        let key = self.key(rel);
        let meta = self
            .rt
            .block_on(self.store.head(&key))
            .map_err(|e| self.err(e))?;
        Ok(ObjectChunks {
            store: self.clone(),
            key,
            len: meta.size,
        })
    }
}

type Pending = tokio::task::JoinHandle<Result<Bytes, object_store::Error>>;

/// Reads an object front to back as ranged reads, `concurrency` of them in flight: the bytes of
/// at most `concurrency x range_bytes` are held at once.
pub struct ObjectReader {
    store: Arc<Store>,
    key: ObjPath,
    /// The end of the object (or of the part read).
    end: u64,
    /// The next offset to ask for.
    next: u64,
    inflight: VecDeque<(Pending, u64)>,
    current: Bytes,
}

impl ObjectReader {
    fn new(store: Arc<Store>, key: ObjPath, start: u64, end: u64) -> Self {
        ObjectReader {
            store,
            key,
            end,
            next: start,
            inflight: VecDeque::new(),
            current: Bytes::new(),
        }
    }

    /// The object's size.
    pub fn len(&self) -> u64 {
        self.end
    }

    pub fn is_empty(&self) -> bool {
        self.end == 0
    }

    fn fill(&mut self) {
        let o = options();
        while self.inflight.len() < o.concurrency.max(1) && self.next < self.end {
            let to = self
                .end
                .min(self.next.saturating_add(o.range_bytes.max(1) as u64));
            let (store, key, range) = (self.store.store.clone(), self.key.clone(), self.next..to);
            let h = self
                .store
                .rt
                .spawn(async move { store.get_range(&key, range).await });
            self.inflight.push_back((h, to - self.next));
            self.next = to;
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            self.fill();
            let Some((h, want)) = self.inflight.pop_front() else {
                return Ok(0);
            };
            let got = self
                .store
                .rt
                .block_on(h)
                .map_err(io::Error::other)?
                .map_err(|e| io::Error::from(self.store.err(e)))?;
            if got.len() as u64 != want {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{}/{}: a ranged read gave {} bytes, want {want} (the object changed?)",
                        self.store.url,
                        self.key,
                        got.len()
                    ),
                ));
            }
            self.current = got;
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        for (h, _) in &self.inflight {
            h.abort();
        }
    }
}

/// An object as Parquet's random-access input: the footer and each projected column chunk are
/// ranged reads.
pub struct ObjectChunks {
    store: Arc<Store>,
    key: ObjPath,
    len: u64,
}

impl parquet::file::reader::Length for ObjectChunks {
    fn len(&self) -> u64 {
        self.len
    }
}

impl parquet::file::reader::ChunkReader for ObjectChunks {
    type T = ObjectReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<ObjectReader> {
        Ok(ObjectReader::new(
            self.store.clone(),
            self.key.clone(),
            start.min(self.len),
            self.len,
        ))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start.saturating_add(length as u64);
        self.store
            .rt
            .block_on(self.store.store.get_range(&self.key, start..end))
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(self.store.err(e))))
    }
}
