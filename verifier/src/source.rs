//! Source keys and sites (issue 13, docs/formats.md "Source keys").
//!
//! A **source key** is what a dataset version's source tree sorts its items by: the item's
//! source URL, normalised so that a domain and all its subdomains form one contiguous range of
//! keys and no other host falls inside it. The host's labels are reversed
//! (`www.example.com` -> `com.example.www.`), each followed by `.`, so `com.example.` is a
//! prefix of exactly the keys of `example.com` and its subdomains: never of `notexample.com`
//! (`com.notexample.`) or `example.com.evil.net` (`net.evil.com.example.`).
//!
//! URLs are parsed by the WHATWG URL standard (the `url` crate; the browser's `new URL()` is the
//! same standard, which is what the explorer's mirror of this module uses), so hosts arrive
//! lowercased and IDNA-encoded, and every key is ASCII.
//!
//! A **site** is what an opt-out names: a domain (`example.com`: it and its subdomains) or a URL
//! prefix (`https://example.com/blog/`: the keys that start with that URL's key, as a plain
//! string prefix, so `https://example.com/blog` also covers `/blog-post`). Its
//! [`Site::prefix`] is the key prefix a range proof is made for.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::{Host, Url};

/// The longest source key, in bytes: a longer one is cut to this length (a cut key keeps its
/// prefix, so every prefix range that held the whole key still holds it).
pub const MAX_KEY_LEN: usize = 1024;
/// The longest domain a site may name, in bytes (DNS's limit on a name).
pub const MAX_DOMAIN_LEN: usize = 253;
/// The longest URL prefix a site may name, in bytes.
pub const MAX_URL_PREFIX_LEN: usize = 1024;

/// Why a string is not a site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("not a url: {0}")]
    Url(#[from] url::ParseError),
    #[error("a url prefix must be http or https")]
    NotHttp,
    #[error("a site must name a domain, not an ip address")]
    NotDomain,
    #[error("a domain needs at least two labels (example.com)")]
    OneLabel,
    #[error("a domain label must be 1 to 63 of a-z 0-9 - _ (after idna)")]
    BadLabel,
    #[error("a domain may not contain / \\ ? # @ : whitespace or control characters")]
    BadDomainChar,
    #[error("a url prefix may not carry a user name or password")]
    Userinfo,
    #[error("site is too long")]
    TooLong,
    #[error("site is not in canonical form; write {canonical:?}")]
    NotCanonical { canonical: String },
}

/// A normalised source URL (see the module docs); ASCII, no 0x00, at most [`MAX_KEY_LEN`]
/// bytes. The empty key is the **no-source key**: an item without a source, or whose source is
/// not an http(s) URL with a host.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceKey(String);

/// The source key of `uri` (never fails; see docs/formats.md "Source keys"):
/// `https://www.Example.com/a/b?x=1#f` -> `com.example.www./a/b?x=1`.
pub fn source_key(uri: &str) -> SourceKey {
    if let Some(k) = plain_key(uri) {
        return SourceKey(k);
    }
    let Ok(url) = Url::parse(uri) else {
        return SourceKey::none();
    };
    match key_of(&url) {
        Some(k) => SourceKey(k),
        None => SourceKey::none(),
    }
}

impl SourceKey {
    /// The no-source key, `""`.
    pub fn none() -> SourceKey {
        SourceKey(String::new())
    }

