// Reading a work (SPEC14B section 8; the Rust side is cli/src/work.rs, docs/formats.md "Reading a
// work"): the text whose passages a writer's file gives, by its kind.
// - text (`.txt` and any other name): the bytes as UTF-8 as they are (invalid sequences U+FFFD);
// - HTML (`.html`, `.htm`, `.xhtml`): the HTML5 parse (the browser's DOMParser; html5ever in
//   Rust), every text node outside the skipped elements (HTML_SKIP) in document order; outside
//   `pre` each run of ASCII whitespace is one space; the block elements (HTML_BLOCK) are
//   paragraph breaks and `br` a line break;
// - Markdown (`.md`, `.markdown`): the text of CommonMark's events (no extensions): text and code
//   spans as they are, a soft break a line break; paragraphs, headings, list items, block quotes,
//   code blocks, rules and HTML blocks paragraph breaks; a hard break a line break; raw HTML and
//   images left out (an image's alt text is not the work's text), a link keeps its text. Rust
//   uses pulldown-cmark; here a small renderer of the same blocks and inlines.
// Breaks are written by one rule (Writer): a break waits for the next text, so none leads or
// trails and a run of breaks is one (two `br` make a paragraph break); text after a break loses
// its leading whitespace and text before one its trailing spaces and tabs.
//
// Both sides replay test/vectors/work_extract.json (verifier/tests/data/work_extract.json): text
// and HTML to the byte; Markdown after normalisation (lib/passage.js), which is what passage ids
// see.
//
// The HTML walk takes a DOM-like tree ({nodeType, nodeName, childNodes, data}), so it runs on the
// browser's DOMParser document and, in node tests, on a tree built by hand (test/tinydom.js).
//
//   kindOf(fileName) -> 'html' | 'markdown' | 'text'
//   decodeUtf8(bytes) -> string
//   htmlText(node) -> string            (node: a Document, an element, or a DOM-like tree)
//   markdownText(source) -> string
//   workText(kind, source, {parseHtml}) -> string

/** The kind of a work from its file name's extension (any case); text for any other. */
export function kindOf(name) {
  const n = String(name ?? '').toLowerCase();
  if (/\.(html|htm|xhtml)$/.test(n)) return 'html';
  if (/\.(md|markdown)$/.test(n)) return 'markdown';
  return 'text';
}

/** The bytes of a file as UTF-8 text, invalid sequences replaced by U+FFFD (as Rust's from_utf8_lossy). */
export function decodeUtf8(bytes) {
  // A leading byte order mark is kept, as Rust keeps it (normalisation deletes U+FEFF anyway).
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}

/**
 * The text of a work of `kind` from its source text. `parseHtml(source)` returns a Document (in
 * the browser: `new DOMParser().parseFromString(source, 'text/html')`).
 */
export function workText(kind, source, { parseHtml } = {}) {
  if (kind === 'html') {
    if (!parseHtml) throw new Error('reading HTML needs an HTML parser');
    return htmlText(parseHtml(source));
  }
  if (kind === 'markdown') return markdownText(source);
  return source;
}

const HTML_SPACE = /[ \t\n\r\f]/;

/** Writes text and breaks by the rule above (cli/src/work.rs, `Writer`). */
class Writer {
  constructor() {
    this.parts = [];
    this.breaks = 0;
  }

  paragraph() {
    this.breaks = 2;
  }

  line() {
    this.breaks = Math.min(2, this.breaks + 1);
  }

  empty() {
    return this.parts.length === 0;
  }

  endsWithSpace() {
    const last = this.parts[this.parts.length - 1];
    return last != null && last.endsWith(' ');
  }

  /** Drops trailing characters matching `re` (one character class) from what is written. */
  trimEnd(re) {
    while (this.parts.length) {
      const last = this.parts[this.parts.length - 1];
      let k = last.length;
      while (k > 0 && re.test(last[k - 1])) k--;
      if (k > 0) {
        this.parts[this.parts.length - 1] = last.slice(0, k);
        return;
      }
      this.parts.pop();
    }
  }

