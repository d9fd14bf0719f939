// What the explorer trusts and how it checks the rest: the log's verifier key (the one this server
// announces, unless the reader pinned another), the latest checkpoint verified with it, and every
// entry and proof verified against that checkpoint before a page calls it "verified".
//
// With a witness policy set by the reader (witness vkeys and a threshold k, kept in this browser
// like the pinned key), "the latest checkpoint" is the server's /checkpoint.cosigned instead, and
// it counts only if k of those witnesses cosigned it: every proof is then checked against that
// cosigned checkpoint, so a split view the witnesses did not see is not shown as verified.

import { api } from './api.js';
import { parseVkey, verifyCheckpoint } from '../lib/note.js';
import { checkCosigned, parseWitnessKey } from '../lib/cosignature.js';
import { verifyTlogProof } from '../lib/tlogproof.js';
import { Sha256Log, verifyConsistency } from '../lib/merkle.js';
import { verifyEntrySignature } from '../lib/entry.js';
import { FormatError, toU64, toBase64, hashFromBase64, hashFromHex } from '../lib/bytes.js';
import { TileReader, entryTilePath, TILE_WIDTH } from '../lib/tiles.js';

const PIN_KEY = 'prov-explorer.vkey';
const WITNESS_KEY = 'prov-explorer.witnesses';

let logPromise = null;
let checkpointPromise = null;

/** {origin, vkey (text), key (parsed), pinned, info}: the server's /v1/log plus any pinned key. */
export function logInfo() {
  if (!logPromise) {
    logPromise = api.health().then((info) => {
      let pinned = null;
      try {
        pinned = localStorage.getItem(PIN_KEY);
      } catch {
        /* storage disabled */
      }
      const vkey = pinned || info.verifier_key;
      if (!vkey) throw new Error('this server does not announce its verifier key; pin one on the log page');
      return { info, origin: info.origin, vkey, key: parseVkey(vkey), pinned: Boolean(pinned), served: info.verifier_key };
    });
    logPromise.catch(() => (logPromise = null));
  }
  return logPromise;
}

export function pinKey(vkey) {
  parseVkey(vkey);
  localStorage.setItem(PIN_KEY, vkey.trim());
  logPromise = null;
  checkpointPromise = null;
}

export function unpinKey() {
  localStorage.removeItem(PIN_KEY);
  logPromise = null;
  checkpointPromise = null;
}

/** The reader's witness policy: {vkeys: [text], k} (k = 0, no vkeys: none set). */
export function witnessPolicy() {
  try {
    const p = JSON.parse(localStorage.getItem(WITNESS_KEY) ?? 'null');
    if (p && Array.isArray(p.vkeys) && Number.isInteger(p.k)) return { vkeys: p.vkeys, k: p.k };
  } catch {
    /* storage disabled, or not ours */
  }
  return { vkeys: [], k: 0 };
}

/**
 * Keeps a witness policy in this browser: each vkey must be a witness key (type 0x04), and
 * 1 <= k <= the number of distinct keys (none and k = 0 forget it).
 */
export function setWitnessPolicy(vkeys, k) {
  const keys = [...new Set(vkeys.map((v) => v.trim()).filter(Boolean))];
  keys.forEach(parseWitnessKey);
  if (!Number.isInteger(k) || k < 0 || k > keys.length) throw new Error(`the threshold must be between 1 and the ${keys.length} witness key(s)`);
  if (keys.length > 0 && k === 0) throw new Error('a threshold of 0 checks no cosignature');
  if (keys.length === 0) localStorage.removeItem(WITNESS_KEY);
  else localStorage.setItem(WITNESS_KEY, JSON.stringify({ vkeys: keys, k }));
  checkpointPromise = null;
}

/**
 * The latest checkpoint: {ok: true, cp, text} when its signature verifies with the log key, or
 * {ok: false, error, text}. With a witness policy it is /checkpoint.cosigned, and ok only when
 * the policy is met; `cosigned` holds the per-witness rows (checkCosigned) either way it was
 * read. Fetched once per page load unless `fresh`.
 */
