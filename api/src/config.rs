//! The service's one typed configuration, parsed and validated at load ("parse, don't
//! validate"): from a TOML file, then overridden by command-line flags. The environment is read
//! only at the edge (the binary), never here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// Everything `prov serve` needs. Every field has a default, so an empty TOML file (or none) is a
/// working configuration for one machine on loopback.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`: loopback unless asked otherwise.
    pub listen: SocketAddr,
    /// The ledger directory. Created (with a new key) when it does not exist; refused when it
    /// exists but is not a ledger.
    pub data_dir: PathBuf,
    /// The log's name (the checkpoint origin line), used only when a ledger is created.
    /// Default: `prov-ledger.local/<directory name>`. Losing it means nothing: it is stored in
    /// the ledger.
    pub origin: Option<String>,
    /// Publisher keys allowed to register or publish, for a closed deployment: 64 hex digits
    /// (Ed25519 public keys). `None`: anyone may register a publisher. Opt-outs are never
    /// restricted: the point of an opt-out is that anyone can file one.
    pub publisher_allowlist: Option<Vec<String>>,
    /// Serve the explorer from this directory instead of the files embedded at build time.
    pub explorer_dir: Option<PathBuf>,
    /// Reverse proxies whose `X-Forwarded-For` is believed: addresses (`"10.0.0.7"`) or CIDR
    /// blocks (`"127.0.0.1/32"`). A request from any other peer is attributed to the peer's own
    /// address, whatever it sends in the header. Empty (the default): the header is ignored.
    pub trusted_proxies: Vec<crate::limits::IpBlock>,
    pub limits: Limits,
    pub uploads: UploadLimits,
    pub sets: SetsConfig,
    /// Witnesses (C2SP tlog-witness v1) this log submits each new checkpoint to, one
    /// `[[witness]]` table each. Empty (the default): no witnessing, and `/checkpoint.cosigned`
    /// answers 404. Losing this list costs nothing but the cosignatures not yet collected.
    #[serde(rename = "witness")]
    pub witnesses: Vec<WitnessConfig>,
    /// How many of the listed witnesses (k of n) must have cosigned a checkpoint before it is
    /// the one `/checkpoint.cosigned` serves. Default: all of them.
    pub witness_policy_min: Option<usize>,
    /// Seconds one `add-checkpoint` request to a witness may take before it counts as failed.
    pub witness_timeout_secs: u64,
    /// Mirror the log into an object store (docs/publishing.md): `s3://BUCKET/PREFIX`,
    /// `gs://…`, `az://…` or `file:///abs/dir`. `None` (the default): no mirror. Losing it costs
    /// nothing: the mirror resumes from the bucket's checkpoint.
    pub publish: Option<String>,
    /// `object_store` configuration keys for the publish target (`aws_endpoint`,
    /// `aws_region`, `aws_allow_http`, …), over those `prov serve` takes from the environment
    /// (`AWS_*`, `GOOGLE_*`, `AZURE_*`). Keep secrets in the environment, not here.
    pub publish_options: std::collections::BTreeMap<String, String>,
}

/// One witness of this log: where to submit checkpoints and the key its cosignatures verify with.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The witness's base URL (`http://` or `https://`); `<url>/add-checkpoint` is called.
    pub url: String,
    /// The witness's public key, a vkey of signature type 0x04 (`name+keyid+base64`), as
    /// `prov witness keygen` prints it.
    pub vkey: String,
}

