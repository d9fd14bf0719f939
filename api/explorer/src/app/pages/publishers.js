// Publishers (a name bound to an Ed25519 key in the log) and what each has published.

import { h, dl, section, table, hashText, fmtInt, fmtBytes, route, errorBox } from '../dom.js';
import { api, orNull } from '../api.js';
import { entryLink } from '../entryview.js';
import { pageOf, pager, PAGE_SIZE } from '../pager.js';

export async function render(root, ctx) {
  return ctx.params.name != null ? renderOne(root, ctx) : renderList(root, ctx);
}

async function renderList(root, { query, alive }) {
  root.append(h('h1', null, 'Publishers'));
  const body = await api.publishers({ limit: PAGE_SIZE, cursor: query.get('cursor') });
  if (!alive()) return;
  const { items, next } = pageOf(body, 'publishers');
  root.append(
    table(
      null,
      ['Name', 'Key', 'Registered in', 'Datasets'],
      items.map((p) => [h('a', { href: route('publisher', p.name) }, p.name), hashText(p.key, 8), p.index != null ? entryLink(p.index) : '—', fmtInt(p.datasets ?? p.dataset_count)]),
      { empty: 'No publisher has registered yet.' },
    ),
    pager('#/publishers', query, next),
  );
}

async function renderOne(root, { params, alive }) {
  const name = params.name;
  root.append(h('h1', null, `Publisher ${name}`));
  const [p, ds] = await Promise.all([orNull(api.publisher(name)), orNull(api.datasets({ publisher: name, limit: PAGE_SIZE }))]);
  if (!alive()) return;
  if (!p) {
    root.append(errorBox('No such publisher.'));
    return;
  }
  const datasets = p.datasets && Array.isArray(p.datasets) ? p.datasets : pageOf(ds, 'datasets').items;
  const models = Array.isArray(p.models) ? p.models : [];
  root.append(
    dl([
      ['Key', hashText(p.key, 32)],
      ['Registered in', p.index != null ? entryLink(p.index) : '—'],
    ]),
    section(
      'Datasets',
      table(
        null,
        ['Dataset', 'Versions', 'Latest', 'Items', 'Size'],
        datasets.map((d) => {
          const latest = d.latest ?? d.latest_version ?? {};
          const dn = d.name ?? d.dataset;
          return [h('a', { href: route('dataset', name, dn) }, dn), fmtInt(d.versions ?? d.version_count), latest.version ?? (typeof d.latest === 'string' ? d.latest : '—'), fmtInt(latest.items ?? d.items), fmtBytes(latest.bytes ?? d.bytes)];
        }),
        { empty: 'No datasets.' },
      ),
    ),
    models.length ? section('Models', h('ul', null, models.map((m) => h('li', null, h('a', { href: route('model', m.name ?? m) }, m.name ?? m))))) : null,
  );
}
