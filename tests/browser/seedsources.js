// Seeds a ledger with a dataset published WITH metadata (issue 13): a small web-text sample in
// the C4 layout (records with `text`, `url`, `timestamp`), each item's metadata
// `{"sources":[{path, line, source, license, consent, collected}]}` as `prov hash` writes it,
// uploaded as a prov-manifest/v1 file (the format that carries the metadata), and a
// `dataset_version` entry whose `sources` commits the source tree computed HERE in JavaScript
// (lib/source.js keys, lib/range.js leaves). The service recomputes that tree from the stored
// metadata and refuses the entry if the two differ, so an accepted seed is also a cross-check of
// the explorer's source keys and range tree against the Rust ones.
//
// Also: a version of another dataset published without metadata (no source tree: "unproven"), a
// signed opt-out of a site, and a model checkpoint trained on both versions.

import { ed25519 } from '@noble/curves/ed25519.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { signEntry, originOf } from '../../api/explorer/src/lib/entry.js';
import { canonicalize } from '../../api/explorer/src/lib/jcs.js';
import { setLeafBytes, setLeafHash } from '../../api/explorer/src/lib/set.js';
import { Blake3Set, rootOfLeafHashes } from '../../api/explorer/src/lib/merkle.js';
import { toHex, toBase64, compare, utf8 } from '../../api/explorer/src/lib/bytes.js';
import { sourceKey } from '../../api/explorer/src/lib/source.js';
import { sourceLeaf } from '../../api/explorer/src/lib/range.js';
import { Client, buildSet, uploadSet, keypair, corpus, cidOf } from './seed.js';

const HOSTS = [
  ['https://example.com/', 5],
  ['https://www.example.com/news/', 4],
  ['https://blog.example.com/posts/', 3],
  ['https://notexample.com/', 2],
  ['https://example.com.evil.net/', 1],
  ['https://wikipedia.org/wiki/', 6],
  ['https://books.gutenberg.org/ebooks/', 3],
];
const LICENCES = ['CC-BY-4.0', 'CC-BY-SA-4.0', 'CC0-1.0', 'MIT'];
const CONSENT = ['aipref:train-ai=y', 'aipref:train-ai=n', 'tdmrep:1', 'robots:allow'];

/** C4-layout records: {text, url, timestamp}, and the metadata `prov hash --meta-preset c4` maps from them. */
export function webCorpus() {
  const docs = [];
  let line = 0;
  for (const [base, n] of HOSTS) {
    for (let k = 0; k < n; k++) {
      line++;
      const url = `${base}${k}`;
      const text = `Page ${k} of ${new URL(base).hostname}: a paragraph of ordinary web text, number ${line}, long enough to look like something a crawler keeps.`;
      const timestamp = `2019-04-${String(10 + (line % 18)).padStart(2, '0')}T0${line % 10}:00:00Z`;
      const entry = { path: 'c4-sample.jsonl', line, source: url, license: LICENCES[line % LICENCES.length], consent: CONSENT[line % CONSENT.length], collected: timestamp };
      const meta = { sources: [entry] };
      const bytes = utf8(text);
      docs.push({ line, url, text, timestamp, bytes, cid: cidOf(bytes), size: bytes.length, meta, metaHash: toHex(blake3(utf8(canonicalize(meta)))) });
    }
  }
  // One record without a url: it sits under the no-source key.
  line++;
  const text = 'A record whose url field is empty.';
  const entry = { path: 'c4-sample.jsonl', line, license: 'CC0-1.0', collected: '2019-04-30T00:00:00Z' };
  const bytes = utf8(text);
  docs.push({ line, url: null, text, bytes, cid: cidOf(bytes), size: bytes.length, meta: { sources: [entry] }, metaHash: toHex(blake3(utf8(canonicalize({ sources: [entry] })))) });
  return docs;
}

/** The source tree of `docs` as SPEC13 section 2 defines it: root (hex) and size. */
export function sourceTree(docs) {
  const seen = new Map();
  for (const d of docs) {
    for (const e of d.meta.sources) {
      const leaf = sourceLeaf(typeof e.source === 'string' ? sourceKey(e.source) : '', d.cid);
      seen.set(toHex(leaf), leaf);
    }
  }
  const leaves = [...seen.values()].sort(compare);
  return { root: toHex(rootOfLeafHashes(Blake3Set, leaves.map((l) => Blake3Set.leafHash(l)))), size: leaves.length, leaves };
}

