// Issue 17: the explorer shows and checks cosignatures. A real `prov serve` whose configuration
// lists a real `prov witness serve`; in Chromium, the reader sets the witness key and k = 1 on
// the log page: each witness is shown verified (with its time), the policy met, and entry proofs
// are against the cosigned checkpoint. With a wrong key under the witness's name: "wrong key",
// policy not met. Once the witness is down and the log has grown, an entry the cosigned
// checkpoint does not cover is not shown as verified, and proofs are still asked at its size.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, newPage, shot, visit, prov, daemon } from './harness.js';

let dir;
let browser;
let log;
let witness;
let wrongVkey;

/** The data-state of `sel`'s badge, or null when the page shows none. */
async function stateOf(p, sel) {
  const el = await p.$(sel);
  return el ? el.getAttribute('data-state') : null;
}

let alice;

/** alice's model checkpoint `lm@NAME`, trained on web@v1. */
function attest(name) {
  const weights = join(dir, `weights-${name}`);
  mkdirSync(weights, { recursive: true });
  writeFileSync(join(weights, 'w.bin'), `weights ${name}`);
  prov(['attest', '--key', alice, '--model', 'lm', '--checkpoint', name, '--weights', weights, '--dataset', 'web@v1', '--backend', 'cpu', '--server', log.url]);
}

/** The compliance badge of alice/lm@NAME once it is computed. */
async function compliance(p, name) {
  await visit(p, log.url, `#/model/alice/lm/${name}`, 'model');
  await p.waitForSelector('#compliance-badge .badge:not([data-state="pending"])', { timeout: 30000 });
  return { state: await p.getAttribute('#compliance-badge .badge', 'data-state'), text: await p.textContent('main') };
}

const sizeOf = (note) => Number(note.split('\n')[1]);

async function get(url) {
  const r = await fetch(url);
  return { status: r.status, text: await r.text() };
}

