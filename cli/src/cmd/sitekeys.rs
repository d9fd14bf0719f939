//! Who controls a site: the keys a site publishes at `https://<host>/.well-known/prov-ledger-keys`
//! (docs/sites.md). A key listed at host H authorises opt-outs for sites whose host is H or a
//! subdomain of H; H must have at least two labels.
//!
//! The file is UTF-8 text, at most 64 KiB: one base64 Ed25519 public key (32 bytes) per line,
//! `#` starts a comment, blank lines are ignored, and a line that is not a key is skipped with a
//! warning (one bad line does not void the others). Redirects are not followed: the file must be
//! served at that URL by the site itself.
//!
//! For a site's host `a.b.example.com` the files of `a.b.example.com`, `b.example.com` and
//! `example.com` are read in that order; the first that lists the signer decides. The answer per
//! (site, signer) is [`Control`]: verified (and where), not authorised (every file was read or is
//! absent, none lists the key), or unreachable (some file could not be read and none that could
//! lists the key).
//!
//! A test (or a mirror) maps `https://H/...` to `BASE/H/...` with `--site-keys-base BASE`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;

/// The well-known path (RFC 8615) a site publishes its keys at.
pub const WELL_KNOWN: &str = ".well-known/prov-ledger-keys";

/// Largest key file read (bytes).
pub const MAX_FILE: u64 = 64 * 1024;

/// What a site's key files say about one signer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum Control {
    /// The key is listed at `host` (the site's host or a parent of it).
    Verified { host: String },
    /// Every file was read (or is absent: 404/410) and none lists the key.
    NotAuthorised { checked: Vec<String> },
    /// A file could not be read (`host`, `reason`), and none that could lists the key.
    Unreachable { host: String, reason: String },
    /// Not checked: offline, or the site names no host that can publish keys.
    Unchecked { reason: String },
}