  /** `collapse`: runs of ASCII whitespace are one space (and one next to a space already written is dropped). */
  text(s, collapse) {
    if (collapse) {
      s = s.replace(/[ \t\n\r\f]+/g, ' ');
      if (this.endsWithSpace() && s.startsWith(' ')) s = s.slice(1);
    }
    if (this.empty() || this.breaks > 0) s = s.replace(/^[ \t\n\r\f]+/, '');
    if (!s) return;
    if (this.breaks > 0 && !this.empty()) {
      this.trimEnd(/[ \t]/);
      this.parts.push('\n'.repeat(this.breaks));
    }
    this.breaks = 0;
    this.parts.push(s);
  }

  finish() {
    this.trimEnd(HTML_SPACE);
    return this.parts.join('');
  }
}

// ---------------------------------------------------------------------------------------------
// HTML

/** Elements whose content is not the work's text (with everything inside them). */
export const HTML_SKIP = new Set(['head', 'script', 'style', 'noscript', 'template', 'iframe', 'object', 'textarea', 'select']);
/** Elements that are paragraph breaks where they open and close. */
export const HTML_BLOCK = new Set([
  'address', 'article', 'aside', 'blockquote', 'body', 'caption', 'center', 'dd', 'details', 'dialog', 'dir', 'div', 'dl',
  'dt', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hgroup', 'hr',
  'html', 'legend', 'li', 'listing', 'main', 'menu', 'nav', 'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody', 'td',
  'tfoot', 'th', 'thead', 'tr', 'ul',
]);

const nameOf = (node) => String(node.localName ?? node.nodeName ?? '').toLowerCase();

