// Dataset versions: the list, one dataset's version history (with what changed, checked here
// when the versions are small enough to compare in the browser), and one version: its numbers,
// charts, its entry verified in the log, and its items a page at a time (a version of a million
// items is never loaded whole).

import { h, dl, section, table, badge, hashText, fmtInt, fmtBytes, errorBox } from '../dom.js';
import { api, orNull } from '../api.js';
import { verifiedEntry } from '../trust.js';
import { entryLink, datasetRoute, itemRoute } from '../entryview.js';
import { PAGE_SIZE } from '../pager.js';
import { diffSets, allLeaves, DIFF_MAX } from '../setdiff.js';
import { checkLeaves, computeStats, compareStats, sourceTreeOf } from '../../lib/stats.js';
import { route } from '../dom.js';

export async function render(root, ctx) {
  const { params } = ctx;
  if (params.version != null) return renderVersion(root, ctx);
  if (params.dataset != null) return renderDataset(root, ctx);
  return renderList(root, ctx);
}

function versionRow(v) {
  return [
    h('a', { href: datasetRoute(v.publisher, v.dataset) }, `${v.publisher}/${v.dataset}`),
    h('a', { href: datasetRoute(v.publisher, v.dataset, v.version) }, v.version),
    fmtInt(v.item_count),
    fmtBytes(v.total_bytes),
    v.corpus_mode,
    v.licence || '—',
    entryLink(v.index),
  ];
}

function cursorPager(base, query, next) {
  const cur = query.get('cursor');
  if (!cur && next == null) return null;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' }, cur ? h('a', { href: base, rel: 'first' }, '← First') : null, next != null ? h('a', { href: `${base}?cursor=${encodeURIComponent(next)}`, rel: 'next' }, 'More →') : null);
}

async function renderList(root, { query, alive }) {
  root.append(h('h1', null, 'Datasets'));
  const body = await api.datasets({ limit: PAGE_SIZE, cursor: query.get('cursor') });
  if (!alive()) return;
  root.append(
    table(null, ['Dataset', 'Version', 'Items', 'Size', 'Corpus mode', 'Licence', 'Entry'], (body.items ?? []).map(versionRow), { empty: 'No dataset has been published yet.' }),
    cursorPager('#/datasets', query, body.next),
  );
}

async function renderDataset(root, { params, query, alive }) {
  const { publisher, dataset } = params;
  root.append(h('h1', null, `${publisher}/${dataset}`));
  const body = await orNull(api.datasetVersions(publisher, dataset, { limit: PAGE_SIZE, cursor: query.get('cursor') }));
  if (!alive()) return;
  const versions = body?.items ?? [];
  if (versions.length === 0) {
    root.append(errorBox('No such dataset.'));
    return;
  }
  const byName = new Map(versions.map((v) => [v.version, v]));
  const changeCells = new Map();
  const rows = versions.map((v) => {
    const cell = h('span', { class: 'note' }, v.previous ? 'comparing…' : 'first version');
    changeCells.set(v.version, cell);
    return [h('a', { href: datasetRoute(publisher, dataset, v.version) }, v.version), v.previous ?? '—', fmtInt(v.item_count), fmtBytes(v.total_bytes), cell, entryLink(v.index)];
  });
  const chartSlot = h('div', { class: 'charts' });
  root.append(
    dl([['Publisher', h('a', { href: route('publisher', publisher) }, publisher)]]),
    section('Version history', table(null, ['Version', 'Follows', 'Items', 'Size', 'Changes (added / removed)', 'Entry'], rows), cursorPager(datasetRoute(publisher, dataset), query, body.next)),
    section('Growth', chartSlot),
  );
  const { historyChart } = await import('../charts.js');
  if (!alive()) return;
  chartSlot.append(historyChart('Items per version', versions.map((v) => [v.version, v.item_count])));
  await Promise.all(
    versions.map(async (v) => {
      if (!v.previous) return;
      const cell = changeCells.get(v.version);
      const prev = byName.get(v.previous) ?? (await orNull(api.datasetVersion(publisher, dataset, v.previous)));
      if (!prev) return void cell.replaceChildren('previous version not found');
      cell.replaceChildren(await changeText(prev, v));
    }),
  );
}

