//! A real Garage (<https://garagehq.deuxfleurs.fr>, a distributed S3-compatible object store) on
//! loopback, started by the tests themselves: one node for ordinary tests
//! ([`Garage::start`]), three for the cluster test ([`Garage::start_cluster`]).
//!
//! Garage is AGPL and is used as a separate program, never linked: `scripts/setup` installs
//! `garage` 2.5.0 into `${XDG_CACHE_HOME:-$HOME/.cache}/garage/bin/garage` (once; the build takes
//! ~13 minutes on 2 cores). `PROV_GARAGE` names another binary. Without one a test prints a skip
//! message and returns ([`garage_binary`]), unless `CI` is set: there setup must have installed it,
//! and its absence fails the test.
//!
//! What a started Garage has: every node on 127.0.0.1 with ports the OS picked, metadata in
//! SQLite, data in a temporary directory; the layout assigned and applied; one access key
//! (imported, so its id and secret are known) allowed read, write and owner on one bucket,
//! [`BUCKET`]; and website access enabled on that bucket so that anonymous static reads work.
//!
//! Anonymous reads ([`Garage::web_url`]): Garage's `[s3_web]` endpoint serves a bucket whose
//! website access is allowed (`garage bucket website --allow`) to anyone, choosing the bucket
//! from the request's `Host` header: `<bucket><root_domain>`, or, when the host does not end with
//! `root_domain`, the whole host name (port stripped) as a global bucket alias. Bucket names may
//! not be IP addresses, so the bucket also gets the global alias `localhost`, and
//! `http://localhost:PORT/<key>` reads object `<key>` with no credentials and no special header:
//! a plain static HTTP base, as a CDN in front of a bucket would be.
//!
//! The cluster: three nodes, replication factor 3, Garage's default `consistent` mode, so reads and
//! writes need a quorum of 2 of the 3 copies: with one node stopped everything keeps working,
//! with two it stops (replication 2 would lose write quorum for the partitions on the stopped
//! node). The S3 endpoint of [`Garage::env`] and [`Garage::s3`] is node 0's: stop another node.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use tempfile::TempDir;

/// The bucket every started Garage has.
pub const BUCKET: &str = "prov-test";
/// Garage's region name for its S3 API (any name; clients must send the same).
pub const REGION: &str = "garage";
/// The global alias that makes `http://localhost:PORT/` the bucket's website.
const WEB_ALIAS: &str = "localhost";

/// The garage binary: `PROV_GARAGE`, else `${XDG_CACHE_HOME:-$HOME/.cache}/garage/bin/garage`.
/// `None` (after printing why `test` is skipped) when there is none; panics when `CI` is set,
/// where `scripts/setup` must have installed it.
pub fn garage_binary(test: &str) -> Option<PathBuf> {
    let path = match std::env::var_os("PROV_GARAGE") {
        Some(p) => PathBuf::from(p),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
            match cache {
                Some(c) => c.join("garage/bin/garage"),
                None => PathBuf::from("garage"),
            }
        }
    };
    if path.is_file() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{test}: no garage binary at {} (CI is set: scripts/setup installs it)",
            path.display()
        );
    }
    eprintln!(
        "skipping {test}: no garage binary at {} (scripts/setup installs it; or set PROV_GARAGE)",
        path.display()
    );
    None
}

/// One Garage node: its configuration and ports, and its process while it runs.
struct Node {
    dir: PathBuf,
    config: PathBuf,
    s3_port: u16,
    web_port: u16,
    child: Option<Child>,
}

/// A running Garage (one node or a cluster). Dropping it kills every node.
pub struct Garage {
    bin: PathBuf,
    nodes: Vec<Node>,
    key_id: String,
    secret: String,
    _dir: TempDir,
}

impl Garage {
    /// One node, replication 1. Panics when there is no binary (use [`Garage::start_or_skip`]).
    pub fn start() -> Garage {
        Self::start_or_skip("Garage::start").expect("a garage binary")
    }

    /// One node, or `None` (after a skip message) when there is no binary and `CI` is unset.
    pub fn start_or_skip(test: &str) -> Option<Garage> {
        let bin = garage_binary(test)?;
        Some(Self::launch(bin, 1))
    }