    /// Whether this is the no-source key.
    pub fn is_none(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The key from its bytes as stored in a range leaf: ASCII, no 0x00, at most
    /// [`MAX_KEY_LEN`] bytes; `None` otherwise. (Any such string is accepted: whether it is the
    /// key of some URL is not checked.)
    pub fn from_stored(s: &str) -> Option<SourceKey> {
        (s.len() <= MAX_KEY_LEN && s.bytes().all(|b| b.is_ascii() && b != 0))
            .then(|| SourceKey(s.to_string()))
    }

    /// The host part of the key, in reading order: `com.example.www./a` -> `www.example.com`,
    /// `1.2.3.4./` -> `1.2.3.4`, `[::1]./` -> `[::1]`; `None` for the no-source key. This is
    /// what per-host statistics group by (`www.` is not stripped).
    pub fn host(&self) -> Option<String> {
        if self.is_none() {
            return None;
        }
        let s = self.0.as_str();
        if let Some(rest) = s.strip_prefix('[') {
            let end = rest.find(']')?;
            return Some(format!("[{}]", &rest[..end]));
        }
        let end = s.find([':', '/']).unwrap_or(s.len());
        let reversed = s[..end].strip_suffix('.').unwrap_or(&s[..end]);
        if reversed.parse::<Ipv4Addr>().is_ok() {
            return Some(reversed.to_string());
        }
        let mut labels: Vec<&str> = reversed.split('.').collect();
        labels.reverse();
        Some(labels.join("."))
    }
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an opt-out names: a domain and its subdomains, or a URL prefix. Always held in
/// canonical form ([`Site::parse`] normalises; `Display` writes the canonical string).
/// Ordered by that string, which is the order an entry's `sites` must be in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Site {
    /// A domain, ASCII (IDNA), lowercase, no trailing dot, at least two labels.
    Domain(String),
    /// An http(s) URL with a domain host, WHATWG-serialised, without fragment or userinfo.
    UrlPrefix(String),
}

impl Site {
    /// Parses and normalises a site: a string containing `://` is a URL prefix, anything else a
    /// domain. Entries require the canonical form ([`Site::parse_canonical`]).
    pub fn parse(s: &str) -> Result<Site, SourceError> {
        if s.contains("://") {
            parse_url_prefix(s)
        } else {
            parse_domain(s).map(Site::Domain)
        }
    }

    /// Like [`Site::parse`], but refuses a string that is not already canonical: one meaning,
    /// one encoding (what entries and bundles require).
    pub fn parse_canonical(s: &str) -> Result<Site, SourceError> {
        let site = Site::parse(s)?;
        if site.as_str() != s {
            return Err(SourceError::NotCanonical {
                canonical: site.as_str().to_string(),
            });
        }
        Ok(site)
    }

    /// The canonical string.
    pub fn as_str(&self) -> &str {
        match self {
            Site::Domain(d) => d,
            Site::UrlPrefix(u) => u,
        }
    }

    /// The source-key prefix the site covers: `example.com` -> `com.example.`,
    /// `https://example.com/blog` -> `com.example./blog`.
    pub fn prefix(&self) -> String {
        match self {
            Site::Domain(d) => reversed_labels(d),
            Site::UrlPrefix(u) => source_key(u).0,
        }
    }

