// The worked examples of docs/format-log.md, which the Rust ledger recomputes in
// ledger/tests/format_examples_log.rs: the same values here make the browser and the ledger agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sha256Log, rootOfLeafHashes } from '../src/lib/merkle.js';
import { parseVkey, verifyCheckpoint } from '../src/lib/note.js';
import { verifyTlogProof } from '../src/lib/tlogproof.js';
import { toHex, toBase64, utf8 } from '../src/lib/bytes.js';

const VKEY = 'example.com/prov-log+6a10e5ef+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4';
const NOTE = `example.com/prov-log
2
JCMzOarc7fKH0mJBPwPAKOuNs5ft0yooeAkRUbmb8g8=

\u2014 example.com/prov-log ahDl79Nj1HUDaH129W0mQA1BG62l5E5daIKuawHVyprbTTzQPdurIeFXm5aEO6QKTXRVSwIYDn0CtxjpmWu6+sLRaAg=
`;

test('leaf and node hashes of the two-entry log', () => {
  const a = Sha256Log.leafHash(utf8('hello'));
  const b = Sha256Log.leafHash(utf8('world'));
  assert.equal(toHex(a), '8a2a5c9b768827de5a9552c38a044c66959c68f6d2f21b5260af54d2f87db827');
  assert.equal(toHex(b), 'aea3cbb336f4d494d8b5a157aedfc480a45a6de7c0968e085433b214f9b41ef7');
  const root = rootOfLeafHashes(Sha256Log, [a, b]);
  assert.equal(toBase64(root), 'JCMzOarc7fKH0mJBPwPAKOuNs5ft0yooeAkRUbmb8g8=');
});

test('the example vkey, checkpoint note and tlog-proof verify', () => {
  assert.equal(toHex(parseVkey(VKEY).keyId), '6a10e5ef');
  const cp = verifyCheckpoint(NOTE, VKEY);
  assert.equal(cp.size, 2n);
  const proof = `c2sp.org/tlog-proof@v1\nindex 1\niipcm3aIJ95alVLDigRMZpWcaPbS8htSYK9U0vh9uCc=\n\n${NOTE}`;
  assert.equal(verifyTlogProof(proof, VKEY, { entry: utf8('world') }).index, 1n);
  assert.throws(() => verifyTlogProof(proof, VKEY, { entry: utf8('hello') }));
});

test('a matching signature line that does not verify rejects the note even beside a good one', () => {
  const line = NOTE.split('\n').at(-2);
  const bad = line.replace('ahDl79Nj', 'ahDl79Nk');
  assert.throws(() => verifyCheckpoint(NOTE + '', VKEY.replace('6a10e5ef', '6a10e5ee')));
  assert.throws(() => verifyCheckpoint(NOTE.replace(line, `${bad}\n${line}`), VKEY), /does not verify/);
});
