//! Where a reader reads a ledger from (SPEC16 A): the service (`prov serve`), or a static mirror
//! of it — a local directory, a static HTTP(S) base (a CDN, a bucket's website endpoint), or an
//! object store URL (`s3://bucket/prefix`, `gs://`, `az://`, `file://`), as `prov serve
//! --publish` writes it. The object names are the service's route paths without the leading
//! `/` (`checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`, `sets/<root>.leaves`,
//! `sets/<root>.meta`, `passages/<root>.leaves`), with the same bytes.
//!
//! Nothing read here is trusted for where it came from: a checkpoint is verified with the log's
//! key and every tile, bundle and leaf counts only through a root or proof recomputed from it and
//! matched against that checkpoint, exactly as with the service. A static mirror has no dynamic
//! routes; readers compute what the service would have from the static objects.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::client::Client;
use crate::exit::{Exit, Failure, OrExit};

/// The environment variable `--tiles` falls back to.
pub const TILES_ENV: &str = "PROV_TILES";

/// A ledger to read from.
pub enum LogSource {
    /// `prov serve`: the static routes and the dynamic API.
    Service(Client),
    /// A local directory laid out as the bucket (C2SP tlog-tiles plus `sets/`, `passages/`).
    Dir(PathBuf),
    /// A static HTTP(S) base: `GET BASE/<object>`, 404 for a missing object.
    Http(Client),
    /// An object store URL, read with the environment's credentials.
    #[cfg(feature = "object-store")]
    Object(std::sync::Arc<hasher::object_reader::Store>),
}