/** The text of an HTML document, or of any DOM-like node, in document order. */
export function htmlText(node) {
  const w = new Writer();
  let pre = 0;
  // An explicit stack of [node, closing]: a deeply nested page must not overflow the call stack.
  const stack = [[node, false]];
  while (stack.length) {
    const [n, closing] = stack.pop();
    if (closing) {
      w.paragraph();
      if (nameOf(n) === 'pre') pre--;
      continue;
    }
    if (n.nodeType === 3) {
      w.text(n.data ?? n.nodeValue ?? '', pre === 0);
      continue;
    }
    if (n.nodeType !== 1 && n.nodeType !== 9 && n.nodeType !== 11) continue; // comments, doctypes, ...
    if (n.nodeType === 1) {
      const name = nameOf(n);
      if (HTML_SKIP.has(name)) continue;
      if (name === 'br') {
        w.line();
        continue;
      }
      if (HTML_BLOCK.has(name)) {
        w.paragraph();
        if (name === 'pre') pre++;
        stack.push([n, true]);
      }
    }
    const kids = n.childNodes ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], false]);
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Markdown: the blocks and inlines of CommonMark that carry text, rendered as the text a reader
// sees. Not a full CommonMark parser: what it must get right is which characters are text and
// where paragraphs break, since that is all a passage id sees.

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const THEMATIC = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const LIST = /^( {0,3})([-+*]|\d{1,9}[.)])([ \t]+|$)/;
const QUOTE = /^ {0,3}> ?/;
const REFDEF = /^ {0,3}\[[^\]]+\]:[ \t]*\S+(?:[ \t]+(?:"[^"]*"|'[^']*'|\([^)]*\)))?[ \t]*$/;
const HTMLBLOCK = /^ {0,3}<(?:!--|\/?[a-zA-Z][a-zA-Z0-9-]*(?:[\s/>]|$)|\?|![A-Z])/;
const BLANK = /^[ \t]*$/;

/** The rendered text of a Markdown document. */
export function markdownText(source) {
  const lines = String(source).replace(/\r\n?/g, '\n').split('\n');
  const w = new Writer();
  renderBlocks(lines, w);
  return w.finish();
}

/** Writes a block's inline text between paragraph breaks. */
function block(w, text) {
  w.paragraph();
  for (const op of inline(text)) {
    if (op.hard) w.line();
    else w.text(op.t, false);
  }
  w.paragraph();
}

/** Writes the text of each block of `lines`. */
function renderBlocks(lines, w) {
  let para = [];
  const flush = () => {
    if (para.length) block(w, para.map((l) => l.replace(/^[ \t]+/, '')).join('\n').replace(/[ \t]+$/, ''));
    para = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      flush();
      i++;
      continue;
    }
    // A setext underline turns the paragraph so far into a heading.
    if (para.length && SETEXT.test(line)) {
      flush();
      i++;
      continue;
    }
    if (THEMATIC.test(line)) {
      flush();
      w.paragraph();
      i++;
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      flush();
      block(w, atx[2] ?? '');
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence && !(fence[2][0] === '`' && fence[3].includes('`'))) {
      flush();
      const [, indent, mark] = fence;
      const close = new RegExp(`^ {0,3}${mark[0] === '`' ? '`' : '~'}{${mark.length},}[ \\t]*$`);
      const body = [];
      i++;
      while (i < lines.length && !close.test(lines[i])) {
        body.push(lines[i].replace(new RegExp(`^ {0,${indent.length}}`), ''));
        i++;
      }
      i++;
      codeBlock(w, body);
      continue;
    }
    // Indented code (not inside a paragraph): its lines are text.
    if (!para.length && /^( {4}|\t)/.test(line)) {
      const body = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]) || BLANK.test(lines[i]))) {
        body.push(lines[i].replace(/^( {4}|\t)/, ''));
        i++;
      }
      while (body.length && BLANK.test(body[body.length - 1])) body.pop();
      codeBlock(w, body);
      continue;
    }
    if (QUOTE.test(line)) {
      flush();
      const inner = [];
      while (i < lines.length && !BLANK.test(lines[i])) {
        if (QUOTE.test(lines[i])) inner.push(lines[i].replace(QUOTE, ''));
        else inner.push(lines[i]); // lazy continuation
        i++;
      }
      w.paragraph();
      renderBlocks(inner, w);
      w.paragraph();
      continue;
    }
    const item = LIST.exec(line);
    if (item && !(para.length && (BLANK.test(line.slice(item[0].length)) || !/^[-+*]|^1[.)]/.test(item[2])))) {
      flush();
      const width = item[0].length;
      const inner = [line.slice(width)];
      i++;
      // The item's lines: indented continuation, lazy continuation of its paragraph, blank
      // lines followed by indented content.
      while (i < lines.length) {
        const l = lines[i];
        if (BLANK.test(l)) {
          let j = i;
          while (j < lines.length && BLANK.test(lines[j])) j++;
          if (j < lines.length && indentOf(lines[j]) >= width) {
            for (; i < j; i++) inner.push('');
            continue;
          }
          break;
        }
        if (indentOf(l) >= width) inner.push(l.slice(Math.min(width, l.length)));
        else if (!LIST.test(l) && !ATX.test(l) && !THEMATIC.test(l) && !QUOTE.test(l) && !FENCE.test(l) && !BLANK.test(inner[inner.length - 1])) inner.push(l);
        else break;
        i++;
      }
      w.paragraph();
      renderBlocks(inner, w);
      w.paragraph();
      continue;
    }
    if (!para.length && HTMLBLOCK.test(line)) {
      // An HTML block is markup, not text, and a paragraph break: up to the next blank line.
      w.paragraph();
      while (i < lines.length && !BLANK.test(lines[i])) i++;
      continue;
    }
    if (!para.length && REFDEF.test(line)) {
      i++;
      continue;
    }
    para.push(line);
    i++;
  }
  flush();
}

