// Search: a content id goes to "Was my work used?", an entry number to its page (both decided in
// search.js before navigating); anything else is looked up here as a publisher, a dataset
// (`publisher/dataset`, `publisher/dataset@version`) and a model (`publisher/model`), and among
// the names in the recent log.

import { h, section, table, route, fmtInt } from '../dom.js';
import { api, orNull } from '../api.js';
import { datasetRoute, modelRoute, entryLink } from '../entryview.js';
import { recentEntries } from '../logscan.js';
import { SCAN } from './publishers.js';
import { Site } from '../../lib/source.js';

export async function render(root, { query, alive }) {
  const q = (query.get('q') ?? '').trim();
  const input = document.getElementById('search-q');
  if (input) input.value = q;
  root.append(h('h1', null, `Search: ${q}`));
  if (!q) return;
  const lower = q.toLowerCase();
  const m = /^([^/\s]+)\/([^@\s]+)(?:@(\S+))?$/.exec(lower);
  const [publisher, ofPublisher, dsVersions, version, recent] = await Promise.all([
    orNull(api.publisher(lower)),
    orNull(api.datasetsOf(lower, { limit: 100 })),
    m ? orNull(api.datasetVersions(m[1], m[2], { limit: 100 })) : null,
    m && m[3] ? orNull(api.datasetVersion(m[1], m[2], m[3])) : null,
    recentEntries(SCAN),
  ]);
  if (!alive()) return;
  const datasets = new Map();
  const models = new Map();
  const add = (map, k, v) => map.has(k) || map.set(k, v);
  for (const v of [...(ofPublisher?.items ?? []), ...(dsVersions?.items ?? [])]) add(datasets, `${v.publisher}/${v.dataset}`, v);
  for (const { index, entry } of recent) {
    if (entry?.type === 'dataset_version' && (entry.dataset.includes(lower) || `${entry.publisher}/${entry.dataset}`.includes(lower))) add(datasets, `${entry.publisher}/${entry.dataset}`, { ...entry, index });
    if (entry?.type === 'model_checkpoint' && (entry.model.includes(lower) || entry.publisher === lower || `${entry.publisher}/${entry.model}` === lower)) add(models, `${entry.publisher}/${entry.model}`, { ...entry, index });
  }
  const found = [];
  // A domain or URL prefix: offer "Is my site in it?" for it.
  let site = null;
  try {
    site = Site.parse(q);
  } catch {
    site = null;
  }
  if (site) found.push(section('Site', h('p', { id: 'site-suggestion' }, h('a', { href: `#/site?q=${encodeURIComponent(site.toString())}` }, `Is ${site} in a dataset?`), ' — items from it in every dataset version, with range proofs checked here.')));
  if (version) found.push(section('Dataset version', h('p', null, h('a', { href: datasetRoute(version.publisher, version.dataset, version.version) }, `${version.publisher}/${version.dataset}@${version.version}`), ` · ${fmtInt(version.item_count)} items`)));
  if (publisher) found.push(section('Publisher', h('p', null, h('a', { href: route('publisher', publisher.name) }, publisher.name), ' registered in entry ', entryLink(publisher.index))));
  if (datasets.size) found.push(section('Datasets', table(null, ['Dataset', 'Publisher'], [...datasets.values()].map((d) => [h('a', { href: datasetRoute(d.publisher, d.dataset) }, `${d.publisher}/${d.dataset}`), h('a', { href: route('publisher', d.publisher) }, d.publisher)]))));
  if (models.size) found.push(section('Models', table(null, ['Model', 'Publisher'], [...models.values()].map((c) => [h('a', { href: modelRoute(c.publisher, c.model) }, `${c.publisher}/${c.model}`), h('a', { href: route('publisher', c.publisher) }, c.publisher)]))));
  if (found.length === 0) root.append(h('p', { class: 'empty', id: 'no-results' }, `Nothing named “${q}”. A content id (blake3:…), an entry number or a domain also works here.`));
  else root.append(h('div', { id: 'results' }, found));
}