    /// `n` nodes (3 for the cluster test), replication `n`; `None` as [`Garage::start_or_skip`].
    pub fn start_cluster(n: usize, test: &str) -> Option<Garage> {
        let bin = garage_binary(test)?;
        Some(Self::launch(bin, n))
    }

    /// `s3://prov-test/PREFIX` (no trailing slash).
    pub fn s3_url(&self, prefix: &str) -> String {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            format!("s3://{BUCKET}")
        } else {
            format!("s3://{BUCKET}/{prefix}")
        }
    }

    /// The S3 endpoint (node 0's), `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.nodes[0].s3_port)
    }

    /// The environment a child process (or `object_store`'s `from_env` builders) needs to reach
    /// the bucket: the key, the endpoint, the region, and plain HTTP allowed on loopback.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret.clone()),
            ("AWS_ENDPOINT".into(), self.endpoint()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_DEFAULT_REGION".into(), REGION.into()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// The anonymous static HTTP base of `PREFIX` in the bucket (Garage's website endpoint on
    /// node 0): `GET {web_url}/<object>` reads an object with no credentials. Always `Some` for
    /// Garage; an `Option` because not every store offers one.
    pub fn web_url(&self, prefix: &str) -> Option<String> {
        let prefix = prefix.trim_matches('/');
        let base = format!("http://{WEB_ALIAS}:{}", self.nodes[0].web_port);
        Some(if prefix.is_empty() {
            base
        } else {
            format!("{base}/{prefix}")
        })
    }

    /// An `object_store` client for the bucket (whole bucket; callers add their prefix).
    pub fn s3(&self) -> Arc<AmazonS3> {
        let store = AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_access_key_id(&self.key_id)
            .with_secret_access_key(&self.secret)
            .with_endpoint(self.endpoint())
            .with_region(REGION)
            .with_allow_http(true)
            .build()
            .expect("S3 client for Garage");
        Arc::new(store)
    }

    /// Stops node `i` (SIGKILL, as a crash or a lost machine would).
    pub fn stop_node(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `i` again on its old configuration, ports and data, and waits for the
    /// cluster to be healthy again.
    pub fn restart_node(&mut self, i: usize) {
        if self.nodes[i].child.is_none() {
            let child = spawn(&self.bin, &self.nodes[i]);
            self.nodes[i].child = Some(child);
        }
        wait_for(&self.bin, &self.nodes[i], "node status", |n| {
            run(&self.bin, n, &["status"]).map(|_| ())
        });
        self.wait_healthy();
    }

    /// Whether node `i` runs.
    pub fn node_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    fn launch(bin: PathBuf, n: usize) -> Garage {
        let dir = tempfile::tempdir().expect("temp dir for garage");
        let rpc_secret = random_hex(32);
        let rpc_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut nodes = Vec::with_capacity(n);
        for (i, rpc_port) in rpc_ports.iter().enumerate() {
            let node_dir = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&node_dir).expect("node dir");
            let (s3_port, web_port, admin_port) = (free_port(), free_port(), free_port());
            let config = node_dir.join("garage.toml");
            std::fs::write(
                &config,
                format!(
                    r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = {n}
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{rpc_secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"

[s3_web]
bind_addr = "127.0.0.1:{web_port}"
root_domain = ".web.garage.localhost"
index = "index.html"

[admin]
api_bind_addr = "127.0.0.1:{admin_port}"
admin_token = "{admin_token}"
"#,
                    meta = node_dir.join("meta").display(),
                    data = node_dir.join("data").display(),
                    admin_token = random_hex(16),
                ),
            )
            .expect("garage config");
            let mut node = Node {
                dir: node_dir,
                config,
                s3_port,
                web_port,
                child: None,
            };
            node.child = Some(spawn(&bin, &node));
            nodes.push(node);
        }
        let mut garage = Garage {
            bin,
            nodes,
            key_id: format!("GK{}", random_hex(12)),
            secret: random_hex(32),
            _dir: dir,
        };
        garage.configure();
        garage
    }

    /// Connects the nodes, assigns and applies the layout, imports the key, creates the bucket.
    fn configure(&mut self) {
        let bin = &self.bin;
        for node in &self.nodes {
            wait_for(bin, node, "garage status", |n| {
                run(bin, n, &["status"]).map(|_| ())
            });
        }
        let ids: Vec<String> = self
            .nodes
            .iter()
            .map(|n| {
                let out = self.garage(n, &["node", "id", "-q"]);
                out.trim().to_string()
            })
            .collect();
        let first = &self.nodes[0];
        for id in &ids[1..] {
            self.garage(first, &["node", "connect", id]);
        }
        for (i, id) in ids.iter().enumerate() {
            let hex = id.split('@').next().unwrap_or(id);
            let zone = format!("dc{}", i + 1);
            // The layout is a cluster-wide object; node 0 may need a moment to see the others.
            wait_for(bin, first, "layout assign", |n| {
                run(bin, n, &["layout", "assign", "-z", &zone, "-c", "1G", hex]).map(|_| ())
            });
        }
        self.garage(first, &["layout", "apply", "--version", "1"]);
        self.wait_healthy();
        let first = &self.nodes[0];
        self.garage(
            first,
            &[
                "key",
                "import",
                &self.key_id,
                &self.secret,
                "-n",
                "prov-test",
                "--yes",
            ],
        );
        self.garage(first, &["bucket", "create", BUCKET]);
        self.garage(
            first,
            &[
                "bucket",
                "allow",
                "--read",
                "--write",
                "--owner",
                BUCKET,
                "--key",
                &self.key_id,
            ],
        );
        self.garage(first, &["bucket", "alias", BUCKET, WEB_ALIAS]);
        self.garage(first, &["bucket", "website", "--allow", BUCKET]);
    }

    /// Waits (60 s at most) until every partition has a quorum of its nodes up.
    fn wait_healthy(&self) {
        let bin = &self.bin;
        let running: Vec<&Node> = self.nodes.iter().filter(|n| n.child.is_some()).collect();
        let probe = running[0];
        wait_for(bin, probe, "cluster health", |n| {
            let out = run(bin, n, &["json-api", "GetClusterHealth"])?;
            let v: serde_json::Value =
                serde_json::from_str(&out).map_err(|e| format!("health JSON: {e}: {out}"))?;
            let quorum = v["partitionsQuorum"].as_u64();
            let all = v["partitions"].as_u64();
            if quorum.is_some() && quorum == all && v["status"] != "unavailable" {
                Ok(())
            } else {
                Err(format!("not yet healthy: {out}"))
            }
        });
    }

    /// Runs a garage CLI command against `node`; panics with its output and the node's log.
    fn garage(&self, node: &Node, args: &[&str]) -> String {
        run(&self.bin, node, args).unwrap_or_else(|e| panic!("{e}\n{}", log_tail(node)))
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.stop_node(i);
        }
    }
}

