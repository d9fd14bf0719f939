// Issue 13 in a real browser against a real `prov serve`: a web-text dataset published with its
// metadata and source tree (tests/browser/seedsources.js), then the item view (licence, source
// and consent shown only once the inclusion proof and the metadata digest verify here), the
// version's licence / consent / top-domain charts from /stats, and "Is my site in it?" (a count
// per dataset version with a range proof verified here, per model checkpoint too), each with the
// lie a server could tell and the page catching it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, visit } from './harness.js';
import { seedSources } from './seedsources.js';

let server;
let browser;
let s;

before(async () => {
  server = await startServer();
  s = await seedSources(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function clean(p) {
  assert.deepEqual(p.foreignRequests(), [], 'every request stays on the server origin');
  assert.deepEqual(p.pageErrors, [], 'no script errors');
}

const itemHash = (d) => `#/dataset/acme/c4/1/item/${encodeURIComponent(d.cid)}`;

test('the item view shows licence, source and consent, with the inclusion proof and metadata digest verified', async () => {
  const p = await newPage(browser.context, server.url);
  const d = s.exampleCom.find((x) => x.url.includes('www.example.com'));
  const e = d.meta.sources[0];
  await visit(p, server.url, itemHash(d), 'dataset');
  await p.waitForSelector('#item-verdict .badge');
  assert.equal(await p.getAttribute('#item-verdict .badge', 'data-state'), 'ok');
  assert.equal(await p.getAttribute('#inclusion', 'data-state'), 'ok');
  assert.equal(await p.getAttribute('#meta-digest .badge', 'data-state'), 'ok');
  assert.equal((await p.textContent('#sources .licence')).trim(), e.license);
  assert.equal((await p.textContent('#sources .consent')).trim(), e.consent);
  assert.ok((await p.textContent('#sources .src')).includes(d.url));
  assert.equal((await p.textContent('#sources .source-key')).trim(), `com.example.www./news/${d.url.split('/').pop()}`);
  assert.equal(await p.getAttribute('#sources .source-entry', 'data-state'), 'ok');
  await shot(p, '30-item-view');
  clean(p);
  await p.close();
});

test('an id that is not in the version: the item view verifies the exclusion proof', async () => {
  const p = await newPage(browser.context, server.url);
  const other = s.docs[0].cid.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
  await visit(p, server.url, `#/dataset/acme/c4/1/item/${encodeURIComponent(other)}`, 'dataset');
  await p.waitForSelector('#item-absent');
  assert.equal(await p.getAttribute('#item-absent', 'data-state'), 'ok');
  clean(p);
  await p.close();
});

test('items are linked from the dataset version page, whose charts come from /stats', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/dataset/acme/c4/1', 'dataset');
  await p.waitForSelector('#entry-badge .badge[data-state="ok"]');
  await p.waitForFunction(() => document.querySelectorAll('#charts canvas').length === 3);
  const charts = await p.textContent('#charts');
  for (const t of ['Licences', 'Consent signals', 'Top domains by content size', 'CC-BY-4.0', 'aipref:train-ai=n', 'wikipedia.org', 'www.example.com']) assert.ok(charts.includes(t), `charts show ${t}`);
  assert.ok((await p.textContent('#sources-root')).includes(`${s.tree.size} (source, item) leaves`));
  // The server's figures (Rust) recomputed here (JS) from every leaf and its metadata: equal.
  await p.waitForSelector('#stats-check:not([data-state="pending"])');
  assert.equal(await p.getAttribute('#stats-check', 'data-state'), 'ok', await p.textContent('#stats-check'));
  await shot(p, '31-version-charts');
  await p.click('#items a.item-link');
  await p.waitForSelector('#item-verdict .badge[data-state="ok"]');
  clean(p);
  await p.close();
});

test('a server that inflates a licence count is caught by the recomputation', async () => {
  const p = await newPage(browser.context, server.url);
  await p.route('**/v1/datasets/*/*/*/stats', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    body.licences[0].items += 1;
    await route.fulfill({ response: res, json: body });
  });
  await visit(p, server.url, '#/dataset/acme/c4/1', 'dataset');
  await p.waitForSelector('#stats-check:not([data-state="pending"])');
  assert.equal(await p.getAttribute('#stats-check', 'data-state'), 'bad');
  assert.ok((await p.textContent('#stats-check')).includes('licences differ'));
  await p.close();
});

test('a server that lies about an item\'s licence is caught: the metadata no longer hashes to the leaf', async () => {
  const p = await newPage(browser.context, server.url);
  await p.route('**/v1/datasets/*/*/*/items/*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    body.meta.sources[0].license = 'CC0-1.0-but-not-really';
    await route.fulfill({ response: res, json: body });
  });
  await visit(p, server.url, itemHash(s.exampleCom[0]), 'dataset');
  await p.waitForSelector('#item-verdict .badge');
  assert.equal(await p.getAttribute('#item-verdict .badge', 'data-state'), 'bad');
  assert.equal(await p.getAttribute('#meta-digest .badge', 'data-state'), 'bad');
  assert.ok((await p.textContent('#item-verdict')).includes('does not hash'));
  await p.unroute('**/v1/datasets/*/*/*/items/*');
  // And one that swaps in another item's leaf: the inclusion proof no longer matches.
  await p.route('**/v1/datasets/*/*/*/items/*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    const inc = body.proof.included ?? body.proof;
    inc.index = inc.index === 0 ? 1 : inc.index - 1;
    await route.fulfill({ response: res, json: body });
  });
  await visit(p, server.url, itemHash(s.exampleCom[1]), 'dataset');
  await p.waitForSelector('#item-verdict .badge');
  assert.equal(await p.getAttribute('#item-verdict .badge', 'data-state'), 'bad');
  assert.equal(await p.getAttribute('#inclusion', 'data-state'), 'bad');
  await shot(p, '32-item-tampered');
  await p.close();
});

