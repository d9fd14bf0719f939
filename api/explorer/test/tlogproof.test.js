// tlog-proof files: parse, verify against a checkpoint we sign, and refuse tampering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Sha256Log, rootOfLeafHashes, inclusionProofOf } from '../src/lib/merkle.js';
import { signNote, formatVkey } from '../src/lib/note.js';
import { toBase64, utf8 } from '../src/lib/bytes.js';
import { parseTlogProof, verifyTlogProof } from '../src/lib/tlogproof.js';

const sk = ed25519.utils.randomSecretKey();
const vkey = formatVkey('log.test', ed25519.getPublicKey(sk));
const entries = Array.from({ length: 7 }, (_, i) => utf8(`{"n":${i}}`));
const leaves = entries.map((e) => Sha256Log.leafHash(e));
const root = rootOfLeafHashes(Sha256Log, leaves);
const cp = signNote(`log.test\n7\n${toBase64(root)}\n`, 'log.test', sk);
const proofText = (i, extra = '') =>
  `c2sp.org/tlog-proof@v1\n${extra}index ${i}\n${inclusionProofOf(Sha256Log, leaves, i).map((h) => toBase64(h) + '\n').join('')}\n${cp}`;

test('a tlog-proof verifies for its entry and not for another', () => {
  for (let i = 0; i < 7; i++) {
    const r = verifyTlogProof(proofText(i), vkey, { entry: entries[i] });
    assert.equal(r.index, BigInt(i));
    assert.equal(r.size, 7n);
    assert.throws(() => verifyTlogProof(proofText(i), vkey, { entry: entries[(i + 1) % 7] }));
  }
});

test('extra lines parse; malformed proofs are refused', () => {
  assert.deepEqual(parseTlogProof(proofText(2, 'extra AAEC\n')).extra, new Uint8Array([0, 1, 2]));
  const good = proofText(3);
  for (const bad of [good.replace('@v1', '@v2'), good.replace('index 3', 'index 03'), good.split('\n\n')[0] + '\n', good.replace(/\n[A-Za-z0-9+/]{43}=\n/, '\nAAAA\n')]) {
    assert.throws(() => parseTlogProof(bad));
  }
  assert.throws(() => verifyTlogProof(good.replace('index 3', 'index 4'), vkey, { entry: entries[3] }));
});