impl LogSource {
    /// A mirror at LOCATION: `http(s)://` (static HTTP), an object store URL, or a directory.
    pub fn mirror(location: &str) -> Result<LogSource, Failure> {
        if location.starts_with("http://") || location.starts_with("https://") {
            return Ok(LogSource::Http(Client::new(location)?));
        }
        if let Some(url) = hasher::object::object_url(Path::new(location)) {
            #[cfg(feature = "object-store")]
            {
                let store = hasher::object_reader::Store::open(url)
                    .or_exit(Exit::Invalid, format!("--tiles {location}"))?;
                return Ok(LogSource::Object(store));
            }
            #[cfg(not(feature = "object-store"))]
            return Err(Failure::msg(
                Exit::Invalid,
                format!("--tiles {url}: this build reads no object storage (feature object-store)"),
            ));
        }
        let dir = PathBuf::from(location);
        if !dir.is_dir() {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("--tiles {location}: not a directory, an http(s):// base or an object store URL"),
            ));
        }
        Ok(LogSource::Dir(dir))
    }

    /// The mirror `tiles` names when given, else the service at `server`.
    pub fn mirror_or_service(tiles: Option<&str>, server: &str) -> Result<LogSource, Failure> {
        match tiles {
            Some(t) => LogSource::mirror(t),
            None => Ok(LogSource::Service(Client::new(server)?)),
        }
    }

    /// Whether only static objects can be read (no dynamic routes).
    pub fn is_static(&self) -> bool {
        !matches!(self, LogSource::Service(_))
    }

    /// The service's client, when this is the service.
    pub fn service(&self) -> Option<&Client> {
        match self {
            LogSource::Service(c) => Some(c),
            _ => None,
        }
    }

    /// Where it is, in words.
    pub fn describe(&self) -> String {
        match self {
            LogSource::Service(c) => format!("the tiles of {}", c.base()),
            LogSource::Dir(d) => format!("the tiles in {}", d.display()),
            LogSource::Http(c) => format!("the mirror at {}", c.base()),
            #[cfg(feature = "object-store")]
            LogSource::Object(s) => format!("the mirror at {}", s.url()),
        }
    }

    /// The exit code of a mirror that lacks an object it must have: a local copy that does
    /// not cover what is asked is bad input; a server or published mirror failing its promise
    /// is the server's failure.
    fn missing_exit(&self) -> Exit {
        match self {
            LogSource::Dir(_) => Exit::Invalid,
            _ => Exit::Server,
        }
    }

    /// The object `path` (relative, e.g. `tile/0/000`), `None` when it does not exist.
    pub fn get(&self, path: &str) -> Result<Option<Vec<u8>>, Failure> {
        let path = path.trim_start_matches('/');
        #[cfg(feature = "object-store")]
        if let LogSource::Object(s) = self {
            // One GET, no HEAD first: tiles and bundles are small.
            return Ok(s
                .get(path)
                .or_exit(Exit::Server, format!("reading {path}"))?
                .map(|b| b.to_vec()));
        }
        match self.open(path)? {
            None => Ok(None),
            Some(mut r) => {
                let mut out = Vec::new();
                r.read_to_end(&mut out).or_exit(
                    Exit::Server,
                    format!("reading {path} from {}", self.describe()),
                )?;
                Ok(Some(out))
            }
        }
    }

    /// The object `path`, which must exist.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>, Failure> {
        if let LogSource::Service(c) = self {
            return c.get_bytes(path);
        }
        self.get(path)?.ok_or_else(|| self.missing(path))
    }

    /// The object `path` as UTF-8 text, which must exist.
    pub fn get_text(&self, path: &str) -> Result<String, Failure> {
        let bytes = self.get_bytes(path)?;
        String::from_utf8(bytes).or_exit(Exit::Server, format!("{path}: not UTF-8"))
    }

    /// A missing object `path` that the question needs (`why`): the mirror cannot decide it,
    /// which is never an absence. Exit 3 whatever the mirror: every tree an entry names is
    /// published before the checkpoint that covers the entry (SPEC16 A), so a mirror whose
    /// checkpoint covers the entry and lacks the tree is broken.
    pub fn missing_because(&self, path: &str, why: &str) -> Failure {
        Failure::msg(
            Exit::Server,
            format!(
                "{} has no {} ({why}): the mirror cannot decide this",
                self.describe(),
                path.trim_start_matches('/')
            ),
        )
    }

    /// The mirror's `checkpoint.cosigned`, for a witness policy: without it the policy cannot
    /// be met (exit 2, as a cosigned checkpoint with too few cosignatures).
    pub fn cosigned_note(&self) -> Result<String, Failure> {
        match self.get("checkpoint.cosigned")? {
            Some(b) => {
                String::from_utf8(b).or_exit(Exit::Invalid, "checkpoint.cosigned: not UTF-8")
            }
            None => Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "{} has no checkpoint.cosigned: no witness cosigned it, so the witness policy \
                     (--min-witnesses) cannot be met",
                    self.describe()
                ),
            )),
        }
    }

    fn missing(&self, path: &str) -> Failure {
        Failure::msg(
            self.missing_exit(),
            format!(
                "{} has no {}: the mirror does not cover what is asked",
                self.describe(),
                path.trim_start_matches('/')
            ),
        )
    }

    /// The object `path` as a stream, `None` when it does not exist.
    pub fn open(&self, path: &str) -> Result<Option<Box<dyn Read + Send>>, Failure> {
        let path = path.trim_start_matches('/');
        match self {
            LogSource::Service(c) | LogSource::Http(c) => c.get_reader_opt(path),
            LogSource::Dir(d) => match std::fs::File::open(d.join(path)) {
                Ok(f) => Ok(Some(Box::new(std::io::BufReader::new(f)))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Failure::new(
                    Exit::Local,
                    anyhow::Error::new(e).context(format!("reading {}", d.join(path).display())),
                )),
            },
            #[cfg(feature = "object-store")]
            LogSource::Object(s) => Ok(s
                .reader_opt(path)
                .or_exit(Exit::Server, format!("reading {path}"))?
                .map(|r| Box::new(r) as Box<dyn Read + Send>)),
        }
    }

    /// The tile (or entry bundle) at `path`. A mirror may hold a partial tile in full (or
    /// wider) where the asked tree has it partial: that copy is returned, and the caller keeps
    /// the first entries or hashes (each is checked against a verified checkpoint anyway).
    pub fn get_tile(&self, path: &str) -> Result<Vec<u8>, Failure> {
        if let LogSource::Service(c) = self {
            return c.get_bytes(path);
        }
        if let Some(b) = self.get(path)? {
            return Ok(b);
        }
        if let Some((full, _)) = path.split_once(".p/") {
            if let Some(b) = self.get(full)? {
                return Ok(b);
            }
            let want: u16 = path
                .rsplit('/')
                .next()
                .and_then(|w| w.parse().ok())
                .unwrap_or(u16::MAX);
            let mut widths: Vec<u16> = self
                .names_under(&format!("{full}.p"))?
                .iter()
                .filter_map(|n| n.parse().ok())
                .filter(|w| *w >= want)
                .collect();
            widths.sort_unstable();
            if let Some(w) = widths.first() {
                return self.get_bytes(&format!("{full}.p/{w}"));
            }
        }
        Err(self.missing(path))
    }

    /// Names directly under `dir` where the mirror can list them (a directory, an object
    /// store); nothing for static HTTP.
    fn names_under(&self, dir: &str) -> Result<Vec<String>, Failure> {
        match self {
            LogSource::Dir(d) => Ok(std::fs::read_dir(d.join(dir))
                .map(|rd| {
                    rd.filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()),
            #[cfg(feature = "object-store")]
            LogSource::Object(s) => s
                .list_names(dir)
                .or_exit(Exit::Server, format!("listing {dir}")),
            _ => Ok(Vec::new()),
        }
    }
}

/// `--tiles LOCATION` for the readers (flattened into their arguments).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TilesArg {
    /// Read the log from a static mirror instead of the service: a directory, an http(s)://
    /// base (static GETs), or an object store URL (s3://BUCKET/PREFIX, gs://, az://, file://;
    /// credentials from the environment), laid out as `prov serve --publish` writes it.
    #[arg(long = "tiles", value_name = "LOCATION", env = TILES_ENV)]
    pub tiles: Option<String>,
}

/// How `prov hash` / `prov publish` read an object store corpus (flattened into their args).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ObjectReadArgs {
    /// Object store corpora (s3://...): ranged reads in flight per object.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        env = "PROV_OBJECT_CONCURRENCY"
    )]
    pub object_concurrency: usize,
    /// Object store corpora: MiB per ranged read.
    #[arg(
        long,
        value_name = "MIB",
        default_value_t = 4,
        env = "PROV_OBJECT_RANGE_MIB"
    )]
    pub object_range_mib: usize,
}

impl ObjectReadArgs {
    /// Makes these the options every object read uses.
    pub fn apply(&self) {
        hasher::object::configure(hasher::object::ObjectOptions {
            concurrency: self.object_concurrency,
            range_bytes: self.object_range_mib.saturating_mul(1 << 20),
        });
    }
}