test('"Is my site in it?": example.com and its subdomains counted with a verified range proof, never notexample.com', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/site?q=Example.COM', 'site');
  await p.waitForSelector('#site-verdict');
  assert.equal(await p.textContent('#site-canonical'), 'example.com');
  assert.equal(await p.textContent('#site-prefix'), 'com.example.');
  assert.equal(await p.getAttribute('#site-verdict', 'data-verdict'), 'in');
  const c4 = p.locator('#site-versions [data-dataset="acme/c4@1"]');
  assert.equal(await c4.getAttribute('data-state'), 'in');
  assert.equal(await c4.getAttribute('data-count'), String(s.exampleCom.length));
  const shown = await c4.locator('.site-items a').evaluateAll((as) => as.map((a) => decodeURIComponent(a.getAttribute('href').split('/').pop())));
  assert.deepEqual(shown.sort(), s.exampleCom.map((d) => d.cid).sort(), 'every item of example.com, and only those');
  for (const d of s.notExample) assert.ok(!shown.includes(d.cid), 'notexample.com is not example.com');
  assert.equal(await p.getAttribute('#site-versions [data-dataset="acme/books@1"]', 'data-state'), 'unproven', 'a version without a source tree cannot be decided');
  assert.ok(await p.isVisible('#site-unproven'));
  await p.waitForSelector('#site-models');
  assert.ok((await p.textContent('#site-models')).includes('lab/llm@ckpt-1'), 'the model trained on it');
  await shot(p, '33-site-in');
  // From the page to an item.
  await c4.locator('.site-items a').first().click();
  await p.waitForSelector('#item-verdict .badge[data-state="ok"]');
  clean(p);
  await p.close();
});

test('"Is my site in it?": an absent domain is a verified exclusion; a URL prefix counts only its path', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/site?q=absent-site.org', 'site');
  await p.waitForSelector('#site-verdict');
  assert.equal(await p.getAttribute('#site-versions [data-dataset="acme/c4@1"]', 'data-state'), 'out');
  assert.equal(await p.getAttribute('#site-verdict', 'data-verdict'), 'out');
  await shot(p, '34-site-out');
  await visit(p, server.url, `#/site?q=${encodeURIComponent('https://www.example.com/news/')}`, 'site');
  await p.waitForSelector('#site-verdict');
  const n = s.exampleCom.filter((d) => d.url.startsWith('https://www.example.com/news/')).length;
  assert.equal(await p.getAttribute('#site-versions [data-dataset="acme/c4@1"]', 'data-count'), String(n));
  await visit(p, server.url, '#/site?q=notexample.com', 'site');
  await p.waitForSelector('#site-verdict');
  assert.equal(await p.getAttribute('#site-versions [data-dataset="acme/c4@1"]', 'data-count'), String(s.notExample.length));
  clean(p);
  await p.close();
});

test('"Is my site in it?" per model: only the versions the checkpoint was trained on', async () => {
  const p = await newPage(browser.context, server.url);
  // From the checkpoint's page, with the model filled in.
  await visit(p, server.url, '#/model/lab/llm/ckpt-1', 'model');
  await p.click('#site-for-model');
  await p.waitForSelector('body[data-ready="site"]');
  assert.equal(await p.inputValue('#model-input'), 'lab/llm@ckpt-1');
  await p.fill('#site-input', 'example.com');
  await p.click('#site-form button[type="submit"]');
  await p.waitForFunction(() => location.hash.includes('q=example.com'));
  await p.waitForSelector('#site-verdict');
  assert.equal(await p.getAttribute('#site-verdict', 'data-verdict'), 'in');
  assert.ok((await p.textContent('#site-verdict')).includes('lab/llm@ckpt-1'));
  assert.equal(await p.locator('#site-versions > div').count(), 2);
  await shot(p, '35-site-model');
  clean(p);
  await p.close();
});

