//! The service's defences, against a real server on loopback spoken to over raw sockets: what a
//! failing or full disk answers (and never tells), per-client opt-out limits and who the client
//! is, slow-loris headers and idle sockets.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::{Config, Server};
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ledger::entry::{Entry, EntryBody, Name, OptOut, OptOutIds, Publisher, Scope};
use ledger::ledger::Ledger;
use ledger::note::NoteSigner;
use ledger::sequencer::SequencerConfig;
use ledger::store::{Column, Durability, LogStore, Record, RocksStore, StoreError, WriteBatch};
use ledger::types::ContentId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Free space of a roomy disk.
const PLENTY: u64 = 1 << 40;

const SECRET: &str = "SECRET-MARKER /srv/ledger/db/000042.log";

/// A real RocksDB store whose free space a test sets, and whose synced writes a test can make
/// fail with an error whose text holds [`SECRET`].
struct Disk {
    inner: RocksStore,
    /// What `available_bytes` reports (the test plays the disk filling and emptying).
    available: AtomicU64,
    fail_writes: AtomicBool,
}

impl LogStore for Disk {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(col, key)
    }
    fn get_many(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.inner.get_many(col, keys)
    }
    fn range(&self, c: Column, s: &[u8], e: &[u8], n: usize) -> Result<Vec<Record>, StoreError> {
        self.inner.range(c, s, e, n)
    }
    fn last_in_range(&self, c: Column, s: &[u8], e: &[u8]) -> Result<Option<Record>, StoreError> {
        self.inner.last_in_range(c, s, e)
    }
    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError> {
        if durability == Durability::Synced && self.fail_writes.load(Ordering::SeqCst) {
            return Err(StoreError::Io(std::io::Error::other(SECRET)));
        }
        self.inner.write(batch, durability)
    }
    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }
    fn available_bytes(&self) -> Result<Option<u64>, StoreError> {
        Ok(Some(self.available.load(Ordering::SeqCst)))
    }
}

fn config() -> Config {
    let mut c = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    // Tests not about the floor must not depend on the free space of the machine they run on.
    c.limits.min_free_bytes = 0;
    c
}

/// A server over a new ledger on a [`Disk`].
async fn serve_disk(config: Config) -> (SocketAddr, Arc<Disk>, Ledger, tempfile::TempDir, Stop) {
    serve_disk_with(config, None).await
}

async fn serve_disk_with(
    config: Config,
    validate_hook: Option<ledger::sequencer::ValidateHook>,
) -> (SocketAddr, Arc<Disk>, Ledger, tempfile::TempDir, Stop) {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(Disk {
        inner: RocksStore::create(&dir.path().join("db")).unwrap(),
        available: AtomicU64::new(PLENTY),
        fail_writes: AtomicBool::new(false),
    });
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap();
    let seq = SequencerConfig {
        max_delay: Duration::from_millis(1),
        min_free_bytes: config.limits.min_free_bytes,
        validate_hook,
        ..Default::default()
    };
    let ledger = Ledger::create_with_store(disk.clone(), signer, seq).unwrap();
    let server = Server::with_ledger(ledger.clone(), config).await.unwrap();
    let (addr, stop) = run(server);
    (addr, disk, ledger, dir, stop)
}

/// A server over a new ledger in a temporary directory (real RocksDB).
async fn serve(tweak: impl FnOnce(&mut Config)) -> (SocketAddr, tempfile::TempDir, Stop) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config {
        data_dir: dir.path().join("ledger"),
        origin: Some(ORIGIN.to_string()),
        ..config()
    };
    tweak(&mut c);
    let server = Server::bind(c).await.unwrap();
    let (addr, stop) = run(server);
    (addr, dir, stop)
}

/// Stops the server when dropped.
struct Stop(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

fn run(server: Server) -> (SocketAddr, Stop) {
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    (addr, Stop(Some(tx)))
}

/// A TCP connection to `addr` from local address `from` (any port).
async fn connect_from(from: IpAddr, addr: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(from, 0)).unwrap();
    s.connect(addr).await.unwrap()
}

