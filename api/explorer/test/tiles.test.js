// C2SP tlog-tiles paths, and recomputing the root of the 300-leaf tree in testdata from its tiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeTileIndex, tilePath, entryTilePath, parseTilePath, TileReader } from '../src/lib/tiles.js';
import { verifyWitnessedCheckpoint } from '../src/lib/note.js';
import { Sha256Log, verifyInclusion } from '../src/lib/merkle.js';
import { TESTDATA } from './testdata.js';

test('tile indexes are written in x-prefixed groups of three digits', () => {
  assert.equal(encodeTileIndex(0), '000');
  assert.equal(encodeTileIndex(1), '001');
  assert.equal(encodeTileIndex(999), '999');
  assert.equal(encodeTileIndex(1000), 'x001/000');
  assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
  assert.equal(tilePath(0, 1, 44), 'tile/0/001.p/44');
  assert.equal(tilePath(2, 1234067), 'tile/2/x001/x234/067');
  assert.equal(entryTilePath(5, 3), 'tile/entries/005.p/3');
  assert.deepEqual(parseTilePath('tile/1/x001/x234/067.p/7'), { level: 1, index: 1234067n, width: 7 });
  assert.deepEqual(parseTilePath('tile/entries/000'), { level: 'entries', index: 0n, width: 256 });
  for (const bad of ['tile/0/1', 'tile/0/001.p/256', 'tile/0/001.p/0', 'tile/0/x000', 'tile/0/001.p/07']) {
    assert.throws(() => parseTilePath(bad), undefined, bad);
  }
});

const base = join(TESTDATA, 'tlog-tiles-300');
const hashed = readdirSync(base).find((n) => /^[0-9a-f]{64}$/.test(n));
const fetchTile = (p) => new Uint8Array(readFileSync(join(base, hashed, p)));

test('the root of the 300-leaf tree recomputed from its tiles matches its signed checkpoint', async () => {
  const mirror = JSON.parse(readFileSync(join(base, 'mirror.v0.json'), 'utf8'));
  const cp = verifyWitnessedCheckpoint(readFileSync(join(base, hashed, 'checkpoint'), 'utf8'), mirror.verifier_keys[0]);
  const reader = new TileReader(cp.size, fetchTile);
  assert.deepEqual(await reader.root(), cp.root);
  for (const i of [0, 1, 255, 256, 299]) {
    const proof = await reader.inclusionProof(i);
    const leaf = (await reader.tile(0, Math.floor(i / 256)))[i % 256];
    verifyInclusion(Sha256Log, i, 300, leaf, proof, cp.root);
  }
});

test('a smaller tree over the same tiles asks for the partial tiles it needs', async () => {
  const asked = [];
  const reader = new TileReader(300, (p) => (asked.push(p), fetchTile(p)));
  await reader.root();
  assert.deepEqual(asked.sort(), ['tile/0/001.p/44', 'tile/1/000.p/1']);
});
