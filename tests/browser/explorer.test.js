// The explorer in a real browser (Debian's chromium through playwright-core) against a real
// `prov serve` on loopback, seeded through the HTTP API with entries signed in JavaScript:
// every page kind, search, "Was my work used?" for a file in a dataset and one that is not,
// tampered proofs, and an opt-out. Screenshots of each page kind go to the folder printed first.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, visit } from './harness.js';
import { seedScenario, Client, corpus } from './seed.js';
import { buildAnonymousOptout, originOf } from '../../api/explorer/src/lib/entry.js';

let server;
let browser;
let s;

before(async () => {
  server = await startServer();
  s = await seedScenario(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function page() {
  const p = await newPage(browser.context, server.url);
  return p;
}

/** Badges on the page, by state. */
async function states(p, selector = '.badge') {
  return p.$$eval(selector, (els) => els.map((e) => e.dataset.state));
}

function noForeignRequests(p) {
  assert.deepEqual(p.foreignRequests(), [], 'every request stays on the server origin');
  assert.deepEqual(p.pageErrors, [], 'no script errors');
}

test('the log page verifies the checkpoint and lists recent entries of every type', async () => {
  const p = await page();
  await visit(p, server.url, '', 'home');
  assert.equal(await p.getAttribute('#checkpoint-badge .badge', 'data-state'), 'ok');
  assert.equal((await p.textContent('#vkey')).trim(), server.vkey ?? (await p.textContent('#vkey')).trim());
  const text = await p.textContent('main');
  for (const t of ['publisher', 'dataset version', 'opt-out', 'model checkpoint']) assert.ok(text.includes(t), `recent entries show a ${t}`);
  await shot(p, '01-log');
  await visit(p, server.url, '#/entries', 'entries');
  assert.equal(await p.locator('tbody tr').count(), 8);
  await shot(p, '02-entries');
  noForeignRequests(p);
  await p.close();
});

test('every entry page shows its canonical JSON, signer and a verified inclusion proof', async () => {
  const p = await page();
  for (const [name, index] of Object.entries(s.idx)) {
    await visit(p, server.url, `#/entry/${index}`, 'entry');
    await p.waitForSelector('#inclusion-badge .badge[data-state="ok"]', { timeout: 10000 });
    assert.match(await p.textContent('#canonical'), /^\{"/);
    if (name === 'optout') assert.ok((await p.textContent('main')).includes('anonymous'));
    else assert.ok((await states(p)).filter((x) => x === 'ok').length >= 2, `${name}: signature and inclusion verified`);
    if (name === 'acme' || name === 'web1' || name === 'optout' || name === 'violating') await shot(p, `03-entry-${name}`);
  }
  noForeignRequests(p);
  await p.close();
});

test('publishers, datasets and dataset versions', async () => {
  const p = await page();
  await visit(p, server.url, '#/publishers', 'publishers');
  assert.ok((await p.textContent('main')).includes('acme'));
  await shot(p, '04-publishers');
  await visit(p, server.url, '#/publisher/acme', 'publisher');
  assert.equal(await p.locator('tbody tr').count(), 3);
  await shot(p, '05-publisher');
  await visit(p, server.url, '#/datasets', 'datasets');
  assert.equal(await p.locator('tbody tr').count(), 3);
  await shot(p, '06-datasets');
  await visit(p, server.url, '#/dataset/acme/web', 'dataset');
  await p.waitForSelector('[data-added="10"][data-removed="1"] .badge[data-state="ok"]');
  await p.waitForSelector('canvas');
  await shot(p, '07-dataset-history');
  await visit(p, server.url, '#/dataset/acme/web/2', 'dataset');
  await p.waitForSelector('#entry-badge .badge[data-state="ok"]');
  await p.waitForSelector('#changes [data-added="10"]');
  assert.equal(await p.textContent('#items-count'), '59');
  assert.equal(await p.locator('#items tbody tr').count(), 50, 'items are paginated');
  assert.equal(await p.locator('#charts canvas').count(), 1);
  await shot(p, '08-dataset-version');
  await p.click('#items a[rel="next"]');
  await p.waitForSelector('body[data-ready="dataset"]');
  await p.waitForFunction(() => document.querySelectorAll('#items tbody tr').length === 9);
  noForeignRequests(p);
  await p.close();
});

test('an item of a version uploaded without its metadata: in the version, verified, and nothing claimed about its source', async () => {
  const p = await page();
  await visit(p, server.url, `#/dataset/acme/web/2/item/${encodeURIComponent(s.inside.cid)}`, 'dataset');
  await p.waitForSelector('#item-verdict .badge');
  assert.equal(await p.getAttribute('#item-verdict .badge', 'data-state'), 'ok');
  assert.equal(await p.getAttribute('#item-verdict', 'data-digest'), 'absent');
  assert.ok(await p.isVisible('#no-meta'));
  assert.equal(await p.locator('#sources').count(), 0, 'no licence or source shown');
  noForeignRequests(p);
  await p.close();
});

test('models and checkpoints carry compliance badges computed in the browser', async () => {
  const p = await page();
  await visit(p, server.url, '#/models', 'models');
  assert.ok((await p.textContent('main')).includes('llm'));
  await shot(p, '09-models');
  await visit(p, server.url, '#/model/lab/llm', 'model');
  await p.waitForFunction(() => [...document.querySelectorAll('tbody .badge')].every((b) => b.dataset.state !== 'pending'));
  assert.deepEqual(await states(p, 'tbody .badge'), ['violation', 'compliant']);
  await shot(p, '10-model');
  await visit(p, server.url, '#/model/lab/llm/ckpt-1', 'model');
  await p.waitForSelector('#compliance-badge .badge[data-state="violation"]');
  const ev = await p.textContent('main');
  assert.ok(ev.includes('acme/web@1') && ev.includes(s.optedOut.cid.slice(7, 17)), 'the violation names the dataset version and the id');
  await shot(p, '11-checkpoint-violation');
  await visit(p, server.url, '#/model/lab/llm/ckpt-2', 'model');
  await p.waitForSelector('#compliance-badge .badge[data-state="compliant"]');
  // Green only after this browser's own completeness scan, and it says what it did not check.
  assert.equal(await p.getAttribute('#completeness', 'data-state'), 'complete');
  const notChecked = await p.textContent('#not-checked');
  assert.ok(notChecked.includes('Not checked') && notChecked.includes('between the horizon'), notChecked);
  await shot(p, '12-checkpoint-compliant');
  noForeignRequests(p);
  await p.close();
});

test('opt-outs are listed in log order with their scope', async () => {
  const p = await page();
  await visit(p, server.url, '#/optouts', 'optouts');
  const text = await p.textContent('main');
  assert.ok(text.includes('train-ai') && text.includes(`#${s.idx.optout}`));
  await shot(p, '13-optouts');
  await p.close();
});

test('search takes a publisher, a dataset, a model, a content id and an entry number', async () => {
  const p = await page();
  await visit(p, server.url, '', 'home');
  // Waits for this search's page, not the previous one: after Enter the old page is still
  // marked ready until the hash change clears it, so a search after a search also waits for the
  // title that the new render sets last (other targets are pages of another kind).
  const search = async (q, ready) => {
    await p.fill('#search-q', q);
    await p.press('#search-q', 'Enter');
    await p.waitForFunction(
      ([want, r]) =>
        document.body.dataset.ready === r && (r !== 'search' || document.title.startsWith(want)),
      [`Search: ${q} — `, ready],
    );
  };
  await search('acme', 'search');
  assert.ok((await p.textContent('#results')).includes('acme/web'));
  await shot(p, '14-search');
  await search('acme/web@2', 'search');
  assert.ok((await p.textContent('#results')).includes('acme/web@2'));
  await search('llm', 'search');
  assert.ok((await p.textContent('#results')).includes('lab/llm'));
  await search('nothing-like-this', 'search');
  assert.ok(await p.isVisible('#no-results'));
  await search(String(s.idx.web2), 'entry');
  await search(s.inside.cid, 'check');
  await p.waitForSelector('#verdict[data-verdict="used"]');
  await p.close();
});

test('a dropped file that is in a dataset shows where it was used, verified', async () => {
  const p = await page();
  await visit(p, server.url, '#/check', 'check');
  // A real drop event carrying a File, as a person dragging it from their desktop makes.
  await p.evaluate(
    ({ text, name }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], name, { type: 'text/plain' }));
      document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { text: s.inside.text, name: 'my-essay.txt' },
  );
  await p.waitForSelector('#verdict');
  assert.equal(await p.textContent('#cid'), s.inside.cid, 'hashed locally to the same id');
  assert.equal(await p.getAttribute('#verdict', 'data-verdict'), 'used');
  const results = await p.$$eval('#versions > div', (els) => els.map((e) => [e.dataset.dataset, e.dataset.membership, e.dataset.verified]));
  assert.deepEqual(results, [
    ['acme/web@1', 'included', 'yes'],
    ['acme/web@2', 'included', 'yes'],
    ['acme/books@2026-01', 'excluded', 'yes'],
  ]);
  assert.equal(await p.locator('#checkpoints li').count(), 2);
  // Nothing was uploaded: no request carried the file's bytes.
  assert.ok(!p.requests.some((u) => u.includes('my-essay')), 'the file name never reaches the server');
  await shot(p, '15-check-used');
  noForeignRequests(p);
  await p.close();
});

test('a file that is in no dataset shows the exclusion proofs, verified', async () => {
  const p = await page();
  await visit(p, server.url, '#/check', 'check');
  await p.setInputFiles('#file-input', { name: 'unpublished.txt', mimeType: 'text/plain', buffer: Buffer.from(s.outside.text) });
  await p.waitForSelector('#verdict');
  assert.equal(await p.getAttribute('#verdict', 'data-verdict'), 'not-used');
  const results = await p.$$eval('#versions > div', (els) => els.map((e) => [e.dataset.membership, e.dataset.verified]));
  assert.equal(results.length, 3);
  assert.ok(results.every(([m, v]) => m === 'excluded' && v === 'yes'));
  await shot(p, '16-check-not-used');
  await p.close();
});

test('pasted text is hashed as UTF-8 and found', async () => {
  const p = await page();
  await visit(p, server.url, '#/check', 'check');
  await p.fill('#paste-text', s.docs[20].text);
  await p.click('#paste-form button[type="submit"]');
  await p.waitForSelector('#verdict');
  assert.equal(await p.textContent('#cid'), s.docs[20].cid);
  assert.equal(await p.getAttribute('#verdict', 'data-verdict'), 'used');
  await p.close();
});

test('a tampered set proof, entry proof or checkpoint is reported as "does not verify"', async () => {
  const p = await page();
  // Flip one hex digit of the first path hash in every set proof the server sends.
  await p.route('**/v1/sets/*/proof/*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    const side = body.included ?? body.excluded.right ?? body.excluded.left;
    const path = side.path;
    path[0] = (path[0][0] === '0' ? '1' : '0') + path[0].slice(1);
    await route.fulfill({ response: res, json: body });
  });
  await visit(p, server.url, '#/check', 'check');
  await p.setInputFiles('#file-input', { name: 'unpublished.txt', mimeType: 'text/plain', buffer: Buffer.from(s.outside.text) });
  await p.waitForSelector('#verdict');
  const results = await p.$$eval('#versions > div', (els) => els.map((e) => e.dataset.verified));
  assert.ok(results.length > 0 && results.every((v) => v === 'no'));
  assert.ok((await p.textContent('#versions')).includes('does not verify'));
  assert.equal(await p.getAttribute('#verdict', 'data-verdict'), 'unknown', 'no verdict from unverified proofs');
  await shot(p, '17-check-tampered');
  await p.unroute('**/v1/sets/*/proof/*');

  // A tampered log inclusion proof on the entry page.
  await p.route('**/inclusion.tlog-proof*', async (route) => {
    const res = await route.fetch();
    const text = await res.text();
    const lines = text.split('\n');
    lines[2] = (lines[2][0] === 'A' ? 'B' : 'A') + lines[2].slice(1);
    await route.fulfill({ response: res, body: lines.join('\n') });
  });
  await visit(p, server.url, `#/entry/${s.idx.web1}`, 'entry');
  await p.waitForSelector('#inclusion-badge .badge[data-state="bad"]');
  assert.ok((await p.textContent('#inclusion-badge')).includes('does not verify'));
  await shot(p, '18-entry-tampered');
  await p.unroute('**/inclusion.tlog-proof*');

  // A checkpoint with a changed size.
  await p.route('**/checkpoint', async (route) => {
    const res = await route.fetch();
    const text = (await res.text()).replace(/\n(\d+)\n/, (m, n) => `\n${Number(n) + 1}\n`);
    await route.fulfill({ response: res, body: text });
  });
  await visit(p, server.url, '', 'home');
  await p.reload();
  await p.waitForSelector('body[data-ready="home"]');
  assert.equal(await p.getAttribute('#checkpoint-badge .badge', 'data-state'), 'bad');
  assert.ok((await p.textContent('main')).includes('Not shown: the checkpoint does not verify.'));
  await shot(p, '19-checkpoint-tampered');
  await p.close();
});

test('the log page proves the log only grew since the last visit, and flags a bad proof', async () => {
  const p = await page();
  const c = new Client(server.url);
  await visit(p, server.url, '', 'home');
  await p.waitForSelector('#consistency[data-state]');
  const log = originOf(await c.req('GET', '/checkpoint'));
  await c.submit(buildAnonymousOptout([corpus(1, 2000)[0].cid], ['search'], { log }).json);
  await p.reload();
  await p.waitForSelector('#consistency[data-state="ok"]');
  await shot(p, '01b-log-consistent');
  await c.submit(buildAnonymousOptout([corpus(1, 2001)[0].cid], ['search'], { log }).json);
  await p.route('**/v1/proofs/consistency*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    body.hashes[0] = (body.hashes[0][0] === '0' ? '1' : '0') + body.hashes[0].slice(1);
    await route.fulfill({ response: res, json: body });
  });
  await p.reload();
  await p.waitForSelector('#consistency[data-state="bad"]');
  assert.ok((await p.textContent('#consistency')).includes('does not verify'));
  await p.close();
});

test('a bundle with an opt-out removed is never shown compliant: the scan of the tiles finds it', async () => {
  const p = await page();
  let removed = null;
  await p.route('**/v1/compliance/*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    // The violating checkpoint's bundle without its opt-outs: its own proofs still verify, and
    // it names no violation.
    removed = Number(/\nindex ([0-9]+)\n/.exec(body.optouts[0].proof)[1]);
    body.optouts = [];
    await route.fulfill({ response: res, json: body });
  });
  const seen = [];
  await p.exposeFunction('seenState', (x) => seen.push(x));
  await p.addInitScript(() => {
    new MutationObserver(() => {
      const b = document.querySelector('#compliance-badge .badge');
      if (b) window.seenState(b.dataset.state);
    }).observe(document, { subtree: true, childList: true });
  });
  await visit(p, server.url, '#/model/lab/llm/ckpt-1', 'model');
  await p.waitForSelector('#compliance-badge .badge[data-state="incomplete"]');
  assert.ok(!seen.includes('compliant'), `never green: ${seen}`);
  assert.equal(await p.getAttribute('#completeness', 'data-state'), 'incomplete');
  assert.ok((await p.textContent('#completeness')).includes(String(removed)));
  await p.close();
});