/** The prov-manifest/v1 file of a set built with metadata (docs/format-manifest.md). */
export function manifestFile(set, tree) {
  const bytes = set.leaves.reduce((t, l) => t + l.size, 0);
  const header = { format: 'prov-manifest/v1', mode: 'jsonl', field: 'text', meta: 'full', meta_fields: { collected: 'timestamp', source: 'url' }, items: set.size, bytes, leaves: set.size, leaf_bytes: bytes, duplicates: 0, skipped: 0, root: set.root, sources_root: tree.root, sources_size: tree.size };
  const lines = [JSON.stringify(header), ...set.leaves.map((l) => canonicalize({ leaf: toHex(setLeafBytes(l)), meta: l.doc.meta }))];
  return utf8(lines.join('\n') + '\n');
}

export async function uploadManifest(c, set, tree, key) {
  const request = { root: set.root, size: set.size, format: 'manifest', time: Math.floor(Date.now() / 1000), nonce: Math.floor(Math.random() * 2 ** 52), signer: key.pubB64 };
  request.sig = toBase64(ed25519.sign(utf8(`prov-ledger/upload/v1\n${canonicalize(request)}`), key.sk));
  const { upload_id: id } = await c.req('POST', '/v1/uploads', request);
  return c.req('PUT', `/v1/uploads/${id}`, manifestFile(set, tree), { 'content-type': 'application/x-ndjson' });
}

export async function seedSources(url) {
  const c = new Client(url);
  const acme = keypair();
  const lab = keypair();
  const owner = keypair();
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

  const docs = webCorpus();
  const set = buildSet(docs);
  const tree = sourceTree(docs);
  await uploadManifest(c, set, tree, acme);
  const web = {
    type: 'dataset_version',
    publisher: 'acme',
    dataset: 'c4',
    version: '1',
    manifest_root: set.root,
    item_count: set.size,
    total_bytes: docs.reduce((t, d) => t + d.size, 0),
    corpus_mode: 'jsonl:text',
    licence: 'CC-BY-4.0 AND CC-BY-SA-4.0 AND CC0-1.0 AND MIT',
    sources: { root: tree.root, size: tree.size },
  };
  await submit('web', signEntry(web, acme.sk, { log, time: t0 }));

  // A version without metadata: its items have no source tree, so no site can be decided in it.
  const old = corpus(4, 900);
  const oldSet = buildSet(old);
  await uploadSet(c, oldSet, acme);
  const books = { type: 'dataset_version', publisher: 'acme', dataset: 'books', version: '1', manifest_root: oldSet.root, item_count: oldSet.size, total_bytes: old.reduce((t, d) => t + d.size, 0), corpus_mode: 'file', licence: 'MIT' };
  await submit('books', signEntry(books, acme.sk, { log, time: t0 }));

  // The owner of example.com opts it out (signed: anonymous opt-outs may not name sites).
  await submit('optout', signEntry({ type: 'optout', sites: ['example.com'], scope: ['train-ai'] }, owner.sk, { log, time: t0 }));

  const weights = buildSet([{ cid: cidOf(utf8('weights-a')), size: 10, metaHash: '0'.repeat(64) }]);
  await uploadSet(c, weights, lab);
  const health = await c.req('GET', '/healthz');
  const ckpt = {
    type: 'model_checkpoint',
    publisher: 'lab',
    model: 'llm',
    checkpoint: 'ckpt-1',
    weights_root: weights.root,
    weights_count: weights.size,
    datasets: [
      { publisher: 'acme', dataset: 'c4', version: '1', index: idx.web, manifest_root: set.root },
      { publisher: 'acme', dataset: 'books', version: '1', index: idx.books, manifest_root: oldSet.root },
    ],
    optout_horizon: health.tree_size,
  };
  await submit('ckpt', signEntry(ckpt, lab.sk, { log, time: t0 }));

  const from = (pred) => docs.filter((d) => d.url && pred(new URL(d.url).hostname));
  return {
    url,
    idx,
    docs,
    set,
    tree,
    owner,
    exampleCom: from((h) => h === 'example.com' || h.endsWith('.example.com')),
    notExample: from((h) => h === 'notexample.com'),
  };
}
