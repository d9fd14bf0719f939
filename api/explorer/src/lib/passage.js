// Passages of a text (docs/formats.md, "Passages"): the same normalisation and cut as the Rust
// verifier (verifier/src/passage.rs), so a work dropped on the explorer gets the passage ids a
// corpus's records give. Both replay verifier/tests/data/passages.json, and a differential test
// compares them on the UDHR in ~450 languages. Unicode tables: the browser's (String.prototype
// .normalize, toLowerCase, \p{Alphabetic}); the vectors' per-code-point digests check them
// against the Rust side's (Unicode 17).

import { cidOfText } from './cid.js';
import { utf8 } from './bytes.js';

/** Passages shorter than this many normalised UTF-8 bytes are dropped. */
export const MIN_PASSAGE_BYTES = 60;

// Default_Ignorable_Code_Point, as hard-coded ranges (the same as is_ignorable in Rust).
const IGNORABLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]/gu;
// White_Space (not JS's \s, which lacks U+0085 and has U+FEFF).
const WS_CLASS = '\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const WS_RUN = new RegExp(`[${WS_CLASS}]+`, 'gu');
const ALNUM = /[\p{Alphabetic}\p{N}]/u;
const TERMINATORS = new Set(['.', '!', '?', '\u3002', '\u061F', '\u06D4', '\u0964', '\u0965', '\u0589', '\u1362', '\u104B', '\u17D4']);
const CLOSERS = new Set(['"', "'", ')', ']', '}', '»', '«', '›', '‹', '\u3009', '\u300B', '\u300D', '\u300F', '\u3011', '\u3015', '\u3017', '\u3019', '\u301B', '\u301E', '\u301F']);
const FOLD = {
  '\u03C2': '\u03C3',
  '\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u2032': "'", '\u2035': "'",
  '\u201C': '"', '\u201D': '"', '\u201E': '"', '\u201F': '"', '\u2033': '"', '\u2036': '"',
  '\u2010': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
};
const FOLD_RE = new RegExp(`[${Object.keys(FOLD).join('')}]`, 'gu');

function isCjk(c) {
  const cp = c.codePointAt(0);
  return (cp >= 0x3000 && cp <= 0x30ff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff)
    || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x3ffff);
}

function lineBreaks(run) {
  let n = 0;
  const s = run.replace(/\r\n/g, '\n');
  for (const c of s) {
    if ('\n\v\f\r\u0085\u2028'.includes(c)) n += 1;
    else if (c === '\u2029') n += 2;
  }
  return n;
}

/** Steps 1-6: the normalised paragraphs (each an array of code points). */
function paragraphs(text) {
  // 1. delete ignorables; 2. NFKC; 3. lowercase (the fold of step 4 undoes the only contextual
  // rule, final sigma, so whole-string toLowerCase equals per-code-point lowercase here).
  const t = text.replace(IGNORABLE, '').normalize('NFKC').toLowerCase().replace(FOLD_RE, (c) => FOLD[c]);
  // 5. paragraphs at whitespace runs with two line breaks, other runs one space.
  const paras = [];
  let cur = '';
  let last = 0;
  for (const m of t.matchAll(WS_RUN)) {
    cur += t.slice(last, m.index);
    last = m.index + m[0].length;
    if (lineBreaks(m[0]) >= 2) {
      paras.push(cur);
      cur = '';
    } else {
      cur += ' ';
    }
  }
  cur += t.slice(last);
  paras.push(cur);
  const out = [];
  for (const raw of paras) {
    const p = [...raw.replace(/^ +| +$/g, '')];
    if (p.length === 0) continue;
    // 6. a hyphen between letters or digits goes, with one space after it.
    const q = [];
    for (let k = 0; k < p.length; k++) {
      if (p[k] === '-' && k > 0 && ALNUM.test(p[k - 1])) {
        if (k + 1 < p.length && ALNUM.test(p[k + 1])) continue;
        if (p[k + 1] === ' ' && k + 2 < p.length && ALNUM.test(p[k + 2])) { k += 1; continue; }
      }
      q.push(p[k]);
    }
    out.push(q);
  }
  return out;
}

/** The normalised text: paragraphs joined by "\n\n", words by one space. */
export function normalise(text) {
  return paragraphs(text).map((p) => p.join('')).join('\n\n');
}

/** Every sentence of the text, before the minimum length. */
export function sentences(text) {
  const out = [];
  for (const q of paragraphs(text)) {
    let start = 0;
    let k = 0;
    while (k < q.length) {
      if (!TERMINATORS.has(q[k])) { k += 1; continue; }
      let ideo = false;
      let j = k;
      while (j < q.length && TERMINATORS.has(q[j])) { ideo ||= q[j] === '\u3002'; j += 1; }
      while (j < q.length && CLOSERS.has(q[j])) j += 1;
      if (j === q.length || q[j] === ' ' || ideo || isCjk(q[j])) {
        out.push(q.slice(start, j).join(''));
        start = q[j] === ' ' ? j + 1 : j;
      }
      k = j;
    }
    if (start < q.length) out.push(q.slice(start).join(''));
  }
  return out;
}

/** The passages of a text, in order: `{ text, id }`, id = `blake3:<hex>` of the UTF-8 text. */
export function passages(text) {
  return sentences(text)
    .filter((s) => utf8(s).length >= MIN_PASSAGE_BYTES)
    .map((s) => ({ text: s, id: cidOfText(s) }));
}
