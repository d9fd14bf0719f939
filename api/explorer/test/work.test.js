// Reading a work (SPEC14B section 8, lib/work.js): plain text as is, HTML's body text with block
// elements as paragraph breaks (walked here on a tiny DOM-like tree, in Chromium on DOMParser's),
// Markdown's rendered text. What matters is the passage ids, so texts are compared normalised.
// The Rust side's vectors (test/vectors/work_extract.json, written by the CLI's tests) are
// replayed when present.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { kindOf, htmlText, markdownText, workText, decodeUtf8 } from '../src/lib/work.js';
import { normalise, passages } from '../src/lib/passage.js';
import { el, txt, comment, doc } from './tinydom.js';

const VECTORS = new URL('./vectors/work_extract.json', import.meta.url);
const same = (a, b, msg) => assert.equal(normalise(a), normalise(b), msg);

test('the kind of a work comes from its file name', () => {
  assert.equal(kindOf('essay.HTML'), 'html');
  assert.equal(kindOf('a.htm'), 'html');
  assert.equal(kindOf('notes.md'), 'markdown');
  assert.equal(kindOf('notes.markdown'), 'markdown');
  assert.equal(kindOf('essay.txt'), 'text');
  assert.equal(kindOf('README'), 'text');
  assert.equal(kindOf('x.html.txt'), 'text');
});

test('bytes that are not UTF-8 become U+FFFD, as Rust reads them; a byte order mark is kept', () => {
  assert.equal(decodeUtf8(new Uint8Array([0x61, 0xff, 0x62])), 'a\uFFFDb');
  assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), '\uFEFFa');
});

test('HTML: the body text, blocks as paragraph breaks, br a line break, scripts and styles skipped', () => {
  const d = doc(
    el('head', el('title', 'The title is not text'), el('style', 'p { color: red }')),
    el(
      'body',
      el('h1', 'A heading'),
      el('p', 'First ', el('em', 'para'), 'graph, ', el('a', 'with a link'), '.'),
      comment('a comment'),
      el('script', 'var x = "not text";'),
      el('noscript', 'not text either'),
      el('div', el('p', 'Nested'), 'tail'),
      el('p', 'line one', el('br'), 'line two'),
      el('ul', el('li', 'one'), el('li', 'two')),
    ),
  );
  const t = htmlText(d);
  same(t, 'A heading\n\nFirst paragraph, with a link.\n\nNested\n\ntail\n\nline one\nline two\n\none\n\ntwo');
  assert.ok(!t.includes('not text'));
  assert.ok(!t.includes('color'));
});

test('HTML: inline elements do not break a word or a paragraph', () => {
  same(htmlText(el('p', 'in', el('b', 'line'), ' ', el('span', 'text'))), 'inline text');
  // A paragraph re-wrapped by the HTML source is one paragraph after normalisation.
  same(htmlText(el('p', 'one\n two\n three')), 'one two three');
});

test('HTML: a deeply nested page does not overflow the stack', () => {
  let n = txt('deep');
  for (let i = 0; i < 100000; i++) n = el(i % 2 ? 'div' : 'span', n);
  same(htmlText(n), 'deep');
});

test('Markdown: headings, paragraphs, lists and quotes are paragraphs; emphasis and links are text, images are not', () => {
  const md = [
    '# The *title* #',
    '',
    'A paragraph with **strong** and _emphasis_, a [link](https://example.com "t") and',
    'an ![image alt](x.png), `code`, an <https://auto.link/> and <span>inline html</span>.',
    '',
    'Setext heading',
    '==============',
    '',
    '- item one',
    '- item two',
    '  continued',
    '',
    '1. first',
    '2. second',
    '',
    '> quoted',
    '> text',
    '',
    '***',
    '',
    '```js',
    'let code = 1;',
    '```',
    '',
    '[ref]: https://example.com/ref',
    'snake_case_word and 2 * 3 and \\*escaped\\* &amp; &copy; &#233;',
  ].join('\n');
  same(
    markdownText(md),
    [
      'The title',
      'A paragraph with strong and emphasis, a link and an , code, an https://auto.link/ and inline html.',
      'Setext heading',
      'item one',
      'item two continued',
      'first',
      'second',
      'quoted text',
      'let code = 1;',
      'snake_case_word and 2 * 3 and *escaped* & \u00A9 \u00E9',
    ].join('\n\n'),
  );
});

test('Markdown: a hard break and a soft break both keep the words apart', () => {
  same(markdownText('one  \ntwo\\\nthree\nfour'), 'one two three four');
});

test('plain text is read as it is', () => {
  assert.equal(workText('text', 'a <b>not html</b> *not md*'), 'a <b>not html</b> *not md*');
  assert.throws(() => workText('html', '<p>x</p>'), /HTML parser/);
});

test('the same work as text, Markdown and HTML gives the same passage ids', () => {
  const para = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.';
  const para2 = 'However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed.';
  const ids = (t) => passages(t).map((p) => p.id);
  const want = ids(`${para}\n\n${para2}`);
  assert.equal(want.length, 2);
  assert.deepEqual(ids(markdownText(`# Chapter 1\n\n${para.replace('truth', '*truth*')}\n\n${para2.replace(/ /g, '\n')}`)), want);
  assert.deepEqual(ids(htmlText(el('body', el('h1', 'Chapter 1'), el('p', para.slice(0, 30), el('i', para.slice(30))), el('div', para2)))), want);
});

test('the Rust vectors of reading a work (test/vectors/work_extract.json)', (t) => {
  if (!existsSync(VECTORS)) {
    t.skip('test/vectors/work_extract.json not present yet (written by the CLI tests, cli/src/work.rs)');
    return;
  }
  const v = JSON.parse(readFileSync(VECTORS, 'utf8'));
  const rust = new URL('../../../verifier/tests/data/work_extract.json', import.meta.url);
  if (existsSync(rust)) assert.equal(readFileSync(VECTORS, 'utf8'), readFileSync(rust, 'utf8'), 'the copy is the Rust file');
  // HTML needs a parser: tests/browser/workread.test.js replays those cases in Chromium.
  const cases = v.cases.filter((c) => c.kind !== 'html');
  assert.ok(cases.length >= 5);
  for (const c of cases) {
    const got = workText(c.kind, c.input);
    // Text to the byte; Markdown where passage ids see it (the renderers may differ in how
    // many line breaks end a code block, never in paragraphs or characters).
    if (c.kind === 'text') assert.equal(got, c.text, c.name);
    same(got, c.text, c.name);
  }
});