async function changeText(prev, v) {
  if (prev.item_count > DIFF_MAX || v.item_count > DIFF_MAX) return h('span', { class: 'note' }, `net ${v.item_count - prev.item_count >= 0 ? '+' : '−'}${fmtInt(Math.abs(v.item_count - prev.item_count))} (too large to compare here)`);
  try {
    const d = await diffSets(prev, v);
    return h('span', { dataset: { added: d.added, removed: d.removed } }, `+${fmtInt(d.added)} / −${fmtInt(d.removed)} `, badge(d.verified ? 'ok' : 'bad'));
  } catch (e) {
    return h('span', { class: 'note' }, `could not compare: ${e.message}`);
  }
}

async function renderVersion(root, { params, query, alive }) {
  const { publisher, dataset, version } = params;
  root.append(h('h1', null, `${publisher}/${dataset}@${version}`));
  const v = await orNull(api.datasetVersion(publisher, dataset, version));
  if (!alive()) return;
  if (!v) {
    root.append(errorBox('No such dataset version.'));
    return;
  }
  const entryBadge = h('span', { id: 'entry-badge' }, badge('pending'));
  const changes = h('div', { class: 'stat', id: 'changes' }, v.previous ? '…' : 'first version');
  const sourcesSlot = h('span', { id: 'sources-root' }, '…');
  const passagesSlot = h('span', { id: 'passages-root' }, '…');
  root.append(
    h(
      'div',
      { class: 'cards' },
      h('div', { class: 'card' }, h('div', { class: 'note' }, 'Items'), h('div', { class: 'stat', id: 'items-count' }, fmtInt(v.item_count))),
      h('div', { class: 'card' }, h('div', { class: 'note' }, 'Total size'), h('div', { class: 'stat' }, fmtBytes(v.total_bytes))),
      h('div', { class: 'card' }, h('div', { class: 'note' }, 'Corpus mode'), h('div', { class: 'stat' }, v.corpus_mode)),
      h('div', { class: 'card' }, h('div', { class: 'note' }, v.previous ? `Since ${v.previous} (added / removed)` : 'Changes'), changes),
    ),
    section(
      'In the log',
      dl([
        ['Publisher', h('a', { href: route('publisher', publisher) }, publisher)],
        ['Entry', entryLink(v.index)],
        ['Entry verified', entryBadge],
        ['Manifest root', hashText(v.manifest_root, 16)],
        ['Source tree', sourcesSlot],
        ['Passage tree', passagesSlot],
        ['Licence (summary)', v.licence || '—'],
        ['Previous version', v.previous ? h('a', { href: datasetRoute(publisher, dataset, v.previous) }, v.previous) : 'none'],
        ['All versions', h('a', { href: datasetRoute(publisher, dataset) }, 'version history')],
      ]),
    ),
  );
  const charts = h('div', { class: 'charts', id: 'charts' }, h('p', { class: 'loading' }, 'Loading charts…'));
  root.append(section('Licences, consent signals and sources', charts));
  const items = h('div', { id: 'items' });
  root.append(section('Items', items));

  // Charts are their own chunk: fetch the code while the first page of items loads.
  const chartsMod = import('../charts.js');
  const offset = /^[0-9]+$/.test(query.get('offset') ?? '') ? Number(query.get('offset')) : 0;
  const entryP = verifiedEntry(v.index);
  // The view says whether the manifest was stored with metadata (older servers do not say).
  const statsP = v.metadata_stored === false ? Promise.resolve(null) : orNull(api.stats(publisher, dataset, version)).catch(() => null);
  const page = v.set_stored ? await api.setLeaves(v.manifest_root, { limit: PAGE_SIZE, offset }) : { items: [], next: null };
  if (!alive()) return;
  const base = datasetRoute(publisher, dataset, version);
  items.append(
    v.set_stored ? h('p', { class: 'note' }, `Items ${fmtInt(Math.min(offset + 1, v.item_count))}–${fmtInt(offset + page.items.length)} of ${fmtInt(v.item_count)}, in content id order.`) : h('p', { class: 'note' }, 'This server does not hold the manifest of this version, so its items cannot be listed or proven here.'),
    table(
      null,
      ['#', 'Content id', 'Size', 'Metadata hash'],
      page.items.map((it, k) => [fmtInt(offset + k), h('a', { href: itemRoute(publisher, dataset, version, it.cid), class: 'item-link' }, hashText(it.cid, 10)), fmtBytes(it.size), /^0+$/.test(it.meta) ? h('span', { class: 'note' }, 'none') : hashText(it.meta, 6)]),
      { empty: 'This version has no items.' },
    ),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Pages of items' },
      offset > 0 ? h('a', { href: `${base}?offset=${Math.max(0, offset - PAGE_SIZE)}`, rel: 'prev' }, '← Previous') : null,
      page.next != null ? h('a', { href: `${base}?offset=${page.next}`, rel: 'next' }, 'Next →') : null,
    ),
  );

  const [{ breakdownChart }, stats] = await Promise.all([chartsMod, statsP]);
  if (!alive()) return;
  const statsBadge = h('p', { class: 'row', id: 'stats-check', dataset: { state: 'pending' } }, 'Figures: ', badge('pending', 'recomputing them here…'));
  charts.replaceChildren(...statCharts(breakdownChart, v, stats));
  if (stats) charts.after(statsBadge);

  const r = await entryP;
  if (!alive()) return;
  const matches = r.ok && r.entry.manifest_root === v.manifest_root && r.entry.item_count === v.item_count;
  // From the verified entry: the root range proofs are checked against.
  const src = r.ok ? r.entry.sources : null;
  sourcesSlot.replaceChildren(
    ...(src
      ? [`${fmtInt(src.size)} (source, item) leaves, root `, hashText(src.root, 12), ' · ', h('a', { href: '#/site' }, 'is my site in it?')]
      : [h('span', { class: 'note' }, r.ok ? 'none: this version was published without one, so no site can be proven in or out of it' : 'unknown (the entry does not verify)')]),
  );
  // Likewise the passage tree, which "Was my work used?" proves passages against.
  const pt = r.ok ? r.entry.passages : null;
  passagesSlot.replaceChildren(
    ...(pt
      ? [`${fmtInt(pt.size)} (passage, item) leaves, root `, hashText(pt.root, 12), ' · ', h('a', { href: `#/work?${new URLSearchParams({ dataset: `${publisher}/${dataset}@${version}` })}`, id: 'work-for-version' }, 'was my work used?')]
      : [h('span', { class: 'note' }, r.ok ? 'none: this version was published without one, so no passage of a work can be proven in or out of it' : 'unknown (the entry does not verify)')]),
  );
  entryBadge.replaceChildren(badge(matches ? 'ok' : 'bad'), r.ok && !matches ? ' the API disagrees with the logged entry' : r.ok ? '' : ` ${r.error?.message ?? ''}`);
  if (stats) {
    const c = await recheckStats(v, stats, r);
    if (!alive()) return;
    statsBadge.replaceChildren('Figures: ', badge(c.state, c.label), c.detail ? ` ${c.detail}` : '');
    statsBadge.dataset.state = c.state;
  }
  if (v.previous) {
    const prev = await orNull(api.datasetVersion(publisher, dataset, v.previous));
    if (!alive()) return;
    changes.replaceChildren(prev ? await changeText(prev, v) : 'previous version not found');
  }
}

