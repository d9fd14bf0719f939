//! Per-client limits: who the client is, how many connections it may hold, and the rate of
//! the writes anyone can make.
//!
//! - **The client's address** ([`client_ip`]): the TCP peer's, unless the peer is a configured
//!   trusted proxy, in which case the last address of `X-Forwarded-For` that is not itself a
//!   trusted proxy. Every per-client limit uses it; a client that talks to the service directly
//!   cannot choose it by sending the header.
//! - **Connections** ([`ConnectionLimiter`]): at most `max_connections_per_ip` open connections
//!   per peer address (trusted proxies exempt) and `max_connections` in all; more are closed at
//!   once, so a few hundred idle sockets from one address cannot starve everyone else.
//! - **Opt-outs** ([`RateLimiter`]): a token bucket per client address. Anonymous opt-outs, and
//!   signed ones from keys that no publisher uses, are the writes anyone can make with a fresh
//!   key for free, so they are the ones a single client could flood the log with.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

/// Buckets beyond this many trigger a sweep of the full (idle) ones, so that memory stays
/// bounded however many addresses a client rotates through.
const SWEEP_AT: usize = 100_000;

/// A token bucket per client IP: `burst` tokens, refilled at `per_minute / 60` per second.
#[derive(Debug)]
pub struct RateLimiter {
    rate_per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter {
            rate_per_sec: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`. `Err(seconds)` says how long until one is available.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        // A poisoned lock only means another request panicked mid-update of a counter; the
        // counters are still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= SWEEP_AT {
            let (rate, burst) = (self.rate_per_sec, self.burst);
            buckets.retain(|_, b| refill(b, rate, burst, now) < burst);
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = refill(b, self.rate_per_sec, self.burst, now);
        if tokens >= 1.0 {
            b.tokens = tokens - 1.0;
            b.at = now;
            Ok(())
        } else {
            b.tokens = tokens;
            b.at = now;
            let wait = (1.0 - tokens) / self.rate_per_sec;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

fn refill(b: &Bucket, rate: f64, burst: f64, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + elapsed * rate).min(burst)
}

/// The client's IP: the one the server resolved for the request ([`ClientIp`], from the peer
/// and the trusted proxies), else the peer's (connection info), else `0.0.0.0` (`oneshot` tests,
/// where every request counts as one client).
pub fn peer_ip(parts: &Parts) -> IpAddr {
    if let Some(ClientIp(ip)) = parts.extensions.get::<ClientIp>() {
        return *ip;
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// A request extension set by the server: the client's address as [`client_ip`] resolved it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client of a request from TCP peer `peer`: `peer` itself unless it is a trusted proxy;
/// then the rightmost `X-Forwarded-For` address that is not a trusted proxy (the one the
/// nearest trusted proxy saw), or `peer` when the header is absent or malformed. Addresses to
/// the left of that one were written by the client and are never believed.
pub fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpBlock]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|b| b.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else {
            return peer;
        };
        for part in v.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// An address or a CIDR block, as `trusted_proxies` lists them: `"10.0.0.7"`, `"10.0.0.0/8"`,
/// `"::1/128"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct IpBlock {
    addr: IpAddr,
    prefix: u8,
}

impl IpBlock {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        // An IPv4 client seen on an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client.
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(*v6)),
            v4 => *v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (whole, bits) = (usize::from(prefix / 8), prefix % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if bits == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - bits);
    (a[whole] & mask) == (b[whole] & mask)
}

/// Why a `trusted_proxies` entry was refused.
#[derive(Debug, thiserror::Error)]
#[error("not an IP address or CIDR block: {0:?}")]
pub struct BadIpBlock(String);

impl std::str::FromStr for IpBlock {
    type Err = BadIpBlock;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadIpBlock(s.to_string());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(IpBlock { addr, prefix })
    }
}

