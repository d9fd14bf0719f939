// The issue's own check for the explorer, end to end with the real tools: a JSON Lines corpus
// compressed with zstd (gzip where the zstd tool is missing), whose records quote an essay's
// paragraphs re-wrapped (other line breaks, NBSP, soft hyphens, curly quotes) inside other text,
// hashed and published by `prov publish --passages auto`: the passage tree is built by the Rust
// hasher, the ids the page asks for by lib/passage.js in Chromium. The essay (Markdown) is found
// and every quoted paragraph proven, with the items linked; a work in no record gets verified
// exclusions.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, newPage, shot, visit, provBin } from './harness.js';
import { webRecords, ESSAY, ABSENT } from './seedpassages.js';
import { passages } from '../../api/explorer/src/lib/passage.js';

let server;
let browser;
let dir;
let published;
const records = webRecords();

function prov(args) {
  const r = spawnSync(provBin(), args, { encoding: 'utf8', env: { ...process.env, WGPU_BACKEND: process.env.WGPU_BACKEND ?? 'vulkan' } });
  if (r.status !== 0) throw new Error(`prov ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  dir = mkdtempSync(join(tmpdir(), 'prov-workcorpus-'));
  const jsonl = join(dir, 'web.jsonl');
  writeFileSync(jsonl, records.map((r) => JSON.stringify({ id: r.i, text: r.text })).join('\n') + '\n');
  let corpus = `${jsonl}.zst`;
  const z = spawnSync('zstd', ['-q', jsonl, '-o', corpus]);
  if (z.error || z.status !== 0) {
    corpus = `${jsonl}.gz`;
    writeFileSync(corpus, gzipSync(Buffer.from(records.map((r) => JSON.stringify({ id: r.i, text: r.text })).join('\n') + '\n')));
  }
  rmSync(jsonl);
  assert.ok(existsSync(corpus));
  const key = join(dir, 'acme.key');
  prov(['keygen', '--out', key, '--name', 'acme']);
  prov(['publisher', 'register', '--key', key, '--name', 'acme', '--server', server.url]);
  published = JSON.parse(prov(['publish', '--key', key, '--dataset', 'web', '--version', '1', '--backend', 'cpu', '--json', '--server', server.url, '--mode', 'jsonl', '--field', 'text', '--passages', 'auto', corpus]));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const file = (name, text, mimeType = 'text/plain') => ({ name, mimeType, buffer: Buffer.from(text, 'utf8') });

test('prov publish --passages auto logs the version with the passage tree of its records', () => {
  const leaves = new Set(records.flatMap((r) => passages(r.text).map((p) => `${p.id} ${r.cid}`)));
  assert.equal(published.passages?.size, leaves.size, JSON.stringify(published));
});

test('the essay quoted re-wrapped in records of a JSONL.zst corpus hashed by the Rust hasher: every quoted paragraph found and proven in Chromium', async () => {
  const p = await newPage(browser.context, server.url);
  const md = `# The keeper's daughter\n\n${ESSAY.map((x) => x.replace('weather', '_weather_')).join('\n\n')}\n`;
  await visit(p, server.url, '#/work', 'work');
  await p.setInputFiles('#work-files', [file('essay.md', md, 'text/markdown'), file('absent.txt', ABSENT.join('\n\n'))]);
  await p.waitForSelector('#work-result[data-done]', { timeout: 30000 });
  const web = p.locator('.work-file[data-file="essay.md"] .work-version[data-dataset="acme/web@1"]');
  assert.equal(await web.getAttribute('data-state'), 'in');
  // Paragraphs 1 to 3 are quoted; their passages (sentences of 60 bytes or more) are all found.
  assert.equal(await web.getAttribute('data-found'), String(passages(ESSAY.slice(0, 3).join('\n\n')).length));
  assert.equal(await web.getAttribute('data-total'), String(passages(ESSAY.join('\n\n')).length));
  const links = await web.locator('.work-items a').evaluateAll((as) => as.map((a) => decodeURIComponent(a.getAttribute('href'))));
  assert.deepEqual(links.sort(), [records[0], records[1]].map((r) => `#/dataset/acme/web/1/item/${r.cid}`).sort());
  assert.equal(await p.getAttribute('.work-file[data-file="absent.txt"]', 'data-state'), 'absent');
  await shot(p, '44-work-real-corpus');
  assert.deepEqual(p.foreignRequests(), []);
  assert.deepEqual(p.pageErrors, []);
  await p.close();
});
