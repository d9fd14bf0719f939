// Reading entries straight from the C2SP entry tiles (`tile/entries/N[.p/W]`): the log's own
// bytes, 256 entries per request, which is how the log, entry lists and recent publishers and
// models are shown without an index endpoint for each. Bounded: never more than a few tiles.

import { api } from './api.js';
import { latestCheckpoint, splitEntryBundle } from './trust.js';
import { entryTilePath, TILE_WIDTH } from '../lib/tiles.js';

const W = BigInt(TILE_WIDTH);
const bundles = new Map();

function bundle(tileIndex, width) {
  const path = entryTilePath(tileIndex, width);
  if (!bundles.has(path)) {
    const p = api.tile(path).then(splitEntryBundle);
    bundles.set(path, p);
    p.catch(() => bundles.delete(path));
  }
  return bundles.get(path);
}

/** The latest verified tree size (0n when the checkpoint does not verify). */
export async function treeSize() {
  const latest = await latestCheckpoint();
  return latest.ok ? latest.cp.size : 0n;
}

/**
 * Entries [lo, hi) of the tree of `size` leaves, decoded: [{index, bytes, entry}], in log order.
 * An entry that is not JSON is returned with `entry: null`.
 */
export async function entriesRange(lo, hi, size) {
  const n = BigInt(size);
  let a = BigInt(lo) < 0n ? 0n : BigInt(lo);
  const b = BigInt(hi) > n ? n : BigInt(hi);
  const out = [];
  const tiles = [];
  for (let t = a / W; t * W < b; t++) {
    const rest = n - t * W;
    tiles.push([t, rest >= W ? TILE_WIDTH : Number(rest)]);
  }
  const got = await Promise.all(tiles.map(([t, w]) => bundle(t, w)));
  const dec = new TextDecoder();
  tiles.forEach(([t], k) => {
    got[k].forEach((bytes, j) => {
      const index = t * W + BigInt(j);
      if (index < a || index >= b) return;
      let entry = null;
      try {
        entry = JSON.parse(dec.decode(bytes));
      } catch {
        entry = null;
      }
      out.push({ index: Number(index), bytes, entry });
    });
  });
  void a;
  return out;
}

/** The last `n` entries, newest first. */
export async function recentEntries(n) {
  const size = await treeSize();
  const lo = size > BigInt(n) ? size - BigInt(n) : 0n;
  return (await entriesRange(lo, size, size)).reverse();
}