    /// The host the site is on (for a domain, itself): whose `.well-known` keys may authorise
    /// an opt-out of it (SPEC13 section 5).
    pub fn host(&self) -> String {
        match self {
            Site::Domain(d) => d.clone(),
            Site::UrlPrefix(u) => Url::parse(u)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Site {
    type Err = SourceError;
    fn from_str(s: &str) -> Result<Site, SourceError> {
        Site::parse(s)
    }
}

impl PartialOrd for Site {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Site {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// JSON: the canonical string.
impl Serialize for Site {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// JSON: the canonical string only; a string that merely parses is refused.
impl<'de> Deserialize<'de> for Site {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Site::parse_canonical(&s).map_err(serde::de::Error::custom)
    }
}

/// The key of a parsed URL, or `None` for the no-source key.
fn key_of(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let mut key = String::with_capacity(url.as_str().len());
    match url.host()? {
        Host::Domain(d) => {
            let d = d.strip_suffix('.').unwrap_or(d);
            if d.is_empty() {
                return None;
            }
            key.push_str(&reversed_labels(d));
        }
        Host::Ipv4(ip) => {
            key.push_str(&ip.to_string());
            key.push('.');
        }
        Host::Ipv6(_) => {
            key.push_str(url.host_str()?);
            key.push('.');
        }
    }
    if let Some(port) = url.port() {
        key.push(':');
        key.push_str(&port.to_string());
    }
    key.push_str(url.path());
    if let Some(q) = url.query() {
        key.push('?');
        key.push_str(q);
    }
    // WHATWG serialisation is ASCII without 0x00; keep the key's contract even if it were not.
    if !key.bytes().all(|b| b.is_ascii() && b != 0) {
        return None;
    }
    key.truncate(MAX_KEY_LEN); // ASCII: every byte is a char boundary
    Some(key)
}

/// The key of a plain URL without parsing it by the WHATWG rules, or `None` where the URL is
/// not plain (the caller then parses it; the result is the same either way, which the test
/// `plain_keys_equal_whatwg_keys` checks over many generated and odd URLs). Plain: `http://` or
/// `https://` in lowercase, a host of lowercase ASCII letters, digits, `-` and `.` (no empty
/// label, no `xn--` label, its last label not starting with a digit: so no IDNA work, no IPv4
/// and no trailing dot), no userinfo or port, and every byte printable ASCII other than
/// `"%'<>\^`{|}` (what WHATWG would percent-encode, decode or treat as a slash); no `.` or `..`
/// path segment. For such a URL WHATWG keeps host, path and query byte for byte (the path `/`
/// where absent) and drops the fragment.
fn plain_key(uri: &str) -> Option<String> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let b = rest.as_bytes();
    let is_xn = |label: &[u8]| label.starts_with(b"xn--");
    let mut i = 0;
    let mut label = 0; // where the current host label starts
    while i < b.len() {
        match b[i] {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => {}
            b'.' if i > label && !is_xn(&b[label..i]) => label = i + 1,
            b'/' | b'?' | b'#' => break,
            _ => return None,
        }
        i += 1;
    }
    let host_end = i;
    if host_end == label || is_xn(&b[label..host_end]) || b[label].is_ascii_digit() {
        return None; // empty host or label, trailing dot, IDNA, or a host ending in a number
    }
    let mut query = None; // where the query starts (after its `?`)
    let mut seg = host_end + 1; // where the current path segment starts
    while i < b.len() {
        let c = b[i];
        if !PLAIN[usize::from(c)] {
            if c == b'#' {
                break;
            }
            return None;
        }
        if query.is_none() && (c == b'/' || c == b'?') {
            if i > host_end && matches!(&b[seg..i], b"." | b"..") {
                return None;
            }
            seg = i + 1;
            if c == b'?' {
                query = Some(i + 1);
            }
        }
        i += 1;
    }
    let tail_end = i;
    let path_end = query.map_or(tail_end, |q| q - 1);
    if path_end > host_end && matches!(&b[seg.min(path_end)..path_end], b"." | b"..") {
        return None;
    }
    let mut key = String::with_capacity(host_end + 2 + (tail_end - host_end));
    for l in rest[..host_end].rsplit('.') {
        key.push_str(l);
        key.push('.');
    }
    if path_end == host_end {
        key.push('/');
    }
    key.push_str(&rest[host_end..tail_end]);
    key.truncate(MAX_KEY_LEN); // ASCII: every byte is a char boundary
    Some(key)
}

/// The bytes a plain URL's path and query may hold as they are: printable ASCII but
/// `"#%'<>\\^`{|}`.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x21;
    while c < 0x7f {
        t[c] = !matches!(
            c as u8,
            b'"' | b'#' | b'%' | b'\'' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
        );
        c += 1;
    }
    t
};

/// `www.example.com` -> `com.example.www.`.
fn reversed_labels(domain: &str) -> String {
    let mut out = String::with_capacity(domain.len() + 1);
    for label in domain.rsplit('.') {
        out.push_str(label);
        out.push('.');
    }
    out
}

fn parse_domain(s: &str) -> Result<String, SourceError> {
    if s.len() > MAX_DOMAIN_LEN * 4 {
        return Err(SourceError::TooLong);
    }
    if s.is_empty()
        || s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '/' | '\\' | '?' | '#' | '@' | ':')
        })
    {
        return Err(SourceError::BadDomainChar);
    }
    let url = Url::parse(&format!("http://{s}/"))?;
    let host = match url.host() {
        Some(Host::Domain(d)) => d.strip_suffix('.').unwrap_or(d).to_string(),
        Some(_) => return Err(SourceError::NotDomain),
        None => return Err(SourceError::BadDomainChar),
    };
    check_domain(&host)?;
    Ok(host)
}

fn parse_url_prefix(s: &str) -> Result<Site, SourceError> {
    if s.len() > MAX_URL_PREFIX_LEN * 4 {
        return Err(SourceError::TooLong);
    }
    let mut url = Url::parse(s)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SourceError::NotHttp);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SourceError::Userinfo);
    }
    let host = match url.host() {
        Some(Host::Domain(d)) => d.to_string(),
        Some(_) => return Err(SourceError::NotDomain),
        None => return Err(SourceError::NotDomain),
    };
    if let Some(bare) = host.strip_suffix('.') {
        url.set_host(Some(bare))?;
    }
    check_domain(host.strip_suffix('.').unwrap_or(&host))?;
    url.set_fragment(None);
    let canonical = url.to_string();
    if canonical.len() > MAX_URL_PREFIX_LEN {
        return Err(SourceError::TooLong);
    }
    Ok(Site::UrlPrefix(canonical))
}

