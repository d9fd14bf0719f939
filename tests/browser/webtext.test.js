// The issue's own check, end to end with the real tools: web text in the C4 layout (records with
// `text`, `url`, `timestamp`, and an aipref Content-Usage header kept by the crawler) hashed and
// published by `prov publish --meta-preset c4` to a real `prov serve`; then, in Chromium, an
// item's licence, source and consent proven and shown, the version's charts recomputed and equal
// to the server's, and "Is my site in it?" for a domain in it and one that is not.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, newPage, shot, visit, provBin } from './harness.js';
import { cidOf } from './seed.js';
import { utf8 } from '../../api/explorer/src/lib/bytes.js';

// C4 en records (the first ones of c4-train.00000-of-01024.json, shortened), with a `cu` field
// holding the Content-Usage header seen at crawl time where there was one.
const RECORDS = [
  { text: 'Beginners BBQ Class Taking Place in Missoula! Do you want to get better at making delicious BBQ?', timestamp: '2019-04-25T12:57:54Z', url: 'https://klyq.com/beginners-bbq-class-taking-place-in-missoula/', cu: 'train-ai=n' },
  { text: "Discussion in 'Mac OS X Lion (10.7)' started by axboi87, Jan 20, 2012.", timestamp: '2019-04-21T10:07:13Z', url: 'https://forums.macrumors.com/threads/restore-from-larger-disk.1311399/' },
  { text: 'Foil plaid lycra and spandex shortall with metallic slinky insets.', timestamp: '2019-04-25T10:40:23Z', url: 'https://awishcometrue.com/Catalogs/Clearance/Tweens/V1960-Find-A-Way' },
  { text: 'How many backlinks per day for new site? Discussion in Black Hat SEO started by Omoplata.', timestamp: '2019-04-21T12:46:19Z', url: 'https://www.blackhatworld.com/seo/how-many-backlinks-per-day-for-new-site.258615/', cu: 'train-ai=y, search=y' },
  { text: 'The Denver Board of Education opened the 2017-18 school year with an update on projects.', timestamp: '2019-04-20T14:33:21Z', url: 'http://bond.dpsk12.org/category/news/' },
  { text: 'BBQ Class Taking Place in Missoula, second session announced for the spring.', timestamp: '2019-04-25T13:01:02Z', url: 'https://klyq.com/bbq-class-second-session/' },
];

let server;
let browser;
let dir;
let published;

function prov(args) {
  const r = spawnSync(provBin(), args, { encoding: 'utf8', env: { ...process.env, WGPU_BACKEND: process.env.WGPU_BACKEND ?? 'vulkan' } });
  if (r.status !== 0) throw new Error(`prov ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  dir = mkdtempSync(join(tmpdir(), 'prov-webtext-'));
  const corpus = join(dir, 'c4-train.00000-of-01024.json');
  writeFileSync(corpus, RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const key = join(dir, 'acme.key');
  prov(['keygen', '--out', key, '--name', 'acme']);
  prov(['publisher', 'register', '--key', key, '--name', 'acme', '--server', server.url]);
  const out = prov(['publish', '--key', key, '--dataset', 'c4', '--version', 'en-1', '--backend', 'cpu', '--json', '--server', server.url, '--mode', 'jsonl', '--meta-preset', 'c4', '--meta-set', 'license=ODC-By-1.0', '--meta-consent', 'aipref=cu', corpus]);
  published = JSON.parse(out);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('prov publish --meta-preset c4 logs the version with its source tree', () => {
  assert.ok(published.sources?.root && published.sources.size === RECORDS.length, JSON.stringify(published));
});

test('an item published by prov: licence, source and consent proven in the browser', async () => {
  const p = await newPage(browser.context, server.url);
  const r = RECORDS[0];
  await visit(p, server.url, `#/dataset/acme/c4/en-1/item/${encodeURIComponent(cidOf(utf8(r.text)))}`, 'dataset');
  await p.waitForSelector('#item-verdict .badge');
  assert.equal(await p.getAttribute('#item-verdict .badge', 'data-state'), 'ok', await p.textContent('#item-verdict'));
  assert.equal((await p.textContent('#sources .licence')).trim(), 'ODC-By-1.0');
  assert.ok((await p.textContent('#sources .src')).includes(r.url));
  assert.equal((await p.textContent('#sources .source-key')).trim(), 'com.klyq./beginners-bbq-class-taking-place-in-missoula/');
  assert.match(await p.textContent('#sources .consent'), /aipref:train-ai=n/);
  assert.ok((await p.textContent('#sources')).includes(r.timestamp), 'the crawl date');
  await shot(p, '40-webtext-item');
  assert.deepEqual(p.foreignRequests(), []);
  assert.deepEqual(p.pageErrors, []);
  await p.close();
});

test('the version published by prov: charts recomputed here equal the server\'s', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/dataset/acme/c4/en-1', 'dataset');
  await p.waitForSelector('#stats-check:not([data-state="pending"])');
  assert.equal(await p.getAttribute('#stats-check', 'data-state'), 'ok', await p.textContent('#stats-check'));
  const charts = await p.textContent('#charts');
  for (const t of ['ODC-By-1.0', 'klyq.com', 'www.blackhatworld.com', 'aipref:train-ai=n']) assert.ok(charts.includes(t), `charts show ${t}`);
  await shot(p, '41-webtext-version');
  await p.close();
});

test('"Is my site in it?" on the published version: a domain in it, and one that is not', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/site?q=klyq.com', 'site');
  await p.waitForSelector('#site-verdict');
  assert.equal(await p.getAttribute('#site-versions [data-dataset="acme/c4@en-1"]', 'data-count'), '2');
  assert.equal(await p.getAttribute('#site-versions [data-dataset="acme/c4@en-1"] .badge', 'data-state'), 'ok');
  await visit(p, server.url, '#/site?q=macrumors.org', 'site');
  await p.waitForSelector('#site-verdict');
  assert.equal(await p.getAttribute('#site-versions [data-dataset="acme/c4@en-1"]', 'data-state'), 'out');
  assert.equal(await p.getAttribute('#site-verdict', 'data-verdict'), 'out');
  await shot(p, '42-webtext-site-out');
  await p.close();
});
