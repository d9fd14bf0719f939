// The explorer's entry point: a hash router (#/dataset/...), the search box, and the page
// modules. Pages render into <main>; each route change moves focus to the new heading so screen
// readers announce it.

import { h, fill, errorBox } from './dom.js';
import { searchTarget } from './search.js';
import * as home from './pages/home.js';
import * as entries from './pages/entries.js';
import * as entry from './pages/entry.js';
import * as publishers from './pages/publishers.js';
import * as datasets from './pages/datasets.js';
import * as models from './pages/models.js';
import * as optouts from './pages/optouts.js';
import * as check from './pages/check.js';
import * as search from './pages/search.js';
import * as item from './pages/item.js';
import * as site from './pages/site.js';
import * as work from './pages/work.js';

/** [pattern, page, navigation item]: `:name` matches one path segment. */
const ROUTES = [
  ['', home, '#/'],
  ['entries', entries, '#/'],
  ['entry/:index', entry, '#/'],
  ['publishers', publishers, '#/publishers'],
  ['publisher/:name', publishers, '#/publishers'],
  ['datasets', datasets, '#/datasets'],
  ['dataset/:publisher/:dataset', datasets, '#/datasets'],
  ['dataset/:publisher/:dataset/:version', datasets, '#/datasets'],
  ['dataset/:publisher/:dataset/:version/item/:cid', item, '#/datasets'],
  ['models', models, '#/models'],
  ['model/:publisher/:model', models, '#/models'],
  ['model/:publisher/:model/:checkpoint', models, '#/models'],
  ['optouts', optouts, '#/optouts'],
  ['check', check, '#/check'],
  ['site', site, '#/site'],
  ['work', work, '#/check'],
  ['search', search, null],
];

function match(path) {
  const segs = path === '' ? [] : path.split('/').map((s) => decodeURIComponent(s));
  for (const [pattern, page, nav] of ROUTES) {
    const ps = pattern === '' ? [] : pattern.split('/');
    if (ps.length !== segs.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < ps.length; i++) {
      if (ps[i].startsWith(':')) params[ps[i].slice(1)] = segs[i];
      else if (ps[i] !== segs[i]) ok = false;
    }
    if (ok) return { page, params, nav, pattern };
  }
  return null;
}

let generation = 0;

async function render() {
  const main = document.getElementById('main');
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const query = new URLSearchParams(qs ?? '');
  const m = match(path.replace(/\/$/, ''));
  const gen = ++generation;
  for (const a of document.querySelectorAll('nav a')) {
    if (m && a.getAttribute('href') === m.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!m) {
    fill(main, h('h1', null, 'Not found'), h('p', null, 'No page here. ', h('a', { href: '#/' }, 'Back to the log.')));
    return;
  }
  const root = h('div', { class: 'page', dataset: { page: m.pattern.split('/')[0] || 'home' } });
  fill(main, root);
  // `alive()` lets a page stop writing once the reader has moved on.
  const ctx = { params: m.params, query, alive: () => gen === generation, pattern: m.pattern };
  try {
    await m.page.render(root, ctx);
  } catch (e) {
    if (gen !== generation) return;
    console.error(e);
    root.append(errorBox(`Could not load this page: ${e.message}`));
  }
  if (gen === generation) {
    const h1 = root.querySelector('h1');
    if (h1 && document.activeElement !== document.getElementById('search-q')) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: true });
    }
    document.title = `${h1 ? h1.textContent + ' — ' : ''}Provenance Ledger explorer`;
    document.body.dataset.ready = m.pattern.split('/')[0] || 'home';
  }
}

function start() {
  const form = document.getElementById('search-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = form.elements.q.value.trim();
    if (q) location.hash = searchTarget(q);
  });
  window.addEventListener('hashchange', () => {
    delete document.body.dataset.ready;
    render();
  });
  render();
}

start();
