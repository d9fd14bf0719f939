// Entries signed here verify here; tampering fails; canonical bytes follow RFC 8785 key order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { signEntry, verifyEntrySignature, entryBytes, buildAnonymousOptout, signingMessage } from '../src/lib/entry.js';
import { fromUtf8 } from '../src/lib/bytes.js';

const sk = ed25519.utils.randomSecretKey();

test('a signed publisher entry verifies and any change breaks it', () => {
  const e = signEntry({ type: 'publisher', name: 'acme', key: 'AAAA' }, sk, { time: 1700000000 });
  assert.equal(verifyEntrySignature(e), true);
  assert.throws(() => verifyEntrySignature({ ...e, name: 'acme2' }), /bad signature/);
  assert.throws(() => verifyEntrySignature({ ...e, time: 1700000001 }), /bad signature/);
  assert.throws(() => verifyEntrySignature({ ...e, sig: undefined }), /without a signature/);
  const { signer, ...anon } = e;
  void signer;
  assert.throws(() => verifyEntrySignature({ ...anon, sig: undefined }), /anonymous/);
});

test('the signed message is the context, the type and the JCS of the entry without sig', () => {
  const e = signEntry({ type: 'optout', ids: ['blake3:' + '0'.repeat(64)], scope: ['train-ai'] }, sk, { time: 5 });
  const msg = fromUtf8(signingMessage(e));
  assert.ok(msg.startsWith('prov-ledger/v1\noptout\n{"ids":'));
  assert.ok(!msg.includes('"sig"'));
});

test('anonymous opt-outs are sorted, canonical and unsigned', () => {
  const b = 'blake3:' + 'b'.repeat(64);
  const a = 'blake3:' + 'a'.repeat(64);
  const { json, bytes } = buildAnonymousOptout([b, a, b], 'train-ai', { time: 7 });
  assert.deepEqual(json.ids, [a, b]);
  assert.equal(fromUtf8(bytes), `{"ids":["${a}","${b}"],"scope":["train-ai"],"time":7,"type":"optout"}`);
  assert.equal(verifyEntrySignature(json), false);
  assert.throws(() => buildAnonymousOptout([a], 'train-genai'));
  assert.deepEqual(entryBytes({ b: 1, a: [true, null, 'x'] }), new TextEncoder().encode('{"a":[true,null,"x"],"b":1}'));
});
