// The statistics recomputed in the browser (lib/stats.js) follow verifier/src/set/stats.rs: the
// same host names, the same per-leaf counting, the same order; and a leaf whose metadata does not
// hash to its digest, or leaves that do not rebuild the root, are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { hostOfSourceKey, computeStats, checkLeaves, sourceTreeOf, compareStats, MAX_HOSTS } from '../src/lib/stats.js';
import { canonicalize } from '../src/lib/jcs.js';
import { formatCid, setLeafHash } from '../src/lib/set.js';
import { Blake3Set, rootOfLeafHashes } from '../src/lib/merkle.js';
import { toHex, utf8, compare } from '../src/lib/bytes.js';
import { sourceKey } from '../src/lib/source.js';

test('hosts read back from source keys (the Rust cases)', () => {
  assert.equal(hostOfSourceKey(''), null);
  assert.equal(hostOfSourceKey('com.example.www./a/b?x=1'), 'www.example.com');
  assert.equal(hostOfSourceKey('com.example./'), 'example.com');
  assert.equal(hostOfSourceKey('com.example.:8080/x'), 'example.com');
  assert.equal(hostOfSourceKey('1.2.3.4./'), '1.2.3.4');
  assert.equal(hostOfSourceKey('[::1]./'), '[::1]');
  assert.equal(hostOfSourceKey('[::1].:81/'), '[::1]');
  assert.equal(hostOfSourceKey('jp.xn--r8jz45g./'), 'xn--r8jz45g.jp');
  assert.equal(hostOfSourceKey(sourceKey('https://WWW.Example.com:8443/x')), 'www.example.com');
});

const cid = (i) => formatCid(blake3(utf8(`c${i}`)));
function leaf(i, size, entries) {
  const metadata = { sources: entries };
  return { cid: cid(i), size, meta: toHex(blake3(utf8(canonicalize(metadata)))), metadata };
}

test('stats count leaves per value (distinct per leaf) and hosts per source leaf (the Rust case)', () => {
  const leaves = [
    leaf(1, 10, [{ license: 'MIT', source: 'https://a.com/x' }, { license: 'MIT', source: 'https://a.com/x' }]),
    leaf(2, 5, [{ license: 'MIT', source: 'https://a.com/y' }, { path: 'p' }]),
    leaf(3, 1, [{ license: 7, source: 'https://www.a.com/' }]),
  ].sort((a, b) => compare(utf8(a.cid), utf8(b.cid)));
  const s = computeStats(leaves);
  assert.deepEqual(s.licences, [
    { value: 'MIT', items: 2, bytes: 15 },
    { value: '(none)', items: 1, bytes: 5 },
    { value: '7', items: 1, bytes: 1 },
  ]);
  assert.deepEqual(s.consent, [{ value: '(none)', items: 3, bytes: 16 }]);
  assert.deepEqual(s.no_source, { items: 1, bytes: 5 });
  assert.deepEqual(s.hosts, [
    { value: 'a.com', items: 2, bytes: 15 },
    { value: 'www.a.com', items: 1, bytes: 1 },
  ]);
  assert.ok(compareStats(JSON.parse(JSON.stringify(s)), s).ok);
  const lied = JSON.parse(JSON.stringify(s));
  lied.licences[0].items = 3;
  assert.equal(compareStats(lied, s).ok, false);
});

test('only the largest hosts are kept', () => {
  const leaves = Array.from({ length: MAX_HOSTS + 10 }, (_, i) => leaf(i, i, [{ source: `https://h${String(i).padStart(5, '0')}.com/` }]));
  leaves.sort((a, b) => compare(utf8(a.cid), utf8(b.cid)));
  const s = computeStats(leaves);
  assert.equal(s.hosts.length, MAX_HOSTS);
  assert.equal(s.hosts[0].bytes, MAX_HOSTS + 9);
  assert.equal(s.hosts[MAX_HOSTS - 1].bytes, 10);
});

test('checkLeaves refuses metadata that does not hash to its digest and leaves that do not rebuild the root', () => {
  const leaves = [leaf(1, 3, [{ license: 'MIT' }]), leaf(2, 4, [{ license: 'CC0-1.0' }])].sort((a, b) => compare(utf8(a.cid), utf8(b.cid)));
  const root = toHex(rootOfLeafHashes(Blake3Set, leaves.map((l) => setLeafHash(l))));
  assert.ok(checkLeaves(leaves, { manifestRoot: root, itemCount: 2 }).ok);
  const lied = structuredClone(leaves);
  lied[0].metadata.sources[0].license = 'Apache-2.0';
  assert.match(checkLeaves(lied, { manifestRoot: root, itemCount: 2 }).error, /does not hash/);
  assert.match(checkLeaves(leaves.slice(1), { manifestRoot: root, itemCount: 2 }).error, /2/);
  assert.match(checkLeaves([...leaves].reverse(), { manifestRoot: root, itemCount: 2 }).error, /manifest root/);
});

test('the source tree of a leaf list: one leaf per distinct (key, cid), no-source first', () => {
  const leaves = [leaf(1, 3, [{ source: 'https://b.com/' }, { source: 'https://a.com/' }, { source: 'https://a.com/' }]), leaf(2, 4, [{ path: 'x' }])];
  const t = sourceTreeOf(leaves);
  assert.equal(t.size, 3);
  assert.deepEqual(t.leaves.map((x) => x.key), ['', 'com.a./', 'com.b./']);
});
