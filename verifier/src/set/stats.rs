//! The statistics of a set with metadata (docs/api.md, "Statistics"), the one definition: items
//! and bytes per licence, per consent value, per host of the source tree (top [`MAX_HOSTS`]) and
//! without a source. The service derives them at commit (`ledger`, served by `/stats`); `prov
//! report training-summary` recomputes them from the leaves and metadata it verified, never
//! trusting `/stats`; the explorer's `lib/stats.js` is a second implementation held by
//! `api/explorer/test/vectors/meta.json`.
//!
//! Memory is bounded: licence and consent values are tallied in maps of at most
//! [`MAX_VALUES`] distinct values (later new values count under [`OTHER`]), hosts come grouped
//! by host (the caller sorts them) into a bounded selection of the largest.

use std::collections::{BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};

use super::meta::LeafMeta;
pub use super::meta::NONE;

/// Hosts kept in [`SetStats::hosts`]: the largest by bytes.
pub const MAX_HOSTS: usize = 1000;
/// Distinct licence (or consent) values tallied; past it, new values count under [`OTHER`].
pub const MAX_VALUES: usize = 10_000;
/// The bucket of values past [`MAX_VALUES`].
pub const OTHER: &str = "(other)";

/// Items and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub items: u64,
    pub bytes: u64,
}

/// Items and bytes of one value (a licence, a consent signal, a host).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub value: String,
    pub items: u64,
    pub bytes: u64,
}

/// A set's statistics, derived from its metadata at commit. Each list is sorted by bytes
/// (largest first), then items (largest first), then value.
///
/// - `licences`: per distinct `license` value of a leaf's source entries ([`NONE`] for an entry
///   without one): the leaves (distinct contents) carrying it, and the sum of their sizes. A
///   leaf whose entries name two licences counts under both.
/// - `consent`: the same for `consent`.
/// - `hosts`: per host of the source tree (`verifier::source::SourceKey::host`): its source leaves
///   (distinct (source key, content) pairs, the count a range proof over the host proves) and
///   the sum of their contents' sizes; the [`MAX_HOSTS`] largest by bytes.
/// - `no_source`: the source leaves under the no-source key (leaves with an entry without a
///   usable `source`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetStats {
    pub licences: Vec<Tally>,
    pub consent: Vec<Tally>,
    pub hosts: Vec<Tally>,
    pub no_source: Counts,
}

/// Builds [`SetStats`] in one pass over the leaves (licences, consent) and one over the sorted
/// source leaves (hosts, no-source).
#[derive(Debug)]
pub struct StatsBuilder {
    licences: HashMap<String, Counts>,
    consent: HashMap<String, Counts>,
    /// The host run in progress: (host, counts).
    host: Option<(String, Counts)>,
    /// The largest hosts so far, smallest on top.
    top: BinaryHeap<std::cmp::Reverse<Ranked>>,
    no_source: Counts,
    max_hosts: usize,
}

/// Orders tallies for the bounded selection: bytes, then items, then the smaller value first.
#[derive(Debug, PartialEq, Eq)]
struct Ranked(Tally);

impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.0.bytes, self.0.items)
            .cmp(&(o.0.bytes, o.0.items))
            .then_with(|| o.0.value.cmp(&self.0.value))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Default for StatsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl StatsBuilder {
    pub fn new() -> Self {
        Self::with_max_hosts(MAX_HOSTS)
    }

    /// Keeps the `max_hosts` largest hosts instead of [`MAX_HOSTS`] (`usize::MAX`: all).
    pub fn with_max_hosts(max_hosts: usize) -> Self {
        StatsBuilder {
            licences: HashMap::new(),
            consent: HashMap::new(),
            host: None,
            top: BinaryHeap::new(),
            no_source: Counts::default(),
            max_hosts,
        }
    }

    /// Counts one leaf (content of `size` bytes) under its licences and consent signals.
    pub fn add_leaf(&mut self, size: u64, meta: &LeafMeta) {
        for l in meta.licences() {
            tally(&mut self.licences, l, size);
        }
        for c in meta.consents() {
            tally(&mut self.consent, c, size);
        }
    }

    /// Counts one source leaf under the no-source key, of a content of `size` bytes.
    pub fn add_no_source(&mut self, size: u64) {
        self.no_source.items += 1;
        self.no_source.bytes = self.no_source.bytes.saturating_add(size);
    }

    /// Counts one source leaf of `host`, of a content of `size` bytes. The leaves of one host
    /// must come together (the service streams them sorted by host).
    pub fn add_host_leaf(&mut self, host: &str, size: u64) {
        match &mut self.host {
            Some((h, c)) if h == host => {
                c.items += 1;
                c.bytes = c.bytes.saturating_add(size);
            }
            _ => {
                self.close_host();
                self.host = Some((
                    host.to_owned(),
                    Counts {
                        items: 1,
                        bytes: size,
                    },
                ));
            }
        }
    }

    fn close_host(&mut self) {
        if let Some((value, c)) = self.host.take() {
            self.top.push(std::cmp::Reverse(Ranked(Tally {
                value,
                items: c.items,
                bytes: c.bytes,
            })));
            if self.top.len() > self.max_hosts {
                self.top.pop();
            }
        }
    }

    pub fn finish(mut self) -> SetStats {
        self.close_host();
        let mut hosts: Vec<Tally> = self.top.into_iter().map(|r| r.0 .0).collect();
        sort(&mut hosts);
        SetStats {
            licences: sorted(self.licences),
            consent: sorted(self.consent),
            hosts,
            no_source: self.no_source,
        }
    }
}

fn tally(map: &mut HashMap<String, Counts>, value: &str, size: u64) {
    let key = if map.contains_key(value) || map.len() < MAX_VALUES {
        value
    } else {
        OTHER
    };
    let c = map.entry(key.to_owned()).or_default();
    c.items += 1;
    c.bytes = c.bytes.saturating_add(size);
}

fn sorted(map: HashMap<String, Counts>) -> Vec<Tally> {
    let mut v: Vec<Tally> = map
        .into_iter()
        .map(|(value, c)| Tally {
            value,
            items: c.items,
            bytes: c.bytes,
        })
        .collect();
    sort(&mut v);
    v
}

fn sort(v: &mut [Tally]) {
    v.sort_by(|a, b| {
        (b.bytes, b.items)
            .cmp(&(a.bytes, a.items))
            .then_with(|| a.value.cmp(&b.value))
    });
}

#[cfg(test)]
mod tests {
    use super::super::meta::SourceEntry;
    use super::*;

    #[test]
    fn stats_count_leaves_per_value_and_hosts_per_run() {
        let mut b = StatsBuilder::new();
        let m = |l: &[Option<&str>]| LeafMeta {
            sources: l
                .iter()
                .map(|l| SourceEntry {
                    license: l.map(str::to_owned),
                    ..SourceEntry::default()
                })
                .collect(),
        };
        b.add_leaf(10, &m(&[Some("MIT"), Some("MIT")]));
        b.add_leaf(5, &m(&[Some("MIT"), None]));
        b.add_no_source(5);
        b.add_host_leaf("a.com", 10);
        b.add_host_leaf("a.com", 5);
        b.add_host_leaf("www.a.com", 1);
        let s = b.finish();
        assert_eq!(
            s.licences,
            vec![
                Tally {
                    value: "MIT".into(),
                    items: 2,
                    bytes: 15
                },
                Tally {
                    value: NONE.into(),
                    items: 1,
                    bytes: 5
                },
            ]
        );
        assert_eq!(
            s.consent,
            vec![Tally {
                value: NONE.into(),
                items: 2,
                bytes: 15
            }]
        );
        assert_eq!(s.no_source, Counts { items: 1, bytes: 5 });
        assert_eq!(
            s.hosts,
            vec![
                Tally {
                    value: "a.com".into(),
                    items: 2,
                    bytes: 15
                },
                Tally {
                    value: "www.a.com".into(),
                    items: 1,
                    bytes: 1
                },
            ]
        );
    }

    #[test]
    fn only_the_largest_hosts_are_kept() {
        let mut b = StatsBuilder::new();
        for i in 0..(MAX_HOSTS as u64 + 10) {
            b.add_host_leaf(&format!("h{i:05}.com"), i);
        }
        let s = b.finish();
        assert_eq!(s.hosts.len(), MAX_HOSTS);
        assert_eq!(s.hosts[0].bytes, MAX_HOSTS as u64 + 9);
        assert_eq!(s.hosts[MAX_HOSTS - 1].bytes, 10);
    }
}
