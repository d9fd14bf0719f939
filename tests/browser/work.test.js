// "Was my work used?" passage by passage (issue 14, SPEC14B section 9) in Chromium against a
// real `prov serve`: an essay whose paragraphs a web record quotes re-wrapped (other line
// breaks, NBSP, soft hyphens, curly quotes) and surrounded by other text is found, each passage
// proven by the version's multi-range proof against the passage root its verified entry commits
// to, with links to the items; a work in no record gets verified exclusions; a version without a
// passage tree is undecidable; many files get a summary table; and a server that tampers with
// the proof gets "does not verify", never "not found".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, shot, visit } from './harness.js';
import { seedPassages, ESSAY, ABSENT } from './seedpassages.js';
import { passages } from '../../api/explorer/src/lib/passage.js';

let server;
let browser;
let s;

before(async () => {
  server = await startServer();
  s = await seedPassages(server.url);
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

// The essay as a writer keeps it: Markdown, with a title and emphasis; and as an HTML page.
const essayMd = `# The keeper's daughter\n\n${ESSAY.map((p) => p.replace('weather', '*weather*').replace(/(.{50,70}) /, '$1\n')).join('\n\n')}\n`;
const essayHtml = `<!doctype html><html><head><title>The keeper</title><style>p{margin:0}</style></head><body><h1>The keeper's daughter</h1>${ESSAY.map((p) => `<p>${p.replace('lamp oil', '<b>lamp oil</b>').replace(/&/g, '&amp;')}</p>`).join('\n')}<script>var hidden = 1;</script></body></html>`;
const absentTxt = ABSENT.join('\n\n');
const file = (name, text, mimeType = 'text/plain') => ({ name, mimeType, buffer: Buffer.from(text, 'utf8') });
const total = passages(ESSAY.join('\n\n')).length;
// The record quoting paragraphs 2 and 3, and the one quoting paragraph 1.
const found = passages(ESSAY.slice(0, 3).join('\n\n')).length;

async function drop(p, hash, files) {
  await visit(p, server.url, hash, 'work');
  await p.setInputFiles('#work-files', files);
  await p.waitForSelector('#work-result[data-done]', { timeout: 30000 });
}

const fileState = (p, name) => p.getAttribute(`.work-file[data-file="${name}"]`, 'data-state');
const versionOf = (p, name, ds) => p.locator(`.work-file[data-file="${name}"] .work-version[data-dataset="${ds}"]`);

test('a work embedded re-wrapped in a record is found and proven, with the items linked', async () => {
  const p = await newPage(browser.context, server.url);
  await drop(p, '#/work', [file('essay.md', essayMd, 'text/markdown')]);
  assert.equal(await fileState(p, 'essay.md'), 'found');
  assert.equal(await p.getAttribute('.work-file[data-file="essay.md"]', 'data-total'), String(total));
  const web = versionOf(p, 'essay.md', 'acme/web@1');
  assert.equal(await web.getAttribute('data-state'), 'in');
  assert.equal(await web.getAttribute('data-found'), String(found), 'every quoted paragraph\'s passages are found');
  const links = await web.locator('.work-items a').evaluateAll((as) => as.map((a) => decodeURIComponent(a.getAttribute('href'))));
  assert.deepEqual(links.sort(), [s.records[0], s.records[1]].map((r) => `#/dataset/acme/web/1/item/${r.cid}`).sort());
  // The version that holds none of it: every passage proven absent. The one without a tree: undecidable.
  assert.equal(await versionOf(p, 'essay.md', 'acme/clean@1').getAttribute('data-state'), 'out');
  assert.equal(await versionOf(p, 'essay.md', 'acme/books@1').getAttribute('data-state'), 'unproven');
  await shot(p, '40-work-found');
  // The item view of a record holding the essay.
  await web.locator('.work-items a').first().click();
  await p.waitForSelector('body[data-ready="dataset"]');
  clean(p);
  await p.close();
});

test('an absent work gets verified exclusions; many files get a summary table', async () => {
  const p = await newPage(browser.context, server.url);
  await drop(p, '#/work', [file('essay.html', essayHtml, 'text/html'), file('absent.txt', absentTxt), file('essay.md', essayMd, 'text/markdown')]);
  assert.equal(await fileState(p, 'absent.txt'), 'absent');
  assert.equal(await versionOf(p, 'absent.txt', 'acme/web@1').getAttribute('data-state'), 'out');
  assert.equal(await versionOf(p, 'absent.txt', 'acme/clean@1').getAttribute('data-state'), 'out');
  assert.equal(await fileState(p, 'essay.html'), 'found');
  assert.equal(await versionOf(p, 'essay.html', 'acme/web@1').getAttribute('data-found'), String(found), 'the HTML page gives the same passages as the Markdown');
  const rows = await p.locator('#work-summary tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.map((r) => r[0]), ['essay.html', 'absent.txt', 'essay.md']);
  assert.deepEqual(rows.map((r) => r[2]), [`${found} of ${total}`, `0 of ${passages(absentTxt).length}`, `${found} of ${total}`]);
  // A summary row jumps to its work without leaving the page (the fragment is the route).
  await p.locator('#work-summary a.work-jump').nth(1).click();
  assert.equal(await p.evaluate(() => location.hash), '#/work');
  assert.equal(await p.locator('.work-file').count(), 3);
  await shot(p, '41-work-summary');
  clean(p);
  await p.close();
});

test('per model checkpoint: only the versions it names, from its verified entry', async () => {
  const p = await newPage(browser.context, server.url);
  await drop(p, `#/work?${new URLSearchParams({ model: 'lab/llm@ckpt-1' })}`, [file('essay.txt', ESSAY.join('\n\n'))]);
  assert.equal(await fileState(p, 'essay.txt'), 'found');
  assert.equal(await p.locator('.work-file[data-file="essay.txt"] .work-version').count(), 3);
  clean(p);
  await p.close();
});

test('a server that tampers with the multi-range proof is caught ("does not verify"), never "not found"', async () => {
  for (const [what, tamper] of [
    ['a flipped bit in a helper hash', (b) => {
      assert.ok(b.proof.hashes.length > 0, 'the proof has helper hashes');
      b.proof.hashes[0] = b.proof.hashes[0].replace(/^./, (c) => (c === '0' ? '1' : '0'));
    }],
    ['a flipped bit in a revealed leaf', (b) => {
      const l = b.proof.leaves[0];
      l.leaf = l.leaf.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    }],
    ['the found passages\' leaves taken out, the counts set to 0', (b) => {
      const hit = new Set(b.results.filter((r) => r.count > 0).map((r) => r.passage.slice('blake3:'.length)));
      b.proof.leaves = b.proof.leaves.filter((l) => !hit.has(l.leaf.slice(0, 64)));
      for (const r of b.results) r.count = 0;
    }],
  ]) {
    const p = await newPage(browser.context, server.url);
    let tampered = 0;
    await p.route('**/v1/datasets/acme/web/1/passages', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      try {
        tamper(body);
        tampered++;
      } finally {
        await route.fulfill({ response: res, json: body });
      }
    });
    await drop(p, '#/work', [file('essay.md', essayMd, 'text/markdown')]);
    const web = versionOf(p, 'essay.md', 'acme/web@1');
    assert.equal(await web.getAttribute('data-state'), 'bad', what);
    assert.notEqual(await fileState(p, 'essay.md'), 'absent', what);
    assert.equal(await fileState(p, 'essay.md'), 'bad', what);
    assert.equal(tampered, 1, `${what}: the answer was rewritten`);
    assert.match(await web.textContent(), /does not verify/);
    await shot(p, '42-work-tampered');
    assert.deepEqual(p.foreignRequests(), []);
    await p.close();
  }
});

test('the model page: an opted-out essay\'s passages found by the bundle\'s multi-range proofs are a violation naming them', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/model/lab/llm/ckpt-2', 'model');
  await p.waitForSelector('#compliance-badge .badge[data-state="violation"]', { timeout: 30000 });
  await p.waitForSelector('#passage-evidence');
  const rows = await p.locator('#passage-evidence tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
  // One row per passage of the essay found in acme/web@1 (the records quote paragraphs 1 to 3).
  assert.equal(rows.length, found);
  for (const r of rows) assert.equal(r[3], 'acme/web@1');
  assert.match(await p.textContent('#passages-unchecked'), /acme\/books@1/);
  await shot(p, '43-model-passage-violation');
  clean(p);
  await p.close();
});

test('a compliance bundle that drops the passage proof or one of the opt-out\'s leaves does not verify, never "compliant"', async () => {
  for (const [what, strip] of [
    ['the passage proofs left out', (b) => { b.passage_proofs = []; }],
    ['a passage leaf of the opt-out left out', (b) => { b.passage_optouts[0].leaves.shift(); }],
    ['the found passages taken out of the proof', (b) => {
      const hit = new Set(s.optTree.leaves.map((l) => Buffer.from(l.slice(0, 32)).toString('hex')));
      for (const pp of b.passage_proofs) pp.proof.leaves = pp.proof.leaves.filter((l) => !hit.has(l.leaf.slice(0, 64)));
    }],
  ]) {
    const p = await newPage(browser.context, server.url);
    await p.route('**/v1/compliance/*', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      assert.ok(body.passage_optouts?.length && body.passage_proofs?.length, 'the service sends passage evidence');
      strip(body);
      await route.fulfill({ response: res, json: body });
    });
    await visit(p, server.url, '#/model/lab/llm/ckpt-2', 'model');
    await p.waitForSelector('#compliance-badge .badge[data-state="bad"]', { timeout: 30000 });
    assert.equal(await p.locator('#passage-evidence').count(), 0, what);
    await p.close();
  }
});

test('a version page shows its passage tree from the verified entry and links to the check for it; a model page too', async () => {
  const p = await newPage(browser.context, server.url);
  await visit(p, server.url, '#/dataset/acme/web/1', 'dataset');
  await p.waitForSelector('#work-for-version');
  assert.match(await p.textContent('#passages-root'), new RegExp(`${s.web.tree.size} \\(passage, item\\) leaves`));
  await p.click('#work-for-version');
  await p.waitForSelector('body[data-ready="work"]');
  assert.match(await p.textContent('#work-scope-now'), /acme\/web@1 only/);
  await p.setInputFiles('#work-files', [file('essay.md', essayMd, 'text/markdown')]);
  await p.waitForSelector('#work-result[data-done]', { timeout: 30000 });
  assert.equal(await p.locator('.work-file[data-file="essay.md"] .work-version').count(), 1);
  assert.equal(await versionOf(p, 'essay.md', 'acme/web@1').getAttribute('data-state'), 'in');
  await visit(p, server.url, '#/dataset/acme/books/1', 'dataset');
  await p.waitForFunction(() => !document.querySelector('#passages-root')?.textContent.includes('…'));
  assert.match(await p.textContent('#passages-root'), /none/);
  await visit(p, server.url, '#/model/lab/llm/ckpt-1', 'model');
  assert.equal(await p.getAttribute('#work-for-model', 'href'), `#/work?${new URLSearchParams({ model: 'lab/llm@ckpt-1' })}`);
  clean(p);
  await p.close();
});

test('a long work (more than 4,096 passages) is asked in requests of 4,096 ids, each proof verified', async () => {
  const p = await newPage(browser.context, server.url);
  const filler = Array.from({ length: 4500 }, (_, k) => `Sentence number ${k} of a very long manuscript that nobody has ever published on the web.`);
  const long = [...filler.slice(0, 2000), ESSAY[0], ...filler.slice(2000)].join(' ');
  const n = passages(long).length;
  assert.ok(n > 4096);
  const posts = [];
  p.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/v1/datasets/acme/web/1/passages')) posts.push(JSON.parse(r.postData()).passages.length);
  });
  await drop(p, `#/work?${new URLSearchParams({ dataset: 'acme/web@1' })}`, [file('long.txt', long)]);
  assert.deepEqual(posts, [4096, n - 4096]);
  const web = versionOf(p, 'long.txt', 'acme/web@1');
  assert.equal(await web.getAttribute('data-state'), 'in');
  assert.equal(await web.getAttribute('data-found'), '2');
  assert.equal(await web.getAttribute('data-total'), String(n));
  clean(p);
  await p.close();
});

test('a busy service (503 with Retry-After) is asked again, and the answer still verified', async () => {
  const p = await newPage(browser.context, server.url);
  let busy = 0;
  await p.route('**/v1/datasets/acme/web/1/passages', async (route) => {
    if (busy < 2) {
      busy++;
      return route.fulfill({ status: 503, headers: { 'retry-after': '0', 'content-type': 'application/problem+json' }, body: JSON.stringify({ type: 'https://prov.dev/problems/busy', title: 'busy', status: 503 }) });
    }
    return route.continue();
  });
  await drop(p, '#/work', [file('essay.md', essayMd, 'text/markdown')]);
  assert.equal(busy, 2);
  assert.equal(await versionOf(p, 'essay.md', 'acme/web@1').getAttribute('data-state'), 'in');
  assert.equal(await versionOf(p, 'essay.md', 'acme/web@1').getAttribute('data-found'), String(found));
  assert.deepEqual(p.foreignRequests(), []);
  await p.close();
});
