// Seeds a fresh ledger through the HTTP API with entries signed here, in JavaScript, following
// ledger/src/entry: two publishers, a dataset with two versions (the second drops a document that
// was opted out and adds new ones), opt-outs, and a model with a violating and a compliant
// checkpoint. Because the server checks every signature, canonical form and set root, a seed that
// is accepted is also a cross-check of the explorer's JS against the Rust ledger.

import { ed25519 } from '@noble/curves/ed25519.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { signEntry, buildAnonymousOptout, originOf } from '../../api/explorer/src/lib/entry.js';
import { canonicalize } from '../../api/explorer/src/lib/jcs.js';
import { setLeafBytes, setLeafHash } from '../../api/explorer/src/lib/set.js';
import { Blake3Set, rootOfLeafHashes } from '../../api/explorer/src/lib/merkle.js';
import { toHex, toBase64, compare, utf8, concat } from '../../api/explorer/src/lib/bytes.js';

export const cidOf = (bytes) => `blake3:${toHex(blake3(bytes))}`;

/** A small real-looking corpus: each document's text, licence and consent signal. */
export function corpus(n, offset = 0) {
  const licences = ['MIT', 'Apache-2.0', 'CC-BY-4.0', 'CC0-1.0', 'GPL-3.0-only'];
  const consent = ['tdmrep:allowed', 'aipref:train-ai=n', 'none-observed', 'c2pa:training-mining=allowed'];
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    const text = `Document ${i}\n\nThis is sample document number ${i} of the explorer's test corpus. It exists so that a browser test can drop it onto the page and find it in a dataset version.\n`;
    const bytes = utf8(text);
    const meta = { source: `https://example.org/docs/${i}.txt`, licence: licences[i % licences.length], consent: consent[i % consent.length], collected: '2026-01-15' };
    return { i, text, bytes, cid: cidOf(bytes), size: bytes.length, meta, metaHash: toHex(blake3(utf8(canonicalize(meta)))) };
  });
}

/** Sorted set leaves, their root, and the 72-byte leaves concatenated (the upload body). */
export function buildSet(docs) {
  const leaves = [...docs].sort((a, b) => compare(utf8(a.cid), utf8(b.cid))).map((d) => ({ cid: d.cid, size: d.size, meta: d.metaHash, doc: d }));
  const hashes = leaves.map(setLeafHash);
  const root = rootOfLeafHashes(Blake3Set, hashes);
  return { leaves, root: toHex(root), size: leaves.length, body: concat(...leaves.map(setLeafBytes)) };
}

export function keypair() {
  const sk = ed25519.utils.randomSecretKey();
  return { sk, pub: ed25519.getPublicKey(sk), pubB64: toBase64(ed25519.getPublicKey(sk)) };
}

/**
 * Uploads a set as the server asks (docs/api.md, "Set uploads"): `POST /v1/uploads` with a
 * request signed by `key` ({ sk, pubB64 }; anonymous without one), then the leaves in one `PUT`
 * to the upload id it answers. The request is signed over
 * `"prov-ledger/upload/v1\n" || JCS(request without sig)` (docs/formats.md).
 */
export async function uploadSet(c, set, key) {
  const request = {
    root: set.root,
    size: set.size,
    format: 'leaves',
    time: Math.floor(Date.now() / 1000),
    nonce: Math.floor(Math.random() * 2 ** 52),
  };
  if (key) {
    request.signer = key.pubB64;
    const message = utf8(`prov-ledger/upload/v1\n${canonicalize(request)}`);
    request.sig = toBase64(ed25519.sign(message, key.sk));
  }
  const { upload_id: id } = await c.req('POST', '/v1/uploads', request);
  return c.req('PUT', `/v1/uploads/${id}`, set.body, { 'content-type': 'application/octet-stream' });
}

export class Client {
  constructor(url) {
    this.url = url;
  }
  async req(method, path, body, headers = {}) {
    const init = { method, headers: { accept: 'application/json', ...headers } };
    if (body !== undefined) {
      if (body instanceof Uint8Array) init.body = body;
      else {
        init.body = JSON.stringify(body);
        init.headers['content-type'] = 'application/json';
      }
    }
    const res = await fetch(this.url + path, init);
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not json */
    }
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return json ?? text;
  }
  submit(entry) {
    return this.req('POST', '/v1/entries', entry);
  }
}

/**
 * The scenario the browser tests drive. Returns everything a test needs to know about it: the
 * documents (in and out of the datasets), entry indexes, and the labels of each page's subject.
 */
export async function seedScenario(url) {
  const c = new Client(url);
  const acme = keypair();
  const lab = keypair();
  const t0 = Math.floor(Date.now() / 1000);
  const log = originOf(await c.req('GET', '/checkpoint'));
  const idx = {};
  const submit = async (name, entry, path = '/v1/entries') => {
    const r = await c.req('POST', path, entry);
    idx[name] = r.index;
    return r;
  };
  await submit('acme', signEntry({ type: 'publisher', name: 'acme', key: acme.pubB64 }, acme.sk, { log, time: t0 }), '/v1/publishers');
  await submit('lab', signEntry({ type: 'publisher', name: 'lab', key: lab.pubB64 }, lab.sk, { log, time: t0 }), '/v1/publishers');

  const docs = corpus(60);
  const v1docs = docs.slice(0, 50);
  const optedOut = docs[3];
  const v2docs = [...docs.slice(0, 3), ...docs.slice(4)];
  const outside = corpus(1, 1000)[0];

  const publishVersion = async (name, dataset, version, ds, previous) => {
    const set = buildSet(ds);
    await uploadSet(c, set, acme);
    const fields = {
      type: 'dataset_version',
      publisher: 'acme',
      dataset,
      version,
      manifest_root: set.root,
      item_count: set.size,
      total_bytes: ds.reduce((s, d) => s + d.size, 0),
      corpus_mode: 'file',
      licence: 'MIT AND Apache-2.0 AND CC-BY-4.0 AND CC0-1.0 AND GPL-3.0-only',
    };
    if (previous) fields.previous = previous;
    await submit(name, signEntry(fields, acme.sk, { log, time: t0 }));
    return { ...fields, index: idx[name], set };
  };
  const web1 = await publishVersion('web1', 'web', '1', v1docs);
  const optout = buildAnonymousOptout([optedOut.cid], ['train-ai'], { log, time: t0 });
  await submit('optout', optout.json);
  const web2 = await publishVersion('web2', 'web', '2', v2docs, '1');
  const books = await publishVersion('books1', 'books', '2026-01', corpus(5, 500));

  const weights = buildSet([{ cid: cidOf(utf8('weights-a')), size: 10, metaHash: '0'.repeat(64) }, { cid: cidOf(utf8('weights-b')), size: 20, metaHash: '0'.repeat(64) }]);
  await uploadSet(c, weights, lab);
  const checkpoint = async (name, ckpt, versions) => {
    const health = await c.req('GET', '/healthz');
    const fields = {
      type: 'model_checkpoint',
      publisher: 'lab',
      model: 'llm',
      checkpoint: ckpt,
      weights_root: weights.root,
      weights_count: weights.size,
      datasets: versions.map((v) => ({ publisher: v.publisher, dataset: v.dataset, version: v.version, index: v.index, manifest_root: v.manifest_root })),
      optout_horizon: health.tree_size,
    };
    await submit(name, signEntry(fields, lab.sk, { log, time: t0 }));
  };
  await checkpoint('violating', 'ckpt-1', [web1]);
  await checkpoint('compliant', 'ckpt-2', [web2, books]);
  return { url, idx, docs, optedOut, inside: docs[10], outside, web1, web2, books };
}
