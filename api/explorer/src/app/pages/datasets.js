// Datasets, one dataset's version history, and one version: its numbers, licence and consent
// breakdowns as charts, what changed since the previous version, and its items a page at a time
// (a version of a million items is never loaded whole).

import { h, dl, section, table, badge, hashText, fmtInt, fmtBytes, route, errorBox } from '../dom.js';
import { api, orNull } from '../api.js';
import { verifiedEntry } from '../trust.js';
import { entryLink } from '../entryview.js';
import { pageOf, pager, PAGE_SIZE } from '../pager.js';

export async function render(root, ctx) {
  const { params } = ctx;
  if (params.version != null) return renderVersion(root, ctx);
  if (params.dataset != null) return renderDataset(root, ctx);
  return renderList(root, ctx);
}

function dsName(d) {
  return `${d.publisher}/${d.name ?? d.dataset}`;
}

async function renderList(root, { query, alive }) {
  root.append(h('h1', null, 'Datasets'));
  const body = await api.datasets({ limit: PAGE_SIZE, cursor: query.get('cursor'), publisher: query.get('publisher') });
  if (!alive()) return;
  const { items, next } = pageOf(body, 'datasets');
  root.append(
    table(
      null,
      ['Dataset', 'Versions', 'Latest', 'Items', 'Size'],
      items.map((d) => {
        const latest = d.latest ?? d.latest_version ?? {};
        return [
          h('a', { href: route('dataset', d.publisher, d.name ?? d.dataset) }, dsName(d)),
          fmtInt(d.versions ?? d.version_count),
          latest.version ? h('a', { href: route('dataset', d.publisher, d.name ?? d.dataset, latest.version) }, latest.version) : typeof d.latest === 'string' ? d.latest : '—',
          fmtInt(latest.items ?? d.items),
          fmtBytes(latest.bytes ?? latest.total_bytes ?? d.bytes),
        ];
      }),
      { empty: 'No dataset has been published yet.' },
    ),
    pager('#/datasets', query, next),
  );
}

async function renderDataset(root, { params, alive }) {
  const { publisher, dataset } = params;
  root.append(h('h1', null, `${publisher}/${dataset}`));
  const d = await orNull(api.dataset(publisher, dataset));
  if (!alive()) return;
  if (!d) {
    root.append(errorBox('No such dataset.'));
    return;
  }
  const versions = d.versions ?? [];
  root.append(
    dl([
      ['Publisher', h('a', { href: route('publisher', publisher) }, publisher)],
      ['Versions', fmtInt(versions.length)],
    ]),
    section(
      'Version history',
      table(
        null,
        ['Version', 'Entry', 'Items', 'Size', 'Added', 'Removed', 'Corpus mode'],
        versions.map((v) => [
          h('a', { href: route('dataset', publisher, dataset, v.version) }, v.version),
          v.index != null ? entryLink(v.index) : '—',
          fmtInt(v.items),
          fmtBytes(v.bytes ?? v.total_bytes),
          v.added != null ? `+${fmtInt(v.added)}` : '—',
          v.removed != null ? `−${fmtInt(v.removed)}` : '—',
          v.mode ?? v.corpus_mode ?? '—',
        ]),
      ),
    ),
  );
}

