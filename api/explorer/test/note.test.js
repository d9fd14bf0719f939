// C2SP signed notes and checkpoints: the specification's own example, a cosigned tlog-tiles
// checkpoint, notes we sign ourselves, and the ways a note must fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { parseVkey, verifyNote, verifyCheckpoint, verifyWitnessedCheckpoint, parseCheckpointBody, signNote, formatVkey, keyId, SIG_ED25519 } from '../src/lib/note.js';
import { toBase64, toHex } from '../src/lib/bytes.js';
import { TESTDATA } from './testdata.js';

const read = (p) => readFileSync(join(TESTDATA, p), 'utf8');
const vkeyText = read('signed-note/c2sp-example.vkey');
const noteText = read('signed-note/c2sp-example.note');

test('the C2SP example vkey parses and its key id is recomputed', () => {
  const k = parseVkey(vkeyText);
  assert.equal(k.name, 'example.com/foo');
  assert.equal(toHex(k.keyId), '530d903a');
  assert.equal(k.type, SIG_ED25519);
  assert.equal(formatVkey(k.name, k.publicKey), vkeyText.trim());
});

test('the C2SP example note verifies with its vkey', () => {
  const n = verifyNote(noteText, vkeyText);
  assert.equal(n.bodyText, 'This is an example message.\n');
});

test('a changed body does not verify', () => {
  assert.throws(() => verifyNote(noteText.replace('example message', 'exemple message'), vkeyText), /does not verify/);
});

test('a flipped signature bit does not verify', () => {
  const line = noteText.split('\n').find((l) => l.startsWith('\u2014'));
  const b64 = line.split(' ')[2];
  const raw = Buffer.from(b64, 'base64');
  raw[10] ^= 1;
  assert.throws(() => verifyNote(noteText.replace(b64, raw.toString('base64')), vkeyText));
});

test('a vkey whose key id does not match its key is refused', () => {
  assert.throws(() => parseVkey(vkeyText.replace('+530d903a+', '+530d903b+')), /key id/);
});

test('a note signed only by another key does not verify', () => {
  const sk = ed25519.utils.randomSecretKey();
  const other = signNote('This is an example message.\n', 'example.com/foo', sk);
  assert.throws(() => verifyNote(other, vkeyText), /no signature by the log key/);
});

test('malformed notes are refused', () => {
  for (const bad of ['', 'body\n', 'body\n\n', 'body\n\n\u2014 name AAAA\n', 'body\n\n- x AAAAAAAAAAAA\n', noteText.trimEnd()]) {
    assert.throws(() => verifyNote(bad, vkeyText), undefined, JSON.stringify(bad));
  }
});

function logKey(name) {
  const sk = ed25519.utils.randomSecretKey();
  return { sk, vkey: formatVkey(name, ed25519.getPublicKey(sk)) };
}

test('a checkpoint we sign verifies and parses; extra unknown cosignatures are ignored', () => {
  const { sk, vkey } = logKey('log.example.org/prov');
  const root = new Uint8Array(32).fill(9);
  const body = `log.example.org/prov\n42\n${toBase64(root)}\n`;
  let note = signNote(body, 'log.example.org/prov', sk);
  const cp = verifyCheckpoint(note, vkey);
  assert.equal(cp.origin, 'log.example.org/prov');
  assert.equal(cp.size, 42n);
  assert.deepEqual(cp.root, root);
  const witness = signNote(body, 'witness.example', ed25519.utils.randomSecretKey());
  note = witness.replace(/\n$/, '') + '\n' + note.split('\n\n')[1];
  assert.equal(verifyCheckpoint(note, vkey).size, 42n);
});

test('a checkpoint whose origin differs from the key name does not verify', () => {
  const { sk } = logKey('a');
  const body = `other.origin\n1\n${toBase64(new Uint8Array(32))}\n`;
  const note = signNote(body, 'log.example', sk);
  const vkey = formatVkey('log.example', ed25519.getPublicKey(sk));
  assert.throws(() => verifyCheckpoint(note, vkey), /origin/);
});

test('checkpoint bodies are parsed strictly', () => {
  const r = toBase64(new Uint8Array(32));
  assert.equal(parseCheckpointBody(`o\n0\n${r}\n`).size, 0n);
  assert.deepEqual(parseCheckpointBody(`o\n5\n${r}\next one\n`).extensions, ['ext one']);
  for (const bad of [`o\n05\n${r}\n`, `o\n-1\n${r}\n`, `o\n5\n${r}`, `o\n5\n${toBase64(new Uint8Array(31))}\n`, `\n5\n${r}\n`, `o\n5\n`]) {
    assert.throws(() => parseCheckpointBody(bad), undefined, bad);
  }
});

test('the tlog-tiles-300 checkpoint verifies with its cosignature/v1 key', () => {
  const mirror = JSON.parse(read('tlog-tiles-300/mirror.v0.json'));
  const dir = readdirSyncOne('tlog-tiles-300');
  const cpText = read(`tlog-tiles-300/${dir}/checkpoint`);
  const cp = verifyWitnessedCheckpoint(cpText, mirror.verifier_keys[0]);
  assert.equal(cp.size, 300n);
  assert.ok(cp.note.timestamp > 0n);
  assert.throws(() => verifyWitnessedCheckpoint(cpText.replace('\n300\n', '\n301\n'), mirror.verifier_keys[0]));
});

test('a witness key taken for the log key does not pass another log\'s checkpoint', () => {
  // The witness mirror.example.org cosigned rome2026h1.example.org's checkpoint. As the log key
  // (what verifyCheckpoint is for, as Checkpoint::verify in the verifier crate), the witness key
  // must not make it pass as a checkpoint of a log named mirror.example.org.
  const mirror = JSON.parse(read('tlog-tiles-300/mirror.v0.json'));
  const cpText = read(`tlog-tiles-300/${readdirSyncOne('tlog-tiles-300')}/checkpoint`);
  assert.throws(() => verifyCheckpoint(cpText, mirror.verifier_keys[0]), /origin/);
});

test('key ids follow SHA-256(name || 0x0A || type || key)[:4]', () => {
  const k = parseVkey(vkeyText);
  assert.deepEqual(keyId(k.name, SIG_ED25519, k.publicKey), k.keyId);
});

import { readdirSync } from 'node:fs';
function readdirSyncOne(p) {
  return readdirSync(join(TESTDATA, p)).find((n) => /^[0-9a-f]{64}$/.test(n));
}