impl Control {
    /// One short line for humans.
    pub fn describe(&self) -> String {
        match self {
            Control::Verified { host } => {
                format!("verified (key listed at https://{host}/{WELL_KNOWN})")
            }
            Control::NotAuthorised { checked } => format!(
                "not authorised (the key is not listed at {})",
                checked
                    .iter()
                    .map(|h| format!("https://{h}/{WELL_KNOWN}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Control::Unreachable { host, reason } => {
                format!("unverified (https://{host}/{WELL_KNOWN} could not be read: {reason})")
            }
            Control::Unchecked { reason } => format!("unverified ({reason})"),
        }
    }
}

/// What one host's file held.
#[derive(Clone, Debug)]
enum HostKeys {
    /// The file was read (an absent file is an empty list).
    Keys(Vec<[u8; 32]>),
    Unreachable(String),
}

/// Reads sites' key files, each host's at most once.
pub struct SiteKeys {
    base: Option<String>,
    agent: ureq::Agent,
    cache: BTreeMap<String, HostKeys>,
}

impl SiteKeys {
    /// A reader of `https://<host>/.well-known/...`, or of `BASE/<host>/.well-known/...` with a
    /// base (`--site-keys-base`).
    pub fn new(base: Option<&str>) -> SiteKeys {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirects(0)
            .user_agent(concat!("prov/", env!("CARGO_PKG_VERSION")))
            .build();
        SiteKeys {
            base: base.map(|b| b.trim_end_matches('/').to_string()),
            agent,
            cache: BTreeMap::new(),
        }
    }

    /// Whether `signer` controls `site` (a canonical site string: a domain or a URL prefix).
    pub fn check(&mut self, site: &str, signer: &[u8; 32]) -> Control {
        let Some(host) = site_host(site) else {
            return Control::Unchecked {
                reason: format!("{site:?} names no domain host"),
            };
        };
        let hosts = authorising_hosts(&host);
        if hosts.is_empty() {
            return Control::Unchecked {
                reason: format!("{host} has fewer than two labels"),
            };
        }
        let mut unreachable = None;
        for h in &hosts {
            match self.keys_of(h) {
                HostKeys::Keys(keys) if keys.contains(signer) => {
                    return Control::Verified { host: h.clone() }
                }
                HostKeys::Keys(_) => {}
                HostKeys::Unreachable(reason) => {
                    unreachable.get_or_insert((h.clone(), reason));
                }
            }
        }
        match unreachable {
            Some((host, reason)) => Control::Unreachable { host, reason },
            None => Control::NotAuthorised { checked: hosts },
        }
    }

    /// The URL of `host`'s key file.
    pub fn url(&self, host: &str) -> String {
        match &self.base {
            Some(b) => format!("{b}/{host}/{WELL_KNOWN}"),
            None => format!("https://{host}/{WELL_KNOWN}"),
        }
    }

    fn keys_of(&mut self, host: &str) -> HostKeys {
        if let Some(k) = self.cache.get(host) {
            return k.clone();
        }
        let k = self.fetch(host);
        self.cache.insert(host.to_string(), k.clone());
        k
    }

    fn fetch(&self, host: &str) -> HostKeys {
        let url = self.url(host);
        let resp = match self.agent.get(&url).call() {
            Ok(r) if r.status() == 200 => r,
            Ok(r) => {
                return HostKeys::Unreachable(format!(
                    "answered {} (redirects are not followed)",
                    r.status()
                ))
            }
            Err(ureq::Error::Status(404 | 410, _)) => return HostKeys::Keys(Vec::new()),
            Err(ureq::Error::Status(code, _)) => {
                return HostKeys::Unreachable(format!("answered {code}"))
            }
            Err(ureq::Error::Transport(t)) => return HostKeys::Unreachable(t.to_string()),
        };
        let mut body = Vec::new();
        if let Err(e) = resp.into_reader().take(MAX_FILE + 1).read_to_end(&mut body) {
            return HostKeys::Unreachable(format!("reading the file: {e}"));
        }
        if body.len() as u64 > MAX_FILE {
            return HostKeys::Unreachable(format!("the file is larger than {MAX_FILE} bytes"));
        }
        let Ok(text) = String::from_utf8(body) else {
            return HostKeys::Unreachable("the file is not UTF-8".to_string());
        };
        let (keys, bad) = parse_keys(&text);
        for line in bad {
            crate::exit::warn(format!("{url}: line {line} is not a base64 Ed25519 key"));
        }
        HostKeys::Keys(keys)
    }
}

/// The keys of a key file, and the (1-based) numbers of the lines that are not keys.
pub fn parse_keys(text: &str) -> (Vec<[u8; 32]>, Vec<usize>) {
    let (mut keys, mut bad) = (Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        match base64::engine::general_purpose::STANDARD
            .decode(line)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        {
            Some(k) => keys.push(k),
            None => bad.push(n + 1),
        }
    }
    (keys, bad)
}

/// The hosts whose key files may authorise `host`: itself, then each parent with at least two
/// labels (`a.b.example.com` -> `a.b.example.com`, `b.example.com`, `example.com`).
pub fn authorising_hosts(host: &str) -> Vec<String> {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Vec::new();
    }
    (0..=labels.len() - 2)
        .map(|i| labels[i..].join("."))
        .collect()
}

/// The host of a canonical site string: the domain itself, or a URL prefix's host (without
/// userinfo and port). `None` for an IP address or a string without a host.
pub fn site_host(site: &str) -> Option<String> {
    let host = match site.split_once("://") {
        Some((_, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let authority = authority.rsplit('@').next().unwrap_or_default();
            if authority.starts_with('[') {
                return None;
            }
            authority.split(':').next().unwrap_or_default()
        }
        None => site,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ip_like = host
        .split('.')
        .all(|l| l.chars().all(|c| c.is_ascii_digit()));
    if host.is_empty() || ip_like {
        return None;
    }
    Some(host)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// A loopback HTTP server answering `GET /<host>/.well-known/prov-ledger-keys` from `files`
    /// (`None` body: 500), 404 for anything else. Returns its base URL.
    fn serve(files: Vec<(&'static str, u16, String)>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                        break;
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (code, body) = files
                    .iter()
                    .find(|(h, _, _)| path == format!("/{h}/{WELL_KNOWN}"))
                    .map(|(_, c, b)| (*c, b.clone()))
                    .unwrap_or((404, "not found".into()));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        base
    }

    fn b64(k: &[u8; 32]) -> String {
        base64::engine::general_purpose::STANDARD.encode(k)
    }

    #[test]
    fn parse_skips_comments_blank_and_bad_lines() {
        let k = [7u8; 32];
        let text = format!(
            "# keys of example.com\n\n{}  # ops\nnot a key\n{}\n",
            b64(&k),
            b64(&[1; 32])
        );
        let (keys, bad) = parse_keys(&text);
        assert_eq!(keys, vec![k, [1; 32]]);
        assert_eq!(bad, vec![4]);
    }

    #[test]
    fn parent_walk_stops_at_two_labels() {
        assert_eq!(
            authorising_hosts("a.b.example.com"),
            vec!["a.b.example.com", "b.example.com", "example.com"]
        );
        assert_eq!(authorising_hosts("example.com"), vec!["example.com"]);
        assert!(authorising_hosts("localhost").is_empty());
    }

    #[test]
    fn site_hosts() {
        assert_eq!(site_host("example.com").unwrap(), "example.com");
        assert_eq!(
            site_host("https://u@blog.example.com:8443/a?b").unwrap(),
            "blog.example.com"
        );
        assert_eq!(site_host("https://1.2.3.4/"), None);
        assert_eq!(site_host("https://[::1]/"), None);
    }

    #[test]
    fn a_key_listed_by_the_parent_domain_verifies_a_subdomain_site() {
        let signer = [9u8; 32];
        let base = serve(vec![("example.com", 200, format!("{}\n", b64(&signer)))]);
        let mut sk = SiteKeys::new(Some(&base));
        assert_eq!(
            sk.check("https://blog.example.com/posts/", &signer),
            Control::Verified {
                host: "example.com".into()
            }
        );
        assert_eq!(
            sk.check("example.com", &signer),
            Control::Verified {
                host: "example.com".into()
            }
        );
    }

    #[test]
    fn stranger_opting_out_a_site_it_does_not_control_is_not_authorised() {
        let owner = [9u8; 32];
        let stranger = [3u8; 32];
        let base = serve(vec![("example.com", 200, b64(&owner))]);
        let mut sk = SiteKeys::new(Some(&base));
        assert_eq!(
            sk.check("example.com", &stranger),
            Control::NotAuthorised {
                checked: vec!["example.com".into()]
            }
        );
        // A key a subdomain lists does not speak for its parent.
        let base = serve(vec![("blog.example.com", 200, b64(&stranger))]);
        let mut sk = SiteKeys::new(Some(&base));
        assert!(matches!(
            sk.check("example.com", &stranger),
            Control::NotAuthorised { .. }
        ));
        // Nor for a look-alike domain.
        let base = serve(vec![("example.com", 200, b64(&stranger))]);
        let mut sk = SiteKeys::new(Some(&base));
        assert!(matches!(
            sk.check("notexample.com", &stranger),
            Control::NotAuthorised { .. }
        ));
    }

    #[test]
    fn a_failing_or_oversized_file_is_unreachable_not_a_refusal() {
        let signer = [9u8; 32];
        let base = serve(vec![
            ("down.example", 500, "oops".into()),
            ("big.example", 200, "#".repeat(MAX_FILE as usize + 1)),
        ]);
        let mut sk = SiteKeys::new(Some(&base));
        assert!(matches!(
            sk.check("down.example", &signer),
            Control::Unreachable { ref host, .. } if host == "down.example"
        ));
        assert!(matches!(
            sk.check("big.example", &signer),
            Control::Unreachable { ref reason, .. } if reason.contains("larger")
        ));
        // Nothing listens there.
        let dead = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let mut sk = SiteKeys::new(Some(&dead));
        assert!(matches!(
            sk.check("example.com", &signer),
            Control::Unreachable { .. }
        ));
    }
}