/// A site's host: LDH labels (and `_`), at least two, at most [`MAX_DOMAIN_LEN`] bytes. WHATWG
/// already refused numeric last labels (those are IPv4 addresses).
fn check_domain(host: &str) -> Result<(), SourceError> {
    if host.len() > MAX_DOMAIN_LEN {
        return Err(SourceError::TooLong);
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return Err(SourceError::OneLabel);
    }
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    if !labels.iter().all(label_ok) {
        return Err(SourceError::BadLabel);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(u: &str) -> String {
        source_key(u).0
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            key("https://www.Example.com/a/b?x=1#f"),
            "com.example.www./a/b?x=1"
        );
        assert_eq!(key("http://example.com"), "com.example./");
        assert_eq!(key("https://例え.jp/"), "jp.xn--r8jz45g./");
        assert_eq!(key("ftp://x.org/"), "");
        assert_eq!(key("not a url"), "");
    }

    #[test]
    fn scheme_userinfo_and_fragment_are_dropped_query_kept() {
        assert_eq!(key("http://e.com/p"), key("https://e.com/p"));
        assert_eq!(key("https://user:pw@e.com/p#frag"), "com.e./p");
        assert_eq!(key("https://e.com/p?"), "com.e./p?");
        assert_eq!(key("https://e.com/p"), "com.e./p");
        assert_ne!(key("https://e.com/p?"), key("https://e.com/p"));
    }

    #[test]
    fn trailing_dot_and_case_are_one_host() {
        assert_eq!(key("https://EXAMPLE.com./x"), "com.example./x");
        assert_eq!(key("https://example.com/x"), "com.example./x");
    }

    #[test]
    fn ports_default_dropped_others_kept() {
        assert_eq!(key("https://e.com:443/"), "com.e./");
        assert_eq!(key("http://e.com:80/"), "com.e./");
        assert_eq!(key("https://e.com:8443/a"), "com.e.:8443/a");
        assert_eq!(key("http://e.com:443/"), "com.e.:443/");
    }

    #[test]
    fn ip_hosts_are_not_reversed() {
        assert_eq!(key("http://1.2.3.4/x"), "1.2.3.4./x");
        assert_eq!(key("http://0x7f.1/"), "127.0.0.1./");
        assert_eq!(key("http://[::1]:8080/"), "[::1].:8080/");
        assert_eq!(key("http://[2001:DB8::1]/"), "[2001:db8::1]./");
    }

    #[test]
    fn non_http_and_hostless_are_the_no_source_key() {
        for u in [
            "mailto:a@b.c",
            "file:///etc/passwd",
            "data:text/plain,hi",
            "javascript:alert(1)",
            "",
            "//example.com/",
            "example.com",
            "wss://example.com/",
        ] {
            assert_eq!(key(u), "", "{u}");
        }
        assert!(source_key("nope").is_none());
    }

    #[test]
    fn keys_are_ascii_and_non_ascii_is_percent_encoded() {
        let k = key("https://e.com/caf\u{e9}?q=\u{fc}ber");
        assert_eq!(k, "com.e./caf%C3%A9?q=%C3%BCber");
        let k = key("https://e.com/a\u{0}b");
        assert!(k.is_ascii() && !k.contains('\0'), "{k}");
    }

    #[test]
    fn very_long_urls_are_cut_keeping_their_prefix() {
        let long = format!("https://e.com/{}", "a".repeat(5000));
        let k = key(&long);
        assert_eq!(k.len(), MAX_KEY_LEN);
        assert!(k.starts_with("com.e./aaa"));
    }

    #[test]
    fn host_part_in_reading_order() {
        let h = |u: &str| source_key(u).host();
        assert_eq!(
            h("https://www.example.com/a"),
            Some("www.example.com".into())
        );
        assert_eq!(h("https://e.com:8080/a"), Some("e.com".into()));
        assert_eq!(h("http://1.2.3.4/"), Some("1.2.3.4".into()));
        assert_eq!(h("http://[::1]:9/"), Some("[::1]".into()));
        assert_eq!(h("ftp://x/"), None);
    }

    #[test]
    fn domain_sites_normalise_and_prefix() {
        let s = Site::parse("EXAMPLE.com.").unwrap();
        assert_eq!(s, Site::Domain("example.com".into()));
        assert_eq!(s.to_string(), "example.com");
        assert_eq!(s.prefix(), "com.example.");
        assert_eq!(
            Site::parse("例え.jp").unwrap().to_string(),
            "xn--r8jz45g.jp"
        );
        assert_eq!(Site::parse("a.b.c").unwrap().prefix(), "c.b.a.");
    }

    #[test]
    fn domain_prefix_covers_subdomains_never_lookalikes() {
        let p = Site::parse("example.com").unwrap().prefix();
        for u in [
            "https://example.com/",
            "https://www.example.com/x",
            "http://a.b.example.com:8080/",
            "https://EXAMPLE.COM./",
        ] {
            assert!(key(u).starts_with(&p), "{u}");
        }
        for u in [
            "https://notexample.com/",
            "https://example.com.evil.net/",
            "https://example.co/",
            "https://example.community/",
            "https://com/",
            "https://xexample.com/",
        ] {
            assert!(!key(u).starts_with(&p), "{u} {}", key(u));
        }
    }

    #[test]
    fn domain_sites_refuse_what_is_not_a_domain() {
        for (s, want) in [
            ("com", SourceError::OneLabel),
            ("1.2.3.4", SourceError::NotDomain),
            ("3.4", SourceError::NotDomain),
            ("[::1]", SourceError::BadDomainChar),
            ("example.com/x", SourceError::BadDomainChar),
            ("user@example.com", SourceError::BadDomainChar),
            ("example.com:80", SourceError::BadDomainChar),
            ("exa mple.com", SourceError::BadDomainChar),
            ("", SourceError::BadDomainChar),
            ("*.example.com", SourceError::BadLabel),
            ("a..example.com", SourceError::BadLabel),
        ] {
            assert_eq!(Site::parse(s), Err(want), "{s:?}");
        }
        assert_eq!(
            Site::parse(&format!("{}.com", "a".repeat(64))),
            Err(SourceError::BadLabel)
        );
        let long = format!("{}com", "abcdefghi.".repeat(30));
        assert_eq!(Site::parse(&long), Err(SourceError::TooLong));
    }

    #[test]
    fn url_prefix_sites() {
        let s = Site::parse("HTTPS://Example.com/blog#x").unwrap();
        assert_eq!(s, Site::UrlPrefix("https://example.com/blog".into()));
        assert_eq!(s.prefix(), "com.example./blog");
        assert!(key("https://example.com/blog-post").starts_with(&s.prefix()));
        assert!(!key("https://www.example.com/blog").starts_with(&s.prefix()));
        assert!(!key("https://example.com:8080/blog").starts_with(&s.prefix()));
        assert_eq!(
            Site::parse("https://example.com./a").unwrap().to_string(),
            "https://example.com/a"
        );
        assert_eq!(
            Site::parse("https://e.com").unwrap().to_string(),
            "https://e.com/"
        );
        assert_eq!(Site::parse("ftp://e.com/"), Err(SourceError::NotHttp));
        assert_eq!(Site::parse("https://1.2.3.4/"), Err(SourceError::NotDomain));
        assert_eq!(Site::parse("https://[::1]/"), Err(SourceError::NotDomain));
        assert_eq!(Site::parse("https://u@e.com/"), Err(SourceError::Userinfo));
        assert_eq!(
            Site::parse("https://localhost/"),
            Err(SourceError::OneLabel)
        );
        assert!(matches!(Site::parse("https://"), Err(SourceError::Url(_))));
    }

    #[test]
    fn canonical_form_is_required_where_asked_and_idempotent() {
        for s in ["EXAMPLE.com", "example.com.", "https://E.com/a#f"] {
            assert!(
                matches!(
                    Site::parse_canonical(s),
                    Err(SourceError::NotCanonical { .. })
                ),
                "{s}"
            );
        }
        for s in [
            "example.com",
            "https://e.com/a?b=c",
            "xn--r8jz45g.jp",
            "https://example.com/blog/",
        ] {
            let site = Site::parse_canonical(s).unwrap();
            assert_eq!(site.to_string(), s);
            assert_eq!(Site::parse(&site.to_string()).unwrap(), site);
        }
        let json = serde_json::to_string(&Site::parse("example.com").unwrap()).unwrap();
        assert_eq!(json, "\"example.com\"");
        assert!(serde_json::from_str::<Site>("\"Example.com\"").is_err());
    }

    #[test]
    fn sites_order_by_string() {
        let mut v = [
            Site::parse("https://a.com/").unwrap(),
            Site::parse("b.com").unwrap(),
            Site::parse("a.com").unwrap(),
        ];
        v.sort();
        let s: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["a.com", "b.com", "https://a.com/"]);
    }

    /// The WHATWG key, never the plain shortcut.
    fn whatwg_key(u: &str) -> String {
        Url::parse(u)
            .ok()
            .and_then(|url| key_of(&url))
            .unwrap_or_default()
    }

    /// Odd pieces a URL may be built from: each one either keeps a URL plain or must send it
    /// to the WHATWG parser.
    const PIECES: &[&str] = &[
        "a",
        "z",
        "0",
        "9",
        "-",
        ".",
        "..",
        "/",
        "//",
        "?",
        "#",
        "%",
        "%2e",
        "%41",
        "@",
        ":",
        ":80",
        ":443",
        ":8080",
        "\\",
        "\t",
        "\n",
        " ",
        "\u{0}",
        "\u{7f}",
        "\"",
        "'",
        "<",
        ">",
        "^",
        "`",
        "{",
        "}",
        "|",
        "[",
        "]",
        "!",
        "$",
        "&",
        "(",
        ")",
        "*",
        "+",
        ",",
        ";",
        "=",
        "~",
        "_",
        "xn--",
        "xn--r8jz45g",
        "XN--",
        "A",
        "Z",
        "\u{e9}",
        "\u{3002}",
        "\u{ff0e}",
        "\u{200b}",
        "0x",
        "0x7f",
        "1",
        "255",
        "256",
        "www",
        "com",
        "co.uk",
        "./",
        "../",
        "/.",
        "/..",
        "/./",
        "/../",
        "index.html",
        "q=1&r=2",
        "-a",
        "a-",
        "a--b",
    ];

    #[test]
    fn plain_keys_equal_whatwg_keys() {
        let mut fixed: Vec<String> = [
            "https://www.example.com/a/b?x=1#f",
            "http://example.com",
            "http://example.com?",
            "http://example.com#",
            "http://example.com?#",
            "https://e.com/p?",
            "https://e.com/a?b?c#d#e",
            "https://e.com/.well-known/x",
            "https://e.com/a/.b/..c/...",
            "https://e.com/a/.",
            "https://e.com/a/..?x",
            "https://e.com/?./..",
            "https://a.b.c.d.e.f/",
            "https://a..b/",
            "https://.a.com/",
            "https://a.com./",
            "https://a.com../",
            "https://-.com/",
            "https://1.2.3.4/",
            "https://a.1/",
            "https://a.0x1/",
            "https://a.b1/",
            "https://xn--a.com/",
            "https://a.xn--p1ai/",
            "https:///a.com/",
            "https:a.com/",
            "https:/a.com/",
            "HTTPS://a.com/",
            "https://a.com:/",
            "https://@a.com/",
            "https://a.com/~user/!$&()*+,;=:@[]",
            "https://a.com/?q='\"<>`{}^|",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        fixed.push(format!("https://{}.com/", "a".repeat(300)));
        fixed.push(format!("https://e.com/{}", "a".repeat(5000)));
        fixed.push(format!("https://e.com/?{}", "b".repeat(2000)));
        // Generated: a scheme, a host and a tail, each made of random pieces.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..200_000 {
            let mut u = String::from(["http://", "https://", "https://", "http:/"][next(4)]);
            for _ in 0..next(6) + 1 {
                u.push_str(["a", "bc", "www", "com", "x9", "-", "."][next(7)]);
                if next(4) == 0 {
                    u.push_str(PIECES[next(PIECES.len())]);
                }
            }
            for _ in 0..next(8) {
                u.push_str(["/", "/p", "/q-r", "?", "#", "=", "&", "."][next(8)]);
                if next(3) == 0 {
                    u.push_str(PIECES[next(PIECES.len())]);
                }
            }
            fixed.push(u);
        }
        let mut plain = 0;
        for u in &fixed {
            if let Some(k) = plain_key(u) {
                plain += 1;
                assert_eq!(k, whatwg_key(u), "{u:?}");
            }
            assert_eq!(key(u), whatwg_key(u), "{u:?}");
        }
        // The shortcut is taken often enough for the comparison to mean something.
        assert!(plain > fixed.len() / 10, "{plain} of {}", fixed.len());
    }
}
