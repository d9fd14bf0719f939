// Seeds a ledger for "Was my work used?" passage by passage (issue 14, SPEC14B section 9): a
// JSON Lines-like web corpus whose records embed the paragraphs of an essay re-wrapped (other
// line breaks, non-breaking spaces, soft hyphens, curly quotes) inside other text, published with
// a passage tree computed HERE in JavaScript (lib/passage.js ids, lib/range.js leaves
// `passage id || cid`) and uploaded in the `passages` format; a second version with a passage
// tree that holds none of the essay (its passages are proven absent); a version without a passage
// tree (undecidable); a model checkpoint trained on all three; a signed opt-out of the essay by
// passages; and a second checkpoint whose horizon covers that opt-out (so in violation).

import { ed25519 } from '@noble/curves/ed25519.js';
import { signEntry, originOf } from '../../api/explorer/src/lib/entry.js';
import { canonicalize } from '../../api/explorer/src/lib/jcs.js';
import { Blake3Set, rootOfLeafHashes } from '../../api/explorer/src/lib/merkle.js';
import { toHex, toBase64, compare, concat, utf8 } from '../../api/explorer/src/lib/bytes.js';
import { passages } from '../../api/explorer/src/lib/passage.js';
import { passageLeaf } from '../../api/explorer/src/lib/range.js';
import { Client, buildSet, uploadSet, keypair, corpus, cidOf } from './seed.js';

/** The essay a writer drops: four paragraphs, every sentence a passage (>= 60 bytes). */
export const ESSAY = [
  'The lighthouse keeper\'s daughter learned to read the weather before she learned to read books. She knew that a grey band low on the western horizon meant rain by the evening tide.',
  'Every winter the supply boat came twice, and every winter it brought the same three things: lamp oil, flour, and a crate of newspapers already a month out of date.',
  'She read the newspapers in order, oldest first, so that the world arrived on the island at its own slow pace. "News keeps," her father said, "if you keep it dry."',
  'When the light was finally automated, she was the one who switched it off for the last time, and she wrote down the date in the log in her careful, slanted hand.',
];
/** A second work, in no record: every one of its passages must be proven absent. */
export const ABSENT = [
  'Nobody has ever published this paragraph anywhere, and no crawler has ever seen it on any page of the web.',
  'It exists only to be proven absent from every dataset version that carries a passage tree, one exclusion per passage.',
];

/** What a web page does to a paragraph it quotes: other line breaks, NBSP, soft hyphens, curly quotes. */
export function rewrap(p) {
  let t = p.replace(/"([^"]*)"/g, '\u201C$1\u201D').replace(/'/g, '\u2019');
  let k = 0;
  t = t.replace(/ /g, () => (++k % 7 === 0 ? '\n' : k % 5 === 0 ? '\u00A0' : ' '));
  return t.replace(/newspapers/g, 'news\u00ADpapers').replace(/automated/g, 'auto\u00ADmated');
}

/** Records (their text is the item, as a JSON Lines corpus's `text` field gives it). */
export function webRecords() {
  const texts = [
    `Harbour notes, page 1. The ferry timetable changed again this spring. ${rewrap(ESSAY[0])} Comments are closed on this post.`,
    `Reading list for the week.\n\n${rewrap(ESSAY[1])}\n\n${rewrap(ESSAY[2])}\n\nShare this page with a friend who likes islands.`,
    `A page about something else entirely, with its own sentences that are long enough to be passages of the corpus.`,
    `Another unrelated record. It talks about gardening, compost, and the best time of the year to plant garlic in cold soil.`,
  ];
  // Other pages, so that the passage tree is not tiny: the proofs then need helper hashes and
  // the essay's passages sit between other leaves.
  for (let k = 0; k < 40; k++) texts.push(`Filler page ${k}. This record talks about the weather in town number ${k} and the price of bread at the market on Saturday.`);
  return texts.map((text, i) => {
    const bytes = utf8(text);
    return { i, text, bytes, cid: cidOf(bytes), size: bytes.length, metaHash: '0'.repeat(64) };
  });
}

/** The passage tree of records: one leaf `pid || cid` per distinct (passage, record), sorted. */
export function passageTree(records) {
  const seen = new Map();
  for (const r of records) for (const p of passages(r.text)) {
    const leaf = passageLeaf(p.id, r.cid);
    seen.set(toHex(leaf), leaf);
  }
  const leaves = [...seen.values()].sort(compare);
  return { root: toHex(rootOfLeafHashes(Blake3Set, leaves.map((l) => Blake3Set.leafHash(l)))), size: leaves.length, leaves };
}

