// The explorer's check of cosigned checkpoints (src/lib/cosignature.js) against the Rust
// verifier's decisions: verifier/tests/data/cosignatures.json, written by
// verifier/tests/cosignature_js_vectors.rs. Same verdict, same valid cosignatures (with their
// times), for every case; and what each witness row shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { checkCosigned, cosignedMessage, parseWitnessKey, requirePolicy } from '../src/lib/cosignature.js';
import { formatVkey, SIG_COSIGNATURE_V1, SIG_ED25519, signNote } from '../src/lib/note.js';

const v = JSON.parse(readFileSync(new URL('../../../verifier/tests/data/cosignatures.json', import.meta.url), 'utf8'));

test('the Rust cosignature vectors: same verdict, same cosignatures', () => {
  assert.ok(v.cases.length >= 10);
  for (const c of v.cases) {
    if (c.expect.error === 'Checkpoint') {
      assert.throws(() => checkCosigned(c.note, v.log_vkey, c.witnesses, c.k), /signature|does not verify/, c.name);
      continue;
    }
    const r = checkCosigned(c.note, v.log_vkey, c.witnesses, c.k);
    assert.equal(r.met, c.expect.met, `${c.name}: ${r.error}`);
    if (c.expect.met) {
      const got = r.witnesses
        .filter((w) => w.state === 'verified')
        .map((w) => ({ witness: w.name, key_id: w.keyId, timestamp: Number(w.timestamp) }))
        .sort((a, b) => a.witness.localeCompare(b.witness));
      const want = [...c.expect.cosignatures].sort((a, b) => a.witness.localeCompare(b.witness));
      assert.deepEqual(got, want, c.name);
      assert.doesNotThrow(() => requirePolicy(r));
    } else {
      assert.throws(() => requirePolicy(r), /witness policy not met/, c.name);
    }
  }
});

test('each witness row: verified with its time, wrong key, or absent', () => {
  const byName = Object.fromEntries(v.cases.map((c) => [c.name, c]));
  const states = (name) => {
    const c = byName[name];
    return checkCosigned(c.note, v.log_vkey, c.witnesses, c.k).witnesses.map((w) => w.state);
  };
  assert.deepEqual(states('two of two'), ['verified', 'verified']);
  assert.deepEqual(states('a listed witness absent'), ['verified', 'absent']);
  assert.deepEqual(states('a tampered line of a listed key'), ['verified', 'wrong-key']);
  assert.deepEqual(states('a cosignature of another checkpoint'), ['wrong-key']);
  assert.deepEqual(states('an impostor under a listed name is ignored'), ['verified', 'wrong-key']);
  assert.deepEqual(states('a witness listed twice counts once'), ['verified']);
  assert.deepEqual(states("the log's note alone"), ['absent', 'absent']);
  const c = byName['two of two'];
  const t = checkCosigned(c.note, v.log_vkey, c.witnesses, c.k).witnesses.map((w) => w.timestamp);
  assert.deepEqual(t, c.expect.cosignatures.map((x) => BigInt(x.timestamp)));
});

test('a cosignature made here verifies, a log key is not a witness key', () => {
  const logSk = new Uint8Array(32).fill(5);
  const wSk = new Uint8Array(32).fill(6);
  const logVkey = formatVkey('example.com/js-log', ed25519.getPublicKey(logSk), SIG_ED25519);
  const wVkey = formatVkey('witness.example/js', ed25519.getPublicKey(wSk), SIG_COSIGNATURE_V1);
  const body = `example.com/js-log\n3\n${Buffer.alloc(32, 1).toString('base64')}\n`;
  const note = signNote(body, 'example.com/js-log', logSk);
  const w = parseWitnessKey(wVkey);
  const ts = 1_760_000_000n;
  const sig = ed25519.sign(cosignedMessage(body, ts), wSk);
  const raw = new Uint8Array(4 + 8 + 64);
  raw.set(w.keyId, 0);
  new DataView(raw.buffer).setBigUint64(4, ts, false);
  raw.set(sig, 12);
  const cosigned = `${note}\u2014 witness.example/js ${Buffer.from(raw).toString('base64')}\n`;
  const r = checkCosigned(cosigned, logVkey, [wVkey], 1);
  assert.equal(r.met, true, r.error);
  assert.equal(r.witnesses[0].timestamp, ts);
  assert.throws(() => parseWitnessKey(logVkey), /not a witness key/);
});
