// What changed between two versions of a dataset: both manifests are read a page at a time, their
// roots recomputed here (so the comparison is of the sets the log commits to, not of whatever the
// server lists), and merged in content id order. Only for versions small enough to read whole.

import { api } from './api.js';
import { Blake3Set, rootOfLeafHashes } from '../lib/merkle.js';
import { setLeafHash } from '../lib/set.js';
import { toHex } from '../lib/bytes.js';

export const DIFF_MAX = 20000;

/** Every leaf of a set of `count` leaves, a page at a time (with each leaf's metadata if `meta`). */
export async function allLeaves(root, count, meta = false) {
  const out = [];
  let offset = 0;
  while (offset < count) {
    const page = await api.setLeaves(root, { offset, limit: 1000, meta });
    out.push(...page.items);
    if (page.next == null || page.items.length === 0) break;
    offset = page.next;
  }
  return out;
}

/** {added, removed, verified}: verified when both leaf lists hash to the versions' roots. */
export async function diffSets(prev, next) {
  const [a, b] = await Promise.all([allLeaves(prev.manifest_root, prev.item_count), allLeaves(next.manifest_root, next.item_count)]);
  const verified = toHex(rootOfLeafHashes(Blake3Set, a.map(setLeafHash))) === prev.manifest_root && toHex(rootOfLeafHashes(Blake3Set, b.map(setLeafHash))) === next.manifest_root;
  let i = 0;
  let j = 0;
  let added = 0;
  let removed = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].cid < b[j].cid)) {
      removed++;
      i++;
    } else if (i >= a.length || b[j].cid < a[i].cid) {
      added++;
      j++;
    } else {
      i++;
      j++;
    }
  }
  return { added, removed, verified };
}