/** A work's opt-out tree: one leaf `pid || cid` per passage of its text (SPEC14B section 1). */
export function workTree(text, cid) {
  const seen = new Map();
  for (const p of passages(text)) {
    const leaf = passageLeaf(p.id, cid);
    seen.set(toHex(leaf), leaf);
  }
  const leaves = [...seen.values()].sort(compare);
  return { root: toHex(rootOfLeafHashes(Blake3Set, leaves.map((l) => Blake3Set.leafHash(l)))), size: leaves.length, leaves };
}

/** Uploads a passage tree (format `passages`: the 64-byte leaves back to back). */
export async function uploadPassages(c, tree, key) {
  const request = { root: tree.root, size: tree.size, format: 'passages', time: Math.floor(Date.now() / 1000), nonce: Math.floor(Math.random() * 2 ** 52), signer: key.pubB64 };
  request.sig = toBase64(ed25519.sign(utf8(`prov-ledger/upload/v1\n${canonicalize(request)}`), key.sk));
  const { upload_id: id } = await c.req('POST', '/v1/uploads', request);
  return c.req('PUT', `/v1/uploads/${id}`, concat(...tree.leaves), { 'content-type': 'application/vnd.prov.passage-leaves' });
}

export async function seedPassages(url) {
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

  const publish = async (name, dataset, records, withTree) => {
    const set = buildSet(records);
    await uploadSet(c, set, acme);
    const fields = { type: 'dataset_version', publisher: 'acme', dataset, version: '1', manifest_root: set.root, item_count: set.size, total_bytes: records.reduce((t, d) => t + d.size, 0), corpus_mode: 'jsonl:text', licence: 'CC-BY-4.0' };
    let tree = null;
    if (withTree) {
      tree = passageTree(records);
      await uploadPassages(c, tree, acme);
      fields.passages = { root: tree.root, size: tree.size };
    }
    await submit(name, signEntry(fields, acme.sk, { log, time: t0 }));
    return { ...fields, index: idx[name], set, tree };
  };
  const records = webRecords();
  const web = await publish('web', 'web', records, true);
  const clean = await publish('clean', 'clean', records.slice(2), true);
  const books = await publish('books', 'books', corpus(3, 700), false);

  const weights = buildSet([{ cid: cidOf(utf8('weights-p')), size: 10, metaHash: '0'.repeat(64) }]);
  await uploadSet(c, weights, lab);
  const health = await c.req('GET', '/healthz');
  const ckpt = {
    type: 'model_checkpoint',
    publisher: 'lab',
    model: 'llm',
    checkpoint: 'ckpt-1',
    weights_root: weights.root,
    weights_count: weights.size,
    datasets: [web, clean, books].map((v) => ({ publisher: 'acme', dataset: v.dataset, version: '1', index: v.index, manifest_root: v.manifest_root })),
    optout_horizon: health.tree_size,
  };
  await submit('ckpt', signEntry(ckpt, lab.sk, { log, time: t0 }));

  // The writer opts the essay out (signed: only a signed opt-out may name passages): its file's
  // content id, and its passage tree (leaves `pid || cid of the file`, uploaded as `passages`).
  // A second checkpoint with its horizon after the opt-out is then in violation: the bundle's
  // passage proofs, assembled by the Rust service, are checked by the model page.
  const writer = keypair();
  const essayBytes = utf8(ESSAY.join('\n\n'));
  const essayCid = cidOf(essayBytes);
  const optTree = workTree(ESSAY.join('\n\n'), essayCid);
  await uploadPassages(c, optTree, writer);
  await submit('optout', signEntry({ type: 'optout', ids: [essayCid], passages: { root: optTree.root, size: optTree.size }, scope: ['train-ai'] }, writer.sk, { log, time: t0 }));
  const health2 = await c.req('GET', '/healthz');
  await submit('ckpt2', signEntry({ ...ckpt, checkpoint: 'ckpt-2', optout_horizon: health2.tree_size }, lab.sk, { log, time: t0 }));
  return { url, idx, records, web, clean, books, essayCid, optTree };
}