struct Reply {
    status: u16,
    /// Header lines and body, as sent.
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        let head = self.text.split("\r\n\r\n").next()?;
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    fn problem_type(&self) -> String {
        let body = self
            .text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        v["type"].as_str().unwrap_or_default().to_string()
    }
}

/// One HTTP/1.1 request on a new connection from `from`, read to the end.
async fn request(
    addr: SocketAddr,
    from: IpAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = connect_from(from, addr).await;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("a reply within 20 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {text:?}"));
    Reply { status, text }
}

/// The test log's origin, which every entry names (`log`).
const ORIGIN: &str = "test.prov-ledger.local/log";

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));

async fn post(addr: SocketAddr, from: IpAddr, entry: &[u8], headers: &[(&str, &str)]) -> Reply {
    request(addr, from, "POST", "/v1/entries", headers, entry).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn optout_body(i: u64) -> OptOut {
    OptOut {
        ids: Some(OptOutIds::Inline(vec![ContentId::of(&i.to_be_bytes())])),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    }
}

fn anonymous_optout(i: u64) -> Vec<u8> {
    Entry::anonymous(ORIGIN, optout_body(i), now(), Some(i))
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn signed_optout(i: u64, key: &SigningKey) -> Vec<u8> {
    Entry::sign(
        ORIGIN,
        EntryBody::OptOut(optout_body(i)),
        now(),
        Some(i),
        key,
    )
    .unwrap()
    .as_bytes()
    .to_vec()
}

fn publisher(name: &str, key: &SigningKey) -> Vec<u8> {
    let body = EntryBody::Publisher(Publisher {
        name: Name::new(name).unwrap(),
        key: key.verifying_key(),
    });
    Entry::sign(ORIGIN, body, now(), None, key)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// A storage failure's text (paths, internals) is logged, never sent: the client gets the
/// generic `storage-unavailable` problem with Retry-After. Before: 503 "ledger stopped: writing
/// batch at 0: storage i/o error: SECRET-MARKER ...".
#[tokio::test]
async fn storage_error_detail_is_not_sent_to_clients() {
    let (addr, disk, ledger, _dir, _stop) = serve_disk(config()).await;
    let ok = post(addr, LOCAL, &anonymous_optout(1), &[]).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    disk.fail_writes.store(true, Ordering::SeqCst);
    // The failing write, then a write to the stopped sequencer: neither tells.
    for i in 2..4 {
        let r = post(addr, LOCAL, &anonymous_optout(i), &[]).await;
        assert_eq!(r.status, 503, "{}", r.text);
        assert_eq!(
            r.problem_type(),
            "urn:prov-ledger:problem:storage-unavailable"
        );
        assert!(r.header("retry-after").is_some(), "{}", r.text);
        assert!(
            !r.text.contains("SECRET"),
            "storage detail sent: {}",
            r.text
        );
        assert!(
            !r.text.contains("/srv/ledger"),
            "storage detail sent: {}",
            r.text
        );
    }
    // The detail is kept for the operator, typed.
    let why = ledger.fatal().expect("the sequencer stopped");
    let mut chain = why.to_string();
    let mut cur = std::error::Error::source(&*why);
    while let Some(c) = cur {
        chain.push_str(&format!(": {c}"));
        cur = c.source();
    }
    assert!(chain.contains("SECRET-MARKER"), "{chain}");
    // Health says so, without the detail either.
    let h = request(addr, LOCAL, "GET", "/healthz", &[], b"").await;
    assert!(!h.text.contains("SECRET"), "{}", h.text);
}

/// Below the free-space floor entries are refused with 507 before anything is written and
/// nothing is poisoned; when space returns, writing resumes by itself. Before: no floor, and a
/// full disk failed a durable write and stopped the sequencer until restart.
#[tokio::test]
async fn full_disk_is_refused_with_507_and_writing_resumes() {
    let mut c = config();
    c.limits.min_free_bytes = 64 << 20;
    let (addr, disk, ledger, _dir, _stop) = serve_disk(c).await;
    let first = post(addr, LOCAL, &anonymous_optout(1), &[]).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let size = ledger.checkpoint().size();
    let stored = ledger::store::log::durable_size(&*disk).unwrap();

    disk.available.store(10 << 20, Ordering::SeqCst);
    for i in 2..5 {
        let r = post(addr, LOCAL, &anonymous_optout(i), &[]).await;
        assert_eq!(r.status, 507, "{}", r.text);
        assert_eq!(
            r.problem_type(),
            "urn:prov-ledger:problem:insufficient-storage"
        );
        assert!(r.header("retry-after").is_some(), "{}", r.text);
    }
    assert!(ledger.fatal().is_none(), "refused for space, yet poisoned");
    assert_eq!(ledger.checkpoint().size(), size, "signed while full");
    assert_eq!(
        ledger::store::log::durable_size(&*disk).unwrap(),
        stored,
        "half-written while full"
    );

    disk.available.store(PLENTY, Ordering::SeqCst);
    for i in 2..5 {
        let r = post(addr, LOCAL, &anonymous_optout(i), &[]).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_eq!(ledger.checkpoint().size().0, size.0 + 3);
}

/// Signed opt-outs from keys that no publisher uses cost nothing to make, so they are
/// rate-limited per client like anonymous ones; a registered publisher's are not. Before: any
/// signature skipped the limit.
#[tokio::test]
async fn throwaway_key_optouts_are_rate_limited() {
    let (addr, _dir, _stop) = serve(|c| {
        c.limits.anonymous_optout_burst = 3;
        c.limits.anonymous_optouts_per_minute = 1;
    })
    .await;
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..6u8 {
        let throwaway = SigningKey::from_bytes(&[100 + i; 32]);
        let r = post(addr, LOCAL, &signed_optout(u64::from(i), &throwaway), &[]).await;
        statuses.push(r.status);
        last = Some(r);
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429, 429]);
    let last = last.unwrap();
    assert_eq!(last.problem_type(), "urn:prov-ledger:problem:rate-limited");
    assert!(last.header("retry-after").is_some());
    // Anonymous ones share the same bucket: still refused.
    let r = post(addr, LOCAL, &anonymous_optout(50), &[]).await;
    assert_eq!(r.status, 429, "{}", r.text);

    // A registered publisher's opt-outs are not limited.
    let key = SigningKey::from_bytes(&[9; 32]);
    let r = post(addr, LOCAL, &publisher("acme", &key), &[]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    for i in 100..108 {
        let r = post(addr, LOCAL, &signed_optout(i, &key), &[]).await;
        assert_eq!(r.status, 201, "publisher opt-out {i}: {}", r.text);
    }
    // Naming the publisher's key without its signature earns no exemption.
    let mut forged: serde_json::Value = serde_json::from_slice(&signed_optout(200, &key)).unwrap();
    forged["sig"] =
        serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode([0u8; 64]));
    let r = post(addr, LOCAL, &serde_json::to_vec(&forged).unwrap(), &[]).await;
    assert_eq!(r.status, 429, "{}", r.text);
}

/// `X-Forwarded-For` names the client only when the TCP peer is a trusted proxy; otherwise a
/// client could pick a new address per request and escape every per-client limit.
#[tokio::test]
async fn forwarded_for_is_ignored_unless_from_trusted_proxy() {
    let one = |c: &mut Config| {
        c.limits.anonymous_optout_burst = 1;
        c.limits.anonymous_optouts_per_minute = 1;
    };
    // No trusted proxy: the header is ignored, the peer is the client.
    let (addr, _dir, _stop) = serve(one).await;
    let r = post(
        addr,
        LOCAL,
        &anonymous_optout(1),
        &[("X-Forwarded-For", "198.51.100.1")],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = post(
        addr,
        LOCAL,
        &anonymous_optout(2),
        &[("X-Forwarded-For", "198.51.100.2")],
    )
    .await;
    assert_eq!(
        r.status, 429,
        "a spoofed X-Forwarded-For escaped the limit: {}",
        r.text
    );

    // 127.0.0.1 is a trusted proxy: its header names the client; 127.0.0.2 is not.
    let (addr, _dir2, _stop2) = serve(|c| {
        one(c);
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let xff = |ip| [("X-Forwarded-For", ip)];
    let r = post(addr, LOCAL, &anonymous_optout(1), &xff("198.51.100.1")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = post(addr, LOCAL, &anonymous_optout(2), &xff("198.51.100.2")).await;
    assert_eq!(r.status, 201, "another client behind the proxy: {}", r.text);
    let r = post(addr, LOCAL, &anonymous_optout(3), &xff("198.51.100.1")).await;
    assert_eq!(
        r.status, 429,
        "the same client behind the proxy: {}",
        r.text
    );
    // A client prepending a hop of its own choosing is still itself.
    let r = post(
        addr,
        LOCAL,
        &anonymous_optout(4),
        &xff("203.0.113.5, 198.51.100.2"),
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.text);
    let other: IpAddr = "127.0.0.2".parse().unwrap();
    let r = post(addr, other, &anonymous_optout(5), &xff("198.51.100.3")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = post(addr, other, &anonymous_optout(6), &xff("198.51.100.4")).await;
    assert_eq!(
        r.status, 429,
        "an untrusted peer's header was believed: {}",
        r.text
    );
}

/// Reads until the peer closes; `Ok(bytes)` when it did within `wait`.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, ()> {
    let mut got = Vec::new();
    match tokio::time::timeout(wait, s.read_to_end(&mut got)).await {
        Ok(_) => Ok(got), // EOF, or a reset: either way, closed
        Err(_) => Err(()),
    }
}

/// A client that sends half a request line and then nothing is disconnected once the header
/// read timeout passes. Before: no header timeout; the connection stayed open for good.
#[tokio::test]
async fn slow_loris_headers_are_cut_off() {
    let (addr, _dir, _stop) = serve(|c| c.limits.header_read_timeout_secs = 1).await;
    let mut s = connect_from(LOCAL, addr).await;
    s.write_all(b"GET /checkpoint HT").await.unwrap();
    let start = std::time::Instant::now();
    let closed = closed_within(&mut s, Duration::from_secs(8)).await;
    assert!(
        closed.is_ok(),
        "a half-sent request line held its connection"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "closed too early"
    );
    // An honest client is served.
    let r = request(addr, LOCAL, "GET", "/checkpoint", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Idle sockets from one address beyond the per-address cap are closed at once, and a client at
/// another address is still served. Before: no cap; every idle socket was kept (until the
/// process ran out of descriptors and nobody was served).
#[tokio::test]
async fn idle_sockets_from_one_address_do_not_exhaust_connections() {
    const CAP: usize = 4;
    const IDLE: usize = 60;
    let (addr, _dir, _stop) = serve(|c| {
        c.limits.max_connections_per_ip = CAP;
        c.limits.max_connections = 32;
        // Long, so that what closes the extra sockets is the cap, not the timeout.
        c.limits.header_read_timeout_secs = 60;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..IDLE {
        idle.push(connect_from(LOCAL, addr).await);
    }
    let mut closed = 0;
    for s in &mut idle {
        if closed_within(s, Duration::from_millis(300)).await.is_ok() {
            closed += 1;
        }
    }
    assert_eq!(
        closed,
        IDLE - CAP,
        "the server kept more than {CAP} idle sockets"
    );
    // More idle sockets than the global cap were opened, yet another address is served.
    let other: IpAddr = "127.0.0.2".parse().unwrap();
    let r = request(addr, other, "GET", "/checkpoint", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text);
    drop(idle);
}

/// An entry whose validation panics inside the ledger is answered 503 with Retry-After (our
/// fault, worth retrying), not 422, and its neighbours are served. Before: 422 "validation
/// thread panicked" for a whole chunk of entries.
#[tokio::test]
async fn a_panicking_validation_is_a_retryable_503() {
    let marker = anonymous_optout(666);
    let hook = {
        let marker = marker.clone();
        ledger::sequencer::ValidateHook(Arc::new(move |bytes: &[u8]| {
            if bytes == marker.as_slice() {
                panic!("injected: validation bug");
            }
        }))
    };
    let (addr, _disk, ledger, _dir, _stop) = serve_disk_with(config(), Some(hook)).await;
    let r = post(addr, LOCAL, &marker, &[]).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.problem_type(), "urn:prov-ledger:problem:unavailable");
    assert!(r.header("retry-after").is_some(), "{}", r.text);
    let r = post(addr, LOCAL, &anonymous_optout(1), &[]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(ledger.fatal().is_none());
}
