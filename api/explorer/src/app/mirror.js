// Reading the log from a static mirror instead of the service (issue 16; docs/explorer.md "Reading
// from a static mirror"): the bucket `prov serve --publish` writes (docs/publishing.md), behind any
// static HTTP(S) server that allows cross-origin GETs (a CDN, a bucket's website endpoint).
//
// The mirror answers, in place of the service, the routes whose answers static objects give:
// the checkpoint (and checkpoint.cosigned), tiles, an entry by index (from its entry bundle), an
// entry's tlog-proof and a consistency proof (computed here from the hash tiles), a dataset
// version by name (found by reading the entry bundles: the log is the index) and an item of a
// version (from `sets/<root>.leaves`: the leaf found with HTTP Range reads of 72-byte leaves, a
// binary search, then the proof computed here from the whole object, which it needs: sibling
// subtree roots are not published, so the leaves are downloaded whole under SET_CAP_BYTES), the
// dataset lists, publishers and opt-outs (from the entries), pages of a version's items (one Range read each) and its
// figures (computed here from its leaves and `sets/<root>.meta`, then rechecked by the page), and
// a site's or a work's range proofs (computed here from `sources/<root>.leaves` or
// `passages/<root>.leaves`, downloaded whole, and verified by the page against the root the
// version's entry commits).
// Nothing here is trusted: every page checks these answers exactly as it checks the service's
// (trust.js), against the checkpoint verified with the key given with the mirror. Every other
// route needs the service's dynamic API and throws a MirrorUnsupported error that pages show.

import { parseVkey } from '../lib/note.js';
import { Blake3Set, inclusionProofOf } from '../lib/merkle.js';
import { TileReader, entryTilePath, TILE_WIDTH } from '../lib/tiles.js';
import { compare, fromUtf8, toBase64, toHex } from '../lib/bytes.js';
import { SET_LEAF_LEN, formatCid, parseCid, setLeafHash } from '../lib/set.js';
import { computeStats } from '../lib/stats.js';
import { passageRange, rangeLeafHash, siteRange } from '../lib/range.js';
import { Site } from '../lib/source.js';

const MIRROR_KEY = 'prov-explorer.mirror';

/** The largest set (leaves object) or metadata object downloaded whole: 64 MiB. */
export const SET_CAP_BYTES = 64 * 1024 * 1024;
/** The most entries read to find a dataset version by name (256 entry bundles). */
export const SCAN_CAP_ENTRIES = 65536;

/** The reader's mirror setting: {url, vkey}, or null (read from this service). */
export function mirrorSetting() {
  try {
    const m = JSON.parse(localStorage.getItem(MIRROR_KEY) ?? 'null');
    if (m && typeof m.url === 'string' && typeof m.vkey === 'string') return { url: m.url, vkey: m.vkey };
  } catch {
    /* storage disabled, or not ours */
  }
  return null;
}

/**
 * Reads the log from the static mirror at `url` (http or https) from now on, with the log's
 * verifier key `vkey` (a mirror announces none). Takes effect on the next page load.
 */