test('a tampered compliance bundle does not verify', async () => {
  const p = await page();
  await p.route('**/v1/compliance/*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    const leaf = body.multi_proofs[0].proof.leaves[0].leaf;
    leaf.size += 1;
    await route.fulfill({ response: res, json: body });
  });
  await visit(p, server.url, '#/model/lab/llm/ckpt-1', 'model');
  await p.waitForSelector('#compliance-badge .badge[data-state="bad"]');
  assert.ok((await p.textContent('main')).includes('does not verify'));
  await p.close();
});

test('an opt-out for the dropped file is recorded and its inclusion proof verified', async () => {
  const p = await page();
  await visit(p, server.url, '#/check', 'check');
  await p.setInputFiles('#file-input', { name: 'unpublished.txt', mimeType: 'text/plain', buffer: Buffer.from(s.outside.text) });
  await p.waitForSelector('#optout-form');
  await p.selectOption('#optout-scope', 'train-ai');
  await p.click('#optout-submit');
  await p.waitForSelector('#optout-status .badge[data-state="ok"]', { timeout: 20000 });
  const status = await p.textContent('#optout-status');
  assert.match(status, /Opt-out recorded as entry #\d+/);
  assert.ok(status.includes('c2sp.org/tlog-proof@v1'));
  await shot(p, '20-optout-recorded');
  const index = /entry #(\d+)/.exec(status)[1];
  await visit(p, server.url, '#/optouts', 'optouts');
  assert.ok((await p.textContent('main')).includes(`#${index}`));
  await visit(p, server.url, `#/entry/${index}`, 'entry');
  await p.waitForSelector('#inclusion-badge .badge[data-state="ok"]');
  assert.ok((await p.textContent('#canonical')).includes(s.outside.cid));
  noForeignRequests(p);
  await p.close();
});

test('readable on a phone and labelled for assistive technology', async () => {
  const p = await page();
  await p.setViewportSize({ width: 375, height: 812 });
  for (const [hash, ready, name] of [
    ['', 'home', '21-phone-log'],
    [`#/dataset/acme/web/2`, 'dataset', '22-phone-dataset-version'],
    [`#/check?id=${encodeURIComponent(s.inside.cid)}`, 'check', '23-phone-check'],
  ]) {
    await visit(p, server.url, hash, ready);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${name}: no horizontal scrolling (${overflow}px)`);
    await shot(p, name);
  }
  const a11y = await p.evaluate(() => ({
    landmarks: ['header', 'nav', 'main', 'footer'].filter((t) => document.querySelector(t)),
    unlabelled: [...document.querySelectorAll('input, select, textarea')].filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id || el.name),
    lang: document.documentElement.lang,
    h1: document.querySelectorAll('h1').length,
  }));
  assert.deepEqual(a11y, { landmarks: ['header', 'nav', 'main', 'footer'], unlabelled: [], lang: 'en', h1: 1 });
  await p.close();
});