impl TryFrom<String> for IpBlock {
    type Error = BadIpBlock;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Open connections, per peer address and in all. [`ConnectionLimiter::admit`] hands out a
/// [`ConnectionPermit`] that gives its place back when dropped (the connection ends).
#[derive(Debug)]
pub struct ConnectionLimiter {
    per_ip: usize,
    total: usize,
    exempt: Vec<IpBlock>,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// A place among the open connections; see [`ConnectionLimiter`].
#[derive(Debug)]
pub struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl ConnectionLimiter {
    /// At most `per_ip` connections per peer address (addresses in `exempt`, the trusted
    /// proxies, are held only to `total`), and `total` in all.
    pub fn new(per_ip: usize, total: usize, exempt: Vec<IpBlock>) -> Arc<Self> {
        Arc::new(ConnectionLimiter {
            per_ip: per_ip.max(1),
            total: total.max(1),
            exempt,
            open: Mutex::new(Open::default()),
        })
    }

    /// A place for a new connection from `ip`, or `None` when it must be closed at once.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionPermit> {
        let exempt = self.exempt.iter().any(|b| b.contains(&ip));
        // A poisoned lock only means a thread panicked mid-update of a counter.
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.total {
            return None;
        }
        let mine = open.by_ip.get(&ip).copied().unwrap_or(0);
        if !exempt && mine >= self.per_ip {
            return None;
        }
        open.total += 1;
        open.by_ip.insert(ip, mine + 1);
        Some(ConnectionPermit {
            limiter: self.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

/// Extractor: the client's IP (see [`peer_ip`]).
#[derive(Clone, Copy, Debug)]
pub struct PeerIp(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(peer_ip(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn xff(v: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpBlock> = vec!["10.0.0.0/8".parse().unwrap()];
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        // From a stranger, the header is ignored.
        assert_eq!(client_ip(client, &xff("198.51.100.1"), &trusted), client);
        // From the proxy, the rightmost untrusted hop; spoofed hops to its left are not.
        let h = xff("1.1.1.1, 203.0.113.9, 10.9.9.9");
        assert_eq!(client_ip(proxy, &h, &trusted), client);
        // A malformed header, or none, counts as the proxy itself.
        assert_eq!(client_ip(proxy, &xff("nonsense"), &trusted), proxy);
        assert_eq!(
            client_ip(proxy, &axum::http::HeaderMap::new(), &trusted),
            proxy
        );
    }

    #[test]
    fn ip_blocks_parse_and_match() {
        let b: IpBlock = "127.0.0.1/32".parse().unwrap();
        assert!(b.contains(&"127.0.0.1".parse().unwrap()));
        assert!(!b.contains(&"127.0.0.2".parse().unwrap()));
        assert!(b.contains(&"::ffff:127.0.0.1".parse().unwrap()));
        let b: IpBlock = "192.168.0.0/20".parse().unwrap();
        assert!(b.contains(&"192.168.15.255".parse().unwrap()));
        assert!(!b.contains(&"192.168.16.0".parse().unwrap()));
        let b: IpBlock = "::1".parse().unwrap();
        assert!(b.contains(&"::1".parse().unwrap()));
        for bad in ["", "1.2.3", "1.2.3.4/33", "::1/129", "1.2.3.4/x"] {
            assert!(bad.parse::<IpBlock>().is_err(), "{bad}");
        }
    }

    #[test]
    fn connections_are_capped_per_address_and_in_all() {
        let exempt = vec!["10.0.0.1".parse().unwrap()];
        let l = ConnectionLimiter::new(2, 5, exempt);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let p1 = l.admit(a).unwrap();
        let _p2 = l.admit(a).unwrap();
        assert!(l.admit(a).is_none(), "third from one address");
        let _b = l.admit("192.0.2.2".parse().unwrap()).unwrap();
        drop(p1);
        let _p3 = l.admit(a).unwrap();
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let _x = l.admit(proxy).unwrap();
        let _y = l.admit(proxy).unwrap();
        assert!(
            l.admit(proxy).is_none(),
            "the global cap holds for proxies too"
        );
        assert_eq!(l.open(), 5);
    }

    #[test]
    fn burst_then_refused_then_refilled() {
        let rl = RateLimiter::new(60, 3);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(rl.check_at(ip, t0), Ok(()));
        }
        assert_eq!(rl.check_at(ip, t0), Err(1));
        // Another client is not affected.
        assert_eq!(rl.check_at(IpAddr::from([10, 0, 0, 2]), t0), Ok(()));
        // One token per second comes back.
        assert_eq!(rl.check_at(ip, t0 + Duration::from_millis(1100)), Ok(()));
        assert!(rl.check_at(ip, t0 + Duration::from_millis(1100)).is_err());
    }
}
