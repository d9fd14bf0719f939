//! Corpora in object storage: `prov hash s3://BUCKET/PREFIX` (and `gs://`, `az://`, `file://`).
//!
//! A corpus path that is an object store URL is listed instead of walked: every object under the
//! prefix, sorted by key, with the key relative to the prefix as its relative path (the path a
//! local copy of the same tree gives, so the metadata's `path`, `--shard K/N` and the root are
//! the same as for the local copy). Each object is then read as a stream of ranged reads, several
//! in flight ([`ObjectOptions`]): memory stays bounded by `concurrency x range_bytes` per object
//! open, whatever the object's size. Parquet files are read through ranged reads of the parts
//! the reader needs (footer, then the projected column chunks).
//!
//! This module is always built, so that the walker can recognise an object URL and say what is
//! missing; the store itself (crate `object_store`, tokio) is behind the `object-store` feature
//! (`crate::object_reader`).

use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;

/// URL schemes read through `object_store` (`s3a`, `abfs(s)` and `azure` are its aliases).
const SCHEMES: &[&str] = &[
    "s3", "s3a", "gs", "az", "adl", "azure", "abfs", "abfss", "file",
];

/// The object store URL `path` is, if it is one (`s3://bucket/prefix`, `file:///abs/dir`, ...).
pub fn object_url(path: &Path) -> Option<&str> {
    let s = path.to_str()?;
    let (scheme, rest) = s.split_once("://")?;
    SCHEMES
        .contains(&scheme.to_ascii_lowercase().as_str())
        .then_some(())
        .filter(|_| !rest.is_empty())
        .map(|_| s)
}

/// How objects are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectOptions {
    /// Ranged reads in flight per object being read.
    pub concurrency: usize,
    /// Bytes per ranged read.
    pub range_bytes: usize,
}

/// 4 reads of 4 MiB in flight: enough to hide a store's first-byte latency at a few hundred
/// MB/s per stream, 16 MiB of buffers per open object.
pub const DEFAULT_OPTIONS: ObjectOptions = ObjectOptions {
    concurrency: 4,
    range_bytes: 4 << 20,
};

static OPTIONS: Mutex<ObjectOptions> = Mutex::new(DEFAULT_OPTIONS);

/// Sets how objects are read from now on (`prov hash --object-concurrency`, `--object-range-mib`).
/// Zero values keep the defaults.
pub fn configure(opts: ObjectOptions) {
    let o = ObjectOptions {
        concurrency: if opts.concurrency == 0 {
            DEFAULT_OPTIONS.concurrency
        } else {
            opts.concurrency
        },
        range_bytes: if opts.range_bytes == 0 {
            DEFAULT_OPTIONS.range_bytes
        } else {
            opts.range_bytes
        },
    };
    if let Ok(mut g) = OPTIONS.lock() {
        *g = o;
    }
}

/// The options in force.
pub fn options() -> ObjectOptions {
    OPTIONS.lock().map(|g| *g).unwrap_or(DEFAULT_OPTIONS)
}

/// Why an object could not be read or listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// An object URL on a binary built without the `object-store` feature.
    #[error("{url}: this build reads no object storage (cargo feature `object-store`)")]
    NotBuilt { url: String },
    /// Not a URL `object_store` knows.
    #[cfg(feature = "object-store")]
    #[error("{url}: not an object store URL ({source})")]
    Url {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[cfg(feature = "object-store")]
    #[error("{url}: not a URL ({source})")]
    BadUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
    /// The store's answer: missing credentials, unreachable endpoint, access denied...
    #[cfg(feature = "object-store")]
    #[error("{url}: {source}")]
    Store {
        url: String,
        #[source]
        source: object_store::Error,
    },
    /// The async runtime the reads run on could not start.
    #[error("starting the object store runtime: {0}")]
    Runtime(#[source] io::Error),
}

impl ObjectError {
    /// Whether this is the store saying the object does not exist.
    pub fn is_not_found(&self) -> bool {
        #[cfg(feature = "object-store")]
        if let ObjectError::Store {
            source: object_store::Error::NotFound { .. },
            ..
        } = self
        {
            return true;
        }
        false
    }
}

impl From<ObjectError> for io::Error {
    fn from(e: ObjectError) -> io::Error {
        let kind = if e.is_not_found() {
            io::ErrorKind::NotFound
        } else {
            io::ErrorKind::Other
        };
        io::Error::new(kind, e)
    }
}

/// An object of a listed corpus: its key relative to the corpus URL and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// The URL to open it by.
    pub path: String,
    pub rel: String,
    pub size: u64,
}

/// The objects under `url`, sorted by key (an object at exactly `url` is listed by its name).
#[cfg(feature = "object-store")]
pub fn list_corpus(url: &str) -> Result<Vec<ListedObject>, ObjectError> {
    crate::object_reader::Store::open(url)?.list_corpus()
}

#[cfg(not(feature = "object-store"))]
pub fn list_corpus(url: &str) -> Result<Vec<ListedObject>, ObjectError> {
    Err(ObjectError::NotBuilt { url: url.into() })
}

/// Opens the object at `path` (a listed corpus file's path: the corpus URL joined with its
/// relative key) for streaming: `None` when `path` is not an object URL.
pub fn open(path: &Path) -> io::Result<Option<(Box<dyn Read + Send>, u64)>> {
    let Some(url) = object_url(path) else {
        return Ok(None);
    };
    #[cfg(feature = "object-store")]
    {
        let (store, key) = crate::object_reader::Store::for_object(url)?;
        let r = store.reader(&key)?;
        let len = r.len();
        Ok(Some((Box::new(r), len)))
    }
    #[cfg(not(feature = "object-store"))]
    Err(ObjectError::NotBuilt { url: url.into() }.into())
}

/// Random access to the object at `path` for the Parquet reader: `None` when `path` is not an
/// object URL.
#[cfg(feature = "object-store")]
pub fn parquet_input(path: &Path) -> io::Result<Option<crate::object_reader::ObjectChunks>> {
    let Some(url) = object_url(path) else {
        return Ok(None);
    };
    let (store, key) = crate::object_reader::Store::for_object(url)?;
    Ok(Some(store.chunks(&key)?))
}

/// Hashes a large object as it streams in (the content id is BLAKE3 of its bytes, whichever
/// backend). With `passages`, the text is needed whole: it is read into memory, as a large local
/// file is.
pub(crate) fn hash_large(
    r: &mut dyn Read,
    backend: &dyn crate::ContentHasher,
    passages: Option<&mut Vec<[u8; crate::passages::PASSAGE_LEAF]>>,
) -> io::Result<[u8; 32]> {
    if let Some(p) = passages {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)?;
        let h = backend.hash_large(&bytes).map_err(io::Error::other)?;
        crate::passages::item_passages(&bytes, &h, p);
        return Ok(h);
    }
    let mut r = r;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; options().range_bytes.clamp(64 << 10, 64 << 20)];
    loop {
        let (n, err) = crate::text::fill(&mut r, &mut buf);
        h.update_rayon(&buf[..n]);
        if let Some(e) = err {
            return Err(e);
        }
        if n < buf.len() {
            return Ok(*h.finalize().as_bytes());
        }
    }
}