export function setMirror(url, vkey) {
  let u;
  try {
    u = new URL(String(url).trim());
  } catch {
    throw new Error('the mirror must be an http(s):// URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('the mirror must be an http(s):// URL');
  parseVkey(String(vkey).trim());
  localStorage.setItem(MIRROR_KEY, JSON.stringify({ url: u.href.replace(/\/+$/, ''), vkey: String(vkey).trim() }));
}

export function forgetMirror() {
  localStorage.removeItem(MIRROR_KEY);
}

/** Compliance bundles the reader gave this page (by model checkpoint entry index). */
const given = new Map();

/**
 * A compliance bundle the reader has (`prov proof compliance` writes one; a mirror holds none),
 * for the model checkpoint at `index`: the checkpoint page then verifies it as the service's,
 * its completeness checked against the mirror's tiles.
 */
export function giveBundle(index, bundle) {
  given.set(Number(index), bundle);
}

/**
 * A range tree held whole: its sorted leaves and every level (a level's odd last node carried up,
 * which is RFC 6962's shape), so proofs are computed as verifier/src/range/proof.rs computes them.
 */
class RangeTree {
  constructor(leaves) {
    this.leaves = leaves;
    this.levels = [leaves.map(rangeLeafHash)];
    while (this.levels[this.levels.length - 1].length > 1) {
      const l = this.levels[this.levels.length - 1];
      const next = [];
      for (let i = 0; i < l.length; i += 2) next.push(i + 1 < l.length ? Blake3Set.nodeHash(l[i], l[i + 1]) : l[i]);
      this.levels.push(next);
    }
  }

  get size() {
    return this.leaves.length;
  }

  root() {
    return this.size === 0 ? Blake3Set.emptyRoot() : this.levels[this.levels.length - 1][0];
  }

  /** The first position whose leaf is >= key. */
  lowerBound(key) {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(this.leaves[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The positions a proof of `range` reveals (range_indices): its edges and `reveal` members. */
  indices({ lo, hi }, reveal) {
    const n = this.size;
    const s = this.lowerBound(lo);
    const e = hi == null ? n : this.lowerBound(hi);
    const out = [];
    if (s > 0) out.push(s - 1);
    if (e - s <= reveal) for (let i = s; i < e; i++) out.push(i);
    else {
      const half = Math.max(Math.floor(reveal / 2), 1);
      for (let i = s; i < s + half; i++) out.push(i);
      for (let i = e - half; i < e; i++) out.push(i);
    }
    if (e < n) out.push(e);
    return { out, count: e - s };
  }

  /** The multi-range proof JSON revealing `indices` (the helper hashes level by level). */
  proof(indices) {
    let cur = [...new Set(indices)].sort((a, b) => a - b);
    const leaves = cur.map((i) => ({ index: i, leaf: toHex(this.leaves[i]) }));
    const hashes = [];
    let width = this.size;
    for (let lvl = 0; width > 1; lvl++) {
      const next = [];
      for (let k = 0; k < cur.length; k++) {
        const x = cur[k];
        if ((x & 1) === 0 && k + 1 < cur.length && cur[k + 1] === x + 1) k++;
        else if ((x ^ 1) < width) hashes.push(toHex(this.levels[lvl][x ^ 1]));
        const p = x >> 1;
        if (!next.length || next[next.length - 1] !== p) next.push(p);
      }
      cur = next;
      width = (width + 1) >> 1;
    }
    return { tree_size: this.size, leaves, hashes };
  }
}

/** What a static mirror cannot answer: the service's dynamic routes. */
export class MirrorUnsupported extends Error {
  constructor(what) {
    super(`a static mirror cannot answer this (${what}): it needs the service's dynamic API. Switch "Read the log from" to this service on the log page, or use \`prov check --tiles\`.`);
    this.name = 'MirrorUnsupported';
    this.status = 501;
  }
}

const W = BigInt(TILE_WIDTH);

function splitBundle(b) {
  const out = [];
  let o = 0;
  while (o < b.length) {
    if (o + 2 > b.length) throw new Error('truncated entry bundle');
    const n = (b[o] << 8) | b[o + 1];
    if (o + 2 + n > b.length) throw new Error('truncated entry bundle');
    out.push(b.slice(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
}

function sizeOf(note) {
  const line = String(note).split('\n')[1] ?? '';
  if (!/^(0|[1-9][0-9]*)$/.test(line)) throw new Error('the mirror\'s checkpoint has no size line');
  return BigInt(line);
}

/**
 * The route functions of `api` (api.js) answered from the mirror at `base` with key `vkey`;
 * `ApiError` is api.js's error class (a 404 is one, as from the service).
 */
export function mirrorApi(base, vkey, ApiError) {
  const url = (path) => `${base}/${path}`;
  async function get(path, init = {}) {
    const res = await fetch(url(path), { credentials: 'omit', ...init });
    if (res.status === 404 || res.status === 403) throw new ApiError(404, { title: 'not-found', detail: `the mirror has no ${path}` }, url(path));
    if (!res.ok) throw new ApiError(res.status, { title: 'mirror', detail: `the mirror answered ${res.status} for ${path}` }, url(path));
    return res;
  }
  async function bytes(path, init) {
    return new Uint8Array(await (await get(path, init)).arrayBuffer());
  }
  const text = async (path) => (await get(path, { cache: 'no-cache' })).text();
  /** Bytes [a, b] (inclusive) of `path` by an HTTP Range request (a full answer is cut). */
  async function range(path, a, b) {
    const res = await get(path, { headers: { range: `bytes=${a}-${b}` } });
    const got = new Uint8Array(await res.arrayBuffer());
    if (res.status === 206) return got;
    return got.slice(a, b + 1);
  }

  const tiles = new Map();
  const tile = (path) => {
    if (!tiles.has(path)) {
      const p = bytes(path);
      tiles.set(path, p);
      p.catch(() => tiles.delete(path));
    }
    return tiles.get(path);
  };
  let latest = null;
  const checkpoint = () => {
    if (!latest) {
      latest = text('checkpoint');
      latest.catch(() => (latest = null));
    }
    return latest;
  };

  /** Entries [0, size) of the mirror's latest tree, decoded (bounded by SCAN_CAP_ENTRIES). */
  let scanned = null;
  const scan = () => {
    if (!scanned) {
      scanned = (async () => {
        const size = sizeOf(await checkpoint());
        if (size > BigInt(SCAN_CAP_ENTRIES)) throw new MirrorUnsupported(`finding an entry by name in a log of more than ${SCAN_CAP_ENTRIES} entries`);
        const out = [];
        for (let t = 0n; t * W < size; t++) {
          const rest = size - t * W;
          const w = rest >= W ? TILE_WIDTH : Number(rest);
          splitBundle(await tile(entryTilePath(t, w)))
            .slice(0, w)
            .forEach((b, j) => {
              let entry = null;
              try {
                entry = JSON.parse(fromUtf8(b));
              } catch {
                entry = null;
              }
              out.push({ index: Number(t * W + BigInt(j)), entry });
            });
        }
        return out;
      })();
      scanned.catch(() => (scanned = null));
    }
    return scanned;
  };

  /** Every dataset version of the log as the service's view, by label (publisher, dataset, version). */
  async function versions() {
    const byte = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
    return (await scan())
      .filter((e) => e.entry?.type === 'dataset_version')
      .map(({ index, entry }) => ({ ...entry, label: `${entry.publisher}/${entry.dataset}@${entry.version}`, index, entry_index: index, set_stored: true }))
      .sort((a, b) => byte(a.publisher, b.publisher) || byte(a.dataset, b.dataset) || byte(a.version, b.version));
  }

  async function version(pub, name, v) {
    const hit = (await versions()).find((d) => d.publisher === pub && d.dataset === name && d.version === v);
    if (!hit) throw new ApiError(404, { title: 'not-found', detail: `no dataset version ${pub}/${name}@${v} in the mirror's log` }, base);
    return hit;
  }

  /** Lines of `sets/<root>.meta` parsed (null where a leaf has none); null when there is none. */
  const metas = new Map();
  function metaLines(root) {
    if (!metas.has(root)) {
      const p = (async () => {
        try {
          const m = await bytes(`sets/${root}.meta`);
          if (m.length > SET_CAP_BYTES) throw new MirrorUnsupported(`metadata over ${SET_CAP_BYTES / 1048576} MiB`);
          return fromUtf8(m)
            .split('\n')
            .map((l) => (l ? JSON.parse(l) : null));
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) return null;
          throw e;
        }
      })();
      metas.set(root, p);
      p.catch(() => metas.delete(root));
    }
    return metas.get(root);
  }

  /** A page of a set's leaves from `sets/<root>.leaves` by one Range read: the service's shape. */
  async function setLeaves(root, { offset = 0, limit = 1000, meta = false } = {}) {
    const path = `sets/${root}.leaves`;
    const a = Number(offset) * SET_LEAF_LEN;
    const res = await fetch(url(path), { credentials: 'omit', headers: { range: `bytes=${a}-${a + Number(limit) * SET_LEAF_LEN - 1}` } });
    if (res.status === 416) return { items: [], next: null };
    if (res.status === 404 || res.status === 403) throw new ApiError(404, { title: 'not-found', detail: `the mirror has no ${path}` }, url(path));
    if (!res.ok) throw new ApiError(res.status, { title: 'mirror', detail: `the mirror answered ${res.status} for ${path}` }, url(path));
    let got = new Uint8Array(await res.arrayBuffer());
    let total;
    if (res.status === 206) total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
    else {
      total = got.length;
      got = got.slice(a, a + Number(limit) * SET_LEAF_LEN);
    }
    if (!Number.isFinite(total) || total % SET_LEAF_LEN !== 0) throw new Error(`${path}: not whole ${SET_LEAF_LEN}-byte leaves`);
    const lines = meta ? await metaLines(root) : null;
    const items = [];
    for (let k = 0; k + SET_LEAF_LEN <= got.length; k += SET_LEAF_LEN) {
      const leaf = leafJson(got.slice(k, k + SET_LEAF_LEN));
      if (meta) leaf.metadata = lines?.[Number(offset) + k / SET_LEAF_LEN] ?? null;
      items.push(leaf);
    }
    const end = Number(offset) + items.length;
    return { items, next: end < total / SET_LEAF_LEN && items.length > 0 ? end : null };
  }

  /** The range tree `sources/<root>.leaves` or `passages/<root>.leaves` (whole, under the cap). */
  const trees = new Map();
  function rangeTree(kind, ref) {
    const key = `${kind}/${ref.root}`;
    if (!trees.has(key)) {
      const p = (async () => {
        if (Number(ref.size) * 64 > SET_CAP_BYTES * 4) throw new MirrorUnsupported(`a ${kind} tree of ${ref.size} leaves`);
        const b = await bytes(`${kind}/${ref.root}.leaves`);
        const leaves = [];
        if (kind === 'passages') for (let o = 0; o + 64 <= b.length; o += 64) leaves.push(b.slice(o, o + 64));
        else
          for (let o = 0; o < b.length; ) {
            if (o + 2 > b.length) throw new Error(`${kind}/${ref.root}.leaves: a cut length`);
            const n = (b[o] << 8) | b[o + 1];
            leaves.push(b.slice(o + 2, o + 2 + n));
            o += 2 + n;
          }
        // Nothing checked here: the page verifies every proof against the root its entry commits.
        return new RangeTree(leaves);
      })();
      trees.set(key, p);
      p.catch(() => trees.delete(key));
    }
    return trees.get(key);
  }

  /** A site's range proof in version `d` (the service's SiteProofView), null without sources. */
  async function siteIn(d, siteText, reveal) {
    if (!d.sources) return null;
    const site = Site.parse(siteText);
    const tree = await rangeTree('sources', d.sources);
    const { out, count } = tree.indices(siteRange(site), Number(reveal ?? 100));
    return { dataset: d.label, entry_index: d.index, sources: d.sources, site: site.toString(), count, proof: tree.proof(out) };
  }

  /** A version's figures, computed here from its leaves and metadata (the page rechecks them). */
  async function stats(pub, name, v) {
    const d = await version(pub, name, v);
    const n = Number(d.item_count);
    if (n * SET_LEAF_LEN > SET_CAP_BYTES) throw new MirrorUnsupported(`figures of a set over ${SET_CAP_BYTES / 1048576} MiB`);
    const lines = await metaLines(d.manifest_root);
    if (!lines) throw new ApiError(404, { title: 'not-found', detail: 'the mirror holds no metadata for this version' }, base);
    const all = await bytes(`sets/${d.manifest_root}.leaves`);
    const leaves = [];
    for (let i = 0; i < n; i++) leaves.push({ ...leafJson(all.slice(i * SET_LEAF_LEN, (i + 1) * SET_LEAF_LEN)), metadata: lines[i] ?? null });
    return computeStats(leaves);
  }

  /** The note of the checkpoint of `size` the mirror holds (its latest, or its cosigned one). */
  async function noteOfSize(size) {
    const note = await checkpoint();
    if (size === undefined || sizeOf(note) === BigInt(size)) return note;
    try {
      const cosigned = await text('checkpoint.cosigned');
      if (sizeOf(cosigned) === BigInt(size)) return cosigned;
    } catch {
      /* none */
    }
    throw new ApiError(404, { title: 'not-found', detail: `the mirror holds no checkpoint of size ${size}` }, base);
  }

  /** A set leaf as JSON ({cid, size, meta hex}) from its 72 bytes. */
  const leafJson = (b) => ({
    cid: formatCid(b.slice(0, 32)),
    size: Number(new DataView(b.buffer, b.byteOffset + 32, 8).getBigUint64(0)),
    meta: toHex(b.slice(40, 72)),
  });

  /**
   * `cid` in dataset version `d`: {found (leaf index or -1), proof (membership JSON), leaf}. The
   * leaf is found by Range reads; the proof is computed from the whole leaves object.
   */
  async function membership(d, cid) {
    const want = parseCid(cid);
    const n = Number(d.item_count);
    const path = `sets/${d.manifest_root}.leaves`;
    // The leaf, by a binary search of Range reads (the leaves are sorted by cid).
    let lo = 0;
    let hi = n;
    let found = -1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const leaf = await range(path, mid * SET_LEAF_LEN, mid * SET_LEAF_LEN + SET_LEAF_LEN - 1);
      const c = compare(leaf.slice(0, 32), want);
      if (c === 0) {
        found = mid;
        break;
      }
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    if (n * SET_LEAF_LEN > SET_CAP_BYTES) {
      throw new MirrorUnsupported(`a proof in a set of ${n} leaves: the proof needs the whole ${Math.round((n * SET_LEAF_LEN) / 1048576)} MiB leaves object, over this page's ${SET_CAP_BYTES / 1048576} MiB cap (the ranged reads ${found >= 0 ? `found it at leaf ${found}` : 'did not find it'}, unverified)`);
    }
    // The proof: computed from the whole leaves object, checked by the page against the root the
    // version's entry commits (a tampered object fails there).
    const all = await bytes(path);
    if (all.length !== n * SET_LEAF_LEN) throw new Error(`${path} holds ${all.length} bytes, the version commits ${n} leaves of ${SET_LEAF_LEN}`);
    const leaves = [];
    for (let i = 0; i < n; i++) leaves.push(all.slice(i * SET_LEAF_LEN, (i + 1) * SET_LEAF_LEN));
    const hashes = leaves.map((b) => setLeafHash(b));
    const proofAt = (i) => ({ index: i, leaf: leafJson(leaves[i]), path: inclusionProofOf(Blake3Set, hashes, i).map(toHex) });
    if (found < 0) {
      const excluded = { id: cid, tree_size: n };
      if (lo > 0) excluded.left = proofAt(lo - 1);
      if (lo < n) excluded.right = proofAt(lo);
      return { found, proof: { excluded } };
    }
    const p = proofAt(found);
    return { found, leaf: p.leaf, proof: { included: { tree_size: n, ...p } } };
  }

  async function item(pub, name, v, cid) {
    const d = await version(pub, name, v);
    const m = await membership(d, cid);
    if (m.found < 0) throw new ApiError(404, { title: 'item-not-found', detail: `${cid} is not in ${d.label}`, exclusion: m.proof }, base);
    const meta = (await metaLines(d.manifest_root))?.[m.found] ?? null;
    return { dataset: d.label, entry_index: d.index, manifest_root: d.manifest_root, item_count: Number(d.item_count), leaf: m.leaf, meta, proof: m.proof };
  }

  /** Model checkpoints of the log as the service's views (log order). */
  async function checkpoints() {
    return (await scan())
      .filter((e) => e.entry?.type === 'model_checkpoint')
      .map(({ index, entry: c }) => ({
        index,
        publisher: c.publisher,
        model: c.model,
        checkpoint: c.checkpoint,
        weights_root: c.weights_root,
        weights_count: c.weights_count,
        optout_horizon: c.optout_horizon,
        datasets: c.datasets.map((d) => `${d.publisher}/${d.dataset}@${d.version}`),
        dataset_indexes: c.datasets.map((d) => d.index),
      }));
  }

  /** RFC 6962 SUBPROOF from the tree of `m` leaves to the tree of `n`, from the tiles. */
  async function consistency(m, n) {
    const reader = new TileReader(n, tile);
    const split = (k) => {
      let s = 1n;
      while (s << 1n < k) s <<= 1n;
      return s;
    };
    const rec = async (m, lo, hi, b) => {
      if (m === hi - lo) return b ? [] : [await reader.rangeHash(lo, hi)];
      const k = split(hi - lo);
      if (m <= k) return [...(await rec(m, lo, lo + k, b)), await reader.rangeHash(lo + k, hi)];
      return [...(await rec(m - k, lo + k, hi, false)), await reader.rangeHash(lo, lo + k)];
    };
    return rec(m, 0n, n, true);
  }

  const unsupported = (what) => () => Promise.reject(new MirrorUnsupported(what));
  return {
    mirror: base,
    checkpoint,
    checkpointCosigned: () => text('checkpoint.cosigned'),
    tile,
    health: async () => {
      const note = await checkpoint();
      return { status: 'mirror', origin: note.split('\n')[0], verifier_key: vkey, tree_size: Number(sizeOf(note)), mirror: base };
    },
    entry: async (index) => {
      const i = BigInt(index);
      const size = sizeOf(await checkpoint());
      if (i >= size) throw new ApiError(404, { title: 'not-found', detail: `entry ${index} is beyond the mirror's checkpoint` }, base);
      const t = i / W;
      const rest = size - t * W;
      const w = rest >= W ? TILE_WIDTH : Number(rest);
      const b = splitBundle(await tile(entryTilePath(t, w)))[Number(i % W)];
      const canonical = fromUtf8(b);
      let entry = null;
      try {
        entry = JSON.parse(canonical);
      } catch {
        entry = null;
      }
      return { index: Number(i), canonical, entry, type: entry?.type };
    },
    entryProof: async (index, size) => {
      const note = await noteOfSize(size);
      const n = sizeOf(note);
      const proof = await new TileReader(n, tile).inclusionProof(BigInt(index));
      return ['c2sp.org/tlog-proof@v1', `index ${index}`, ...proof.map(toBase64), '', note].join('\n');
    },
    consistency: async (old, size) => {
      const hashes = await consistency(BigInt(old), BigInt(size));
      return { old_size: Number(old), new_size: Number(size), hashes: hashes.map(toHex) };
    },
    datasetVersion: (pub, name, v) => version(pub, name, v),
    item,
    publisher: async (name) => {
      const hit = (await scan()).filter((e) => e.entry?.type === 'publisher' && e.entry.name === name).pop();
      if (!hit) throw new ApiError(404, { title: 'not-found', detail: `no publisher ${name} in the mirror's log` }, base);
      return { name, key: hit.entry.key, index: hit.index };
    },
    datasets: async () => ({ items: await versions(), next: null }),
    datasetsOf: async (pub) => ({ items: (await versions()).filter((d) => d.publisher === pub), next: null }),
    datasetVersions: async (pub, name) => {
      const items = (await versions()).filter((d) => d.publisher === pub && d.dataset === name);
      if (items.length === 0) throw new ApiError(404, { title: 'not-found', detail: `no dataset ${pub}/${name} in the mirror's log` }, base);
      return { items, next: null };
    },
    setLeaves,
    stats,
    versionSite: async (pub, name, v, site, reveal) => {
      const a = await siteIn(await version(pub, name, v), site, reveal);
      if (!a) throw new ApiError(404, { title: 'no-source-tree', detail: `${pub}/${name}@${v} has no source tree` }, base);
      return a;
    },
    site: async (site, { cursor, reveal } = {}) => {
      const items = [];
      if (cursor == null) for (const d of await versions()) {
        const a = await siteIn(d, site, reveal);
        if (a) items.push(a);
      }
      return { site, items, next: null };
    },
    versionPassages: async (pub, name, v, passages, reveal) => {
      const d = await version(pub, name, v);
      if (!d.passages) throw new ApiError(404, { title: 'no-passage-tree', detail: `${d.label} has no passage tree` }, base);
      const tree = await rangeTree('passages', d.passages);
      const all = [];
      const results = [];
      for (const pid of [...new Set(passages)].sort()) {
        const { out, count } = tree.indices(passageRange(pid), Number(reveal ?? 16));
        all.push(...out);
        results.push({ passage: pid, count });
      }
      return { dataset: d.label, entry_index: d.index, passages: d.passages, results, proof: tree.proof(all) };
    },
    passageLeaves: unsupported('a passage tree\'s leaves'),
    setProof: async (root, cid) => {
      const d = (await versions()).find((v) => v.manifest_root === root);
      if (!d) throw new ApiError(404, { title: 'not-found', detail: `no dataset version with manifest root ${root} in the mirror's log` }, base);
      return (await membership(d, cid)).proof;
    },
    // No content index in a mirror: no version is named here, so the page proves the id in or
    // out of every version itself (setProof); every checkpoint is listed, the page keeps those
    // trained on a version it proved holds the id.
    content: async (cid) => ({ cid, dataset_versions: [], checkpoints: await checkpoints(), checkpoints_truncated: false, next: null }),
    optouts: async ({ after } = {}) => ({
      items: (await scan()).filter((e) => e.entry?.type === 'optout' && (after == null || e.index > Number(after))),
      next: null,
    }),
    modelCheckpoints: async (pub, model) => ({ items: (await checkpoints()).filter((c) => c.publisher === pub && c.model === model), next: null }),
    compliance: async (index) => {
      if (given.has(Number(index))) return given.get(Number(index));
      throw new MirrorUnsupported('a compliance bundle: give its file on the checkpoint\'s page');
    },
    submitEntry: unsupported('submitting an entry'),
  };
}
