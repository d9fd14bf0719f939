// How entries of each type are summarised and linked, shared by the log, search and entry pages.

import { h, route, hashText, fmtInt } from './dom.js';

export const TYPE_LABELS = {
  publisher: 'publisher',
  dataset_version: 'dataset version',
  optout: 'opt-out',
  model_checkpoint: 'model checkpoint',
};

export function typeTag(type) {
  return h('span', { class: 'type' }, TYPE_LABELS[type] ?? type);
}

/** The decoded body of an entry, whatever envelope the API puts around it. */
export function bodyOf(e) {
  return e?.body ?? e?.entry?.body ?? e?.entry ?? e ?? {};
}

export function typeOf(e) {
  return e?.type ?? e?.entry?.type ?? bodyOf(e)?.type;
}

/** A one-line description of an entry with links to the page about its subject. */
export function summary(e) {
  const b = bodyOf(e);
  switch (typeOf(e)) {
    case 'publisher':
      return h('span', null, 'publisher ', h('a', { href: route('publisher', b.name) }, b.name));
    case 'dataset_version':
      return h(
        'span',
        null,
        h('a', { href: route('dataset', b.publisher, b.dataset, b.version) }, `${b.publisher}/${b.dataset}@${b.version}`),
        b.item_count != null ? ` · ${fmtInt(b.item_count)} items` : '',
      );
    case 'optout': {
      const n = b.ids ? b.ids.length : b.set?.size;
      return h('span', null, `opt-out of ${n != null ? fmtInt(n) + ' id' + (n === 1 ? '' : 's') : 'a set'}`, b.scope ? ` · scope ${scopeText(b.scope)}` : '');
    }
    case 'model_checkpoint':
      return h(
        'span',
        null,
        h('a', { href: route('model', b.model, b.checkpoint) }, `${b.model} · ${b.checkpoint}`),
        b.optout_horizon != null ? ` · horizon ${fmtInt(b.optout_horizon)}` : '',
      );
    default:
      return h('span', null, typeOf(e) ?? 'entry');
  }
}

export function scopeText(scope) {
  return Array.isArray(scope) ? scope.join(', ') : String(scope ?? '—');
}

export function entryLink(index) {
  return h('a', { href: route('entry', index) }, `#${index}`);
}

export function signerOf(e) {
  const b = bodyOf(e);
  return e?.key ?? e?.signer ?? e?.entry?.key ?? b.key ?? b.requester ?? null;
}

export { hashText };
