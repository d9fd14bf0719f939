//! Per-client rate limiting of anonymous opt-outs: a token bucket per peer IP.
//!
//! Anonymous opt-outs are the one write anyone can make without a key, so they are the one write
//! a single client could flood the log with. Signed entries are limited by their keys instead
//! (a publisher name is bound to one key; a version cannot be published twice).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
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

/// The peer's IP, when the server was started with connection info (always, over a socket;
/// absent in `oneshot` tests, where every request counts as one client).
pub fn peer_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
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