/** A code block's text: its lines as they are, each ending in a line break (as pulldown-cmark gives it). */
function codeBlock(w, body) {
  w.paragraph();
  if (body.length) w.text(body.map((l) => `${l}\n`).join(''), false);
  w.paragraph();
}

function indentOf(line) {
  let n = 0;
  for (const c of line) {
    if (c === ' ') n++;
    else if (c === '\t') n += 4 - (n % 4);
    else break;
  }
  return n;
}

const ENTITIES = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00A0', shy: '\u00AD', mdash: '\u2014', ndash: '\u2013',
  hellip: '\u2026', lsquo: '\u2018', rsquo: '\u2019', ldquo: '\u201C', rdquo: '\u201D', laquo: '\u00AB', raquo: '\u00BB',
  copy: '\u00A9', reg: '\u00AE', trade: '\u2122', eacute: '\u00E9', egrave: '\u00E8', agrave: '\u00E0', ccedil: '\u00E7',
  uuml: '\u00FC', ouml: '\u00F6', auml: '\u00E4', szlig: '\u00DF', middot: '\u00B7', bull: '\u2022', deg: '\u00B0',
};
const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;

function entity(s, i) {
  const m = /^&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z][A-Za-z0-9]{1,31}));/.exec(s.slice(i, i + 40));
  if (!m) return null;
  let ch;
  if (m[1] || m[2]) {
    const cp = parseInt(m[1] ?? m[2], m[1] ? 16 : 10);
    ch = cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\uFFFD' : String.fromCodePoint(cp);
  } else {
    ch = ENTITIES[m[3]];
    if (ch == null) return null;
  }
  return { text: ch, length: m[0].length };
}

/**
 * The text of a paragraph's inlines, as a list of {t: text} and {hard: true}: escapes and
 * entities decoded, code spans' content, the text of links, autolinks' URLs; emphasis
 * delimiters, images and inline HTML dropped; a soft break "\n"; a hard break (two spaces or a
 * backslash before a line end) {hard}.
 */
function inline(s) {
  // Tokens: {t: text} or {d: delimiter char, n: run length, open, close}.
  const toks = [];
  const text = (t) => toks.push({ t });
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length && PUNCT.test(s[i + 1])) {
      text(s[i + 1]);
      i += 2;
      continue;
    }
    if (c === '\\' && s[i + 1] === '\n') {
      toks.push({ hard: true });
      i += 2;
      continue;
    }
    if (c === '&') {
      const e = entity(s, i);
      if (e) {
        text(e.text);
        i += e.length;
        continue;
      }
    }
    if (c === '`') {
      let n = 0;
      while (s[i + n] === '`') n++;
      const fence = '`'.repeat(n);
      let j = i + n;
      let end = -1;
      while ((j = s.indexOf(fence, j)) !== -1) {
        let k = j + n;
        if (s[k] === '`' || s[j - 1] === '`') {
          while (s[k] === '`') k++;
          j = k;
          continue;
        }
        end = j;
        break;
      }
      if (end >= 0) {
        let code = s.slice(i + n, end).replace(/\n/g, ' ');
        if (/^ .*[^ ].* $/s.test(code) || /^ [^ ]* $/.test(code) && code.trim()) code = code.slice(1, -1);
        text(code);
        i = end + n;
        continue;
      }
      text(fence);
      i += n;
      continue;
    }
    if (c === '<') {
      const auto = /^<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>/.exec(s.slice(i));
      if (auto) {
        text(auto[1]);
        i += auto[0].length;
        continue;
      }
      const tag = /^<(?:\/?[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?)*\s*\/?>|!--[\s\S]*?-->)/.exec(s.slice(i));
      if (tag) {
        i += tag[0].length;
        continue;
      }
    }
    if (c === '!' && s[i + 1] === '[') {
      // An image: its alt text is not the work's text.
      const l = link(s, i + 1);
      if (l) {
        i = l.end;
        continue;
      }
    }
    if (c === '[') {
      const l = link(s, i);
      if (l) {
        toks.push(...inlineTokens(l.label));
        i = l.end;
        continue;
      }
    }
    if (c === '*' || c === '_') {
      let n = 0;
      while (s[i + n] === c) n++;
      const before = i > 0 ? s[i - 1] : ' ';
      const after = i + n < s.length ? s[i + n] : ' ';
      const ws = (x) => /\s/u.test(x);
      const pu = (x) => /[\p{P}\p{S}]/u.test(x);
      const leftFlank = !ws(after) && (!pu(after) || ws(before) || pu(before));
      const rightFlank = !ws(before) && (!pu(before) || ws(after) || pu(after));
      const open = c === '*' ? leftFlank : leftFlank && (!rightFlank || pu(before));
      const close = c === '*' ? rightFlank : rightFlank && (!leftFlank || pu(after));
      toks.push({ d: c, n, open, close });
      i += n;
      continue;
    }
    if (c === '\n') {
      // Two spaces before a line end: a hard break; otherwise a soft break (a line break).
      const last = toks[toks.length - 1];
      const hard = last?.t != null && / {2,}$/.test(last.t);
      if (last?.t != null) last.t = last.t.replace(/[ \t]+$/, '');
      if (hard) toks.push({ hard: true });
      else text('\n');
      i++;
      continue;
    }
    let j = i + 1;
    while (j < s.length && !'\\&`<![*_\n'.includes(s[j])) j++;
    text(s.slice(i, j));
    i = j;
  }
  matchDelimiters(toks);
  return toks.flatMap((x) => (x.ops ? x.ops : x.hard ? [x] : x.t != null ? [{ t: x.t }] : x.n ? [{ t: x.d.repeat(x.n) }] : []));
}