/// Quotas on set uploads (`POST /v1/uploads`). A signed upload counts against its key, an
/// anonymous one against the client's address (an IPv6 address by its /64); every upload also
/// counts against its address, so throwaway keys from one address do not multiply the quota.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UploadLimits {
    /// Uploads in progress per signer key.
    pub per_key: u32,
    /// Anonymous uploads in progress per client address.
    pub anonymous_per_address: u32,
    /// Uploads in progress per client address, signed or not.
    pub per_address: u32,
    /// Uploads in progress in all.
    pub max_uploads: u32,
    /// Largest anonymous upload, in leaves (signed ones: `limits.max_set_leaves`).
    pub anonymous_max_leaves: u64,
    /// Leaves of all the uploads in progress of one key together (their declared sizes).
    pub leaves_in_flight_per_key: u64,
    /// Bytes a manifest upload may send per declared leaf (a leaf line and its metadata),
    /// besides its header line; a leaves upload sends exactly 72 bytes per leaf.
    pub manifest_bytes_per_leaf: u64,
    /// Seconds an upload request's `time` may be off the server's clock.
    pub max_skew_secs: u64,
    /// Seconds an upload may sit without a request before it is dropped.
    pub idle_secs: u64,
    /// Upload requests (`POST /v1/uploads`) per client address per minute, on average.
    pub starts_per_minute: u32,
    /// Upload requests a client address may send in a burst.
    pub start_burst: u32,
}

/// Stored sets.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SetsConfig {
    /// Seconds after which a stored set that no logged entry names is deleted; 0 never deletes.
    /// Sets stored before this version are never deleted.
    pub collect_after_secs: u64,
    /// Who hashes an upload's full 256-leaf records (`--set-hasher`): `auto` (default) a GPU
    /// only where `prov`'s calibration measured it faster on set trees (so never a software
    /// adapter such as lavapipe), `gpu` any adapter (start-up fails without one), `cpu` the
    /// request thread, as before. The stored set is the same whichever hashes it.
    pub hasher: SetHasher,
}

/// The `sets.hasher` choice ([`SetsConfig::hasher`]). `api` only carries it: the binary opens
/// the backend and hands the ledger a `ledger::store::setdevice::RecordRoots`
/// ([`crate::Server::set_record_roots`]).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SetHasher {
    #[default]
    Auto,
    Cpu,
    Gpu,
}

/// Sizes, rates and times that keep one client from exhausting the service.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest JSON body (an entry): an entry is at most 65,535 bytes of canonical JSON, and a
    /// non-canonical submission may carry some whitespace on top.
    pub max_json_body: usize,
    /// Largest body of one set upload request (a whole set, or one chunk of a large one).
    pub max_set_body: usize,
    /// Largest set, in leaves, accepted over the API.
    pub max_set_leaves: u64,
    /// Seconds a request may take before it is answered 503 (set uploads get `upload_timeout_secs`).
    pub request_timeout_secs: u64,
    /// Seconds a set upload request may take.
    pub upload_timeout_secs: u64,
    /// Anonymous opt-outs allowed per client IP per minute, on average.
    pub anonymous_optouts_per_minute: u32,
    /// Anonymous opt-outs a client IP may send in a burst.
    pub anonymous_optout_burst: u32,
    /// New publisher names a client IP may register per minute (a key change is not counted):
    /// a name costs nothing to make, and a registered publisher's opt-outs are not rate-limited,
    /// so registrations are.
    pub publisher_registrations_per_minute: u32,
    /// New publisher names a client IP may register in a burst.
    pub publisher_registration_burst: u32,
    /// Largest page of any list.
    pub max_page: u32,
    /// Seconds an entry's `time` may be from the server's clock, either way; further is refused
    /// (`time-skew`).
    pub max_entry_skew_secs: u64,
    /// Most ids in a signed opt-out's set (anonymous opt-outs carry inline ids only); more is
    /// refused (`optout-set-too-large`).
    pub max_optout_set: u64,
    /// Most leaves in a signed opt-out's passage tree (issue 14; `prov optout` sends at most
    /// the work's 4,096 smallest passage ids); more is refused (`optout-passages-too-large`).
    pub max_optout_passages: u64,
    /// Heavy reads (compliance bundles) built at once; over it: 503 `busy` with `Retry-After`.
    pub heavy_reads: usize,
    /// Compliance bundles kept once built (one per checkpoint entry)...
    pub bundle_cache_entries: usize,
    /// ...and their total size in bytes. A bundle larger than this is built each time.
    pub bundle_cache_bytes: usize,
    /// The free-space floor, in bytes: while the ledger's filesystem has less free, entries and
    /// set uploads are refused with 507 before anything is written, and accepted again once
    /// space is freed.
    pub min_free_bytes: u64,
    /// Seconds a client has to send a request's headers (from the connection's start, or from
    /// the end of its previous request) before the connection is closed: slow-loris defence.
    pub header_read_timeout_secs: u64,
    /// Open connections allowed per client address (trusted proxies are exempt); more from the
    /// same address are closed at once.
    pub max_connections_per_ip: usize,
    /// Open connections allowed in all; more are closed at once.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./prov-data"),
            origin: None,
            publisher_allowlist: None,
            explorer_dir: None,
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
            uploads: UploadLimits::default(),
            sets: SetsConfig::default(),
            witnesses: Vec::new(),
            witness_policy_min: None,
            witness_timeout_secs: 10,
            publish: None,
            publish_options: std::collections::BTreeMap::new(),
        }
    }
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            per_key: 4,
            anonymous_per_address: 2,
            per_address: 8,
            max_uploads: 1024,
            anonymous_max_leaves: 10_000,
            leaves_in_flight_per_key: 400_000_000,
            manifest_bytes_per_leaf: 4096,
            max_skew_secs: 600,
            idle_secs: 900,
            starts_per_minute: 60,
            start_burst: 20,
        }
    }
}