/** Waits until /checkpoint.cosigned is of the log's current size; returns it. */
async function cosignedAtLogSize(url) {
  const want = sizeOf((await get(`${url}/checkpoint`)).text);
  const deadline = Date.now() + 30000;
  for (;;) {
    const r = await get(`${url}/checkpoint.cosigned`);
    if (r.status === 200 && sizeOf(r.text) === want) return r.text;
    if (Date.now() > deadline) throw new Error(`no cosigned checkpoint of size ${want}: ${r.status} ${r.text}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function grow(url, tag, n) {
  for (let i = 0; i < n; i++) {
    const hex = Buffer.from(`${tag}-${i}`.padEnd(32, '.')).toString('hex').slice(0, 64);
    prov(['optout', '--id', `blake3:${hex}`, '--server', url]);
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prov-witness-browser-'));
  const data = join(dir, 'ledger');
  // Create the log (to learn its key), then the witness of that key, then the log with it.
  const first = await daemon(['serve', '--data', data, '--listen', '127.0.0.1:0'], ['verifier key: ', 'explorer: ']);
  const logVkey = first.found['verifier key: '];
  await first.stop();
  const wkey = join(dir, 'w1.key');
  prov(['keygen', '--witness', '--name', 'witness.example/w1', '--out', wkey]);
  // The same witness name under another key: what a reader who pasted the wrong key holds.
  wrongVkey = JSON.parse(prov(['keygen', '--witness', '--name', 'witness.example/w1', '--out', join(dir, 'wrong.key'), '--json'])).witness_key;
  witness = await daemon(['witness', 'serve', '--listen', '127.0.0.1:0', '--key', wkey, '--state', join(dir, 'state'), '--log', logVkey], ['witness key: ', 'listening: ']);
  const cfg = join(dir, 'prov.toml');
  writeFileSync(
    cfg,
    `witness_policy_min = 1\nwitness_timeout_secs = 2\n[limits]\nanonymous_optouts_per_minute = 100000\nanonymous_optout_burst = 10000\n[[witness]]\nurl = "${witness.found['listening: '].replace(/\/$/, '')}"\nvkey = "${witness.found['witness key: ']}"\n`,
  );
  log = await daemon(['serve', '--data', data, '--listen', '127.0.0.1:0', '--config', cfg], ['explorer: ']);
  log.url = log.found['explorer: '].replace(/\/$/, '');
  grow(log.url, 'a', 3);
  // alice's dataset and a model checkpoint trained on it, with its compliance bundle.
  alice = join(dir, 'alice.key');
  prov(['keygen', '--out', alice, '--name', 'alice']);
  prov(['publisher', 'register', '--key', alice, '--server', log.url]);
  const corpus = join(dir, 'web.jsonl');
  writeFileSync(corpus, '{"text":"page one"}\n{"text":"page two"}\n');
  prov(['publish', '--key', alice, '--dataset', 'web', '--version', 'v1', '--backend', 'cpu', '--mode', 'jsonl', '--field', 'text', '--server', log.url, corpus]);
  attest('c1');
  await cosignedAtLogSize(log.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await log?.stop();
  await witness?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function setPolicy(p, vkeys, k) {
  await visit(p, log.url, '#/', 'home');
  await p.click('section[aria-labelledby="s-witnesses"] details summary');
  await p.fill('#witness-vkeys', vkeys.join('\n'));
  await p.fill('#witness-k', String(k));
  await Promise.all([p.waitForEvent('load'), p.click('#witness-form button[type=submit]')]);
  await p.waitForSelector('body[data-ready="home"]');
  await p.waitForSelector('#witness-policy');
}

test('the log page checks each witness cosignature: verified with its time, policy met', async () => {
  const p = await newPage(browser.context, log.url);
  await setPolicy(p, [witness.found['witness key: ']], 1);
  assert.equal(await p.getAttribute('#witness-policy .badge', 'data-state'), 'ok', await p.textContent('#witness-policy'));
  assert.match(await p.textContent('#witness-policy'), /met/);
  const row = 'tr[data-witness="witness.example/w1"]';
  assert.equal(await p.getAttribute(row, 'data-state'), 'verified');
  assert.match(await p.textContent(row), /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, 'the cosignature time');
  assert.equal(await p.getAttribute('#checkpoint-badge .badge', 'data-state'), 'ok');
  assert.ok(p.requests.some((u) => u.endsWith('/checkpoint.cosigned')), 'the cosigned checkpoint was fetched');
  await shot(p, '60-witness-met');
  // An entry proven against the cosigned checkpoint.
  const cosigned = (await get(`${log.url}/checkpoint.cosigned`)).text;
  await visit(p, log.url, '#/entry/0', 'entry');
  await p.waitForSelector('#inclusion-badge .badge:not([data-state="pending"])');
  assert.equal(await p.getAttribute('#inclusion-badge .badge', 'data-state'), 'ok', await p.textContent('main'));
  assert.ok(p.requests.some((u) => u.includes(`tree_size=${sizeOf(cosigned)}`)), p.requests.join('\n'));
  // The compliance bundle of a checkpoint the witness cosigned is checked as usual.
  const c1 = await compliance(p, 'c1');
  assert.notEqual(c1.state, 'bad', c1.text);
  assert.deepEqual(p.foreignRequests(), []);
  assert.deepEqual(p.pageErrors, []);
  await p.close();
});

test('a wrong witness key: the row says wrong key and the policy is not met', async () => {
  const p = await newPage(browser.context, log.url);
  await setPolicy(p, [wrongVkey], 1);
  assert.equal(await p.getAttribute('#witness-policy .badge', 'data-state'), 'bad', await p.textContent('#witness-policy'));
  assert.match(await p.textContent('#witness-policy'), /not met/);
  assert.equal(await p.getAttribute('tr[data-witness="witness.example/w1"]', 'data-state'), 'wrong-key');
  assert.equal(await p.getAttribute('#checkpoint-badge .badge', 'data-state'), 'bad');
  await shot(p, '61-witness-wrong-key');
  // Not verified either: an entry page under a policy that is not met.
  await visit(p, log.url, '#/entry/0', 'entry');
  await p.waitForSelector('#inclusion-badge .badge:not([data-state="pending"]), .error');
  assert.notEqual(await stateOf(p, '#inclusion-badge .badge'), 'ok');
  await p.close();
});

test('the witness down, the log grown: an entry the cosigned checkpoint does not cover is not verified', async () => {
  const before = (await get(`${log.url}/checkpoint.cosigned`)).text;
  await witness.stop();
  grow(log.url, 'b', 2);
  const latest = sizeOf((await get(`${log.url}/checkpoint`)).text);
  assert.ok(latest > sizeOf(before));
  const p = await newPage(browser.context, log.url);
  // First a visit without a policy (the browser remembers the log's latest checkpoint), then
  // with: the cosigned checkpoint is older, and that is not a log that shrank.
  await setPolicy(p, [], 0);
  await p.waitForSelector('#consistency[data-state]');
  assert.equal((await p.textContent('#cp-size')).replace(/\D/g, ''), String(latest));
  await setPolicy(p, [witness.found['witness key: ']], 1);
  assert.equal(await p.getAttribute('#witness-policy .badge', 'data-state'), 'ok');
  assert.equal((await p.textContent('#cp-size')).replace(/\D/g, ''), String(sizeOf(before)));
  await p.waitForSelector('#consistency[data-state]');
  assert.notEqual(await p.getAttribute('#consistency', 'data-state'), 'bad', await p.textContent('#consistency'));
  await visit(p, log.url, `#/entry/${latest - 1}`, 'entry');
  await p.waitForSelector('#inclusion-badge .badge:not([data-state="pending"]), .error');
  assert.notEqual(await stateOf(p, '#inclusion-badge .badge'), 'ok');
  await visit(p, log.url, '#/entry/0', 'entry');
  await p.waitForSelector('#inclusion-badge .badge:not([data-state="pending"])');
  assert.equal(await p.getAttribute('#inclusion-badge .badge', 'data-state'), 'ok');
  assert.ok(p.requests.some((u) => u.includes(`tree_size=${sizeOf(before)}`)), p.requests.join('\n'));
  // A model checkpoint logged since: its bundle is of a checkpoint no witness has seen.
  attest('c2');
  const c2 = await compliance(p, 'c2');
  assert.equal(c2.state, 'bad', c2.text);
  assert.match(c2.text, /not covered by the cosigned checkpoint/);
  await p.close();
});
