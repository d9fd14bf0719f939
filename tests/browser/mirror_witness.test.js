// Issue 16 with issue 17: the explorer reading a static mirror checks the mirror's
// checkpoint.cosigned under the reader's witness policy. A real `prov serve` with a real `prov
// witness serve` publishes itself (`--publish file://DIR`, the cosigned checkpoint included), then
// both are STOPPED; the mirror is served by the tests' static server. With the witness's key and
// k = 1 the policy is met and an entry's proof verifies against the cosigned checkpoint; with a
// wrong key under the witness's name the policy is not met and the entry is not shown verified.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, newPage, shot, visit, REPO, prov, daemon } from './harness.js';
import { staticServer, useMirror } from './mirror_server.js';

let dir;
let browser;
let site;
let mirror;
let logVkey;
let witnessVkey;
let wrongVkey;

const sizeOf = (note) => Number(String(note).split('\n')[1]);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prov-mirror-witness-'));
  const data = join(dir, 'ledger');
  const first = await daemon(['serve', '--data', data, '--listen', '127.0.0.1:0'], ['verifier key: ', 'explorer: ']);
  logVkey = first.found['verifier key: '];
  await first.stop();
  const wkey = join(dir, 'w1.key');
  prov(['keygen', '--witness', '--name', 'witness.example/w1', '--out', wkey]);
  wrongVkey = JSON.parse(prov(['keygen', '--witness', '--name', 'witness.example/w1', '--out', join(dir, 'wrong.key'), '--json'])).witness_key;
  const witness = await daemon(['witness', 'serve', '--listen', '127.0.0.1:0', '--key', wkey, '--state', join(dir, 'state'), '--log', logVkey], ['witness key: ', 'listening: ']);
  witnessVkey = witness.found['witness key: '];
  const cfg = join(dir, 'prov.toml');
  writeFileSync(
    cfg,
    `witness_policy_min = 1\nwitness_timeout_secs = 2\n[limits]\nanonymous_optouts_per_minute = 100000\nanonymous_optout_burst = 10000\n[[witness]]\nurl = "${witness.found['listening: '].replace(/\/$/, '')}"\nvkey = "${witnessVkey}"\n`,
  );
  const dirMirror = join(dir, 'mirror');
  const log = await daemon(['serve', '--data', data, '--listen', '127.0.0.1:0', '--config', cfg, '--publish', `file://${dirMirror}`], ['explorer: ']);
  const url = log.found['explorer: '].replace(/\/$/, '');
  for (let i = 0; i < 3; i++) {
    const hex = Buffer.from(`mirror-${i}`.padEnd(32, '.')).toString('hex').slice(0, 64);
    prov(['optout', '--id', `blake3:${hex}`, '--server', url]);
  }
  const want = sizeOf(await (await fetch(`${url}/checkpoint`)).text());
  const deadline = Date.now() + 60000;
  for (;;) {
    const c = join(dirMirror, 'checkpoint.cosigned');
    const p = join(dirMirror, 'checkpoint');
    if (existsSync(c) && existsSync(p) && sizeOf(readFileSync(c, 'utf8')) === want && sizeOf(readFileSync(p, 'utf8')) === want) break;
    if (Date.now() > deadline) throw new Error('the cosigned checkpoint was never published');
    await new Promise((r) => setTimeout(r, 100));
  }
  await log.stop();
  await witness.stop();
  site = await staticServer(join(REPO, 'api/explorer/dist'));
  mirror = await staticServer(dirMirror);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await mirror?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function setPolicy(p, vkeys, k) {
  await visit(p, site.url, '#/', 'home');
  await p.click('section[aria-labelledby="s-witnesses"] details summary');
  await p.fill('#witness-vkeys', vkeys.join('\n'));
  await p.fill('#witness-k', String(k));
  await Promise.all([p.waitForEvent('load'), p.click('#witness-form button[type=submit]')]);
  await p.waitForSelector('body[data-ready="home"]');
  await p.waitForSelector('#witness-policy');
}

test('a mirror read under a witness policy: its checkpoint.cosigned is checked, proofs are against it', async () => {
  const p = await newPage(browser.context, site.url);
  await useMirror(p, site.url, mirror.url, logVkey);
  await setPolicy(p, [witnessVkey], 1);
  assert.equal(await p.getAttribute('#witness-policy .badge', 'data-state'), 'ok', await p.textContent('#witness-policy'));
  assert.equal(await p.getAttribute('tr[data-witness="witness.example/w1"]', 'data-state'), 'verified');
  assert.equal(await p.getAttribute('#checkpoint-badge .badge', 'data-state'), 'ok');
  await shot(p, 'mirror-witness-met');
  await visit(p, site.url, '#/entry/2', 'entry');
  await p.waitForSelector('#inclusion-badge .badge:not([data-state="pending"])');
  assert.equal(await p.getAttribute('#inclusion-badge .badge', 'data-state'), 'ok');

  // The witness's name under another key: the mirror's cosignature does not count.
  await setPolicy(p, [wrongVkey], 1);
  assert.equal(await p.getAttribute('#witness-policy .badge', 'data-state'), 'bad');
  assert.equal(await p.getAttribute('tr[data-witness="witness.example/w1"]', 'data-state'), 'wrong-key');
  assert.equal(await p.getAttribute('#checkpoint-badge .badge', 'data-state'), 'bad');
  await visit(p, site.url, '#/entry/2', 'entry');
  await p.waitForSelector('#inclusion-badge .badge:not([data-state="pending"]), .error');
  const state = await p.$('#inclusion-badge .badge');
  assert.notEqual(state ? await state.getAttribute('data-state') : null, 'ok');
  await p.close();
});