impl Default for SetsConfig {
    fn default() -> Self {
        SetsConfig {
            collect_after_secs: 86_400,
            hasher: SetHasher::Auto,
        }
    }
}

impl SetsConfig {
    /// How long an unnamed set is kept, or `None` when collection is off.
    pub fn collect_after(&self) -> Option<Duration> {
        (self.collect_after_secs > 0).then(|| Duration::from_secs(self.collect_after_secs))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_json_body: 256 * 1024,
            max_set_body: 256 * 1024 * 1024,
            max_set_leaves: 200_000_000,
            request_timeout_secs: 30,
            upload_timeout_secs: 900,
            anonymous_optouts_per_minute: 60,
            anonymous_optout_burst: 20,
            publisher_registrations_per_minute: 6,
            publisher_registration_burst: 30,
            max_page: 1000,
            max_entry_skew_secs: 600,
            max_optout_set: 10_000,
            max_optout_passages: ledger::entry::MAX_OPTOUT_PASSAGES,
            heavy_reads: 4,
            bundle_cache_entries: 256,
            bundle_cache_bytes: 256 * 1024 * 1024,
            min_free_bytes: ledger::sequencer::DEFAULT_MIN_FREE_BYTES,
            header_read_timeout_secs: 10,
            max_connections_per_ip: 64,
            max_connections: 4096,
        }
    }
}

impl Limits {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn upload_timeout(&self) -> Duration {
        Duration::from_secs(self.upload_timeout_secs)
    }

    /// The sequencer's configuration: its defaults, with this file's acceptance limits.
    pub fn sequencer(&self) -> ledger::sequencer::SequencerConfig {
        ledger::sequencer::SequencerConfig {
            max_skew: Duration::from_secs(self.max_entry_skew_secs),
            max_optout_set: self.max_optout_set,
            max_optout_passages: self.max_optout_passages,
            min_free_bytes: self.min_free_bytes,
            ..ledger::sequencer::SequencerConfig::default()
        }
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }
}