fn spawn(bin: &Path, node: &Node) -> Child {
    let log = |name: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join(name))
            .expect("garage log file")
    };
    Command::new(bin)
        .arg("-c")
        .arg(&node.config)
        .arg("server")
        .env("RUST_LOG", "garage=warn")
        .stdin(Stdio::null())
        .stdout(log("stdout.log"))
        .stderr(log("stderr.log"))
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()))
}

fn run(bin: &Path, node: &Node, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("-c")
        .arg(&node.config)
        .args(args)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running garage {args:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "garage {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Retries `f` every 250 ms for 60 s; panics with its last error and the node's log.
fn wait_for(_bin: &Path, node: &Node, what: &str, mut f: impl FnMut(&Node) -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match f(node) {
            Ok(()) => return,
            Err(e) if Instant::now() >= deadline => {
                panic!("garage: {what} timed out: {e}\n{}", log_tail(node))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

fn log_tail(node: &Node) -> String {
    let log = std::fs::read_to_string(node.dir.join("stderr.log")).unwrap_or_default();
    let start = log.len().saturating_sub(4000);
    let start = (start..log.len())
        .find(|&i| log.is_char_boundary(i))
        .unwrap_or(log.len());
    format!("garage log ({}):\n{}", node.dir.display(), &log[start..])
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
