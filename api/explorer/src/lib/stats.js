// A dataset version's statistics recomputed from its leaves and their metadata (docs/api.md,
// "Statistics"; a second implementation of verifier/src/set/{stats,meta}.rs, held to them by
// test/vectors/meta.json): items and bytes per licence, per consent signal, per host of the
// source tree, and without a source. The service derives them at commit; the explorer
// recomputes them from `GET /v1/sets/{root}/leaves?meta=true` for versions small enough,
// after checking every leaf's metadata digest and the manifest root, and also rebuilds the
// source tree, whose root must be the one the version's entry commits to.

import { blake3 } from '@noble/hashes/blake3.js';
import { canonicalize } from './jcs.js';
import { compare, toHex, utf8 } from './bytes.js';
import { Blake3Set, rootOfLeafHashes } from './merkle.js';
import { setLeafHash } from './set.js';
import { keyHost, sourceKey } from './source.js';
import { sourceLeaf } from './range.js';

export const MAX_HOSTS = 1000;
export const MAX_VALUES = 10000;
export const NONE = '(none)';
export const OTHER = '(other)';

const ZERO = '0'.repeat(64);

/** The host a source key names (`keyHost` of lib/source.js, as `SourceKey::host` in Rust). */
export const hostOfSourceKey = keyHost;

/**
 * A metadata field as the stats read it: a string as is, another value (a consent array, a
 * number) as its canonical JSON (RFC 8785), null when absent (as `SourceEntry` in
 * verifier/src/set/meta.rs).
 */
function text(o, k) {
  const v = o[k];
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : canonicalize(v);
}

function tally(map, value, size) {
  const key = map.has(value) || map.size < MAX_VALUES ? value : OTHER;
  const c = map.get(key) ?? { items: 0, bytes: 0 };
  c.items += 1;
  c.bytes += size;
  map.set(key, c);
}

const byteCmp = (a, b) => compare(utf8(a), utf8(b));

function sorted(list) {
  return list.sort((a, b) => b.bytes - a.bytes || b.items - a.items || byteCmp(a.value, b.value));
}

/** The source entries of a leaf's metadata ({"sources": [..]}), or null when it has another shape. */
export function entriesOf(metadata) {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return null;
  const list = metadata.sources;
  if (!Array.isArray(list) || list.length === 0) return null;
  if (!list.every((e) => e !== null && typeof e === 'object' && !Array.isArray(e))) return null;
  return list;
}

/**
 * Checks leaves [{cid, size, meta, metadata}] in set order against the version: every metadata
 * hashes to its leaf's digest, and the leaves rebuild `manifestRoot` with `itemCount` leaves.
 * Returns {ok, error}.
 */
export function checkLeaves(leaves, { manifestRoot, itemCount }) {
  if (leaves.length !== Number(itemCount)) return { ok: false, error: `the server listed ${leaves.length} leaves, the entry commits to ${itemCount}` };
  for (const l of leaves) {
    const want = l.meta ?? ZERO;
    if (l.metadata == null) {
      if (want !== ZERO) return { ok: false, error: `the metadata of ${l.cid} is missing` };
    } else if (toHex(blake3(utf8(canonicalize(l.metadata)))) !== want) {
      return { ok: false, error: `the metadata of ${l.cid} does not hash to its leaf's digest` };
    }
  }
  const root = toHex(rootOfLeafHashes(Blake3Set, leaves.map((l) => setLeafHash({ cid: l.cid, size: l.size, meta: l.meta }))));
  if (root !== manifestRoot) return { ok: false, error: 'the leaves do not rebuild the manifest root the entry commits to' };
  return { ok: true, error: null };
}

/** The source tree of leaves with metadata: {root (hex), size, leaves: [{key, cid, size}] sorted}. */
export function sourceTreeOf(leaves) {
  const seen = new Map();
  for (const l of leaves) {
    for (const e of entriesOf(l.metadata) ?? []) {
      const key = typeof e.source === 'string' ? sourceKey(e.source) : '';
      const bytes = sourceLeaf(key, l.cid);
      const hex = toHex(bytes);
      if (!seen.has(hex)) seen.set(hex, { bytes, key, cid: l.cid, size: Number(l.size) });
    }
  }
  const list = [...seen.values()].sort((a, b) => compare(a.bytes, b.bytes));
  return { root: toHex(rootOfLeafHashes(Blake3Set, list.map((x) => Blake3Set.leafHash(x.bytes)))), size: list.length, leaves: list };
}

/** The statistics of leaves with metadata, in set order: {licences, consent, hosts, no_source}. */
export function computeStats(leaves) {
  const licences = new Map();
  const consent = new Map();
  for (const l of leaves) {
    const entries = entriesOf(l.metadata) ?? [];
    const size = Number(l.size);
    const ls = [...new Set(entries.map((e) => text(e, 'license') ?? NONE))].sort(byteCmp);
    const cs = [...new Set(entries.map((e) => text(e, 'consent') ?? NONE))].sort(byteCmp);
    for (const v of ls) tally(licences, v, size);
    for (const v of cs) tally(consent, v, size);
  }
  // Per host, wherever its keys sort (`com.a./x`, `com.a.0./`, `com.a.:8080/` are a.com,
  // 0.a.com, a.com): grouped by host, as the service groups them.
  const hosts = new Map();
  const noSource = { items: 0, bytes: 0 };
  for (const s of sourceTreeOf(leaves).leaves) {
    const host = hostOfSourceKey(s.key);
    const c = host == null ? noSource : hosts.get(host) ?? { items: 0, bytes: 0 };
    c.items += 1;
    c.bytes += s.size;
    if (host != null) hosts.set(host, c);
  }
  const list = (m) => sorted([...m].map(([value, c]) => ({ value, items: c.items, bytes: c.bytes })));
  return { licences: list(licences), consent: list(consent), hosts: list(hosts).slice(0, MAX_HOSTS), no_source: noSource };
}

/** Whether the server's statistics are the recomputed ones; the first difference otherwise. */
export function compareStats(served, mine) {
  for (const k of ['licences', 'consent', 'hosts']) {
    const a = (served[k] ?? []).map((t) => `${t.value}\u0000${t.items}\u0000${t.bytes}`);
    const b = mine[k].map((t) => `${t.value}\u0000${t.items}\u0000${t.bytes}`);
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) return { ok: false, error: `the server's ${k} differ from those recomputed here` };
  }
  const ns = served.no_source ?? { items: 0, bytes: 0 };
  if (Number(ns.items) !== mine.no_source.items || Number(ns.bytes) !== mine.no_source.bytes) return { ok: false, error: 'the server\'s no-source counts differ from those recomputed here' };
  return { ok: true, error: null };
}
