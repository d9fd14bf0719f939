// Client pieces of C2SP tlog-tiles (c2sp.org/tlog-tiles): tile paths, and hashes of the log tree
// read from hash tiles, so the browser can recompute a checkpoint's root or an inclusion proof from
// the same immutable bytes every other C2SP client reads.
//
// A tile at level L holds up to 256 hashes of the tree's nodes at height 8L. Tile N at level L is
// `tile/L/N`, and while the tree does not fill it, `tile/L/N.p/W` with W of its hashes. N is written
// in groups of three digits, all but the last prefixed with `x`: 1234067 -> x001/x234/067.

import { FormatError, toU64 } from './bytes.js';
import { Sha256Log } from './merkle.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

/** The path form of a tile index: 0 -> "000", 1234067 -> "x001/x234/067". */
export function encodeTileIndex(n) {
  let v = toU64(n, 'tile index');
  const groups = [];
  do {
    groups.unshift(String(v % 1000n).padStart(3, '0'));
    v /= 1000n;
  } while (v > 0n);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** `tile/<L>/<N>[.p/<W>]`; W is the width when the tile is partial (1..255), else omitted. */
export function tilePath(level, index, width = TILE_WIDTH) {
  const p = `tile/${level}/${encodeTileIndex(index)}`;
  return width === TILE_WIDTH ? p : `${p}.p/${width}`;
}

/** `tile/entries/<N>[.p/<W>]`. */
export function entryTilePath(index, width = TILE_WIDTH) {
  const p = `tile/entries/${encodeTileIndex(index)}`;
  return width === TILE_WIDTH ? p : `${p}.p/${width}`;
}

/** Parses a tile path back to {level ("entries" or a number), index (BigInt), width}. */
export function parseTilePath(path) {
  const m = /^tile\/(entries|[0-9]+)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([0-9]+))?$/.exec(path);
  if (!m) throw new FormatError(`not a tile path: ${path}`);
  const index = BigInt(m[2].replace(/x|\//g, ''));
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (width < 1 || width > TILE_WIDTH || (m[3] !== undefined && (width === TILE_WIDTH || m[3] !== String(width)))) {
    throw new FormatError(`bad partial tile width in ${path}`);
  }
  return { level: m[1] === 'entries' ? 'entries' : Number(m[1]), index, width };
}

/** Splits a hash tile's bytes into its 32-byte hashes. */
export function tileHashes(bytes, width) {
  if (bytes.length !== width * 32) throw new FormatError(`tile holds ${bytes.length} bytes, expected ${width * 32}`);
  const out = [];
  for (let i = 0; i < width; i++) out.push(bytes.slice(32 * i, 32 * i + 32));
  return out;
}

/**
 * Reads log tree hashes through hash tiles for a tree of `size` leaves. `fetchTile(path)` returns
 * the tile's bytes (a Promise of Uint8Array). Tiles are cached per reader.
 */
export class TileReader {
  constructor(size, fetchTile) {
    this.size = toU64(size, 'tree size');
    this.fetchTile = fetchTile;
    this.cache = new Map();
  }

  /** The stored hashes of tile `index` at `level`, as wide as the tree of this size fills it. */
  async tile(level, index) {
    const nodes = this.size >> BigInt(TILE_HEIGHT * level); // complete nodes at height 8*level
    const start = BigInt(index) * BigInt(TILE_WIDTH);
    if (start >= nodes) throw new FormatError(`tile ${level}/${index} is beyond the tree`);
    const rest = nodes - start;
    const width = rest >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(rest);
    const path = tilePath(level, index, width);
    if (!this.cache.has(path)) {
      this.cache.set(path, Promise.resolve(this.fetchTile(path)).then((b) => tileHashes(b, width)));
    }
    return this.cache.get(path);
  }

  /** The hash of the complete subtree of height `h` whose leftmost leaf is `index << h`. */
  async nodeHash(h, index) {
    const level = Math.floor(h / TILE_HEIGHT);
    const rem = h - level * TILE_HEIGHT;
    if (rem === 0) {
      const idx = BigInt(index);
      const t = await this.tile(level, idx / BigInt(TILE_WIDTH));
      return t[Number(idx % BigInt(TILE_WIDTH))];
    }
    const idx = BigInt(index);
    const [l, r] = await Promise.all([this.nodeHash(h - 1, idx * 2n), this.nodeHash(h - 1, idx * 2n + 1n)]);
    return Sha256Log.nodeHash(l, r);
  }

  /** The RFC 6962 hash of leaves [lo, hi) of this tree. */
  async rangeHash(lo, hi) {
    const n = hi - lo;
    if (n <= 0n) throw new FormatError('empty range');
    if ((n & (n - 1n)) === 0n && lo % n === 0n) {
      const h = n.toString(2).length - 1;
      return this.nodeHash(h, lo >> BigInt(h));
    }
    let k = 1n;
    while (k << 1n < n) k <<= 1n;
    const [a, b] = await Promise.all([this.rangeHash(lo, lo + k), this.rangeHash(lo + k, hi)]);
    return Sha256Log.nodeHash(a, b);
  }

  /** The root of the whole tree. */
  async root() {
    if (this.size === 0n) return Sha256Log.emptyRoot();
    return this.rangeHash(0n, this.size);
  }

  /** The inclusion proof of leaf `index` in this tree (RFC 6962 PATH). */
  async inclusionProof(index) {
    const m = toU64(index, 'leaf index');
    if (m >= this.size) throw new FormatError('leaf index beyond the tree');
    const rec = async (lo, hi) => {
      if (hi - lo === 1n) return [];
      let k = 1n;
      while (k << 1n < hi - lo) k <<= 1n;
      if (m < lo + k) return [...(await rec(lo, lo + k)), await this.rangeHash(lo + k, hi)];
      return [...(await rec(lo + k, hi)), await this.rangeHash(lo, lo + k)];
    };
    return rec(0n, this.size);
  }
}
