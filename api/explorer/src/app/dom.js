// A small DOM builder: every page is built from elements and text nodes, never from HTML strings,
// so nothing a server or a log entry says can inject markup.

/**
 * h('a', {href: '#/x', class: 'c'}, 'text', child, [more]) -> element. Attributes named on* take
 * functions (event listeners); `null`/`false` attributes and children are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function fmtInt(n) {
  if (n == null) return '—';
  return typeof n === 'bigint' ? n.toLocaleString('en-US') : Number(n).toLocaleString('en-US');
}

export function fmtBytes(n) {
  if (n == null) return '—';
  const v = Number(n);
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let x = v;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${x.toFixed(x < 10 ? 2 : 1)} ${units[i]}`;
}

export function fmtTime(t) {
  if (t == null || t === '') return '—';
  const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** A long hash or id, shortened for display with the whole value in a title and copyable. */
export function hashText(s, keep = 12) {
  const str = String(s ?? '');
  const short = str.length > keep * 2 + 8 ? `${str.slice(0, str.indexOf(':') + 1 + keep)}…${str.slice(-6)}` : str;
  return h('code', { class: 'hash', title: str }, short);
}

/** encodeURIComponent for each path segment of a hash route. */
export function route(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
}

export function link(href, ...children) {
  return h('a', { href }, ...children);
}

/** A definition list from [term, value] pairs. */
export function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function section(title, ...children) {
  const id = 's-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

export function table(caption, headers, rows, { empty = 'Nothing here yet.' } = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))),
    ),
  );
}

/** "verified" / "does not verify" / "checking…" / "not yet checked" badge. */
export function badge(state, text) {
  const labels = {
    ok: 'verified',
    bad: 'does not verify',
    pending: 'checking…',
    none: 'not yet checked',
    compliant: 'compliant',
    violation: 'violation',
    incomplete: 'incomplete',
    vacuous: 'vacuous',
    unscanned: 'completeness not checked',
    site_unverified: 'site opt-outs found (requester control not checked)',
    sites_unproven: 'sites unproven',
  };
  return h('span', { class: `badge badge-${state}`, dataset: { state } }, text ?? labels[state] ?? state);
}

export function errorBox(message) {
  return h('div', { class: 'error', role: 'alert' }, message);
}
