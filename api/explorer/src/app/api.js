// Every request the explorer makes goes through here, to the server's own origin only: the C2SP
// read path (/checkpoint, /tile/...) and the JSON read API under /v1/. Route knowledge lives in this
// file alone, so a change in the API is a change here. With a static mirror set (mirror.js), the
// same routes are answered from the mirror's objects instead.

import { mirrorApi, mirrorSetting } from './mirror.js';

export class ApiError extends Error {
  constructor(status, problem, url) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.url = url;
  }
}

const enc = encodeURIComponent;

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v != null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

async function request(path, init) {
  const res = await fetch(path, { credentials: 'omit', ...init });
  if (!res.ok) {
    let problem = null;
    try {
      problem = await res.json();
    } catch {
      /* not a problem body */
    }
    const err = new ApiError(res.status, problem, path);
    // Seconds to wait before retrying a 503 (a busy service), when it says.
    const ra = Number(res.headers.get('retry-after'));
    err.retryAfter = Number.isFinite(ra) && ra >= 0 ? ra : null;
    throw err;
  }
  return res;
}

export async function json(path, params) {
  return (await request(path + qs(params), { headers: { accept: 'application/json' } })).json();
}

export async function text(path) {
  return (await request(path, { cache: 'no-cache' })).text();
}

export async function bytes(path) {
  const res = await request(path);
  let b = new Uint8Array(await res.arrayBuffer());
  // Entry bundles may be served gzip'd without Content-Encoding (as files in a bucket are).
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b && typeof DecompressionStream !== 'undefined') {
    const ds = new Blob([b]).stream().pipeThrough(new DecompressionStream('gzip'));
    b = new Uint8Array(await new Response(ds).arrayBuffer());
  }
  return b;
}

export async function postJson(path, body) {
  const res = await request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

/** Returns null for a 404 instead of throwing. */
export async function orNull(p) {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

const service = {
  checkpoint: () => text('/checkpoint'),
  /** The latest checkpoint k of the log's witnesses cosigned (404 without witnesses). */
  checkpointCosigned: () => text('/checkpoint.cosigned'),
  tile: (path) => bytes(`/${path}`),
  /** {status, origin, verifier_key, tree_size}; answered with 503 (same body) when read-only. */
  health: async () => {
    try {
      return await json('/healthz');
    } catch (e) {
      if (e instanceof ApiError && e.problem?.verifier_key) return e.problem;
      throw e;
    }
  },
  /** {index, leaf_hash, type, canonical, entry}. */
  entry: (index) => json(`/v1/entries/${enc(index)}`),
  /** A C2SP tlog-proof of entry `index` against the checkpoint signed at `size` (default latest). */
  entryProof: (index, size) => text(`/v1/entries/${enc(index)}/inclusion.tlog-proof${qs({ tree_size: size })}`),
  /** {old_size, new_size, hashes (hex)}. */
  consistency: (old, size) => json('/v1/proofs/consistency', { old, new: size }),
  /** {name, key, index}. */
  publisher: (name) => json(`/v1/publishers/${enc(name)}`),
  /** Pages of dataset versions {items, next}: all, one publisher's, or one dataset's. */
  datasets: (params) => json('/v1/datasets', params),
  datasetsOf: (pub, params) => json(`/v1/datasets/${enc(pub)}`, params),
  datasetVersions: (pub, name, params) => json(`/v1/datasets/${enc(pub)}/${enc(name)}`, params),
  datasetVersion: (pub, name, v) => json(`/v1/datasets/${enc(pub)}/${enc(name)}/${enc(v)}`),
  /** A page of a set's leaves: {items, next} where next is the offset of the next page. */
  setLeaves: (root, { offset, limit, meta }) => json(`/v1/sets/${enc(root)}/leaves`, { offset, limit, meta: meta ? 'true' : null }),
  /** One item of a version: {dataset, entry_index, manifest_root, item_count, leaf, meta, proof}. */
  item: (pub, name, v, cid) => json(`/v1/datasets/${enc(pub)}/${enc(name)}/${enc(v)}/items/${enc(cid)}`),
  /** A version's licence, consent and host breakdowns: {licences, consent, hosts, no_source, ...}. */
  stats: (pub, name, v) => json(`/v1/datasets/${enc(pub)}/${enc(name)}/${enc(v)}/stats`),
  /** A site's range proof in one version: {dataset, entry_index, sources, site, proof}. */
  versionSite: (pub, name, v, site, reveal) => json(`/v1/datasets/${enc(pub)}/${enc(name)}/${enc(v)}/sites/${enc(site)}`, { reveal }),
  /** Every version with a source tree, with the site's count and range proof: a page {items, next}. */
  site: (site, params) => json(`/v1/sites/${enc(site)}`, params),
  /**
   * The passages of a work in one version (POST, 1..=4096 passage ids): {dataset, entry_index,
   * passages: {root, size}, results: [{passage, count}], proof} with ONE multi-range proof.
   */
  versionPassages: (pub, name, v, passages, reveal) => postJson(`/v1/datasets/${enc(pub)}/${enc(name)}/${enc(v)}/passages`, { passages, reveal }),
  /** A page of a stored passage tree's leaves: {root, size, start, leaves: [hex]}. */
  passageLeaves: (root, { start, limit } = {}) => json(`/v1/passages/${enc(root)}/leaves`, { start, limit }),
  /** {included: {...}} or {excluded: {...}} for `cid` in the set with `root`. */
  setProof: (root, cid) => json(`/v1/sets/${enc(root)}/proof/${enc(cid)}`),
  /** {cid, dataset_versions: [{dataset, proof}], checkpoints, checkpoints_truncated, next}. */
  content: (cid, params) => json(`/v1/content/${enc(cid)}`, params),
  /** {items: [entry views], next} in log order; `after` pages. */
  optouts: (params) => json('/v1/optouts', params),
  /** {items: [checkpoint views], next}. */
  modelCheckpoints: (pub, model, params) => json(`/v1/models/${enc(pub)}/${enc(model)}/checkpoints`, params),
  /** The compliance bundle of the model_checkpoint entry at `index`. */
  compliance: (index) => json(`/v1/compliance/${enc(index)}`),
  submitEntry: (entry) => postJson('/v1/entries', entry),
};

const mirror = mirrorSetting();

/**
 * The routes the pages read: this service's, or with a mirror set ("Read the log from" on the log
 * page) the same functions answered from the static mirror (mirror.js), checked the same way.
 */
export const api = mirror ? mirrorApi(mirror.url, mirror.vkey, ApiError) : service;