function inlineTokens(label) {
  return [{ ops: inline(label) }];
}

/**
 * A link or image at s[i] == '[': `[label](dest "title")`, `[label][ref]`, `[label][]` or `[label]`
 * followed by nothing link-like is left as text (a shortcut reference needs its definition,
 * which this renderer does not keep: the label is text either way). Returns {label, end}.
 */
function link(s, i) {
  let depth = 0;
  let j = i;
  for (; j < s.length; j++) {
    if (s[j] === '\\') {
      j++;
      continue;
    }
    if (s[j] === '`') {
      const k = s.indexOf('`', j + 1);
      if (k > 0) j = k;
      continue;
    }
    if (s[j] === '[') depth++;
    else if (s[j] === ']' && --depth === 0) break;
  }
  if (j >= s.length) return null;
  const label = s.slice(i + 1, j);
  const rest = s.slice(j + 1);
  const inl = /^\(\s*(?:<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?\s*\)/.exec(rest);
  if (inl) return { label, end: j + 1 + inl[0].length };
  const ref = /^\[[^\]]*\]/.exec(rest);
  if (ref) return { label, end: j + 1 + ref[0].length };
  return null;
}

/** CommonMark's delimiter matching, enough to drop the * and _ that are emphasis. */
function matchDelimiters(toks) {
  for (let c = 0; c < toks.length; c++) {
    const closer = toks[c];
    if (closer.d == null || !closer.close) continue;
    while (closer.n > 0) {
      let o = c - 1;
      for (; o >= 0; o--) {
        const op = toks[o];
        if (op.d !== closer.d || !op.open || op.n === 0) continue;
        // The rule of 3: a run that can both open and close pairs only when the sum of the
        // lengths is not a multiple of 3 (unless both are).
        if ((op.close || closer.open) && (op.n + closer.n) % 3 === 0 && !(op.n % 3 === 0 && closer.n % 3 === 0)) continue;
        break;
      }
      if (o < 0) break;
      const used = Math.min(2, toks[o].n, closer.n);
      toks[o].n -= used;
      closer.n -= used;
      // Delimiters between the pair can no longer match across it.
      for (let k = o + 1; k < c; k++) if (toks[k].d != null) toks[k].open = toks[k].close = false;
    }
  }
}
