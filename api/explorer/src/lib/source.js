// Source keys and sites (docs/formats.md, "Source keys"; the same rules as verifier/src/source.rs,
// held equal by test/vectors/sources.json). A source key is the normalised URL an item came from,
// host labels reversed so that a domain and all its subdomains are one contiguous byte range of
// the source tree and no other host falls inside it:
//
//   https://www.Example.com/a/b?x=1#f  ->  com.example.www./a/b?x=1
//   http://example.com                 ->  com.example./
//   ftp://x.org/, not a url            ->  ""  (the no-source key)
//
// Parsing is the WHATWG URL standard, which both the browser's `URL` and Rust's `url` crate
// implement: lowercasing, IDNA (punycode), default ports and percent-encoding are theirs.

import { FormatError } from './bytes.js';

/** The longest source key, in bytes; longer keys are cut (a cut key keeps its prefix). */
export const MAX_KEY_LEN = 1024;

/** The key of an item without a usable http(s) source. */
export const NO_SOURCE = '';

const IPV4 = /^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/;

function parseHttp(s) {
  let u;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (!u.hostname) return null;
  return u;
}

/** The host part of a key: reversed labels for a domain, an IP address as it is; each + ".". */
function hostKey(host) {
  if (host.startsWith('[')) return `${host}.`;
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  if (IPV4.test(h)) return `${h}.`;
  return h
    .split('.')
    .reverse()
    .map((l) => `${l}.`)
    .join('');
}

/** The serialisation of `u` without its fragment, and its query (null when absent, "" if empty). */
function withoutFragment(u) {
  const href = u.href;
  const hash = href.indexOf('#');
  const s = hash < 0 ? href : href.slice(0, hash);
  const q = s.indexOf('?');
  return { href: s, query: q < 0 ? null : s.slice(q + 1) };
}

/** The source key of `uri` (never fails: anything unusable is the no-source key ""). */
export function sourceKey(uri) {
  const u = parseHttp(String(uri));
  if (!u) return NO_SOURCE;
  const host = u.hostname;
  if (host === '.') return NO_SOURCE;
  let key = hostKey(host);
  if (u.port !== '') key += `:${u.port}`;
  key += u.pathname;
  const { query } = withoutFragment(u);
  if (query !== null) key += `?${query}`;
  // WHATWG serialisation is ASCII without 0x00 (so characters are bytes); keep the key's
  // contract even if it were not.
  if (!/^[\x01-\x7f]*$/.test(key)) return NO_SOURCE;
  return key.length > MAX_KEY_LEN ? key.slice(0, MAX_KEY_LEN) : key;
}

/**
 * The host of a source key in reading order (`com.example.www./a` -> `www.example.com`,
 * `1.2.3.4./` -> `1.2.3.4`, `[::1]./` -> `[::1]`), or null for the no-source key: what the
 * per-host statistics group by (`www.` is not stripped). As Rust's `SourceKey::host`.
 */
export function keyHost(key) {
  if (key === '') return null;
  if (key.startsWith('[')) {
    const end = key.indexOf(']');
    return end < 0 ? null : key.slice(0, end + 1);
  }
  let end = key.search(/[:/]/);
  if (end < 0) end = key.length;
  const part = key.slice(0, end);
  const reversed = part.endsWith('.') ? part.slice(0, -1) : part;
  if (IPV4.test(reversed)) return reversed;
  return reversed.split('.').reverse().join('.');
}

/**
 * A site a rights holder can opt out: a domain (`example.com`, covering every subdomain) or a URL
 * prefix (`https://example.com/blog/`, a plain string prefix of source keys: it also covers
 * `/blog-post` unless it ends in "/"). `Site.parse` accepts what Rust's `Site::parse` accepts;
 * `toString()` is the canonical form; entries hold only canonical sites.
 */
export class Site {
  constructor(kind, value) {
    this.kind = kind; // 'domain' | 'url_prefix'
    this.value = value;
    Object.freeze(this);
  }

  static parse(s) {
    if (typeof s !== 'string') throw new FormatError('a site is a string');
    return s.includes('://') ? parseUrlPrefix(s) : new Site('domain', parseDomain(s));
  }

  /** The canonical string: the ASCII host for a domain, the URL without fragment for a prefix. */
  toString() {
    return this.value;
  }

  /** The source-key prefix every item of this site has. */
  prefix() {
    return this.kind === 'domain' ? hostKey(this.value) : sourceKey(this.value);
  }

  /** True when `s` is a site in its canonical form (what an entry must hold). */
  static isCanonical(s) {
    try {
      return Site.parse(s).toString() === s;
    } catch {
      return false;
    }
  }
}

/** The longest domain a site may name, in bytes (DNS's limit on a name). */
export const MAX_DOMAIN_LEN = 253;
/** The longest URL prefix a site may name, in bytes. */
export const MAX_URL_PREFIX_LEN = 1024;

// Rust's char::is_whitespace (Unicode White_Space) and char::is_control (Cc), exactly.
const BAD_DOMAIN_CHAR = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f/\\?#@:]/;
const LABEL = /^[a-z0-9_-]{1,63}$/;

const byteLength = (s) => new TextEncoder().encode(s).length;

function parseDomain(s) {
  if (byteLength(s) > MAX_DOMAIN_LEN * 4) throw new FormatError('site is too long');
  if (s === '' || BAD_DOMAIN_CHAR.test(s)) throw new FormatError('a domain may not contain / \\ ? # @ : whitespace or control characters');
  const u = parseAny(`http://${s}/`);
  const host = u.hostname;
  if (host.startsWith('[') || IPV4.test(host.endsWith('.') ? host.slice(0, -1) : host)) throw new FormatError('a site must name a domain, not an ip address');
  const bare = host.endsWith('.') ? host.slice(0, -1) : host;
  checkDomain(bare);
  return bare;
}

function parseUrlPrefix(s) {
  if (byteLength(s) > MAX_URL_PREFIX_LEN * 4) throw new FormatError('site is too long');
  const u = parseAny(s);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FormatError('a url prefix must be http or https');
  if (u.username !== '' || u.password !== '') throw new FormatError('a url prefix may not carry a user name or password');
  const host = u.hostname;
  if (!host || host.startsWith('[') || IPV4.test(host.endsWith('.') ? host.slice(0, -1) : host)) throw new FormatError('a site must name a domain, not an ip address');
  const bare = host.endsWith('.') ? host.slice(0, -1) : host;
  if (bare !== host) u.hostname = bare;
  checkDomain(bare);
  const canonical = withoutFragment(u).href;
  if (canonical.length > MAX_URL_PREFIX_LEN) throw new FormatError('site is too long');
  return new Site('url_prefix', canonical);
}

function parseAny(s) {
  try {
    return new URL(s);
  } catch {
    throw new FormatError(`not a url: ${s}`);
  }
}

/** LDH labels (and `_`), at least two, at most MAX_DOMAIN_LEN bytes. */
function checkDomain(host) {
  if (host.length > MAX_DOMAIN_LEN) throw new FormatError('site is too long');
  const labels = host.split('.');
  if (labels.length < 2) throw new FormatError('a domain needs at least two labels (example.com)');
  if (!labels.every((l) => LABEL.test(l))) throw new FormatError('a domain label must be 1 to 63 of a-z 0-9 - _ (after idna)');
}