test('a server that hides a site\'s item from a range proof is caught ("does not verify"), never a smaller count', async () => {
  const p = await newPage(browser.context, server.url);
  // Drop the first in-range leaf of every range proof: the left edge is no longer proven.
  const tamper = async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    const proofs = Array.isArray(body) ? body.map((a) => a.proof) : body.items ? body.items.map((a) => a.proof) : [body.proof];
    for (const pr of proofs) if (pr && pr.leaves.length > 2) pr.leaves.splice(1, 1);
    await route.fulfill({ response: res, json: body });
  };
  await p.route('**/v1/sites/*', tamper);
  await p.route('**/v1/datasets/*/*/*/sites/*', tamper);
  await visit(p, server.url, '#/site?q=example.com', 'site');
  await p.waitForSelector('#site-verdict');
  assert.equal(await p.getAttribute('#site-versions [data-dataset="acme/c4@1"]', 'data-state'), 'bad');
  assert.equal(await p.getAttribute('#site-verdict', 'data-verdict'), 'unknown');
  await shot(p, '36-site-tampered');
  await p.close();
});

test('the site opt-out shows on the model page: items found, requester control not checked in the browser', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/model/lab/llm/ckpt-1', 'model');
  await p.waitForFunction(() => !document.querySelector('#compliance-badge .badge[data-state="pending"]'), null, { timeout: 20000 });
  const state = await p.getAttribute('#compliance-badge .badge', 'data-state');
  assert.equal(state, 'site_unverified', 'a site violation whose requester control is unchecked');
  const ev = await p.textContent('#site-evidence');
  assert.ok(ev.includes('example.com') && ev.includes('acme/c4@1'), ev);
  assert.ok(ev.includes(String(s.exampleCom.length)));
  await shot(p, '37-model-site-optout');
  clean(p);
  await p.close();
});

test('searching a domain offers "Is my site in it?"', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/search?q=notexample.com', 'search');
  await p.click('#site-suggestion a');
  await p.waitForSelector('#site-verdict');
  assert.equal(await p.textContent('#site-canonical'), 'notexample.com');
  clean(p);
  await p.close();
});

test('a compliance bundle whose source proof is flipped or left out does not verify', async () => {
  for (const [name, change] of [
    ['flipped', (b) => (b.source_proofs[0].proof.hashes[0] = (b.source_proofs[0].proof.hashes[0][0] === '0' ? '1' : '0') + b.source_proofs[0].proof.hashes[0].slice(1))],
    ['left out', (b) => (b.source_proofs = [])],
    ['an in-range leaf dropped', (b) => b.source_proofs[0].proof.leaves.splice(1, 1)],
  ]) {
    // A fresh page each time: the explorer keeps a verified bundle for the page's life.
    const p = await newPage(browser.context, server.url);
    let served = 0;
    await p.route('**/v1/compliance/*', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      assert.ok(body.source_proofs.length > 0, 'the server sends source proofs');
      change(body);
      served++;
      await route.fulfill({ response: res, json: body });
    });
    await visit(p, server.url, '#/model/lab/llm/ckpt-1', 'model');
    await p.waitForFunction(() => !document.querySelector('#compliance-badge .badge[data-state="pending"]'), null, { timeout: 20000 });
    assert.ok(served > 0, `${name}: the tampered bundle was the one checked`);
    assert.equal(await p.getAttribute('#compliance-badge .badge', 'data-state'), 'bad', name);
    await p.close();
  }
});

test('the item view and "Is my site in it?" are readable on a phone and labelled', async () => {
  const p = await newPage(browser.context, server.url);
  await p.setViewportSize({ width: 375, height: 812 });
  for (const [hash, ready, name] of [
    [itemHash(s.exampleCom[0]), 'dataset', '38-phone-item'],
    ['#/site?q=example.com', 'site', '39-phone-site'],
  ]) {
    await visit(p, server.url, hash, ready);
    await p.waitForSelector(ready === 'site' ? '#site-verdict' : '#item-verdict');
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${name}: no horizontal scrolling (${overflow}px)`);
    const unlabelled = await p.evaluate(() => [...document.querySelectorAll('input, select, textarea')].filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id || el.name));
    assert.deepEqual(unlabelled, []);
    assert.equal(await p.locator('h1').count(), 1);
    await shot(p, name);
  }
  await p.close();
});