export function latestCheckpoint({ fresh = false } = {}) {
  if (!checkpointPromise || fresh) {
    checkpointPromise = (async () => {
      const policy = witnessPolicy();
      if (policy.k > 0) {
        const log = await logInfo();
        let text = null;
        try {
          text = await api.checkpointCosigned();
          const cosigned = checkCosigned(text, log.key, policy.vkeys, policy.k);
          if (!cosigned.met) return { ok: false, error: new Error(`witness policy not met: ${cosigned.error}`), text, log, cosigned, policy };
          return { ok: true, cp: cosigned.checkpoint, text, log, cosigned, policy };
        } catch (error) {
          return { ok: false, error, text, log, policy };
        }
      }
      const [log, text] = await Promise.all([logInfo(), api.checkpoint()]);
      try {
        return { ok: true, cp: verifyCheckpoint(text, log.key), text, log, policy };
      } catch (error) {
        return { ok: false, error, text, log, policy };
      }
    })();
    checkpointPromise.catch(() => (checkpointPromise = null));
  }
  return checkpointPromise;
}

/**
 * Verifies that `entryBytes` is the entry at `index` of the log: fetches its tlog-proof from the
 * API and checks the checkpoint inside it with the log key and the audit path with the entry's
 * leaf hash. Returns {ok, index, size, root, proofText, error}.
 */
export async function verifyEntry(index, entryBytes) {
  const log = await logInfo();
  let proofText = null;
  try {
    const latest = await latestCheckpoint();
    proofText = await api.entryProof(index, latest.ok ? latest.cp.size.toString() : undefined);
    const r = verifyTlogProof(proofText, log.key, { entry: entryBytes });
    // Under a witness policy the proof must be against the cosigned checkpoint itself.
    if (latest.policy?.k > 0) {
      if (!latest.ok) throw latest.error;
      if (r.size !== latest.cp.size || toBase64(r.root) !== toBase64(latest.cp.root)) {
        throw new Error(`the proof of entry ${index} is not against the cosigned checkpoint (size ${latest.cp.size})`);
      }
    }
    return { ok: true, index: r.index, size: r.size, root: r.root, proof: r.proof, proofText };
  } catch (error) {
    return { ok: false, error, proofText };
  }
}

/**
 * Under a witness policy: throws unless the checkpoint `cp` ({size, root}, verified with the log
 * key, e.g. a compliance bundle's) is the cosigned checkpoint or one it extends (consistency
 * proof). Without a policy: nothing to check.
 */
export async function linkedToCosigned(cp) {
  const latest = await latestCheckpoint();
  if (!(latest.policy?.k > 0)) return;
  if (!latest.ok) throw latest.error;
  const to = latest.cp;
  if (cp.size > to.size) throw new Error(`checkpoint of size ${cp.size} is not covered by the cosigned checkpoint (size ${to.size}) yet`);
  if (cp.size === to.size) {
    if (toBase64(cp.root) !== toBase64(to.root)) throw new Error(`checkpoint of size ${cp.size} is not the cosigned one: a split view`);
    return;
  }
  if (cp.size === 0n) return;
  const p = await api.consistency(cp.size.toString(), to.size.toString());
  verifyConsistency(Sha256Log, cp.size, to.size, p.hashes.map(hashFromHex), cp.root, to.root);
}

