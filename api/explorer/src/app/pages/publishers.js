// Publishers (a name bound to an Ed25519 key by a `publisher` entry) and what each published.

import { h, dl, section, table, hashText, fmtInt, fmtBytes, route, errorBox } from '../dom.js';
import { api, orNull } from '../api.js';
import { entryLink, datasetRoute, modelRoute } from '../entryview.js';
import { recentEntries } from '../logscan.js';

/** Entries scanned for the lists that have no index endpoint. */
export const SCAN = 1024;

export async function render(root, ctx) {
  return ctx.params.name != null ? renderOne(root, ctx) : renderList(root, ctx);
}

async function renderList(root, { alive }) {
  root.append(h('h1', null, 'Publishers'));
  const recent = await recentEntries(SCAN);
  if (!alive()) return;
  const seen = new Map();
  for (const { index, entry } of recent) {
    if (entry?.type === 'publisher' && !seen.has(entry.name)) seen.set(entry.name, { name: entry.name, key: entry.key, index });
  }
  const rows = [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  root.append(
    h('p', { class: 'note' }, `Publishers registered in the last ${fmtInt(SCAN)} entries of the log. Search for any other by name.`),
    table(null, ['Name', 'Key', 'Registered in'], rows.map((p) => [h('a', { href: route('publisher', p.name) }, p.name), hashText(p.key, 8), entryLink(p.index)]), { empty: 'No publisher has registered recently.' }),
  );
}

async function renderOne(root, { params, alive }) {
  const name = params.name;
  root.append(h('h1', null, `Publisher ${name}`));
  const [p, ds, recent] = await Promise.all([orNull(api.publisher(name)), orNull(api.datasetsOf(name, { limit: 100 })), recentEntries(SCAN)]);
  if (!alive()) return;
  if (!p) {
    root.append(errorBox(`No publisher named “${name}”.`));
    return;
  }
  const versions = ds?.items ?? [];
  const models = new Map();
  for (const { entry } of recent) {
    if (entry?.type === 'model_checkpoint' && entry.publisher === name) models.set(entry.model, (models.get(entry.model) ?? 0) + 1);
  }
  root.append(
    dl([
      ['Key', h('code', { class: 'hash' }, p.key)],
      ['Bound by', entryLink(p.index)],
    ]),
    section(
      'Dataset versions',
      table(
        null,
        ['Dataset', 'Version', 'Items', 'Size', 'Entry'],
        versions.map((v) => [h('a', { href: datasetRoute(v.publisher, v.dataset) }, v.dataset), h('a', { href: datasetRoute(v.publisher, v.dataset, v.version) }, v.version), fmtInt(v.item_count), fmtBytes(v.total_bytes), entryLink(v.index)]),
        { empty: 'No dataset versions.' },
      ),
      ds?.next ? h('p', { class: 'note' }, 'More versions exist; open a dataset to page through them.') : null,
    ),
    section('Models', models.size ? h('ul', null, [...models].map(([m, n]) => h('li', null, h('a', { href: modelRoute(name, m) }, m), ` (${fmtInt(n)} recent checkpoint${n === 1 ? '' : 's'})`))) : h('p', { class: 'empty' }, 'No model checkpoints in the recent log.')),
  );
}
