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
  let key = hostKey(u.hostname);
  if (u.port !== '') key += `:${u.port}`;
  key += u.pathname;
  const { query } = withoutFragment(u);
  if (query !== null) key += `?${query}`;
  // WHATWG serialisation is ASCII, so characters are bytes.
  return key.length > MAX_KEY_LEN ? key.slice(0, MAX_KEY_LEN) : key;
}

/** The host part of a source key (what the stats count), or "" for the no-source key. */
export function keyHost(key) {
  const slash = key.indexOf('/');
  const h = slash < 0 ? key : key.slice(0, slash);
  const colon = h.startsWith('[') ? h.indexOf(':', h.indexOf(']')) : h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
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
    if (s.includes('://')) {
      const u = parseHttp(s);
      if (!u) throw new FormatError(`not an http(s) URL: ${s}`);
      if (!isDomainHost(u.hostname)) throw new FormatError(`a URL prefix needs a domain host: ${s}`);
      return new Site('url_prefix', withoutFragment(u).href);
    }
    if (s === '' || /[/?#@:\\%\s]/.test(s) || /[\u0000-\u001f\u007f]/.test(s)) throw new FormatError(`not a domain: ${JSON.stringify(s)}`);
    const u = parseHttp(`http://${s}/`);
    if (!u) throw new FormatError(`not a domain: ${s}`);
    let host = u.hostname;
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (!isDomainHost(host)) throw new FormatError(`not a domain: ${s}`);
    return new Site('domain', host);
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

/** A domain host: not an IP address, at least two non-empty labels. */
function isDomainHost(host) {
  if (host.startsWith('[')) return false;
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  if (IPV4.test(h)) return false;
  const labels = h.split('.');
  return labels.length >= 2 && labels.every((l) => l.length > 0);
}
