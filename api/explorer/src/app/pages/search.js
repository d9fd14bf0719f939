// Search results: publishers, datasets and models whose names match the query.

import { h, section, table, route, fmtInt } from '../dom.js';
import { api, orNull } from '../api.js';
import { pageOf } from '../pager.js';

export async function render(root, { query, alive }) {
  const q = (query.get('q') ?? '').trim();
  const input = document.getElementById('search-q');
  if (input && !input.value) input.value = q;
  root.append(h('h1', null, `Search: ${q}`));
  if (!q) return;
  const body = await orNull(api.search(q));
  if (!alive()) return;
  const publishers = body ? pageOf(body, 'publishers').items ?? [] : [];
  const res = {
    publishers: body?.publishers ?? publishers,
    datasets: body?.datasets ?? [],
    models: body?.models ?? [],
    ids: body?.ids ?? [],
  };
  const none = Object.values(res).every((l) => l.length === 0);
  if (none) {
    root.append(h('p', { class: 'empty', id: 'no-results' }, `Nothing named “${q}”. A content id (blake3:…) or an entry number also works here.`));
    return;
  }
  if (res.publishers.length) root.append(section('Publishers', h('ul', null, res.publishers.map((p) => h('li', null, h('a', { href: route('publisher', p.name ?? p) }, p.name ?? p))))));
  if (res.datasets.length)
    root.append(
      section(
        'Datasets',
        table(
          null,
          ['Dataset', 'Versions'],
          res.datasets.map((d) => [h('a', { href: route('dataset', d.publisher, d.name ?? d.dataset) }, `${d.publisher}/${d.name ?? d.dataset}`), fmtInt(d.versions ?? d.version_count)]),
        ),
      ),
    );
  if (res.models.length) root.append(section('Models', h('ul', null, res.models.map((m) => h('li', null, h('a', { href: route('model', m.name ?? m.model ?? m) }, m.name ?? m.model ?? m))))));
}