/// Command-line flags of `prov serve`, to be flattened into the binary's clap parser. A flag
/// overrides the same key of the config file.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (keys as in `Config`; flags override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ledger directory [default: ./prov-data].
    #[arg(long = "data", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Log name for a newly created ledger.
    #[arg(long)]
    pub origin: Option<String>,
    /// Serve the explorer from this directory.
    #[arg(long, value_name = "DIR")]
    pub explorer_dir: Option<PathBuf>,
    /// Mirror the log into an object store: s3://BUCKET/PREFIX, gs://…, az://…, file:///DIR
    /// (credentials and endpoint from the environment: AWS_*, GOOGLE_*, AZURE_*).
    #[arg(long, value_name = "URL")]
    pub publish: Option<String>,
    /// Who hashes uploaded sets' records: auto (a GPU where calibrated faster), cpu, or gpu
    /// (any adapter) [default: auto, or sets.hasher].
    #[arg(long, value_name = "HASHER")]
    pub set_hasher: Option<SetHasher>,
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// The config file named by `args` (or the defaults), overridden by the flags in `args`.
    pub fn load(args: &ServeArgs) -> Result<Self, ConfigError> {
        let mut config = match &args.config {
            Some(path) => Self::from_file(path)?,
            None => Config::default(),
        };
        if let Some(d) = &args.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(l) = args.listen {
            config.listen = l;
        }
        if let Some(o) = &args.origin {
            config.origin = Some(o.clone());
        }
        if let Some(e) = &args.explorer_dir {
            config.explorer_dir = Some(e.clone());
        }
        if let Some(p) = &args.publish {
            config.publish = Some(p.clone());
        }
        if let Some(h) = args.set_hasher {
            config.sets.hasher = h;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks what types cannot: non-zero limits and well-formed keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        if l.max_json_body == 0 || l.max_set_body == 0 || l.max_page == 0 {
            return Err(ConfigError::Invalid(
                "body limits and max_page must be positive".into(),
            ));
        }
        if l.heavy_reads == 0 {
            return Err(ConfigError::Invalid("heavy_reads must be positive".into()));
        }
        if l.request_timeout_secs == 0
            || l.upload_timeout_secs == 0
            || l.header_read_timeout_secs == 0
        {
            return Err(ConfigError::Invalid("timeouts must be positive".into()));
        }
        if l.anonymous_optouts_per_minute == 0
            || l.anonymous_optout_burst == 0
            || l.publisher_registrations_per_minute == 0
            || l.publisher_registration_burst == 0
        {
            return Err(ConfigError::Invalid(
                "anonymous opt-out rate and burst must be positive".into(),
            ));
        }
        if l.max_connections_per_ip == 0 || l.max_connections < l.max_connections_per_ip {
            return Err(ConfigError::Invalid(
                "max_connections_per_ip must be positive and at most max_connections".into(),
            ));
        }
        let u = &self.uploads;
        if u.per_key == 0
            || u.anonymous_per_address == 0
            || u.per_address == 0
            || u.max_uploads == 0
            || u.idle_secs == 0
            || u.max_skew_secs == 0
            || u.starts_per_minute == 0
            || u.start_burst == 0
        {
            return Err(ConfigError::Invalid(
                "upload quotas, idle_secs and max_skew_secs must be positive (set \
                 anonymous_max_leaves = 0 to refuse anonymous uploads)"
                    .into(),
            ));
        }
        if let Some(keys) = &self.publisher_allowlist {
            for k in keys {
                if k.len() != 64 || hex::decode(k).is_err() {
                    return Err(ConfigError::Invalid(format!(
                        "publisher_allowlist entry is not 64 hex digits: {k:?}"
                    )));
                }
            }
        }
        if let Some(url) = &self.publish {
            crate::publish::check_url(url).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        self.witness_policy()?;
        if self.witness_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "witness_timeout_secs must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The witnesses' keys, in the order listed, and the policy's k: each vkey a witness key,
    /// each URL http(s), no witness key listed twice, and 1 <= k <= n (k = 0 with no witness).
    pub fn witness_policy(
        &self,
    ) -> Result<(Vec<ledger::cosignature::WitnessKey>, usize), ConfigError> {
        let mut keys: Vec<ledger::cosignature::WitnessKey> = Vec::new();
        for w in &self.witnesses {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "witness url is not http(s): {:?}",
                    w.url
                )));
            }
            let k = ledger::cosignature::WitnessKey::parse(&w.vkey)
                .map_err(|e| ConfigError::Invalid(format!("witness vkey {:?}: {e}", w.vkey)))?;
            if keys.contains(&k) {
                return Err(ConfigError::Invalid(format!(
                    "witness vkey listed twice: {:?}",
                    w.vkey
                )));
            }
            keys.push(k);
        }
        let n = keys.len();
        let k = self.witness_policy_min.unwrap_or(n);
        if k > n || (n > 0 && k == 0) {
            return Err(ConfigError::Invalid(format!(
                "witness_policy_min must be between 1 and the number of witnesses ({n}), not {k}"
            )));
        }
        Ok((keys, k))
    }

    /// The admission policy: the publisher allow-list, if any. Entries that are not 64 hex
    /// digits are refused by [`Config::validate`]; one that slipped through admits no key.
    pub(crate) fn admission_policy(&self) -> ledger::store::admission::AdmissionPolicy {
        use ledger::store::admission::AdmissionPolicy;
        match &self.publisher_allowlist {
            None => AdmissionPolicy::open(),
            Some(keys) => AdmissionPolicy::allow_only(keys.iter().filter_map(|k| {
                hex::decode(k)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::from_toml("", Path::new("x.toml")).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn file_keys_and_flags_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prov.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/a\"\n[limits]\nmax_page = 50\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            data_dir: Some(PathBuf::from("/tmp/b")),
            ..ServeArgs::default()
        };
        let c = Config::load(&args).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/b"));
        assert_eq!(c.limits.max_page, 50);
        assert_eq!(c.limits.max_json_body, Limits::default().max_json_body);
    }

    /// The documented example (api/prov.example.toml) parses and states the defaults.
    #[test]
    fn example_file_states_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("prov.example.toml");
        assert_eq!(Config::from_file(&path).unwrap(), Config::default());
    }

    #[test]
    fn publish_url_is_checked_at_load() {
        let p = Path::new("x.toml");
        let c = Config::from_toml(
            "publish = \"s3://bucket/log\"\n[publish_options]\naws_endpoint = \"http://127.0.0.1:3900\"\n",
            p,
        )
        .unwrap();
        assert_eq!(c.publish.as_deref(), Some("s3://bucket/log"));
        assert_eq!(c.publish_options["aws_endpoint"], "http://127.0.0.1:3900");
        for bad in ["http://x/y", "s3:///log", "file://relative", "bucket"] {
            assert!(
                matches!(
                    Config::from_toml(&format!("publish = {bad:?}"), p),
                    Err(ConfigError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let p = Path::new("x.toml");
        assert!(matches!(
            Config::from_toml("listn = \"1\"", p),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            Config::from_toml("[limits]\nmax_page = 0", p),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("publisher_allowlist = [\"abc\"]", p),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn witnesses_and_their_policy_are_checked_at_load() {
        let p = Path::new("x.toml");
        let signer = ledger::cosignature::WitnessSigner::new(
            "w.example",
            ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
        )
        .unwrap();
        let vkey = signer.witness_key().to_string();
        let one = format!("[[witness]]\nurl = \"http://127.0.0.1:1\"\nvkey = \"{vkey}\"\n");
        let c = Config::from_toml(&one, p).unwrap();
        assert_eq!(c.witness_policy().unwrap().1, 1);
        // k over n, k = 0 with witnesses, a log key as a witness key, a bad url, a duplicate.
        for bad in [
            format!("witness_policy_min = 2\n{one}"),
            format!("witness_policy_min = 0\n{one}"),
            one.replace(&vkey, "example.com/log+00000000+AQ=="),
            one.replace("http://", "ftp://"),
            format!("{one}{one}"),
        ] {
            assert!(
                matches!(Config::from_toml(&bad, p), Err(ConfigError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