/** Splits a C2SP entry bundle (u16 big-endian length || bytes, repeated) into entries. */
export function splitEntryBundle(b) {
  const out = [];
  let o = 0;
  while (o < b.length) {
    if (o + 2 > b.length) throw new FormatError('truncated entry bundle');
    const n = (b[o] << 8) | b[o + 1];
    if (o + 2 + n > b.length) throw new FormatError('truncated entry bundle');
    out.push(b.slice(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
}

/**
 * The bytes of entry `index` read from the entry tiles of a tree of `size` leaves (C2SP
 * tlog-tiles), checked against the leaf hash in the level-0 hash tile.
 */
export async function entryFromTiles(index, size) {
  const i = toU64(index);
  const n = toU64(size);
  if (i >= n) throw new FormatError('entry is beyond the checkpoint');
  const tileIndex = i / BigInt(TILE_WIDTH);
  const rest = n - tileIndex * BigInt(TILE_WIDTH);
  const width = rest >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(rest);
  const bundle = splitEntryBundle(await api.tile(entryTilePath(tileIndex, width)));
  if (bundle.length !== width) throw new FormatError(`entry bundle holds ${bundle.length} entries, expected ${width}`);
  const entry = bundle[Number(i % BigInt(TILE_WIDTH))];
  const reader = new TileReader(n, (p) => api.tile(p));
  const leaf = (await reader.tile(0, tileIndex))[Number(i % BigInt(TILE_WIDTH))];
  const mine = Sha256Log.leafHash(entry);
  if (mine.some((v, k) => v !== leaf[k])) throw new FormatError('entry bytes do not match the hash tile');
  return entry;
}

const entryCache = new Map();

/**
 * Entry `index` as the log committed it, verified: its canonical bytes, and its tlog-proof checked
 * against a checkpoint signed by the log key. Returns
 * {ok, entry (decoded JSON), bytes, size, root, error}. Cached per page load.
 */
export function verifiedEntry(index) {
  const key = String(index);
  if (!entryCache.has(key)) {
    const p = (async () => {
      const latest = await latestCheckpoint();
      if (!latest.ok) return { ok: false, error: latest.error };
      // The entry's exact bytes as the JSON API gives them; the tlog-proof below is what makes
      // them trustworthy (a changed byte changes the leaf hash).
      let bytes;
      try {
        const view = await api.entry(index);
        bytes = new TextEncoder().encode(view.canonical);
      } catch (error) {
        return { ok: false, error };
      }
      const entry = JSON.parse(new TextDecoder().decode(bytes));
      const r = await verifyEntry(index, bytes);
      if (r.ok) {
        try {
          verifyEntrySignature(entry);
        } catch (error) {
          return { ...r, ok: false, error, entry, bytes };
        }
      }
      return { ...r, entry, bytes };
    })();
    entryCache.set(key, p);
    p.catch(() => entryCache.delete(key));
  }
  return entryCache.get(key);
}

export function forgetEntries() {
  entryCache.clear();
}

const SEEN_KEY = 'prov-explorer.seen';

/**
 * Whether the log still extends the last checkpoint this browser verified (kept in local storage
 * per verifier key): {state: 'first' | 'same' | 'ok' | 'bad', seen: {size, root, at}, error}.
 * On 'ok' (or 'first') the new checkpoint becomes the remembered one; on 'bad' the old one is
 * kept, so the warning stays until someone looks.
 */
export async function checkConsistency(latest) {
  if (!latest.ok) return { state: 'bad', error: latest.error };
  // The cosigned checkpoint may lag the log's latest: remembered apart, so that a policy set
  // after a visit without one is not taken for a log that shrank.
  const key = `${SEEN_KEY}:${latest.log.vkey}${latest.policy?.k > 0 ? ':cosigned' : ''}`;
  let seen = null;
  try {
    seen = JSON.parse(localStorage.getItem(key) ?? 'null');
  } catch {
    seen = null;
  }
  const remember = () => {
    try {
      localStorage.setItem(key, JSON.stringify({ size: latest.cp.size.toString(), root: toBase64(latest.cp.root), at: new Date().toISOString() }));
    } catch {
      /* storage disabled */
    }
  };
  const cp = latest.cp;
  if (!seen || BigInt(seen.size) === 0n) {
    remember();
    return { state: 'first' };
  }
  const oldSize = BigInt(seen.size);
  const oldRoot = hashFromBase64(seen.root);
  try {
    if (oldSize > cp.size) throw new Error(`the log shrank from ${oldSize} to ${cp.size} entries`);
    if (oldSize === cp.size) {
      if (toBase64(cp.root) !== seen.root) throw new Error('same size, different root');
      return { state: 'same', seen };
    }
    const p = await api.consistency(oldSize.toString(), cp.size.toString());
    verifyConsistency(Sha256Log, oldSize, cp.size, p.hashes.map(hashFromHex), oldRoot, cp.root);
    remember();
    return { state: 'ok', seen };
  } catch (error) {
    return { state: 'bad', seen, error };
  }
}