async function renderVersion(root, { params, query, alive }) {
  const { publisher, dataset, version } = params;
  root.append(h('h1', null, `${publisher}/${dataset} @ ${version}`));
  const v = await orNull(api.datasetVersion(publisher, dataset, version));
  if (!alive()) return;
  if (!v) {
    root.append(errorBox('No such dataset version.'));
    return;
  }
  const entryBadge = h('span', { id: 'entry-badge' }, badge('pending'));
  const licences = v.licences ?? v.licenses ?? v.licence_summary ?? v.license_summary ?? {};
  const consent = v.consent ?? v.consent_signals ?? v.consent_summary ?? {};
  const prev = v.previous ?? v.previous_version ?? null;
  root.append(
    h(
      'div',
      { class: 'cards' },
      h('div', { class: 'card' }, h('div', { class: 'note' }, 'Items'), h('div', { class: 'stat', id: 'items-count' }, fmtInt(v.items))),
      h('div', { class: 'card' }, h('div', { class: 'note' }, 'Total size'), h('div', { class: 'stat' }, fmtBytes(v.bytes ?? v.total_bytes))),
      h('div', { class: 'card' }, h('div', { class: 'note' }, 'Corpus mode'), h('div', { class: 'stat' }, v.mode ?? v.corpus_mode ?? '—')),
      v.added != null || v.removed != null
        ? h('div', { class: 'card' }, h('div', { class: 'note' }, 'Since the previous version'), h('div', { class: 'stat' }, `+${fmtInt(v.added ?? 0)} / −${fmtInt(v.removed ?? 0)}`))
        : null,
    ),
    section(
      'In the log',
      dl([
        ['Publisher', h('a', { href: route('publisher', publisher) }, publisher)],
        ['Entry', v.index != null ? entryLink(v.index) : '—'],
        ['Entry verified', entryBadge],
        ['Manifest root', hashText(v.root ?? v.manifest_root, 16)],
        ['Previous version', prev ? h('a', { href: route('dataset', publisher, dataset, typeof prev === 'string' ? prev : prev.version) }, typeof prev === 'string' ? prev : prev.version) : 'none'],
        ['All versions', h('a', { href: route('dataset', publisher, dataset) }, 'version history')],
      ]),
    ),
  );
  const charts = h('div', { class: 'charts', id: 'charts' }, h('p', { class: 'loading' }, 'Loading charts…'));
  root.append(section('Licences and consent signals', charts));
  const items = h('div', { id: 'items' });
  root.append(section('Items', items));

  // The charts' code is its own chunk: fetch it while the items load.
  const chartsMod = import('../charts.js');
  const itemsP = api.setLeaves(v.manifest_root ?? v.root, { limit: PAGE_SIZE, offset: query.get('cursor') });
  const entryP = v.index != null ? verifiedEntry(v.index) : Promise.resolve({ ok: false, error: new Error('no entry index') });

  const body = await itemsP;
  if (!alive()) return;
  const page = pageOf(body, 'items');
  items.append(
    table(
      null,
      ['Content id', 'Size', 'Licence', 'Consent signal', 'Source'],
      page.items.map((it) => [
        h('a', { href: `#/check?id=${encodeURIComponent(it.cid ?? it.id)}` }, hashText(it.cid ?? it.id, 10)),
        fmtBytes(it.size),
        it.meta?.licence ?? it.meta?.license ?? it.licence ?? it.license ?? '—',
        it.meta?.consent ?? it.consent ?? '—',
        sourceCell(it.meta?.source ?? it.source),
      ]),
      { empty: 'This version has no items.' },
    ),
    pager(route('dataset', publisher, dataset, version), query, page.next),
  );

  const { breakdownChart } = await chartsMod;
  if (!alive()) return;
  charts.replaceChildren(breakdownChart('Licences', licences, 'doughnut'), breakdownChart('Consent signals', consent, 'bar'));

  const r = await entryP;
  if (!alive()) return;
  entryBadge.replaceChildren(badge(r.ok && entryMatches(r.entry, v) ? 'ok' : 'bad'));
}

/** The verified entry must say what the API says about the version. */
function entryMatches(entry, v) {
  const b = entry?.body ?? entry ?? {};
  const root = v.root ?? v.manifest_root;
  const eroot = b.root ?? b.manifest_root;
  return eroot == null || root == null || eroot === root;
}

function sourceCell(src) {
  if (!src) return '—';
  const s = String(src);
  return h('span', { class: 'hash', title: s }, s.length > 60 ? s.slice(0, 57) + '…' : s);
}
