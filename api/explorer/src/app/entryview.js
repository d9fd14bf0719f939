// How entries of each type are summarised and linked, shared by the log, entries, search and
// entry pages. Entries are flat JSON objects (ledger/src/entry): `type`, `time`, `signer`, `sig`
// and the type's own fields.

import { h, route, hashText, fmtInt, fmtTime } from './dom.js';

export const TYPE_LABELS = {
  publisher: 'publisher',
  dataset_version: 'dataset version',
  optout: 'opt-out',
  model_checkpoint: 'model checkpoint',
};

export function typeTag(type) {
  return h('span', { class: 'type' }, TYPE_LABELS[type] ?? type ?? '?');
}

export function scopeText(scope) {
  return Array.isArray(scope) ? scope.join(', ') : String(scope ?? '—');
}

export function datasetRoute(publisher, dataset, version) {
  return version == null ? route('dataset', publisher, dataset) : route('dataset', publisher, dataset, version);
}

export function modelRoute(publisher, model, checkpoint) {
  return checkpoint == null ? route('model', publisher, model) : route('model', publisher, model, checkpoint);
}

/** The item view of `cid` in a dataset version. */
export function itemRoute(publisher, dataset, version, cid) {
  return route('dataset', publisher, dataset, version, 'item', cid);
}

/** A `publisher/dataset@version` label as a link. */
export function datasetLabelLink(label) {
  const m = /^([^/]+)\/([^@]+)@(.+)$/.exec(label);
  return m ? h('a', { href: datasetRoute(m[1], m[2], m[3]) }, label) : label;
}

/** A one-line description of an entry with links to the page about its subject. */
export function summary(e) {
  if (!e) return h('span', { class: 'note' }, 'not JSON');
  switch (e.type) {
    case 'publisher':
      return h('span', null, 'binds ', h('a', { href: route('publisher', e.name) }, e.name), ' to key ', hashText(e.key, 6));
    case 'dataset_version':
      return h('span', null, h('a', { href: datasetRoute(e.publisher, e.dataset, e.version) }, `${e.publisher}/${e.dataset}@${e.version}`), e.item_count != null ? ` · ${fmtInt(e.item_count)} items` : '', e.sources ? ` · source tree of ${fmtInt(e.sources.size)} leaves` : '');
    case 'optout': {
      const n = e.ids ? e.ids.length : e.set?.size;
      const sites = Array.isArray(e.sites) ? e.sites : [];
      const what = [];
      if (n != null) what.push(`${fmtInt(n)} id${n === 1 ? '' : 's'}${e.set ? ' (a set)' : ''}`);
      if (sites.length) what.push(h('span', null, `${sites.length === 1 ? 'site' : 'sites'} `, sites.slice(0, 3).map((x, k) => [k ? ', ' : '', h('a', { href: `#/site?q=${encodeURIComponent(x)}` }, x)]), sites.length > 3 ? ` and ${sites.length - 3} more` : ''));
      return h('span', null, what.map((x, k) => [k ? ' and ' : '', x]), ` · scope ${scopeText(e.scope)}`);
    }
    case 'model_checkpoint':
      return h('span', null, h('a', { href: modelRoute(e.publisher, e.model, e.checkpoint) }, `${e.publisher}/${e.model}@${e.checkpoint}`), ` · horizon ${fmtInt(e.optout_horizon)}`);
    default:
      return h('span', null, e.type ?? 'entry');
  }
}

export function entryLink(index) {
  return h('a', { href: route('entry', index) }, `#${index}`);
}

export function signerCell(e) {
  return e?.signer ? hashText(e.signer, 8) : h('span', { class: 'note' }, 'anonymous');
}

export const ENTRY_HEADERS = ['Index', 'Type', 'What', 'Time', 'Signer'];

/** Table rows for [{index, entry}]. */
export function entryRows(items) {
  return items.map(({ index, entry }) => [entryLink(index), typeTag(entry?.type), summary(entry), entry?.time != null ? fmtTime(entry.time) : '—', signerCell(entry)]);
}

export { hashText };
