// Entries signed here verify here; tampering fails; canonical bytes follow RFC 8785 key order;
// v2 entries (bound to a log) are signed byte for byte as the Rust core signs them, and v1
// entries (no log) still verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { signEntry, verifyEntrySignature, entryBytes, buildAnonymousOptout, signingMessage, originOf } from '../src/lib/entry.js';
import { fromUtf8, toHex } from '../src/lib/bytes.js';

const sk = ed25519.utils.randomSecretKey();
const LOG = 'example.org/log';

// docs/format-sets-entries.md and docs/formats.md (recomputed by
// ledger/tests/format_examples_sets.rs): the test key is 32 bytes of 0x01.
const TEST_KEY = new Uint8Array(32).fill(1);
const V1_PUBLISHER =
  '{"key":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","name":"acme","sig":"CdGtb23tTgg3VHuY6hp1vabHkBeMcA75sx9VPQdxq04BjJxpDyjLxd9678POG5j+jawayIJBlZhoWeVSZmkRBQ==","signer":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","time":1767225600,"type":"publisher"}';
const V2_PUBLISHER =
  '{"key":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","log":"example.org/log","name":"acme","sig":"GPcASic+uItSCIP2kJvxosbX/+x180vhZ6k546Yhh4I7bGT2BhZ6zQ/7i+TN7J2dURy+mLG8+NuSz9GnlsEtDA==","signer":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","time":1767225600,"type":"publisher"}';
const V2_MESSAGE_HEX =
  '70726f762d6c65646765722f76320a7075626c69736865720a7b226b6579223a22696f6a6a3358514a385a583955747374504c70646373706e436238646c42496238335349416251506231773d222c226c6f67223a226578616d706c652e6f72672f6c6f67222c226e616d65223a2261636d65222c227369676e6572223a22696f6a6a3358514a385a583955747374504c70646373706e436238646c42496238335349416251506231773d222c2274696d65223a313736373232353630302c2274797065223a227075626c6973686572227d';
const V2_OPTOUT =
  '{"ids":["blake3:ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"],"log":"example.org/log","nonce":7,"scope":["train-ai"],"time":1767225602,"type":"optout"}';

test('a signed publisher entry verifies and any change breaks it', () => {
  const e = signEntry({ type: 'publisher', name: 'acme', key: 'AAAA' }, sk, { log: LOG, time: 1700000000 });
  assert.equal(e.log, LOG);
  assert.equal(verifyEntrySignature(e), true);
  assert.throws(() => verifyEntrySignature({ ...e, name: 'acme2' }), /bad signature/);
  assert.throws(() => verifyEntrySignature({ ...e, time: 1700000001 }), /bad signature/);
  assert.throws(() => verifyEntrySignature({ ...e, sig: undefined }), /without a signature/);
  const { signer, ...anon } = e;
  void signer;
  assert.throws(() => verifyEntrySignature({ ...anon, sig: undefined }), /anonymous/);
});

test('the log is covered: moving or dropping it breaks the signature', () => {
  const e = signEntry({ type: 'publisher', name: 'acme', key: 'AAAA' }, sk, { log: LOG, time: 1 });
  assert.throws(() => verifyEntrySignature({ ...e, log: 'other.example/log' }), /bad signature/);
  const { log, ...unbound } = e;
  void log;
  assert.throws(() => verifyEntrySignature(unbound), /bad signature/);
  assert.throws(() => signEntry({ type: 'publisher', name: 'acme', key: 'AAAA' }, sk, { time: 1 }), /origin/);
  assert.throws(() => signEntry({ type: 'publisher', name: 'acme', key: 'AAAA' }, sk, { log: 'a\nb', time: 1 }), /origin/);
});

test('the signed message is the context, the type and the JCS of the entry without sig', () => {
  const e = signEntry({ type: 'optout', ids: ['blake3:' + '0'.repeat(64)], scope: ['train-ai'] }, sk, { log: LOG, time: 5 });
  const msg = fromUtf8(signingMessage(e));
  assert.ok(msg.startsWith('prov-ledger/v2\noptout\n{"ids":'));
  assert.ok(msg.includes('"log":"example.org/log"'));
  assert.ok(!msg.includes('"sig"'));
});

test('v2 vectors: the documented publisher entry and its message, byte for byte', () => {
  const pub = ed25519.getPublicKey(TEST_KEY);
  const e = signEntry({ type: 'publisher', name: 'acme', key: Buffer.from(pub).toString('base64') }, TEST_KEY, { log: LOG, time: 1767225600 });
  assert.equal(fromUtf8(entryBytes(e)), V2_PUBLISHER);
  assert.equal(toHex(signingMessage(e)), V2_MESSAGE_HEX);
  assert.equal(verifyEntrySignature(JSON.parse(V2_PUBLISHER)), true);
  const anon = buildAnonymousOptout(['blake3:ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f'], 'train-ai', { log: LOG, time: 1767225602, nonce: 7 });
  assert.equal(fromUtf8(anon.bytes), V2_OPTOUT);
});

test('v1 entries, logged before entries were bound, still verify', () => {
  const v1 = JSON.parse(V1_PUBLISHER);
  assert.equal(verifyEntrySignature(v1), true);
  assert.ok(fromUtf8(signingMessage(v1)).startsWith('prov-ledger/v1\npublisher\n'));
  // A v1 signature read as a v2 one (a log added) fails.
  assert.throws(() => verifyEntrySignature({ ...v1, log: LOG }), /bad signature/);
});

test('anonymous opt-outs are sorted, canonical, bound and unsigned', () => {
  const b = 'blake3:' + 'b'.repeat(64);
  const a = 'blake3:' + 'a'.repeat(64);
  const { json, bytes } = buildAnonymousOptout([b, a, b], 'train-ai', { log: LOG, time: 7 });
  assert.deepEqual(json.ids, [a, b]);
  assert.equal(fromUtf8(bytes), `{"ids":["${a}","${b}"],"log":"${LOG}","scope":["train-ai"],"time":7,"type":"optout"}`);
  assert.equal(verifyEntrySignature(json), false);
  assert.throws(() => buildAnonymousOptout([a], 'train-genai', { log: LOG }));
  assert.throws(() => buildAnonymousOptout([a], 'train-ai', { time: 7 }), /origin/);
  assert.deepEqual(entryBytes({ b: 1, a: [true, null, 'x'] }), new TextEncoder().encode('{"a":[true,null,"x"],"b":1}'));
});

test('the origin is the first line of a checkpoint', () => {
  assert.equal(originOf('example.org/log\n42\nAAAA=\n\n— example.org/log xyz\n'), 'example.org/log');
  assert.throws(() => originOf('no newline'), /origin/);
  assert.throws(() => originOf('\n42\n'), /origin/);
});

test('a new opt-out may not use the withdrawn ai-use scope (logged ones stay readable)', () => {
  const id = 'blake3:ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f';
  assert.throws(() => buildAnonymousOptout([id], ['ai-use'], { log: 'example.com/log', time: 7 }), /withdrawn/);
  assert.equal(buildAnonymousOptout([id], ['search', 'train-ai'], { log: 'example.com/log', time: 7 }).json.scope.join(), 'search,train-ai');
});