/**
 * The server's statistics recomputed here from every leaf and its metadata (for versions up to
 * DIFF_MAX items): each metadata digest, the manifest root, the source tree root the entry
 * commits to (when it has one), then the figures. {state, label, detail}.
 */
async function recheckStats(v, stats, verified) {
  if (!verified.ok) return { state: 'bad', label: 'not checked', detail: 'the version\'s entry does not verify' };
  if (v.item_count > DIFF_MAX) return { state: 'none', label: 'not recomputed here', detail: `(more than ${fmtInt(DIFF_MAX)} items; \`prov verify training-summary\` recomputes them)` };
  try {
    const e = verified.entry;
    const leaves = await allLeaves(e.manifest_root, e.item_count, true);
    const mapped = leaves.map((l) => ({ cid: l.cid, size: l.size, meta: l.meta, metadata: l.metadata ?? null }));
    const c = checkLeaves(mapped, { manifestRoot: e.manifest_root, itemCount: e.item_count });
    if (!c.ok) return { state: 'bad', label: 'does not verify', detail: c.error };
    if (e.sources) {
      const t = sourceTreeOf(mapped);
      if (t.root !== e.sources.root || t.size !== Number(e.sources.size)) return { state: 'bad', label: 'does not verify', detail: 'the metadata does not rebuild the source tree the entry commits to' };
    }
    const cmp = compareStats(stats, computeStats(mapped));
    if (!cmp.ok) return { state: 'bad', label: 'does not verify', detail: cmp.error };
    return { state: 'ok', label: 'verified', detail: `recomputed here from the ${fmtInt(e.item_count)} leaves and their metadata (each digest, the manifest root${e.sources ? ' and the source tree root' : ''} checked).` };
  } catch (err) {
    return { state: 'bad', label: 'does not verify', detail: err.message };
  }
}

/** Rows [label, value] of a stats list ({value, items, bytes}) by `by`, the first n and "other". */
function statRows(list, by, n) {
  const rows = (list ?? []).map((x) => [String(x.value), Number(x[by] ?? 0)]).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (rows.length <= n) return rows;
  return [...rows.slice(0, n - 1), ['other', rows.slice(n - 1).reduce((t, [, x]) => t + x, 0)]];
}

/**
 * The version's charts: licences and consent signals by items, and the top domains by content
 * size, from the server's per-version statistics (derived from the metadata it stores, at
 * commit). Without them (a version published without metadata), the licences its SPDX summary
 * names.
 */
function statCharts(breakdownChart, v, stats) {
  if (!stats) {
    return [
      breakdownChart('Licences (from the version\'s SPDX summary)', spdxParts(v.licence), 'doughnut', 'This version has no per-item metadata on this server, so each licence its summary names is shown once.'),
      h('figure', { class: 'card', id: 'no-stats' }, h('figcaption', null, h('strong', null, 'Consent signals and sources')), h('p', { class: 'empty' }, 'This version was published without per-item metadata, so its consent signals and sources are not known here.')),
    ];
  }
  const hosts = statRows(stats.hosts, 'bytes', 10);
  const noSource = stats.no_source ?? { items: 0, bytes: 0 };
  const from = `Counted by the server from the metadata of the ${fmtInt(v.item_count)} items (entry #${stats.entry_index ?? v.index}).`;
  return [
    breakdownChart('Licences', statRows(stats.licences, 'items', 8), 'doughnut', `Items per licence (the metadata's "license"). ${from}`),
    breakdownChart('Consent signals', statRows(stats.consent, 'items', 8), 'bar', 'Items per consent signal observed at collection (aipref, TDMRep, robots.txt).'),
    breakdownChart('Top domains by content size', hosts, 'bar', `Bytes per host${noSource.items ? `; ${fmtInt(noSource.items)} item${noSource.items === 1 ? '' : 's'} (${fmtBytes(noSource.bytes)}) without a source URL` : ''}.`),
  ];
}

/** The licence ids an SPDX expression names, each counted once. */
function spdxParts(expr) {
  const ids = String(expr ?? '').split(/\s+(?:AND|OR|WITH)\s+|[()]/).map((s) => s.trim()).filter(Boolean);
  return Object.fromEntries(ids.map((id) => [id, 1]));
}
