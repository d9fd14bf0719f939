// Opt-outs in log order, with their scope: what a model's horizon is counted against.

import { h, table, hashText, fmtInt, fmtTime } from '../dom.js';
import { api } from '../api.js';
import { entryLink, scopeText, signerCell } from '../entryview.js';
import { PAGE_SIZE } from '../pager.js';

export async function render(root, { query, alive }) {
  root.append(h('h1', null, 'Opt-outs'));
  root.append(h('p', { class: 'note' }, 'Every opt-out recorded in the log, oldest first. A model checkpoint with opt-out horizon N claims that no id named by a train-ai opt-out before entry N is in its training data.'));
  const after = query.get('after');
  const body = await api.optouts({ limit: PAGE_SIZE, after });
  if (!alive()) return;
  const items = body.items ?? [];
  root.append(
    table(
      null,
      ['Entry', 'Scope', 'Ids and sites', 'Time', 'Requester'],
      items.map((o) => {
        const e = o.entry ?? {};
        const ids = e.ids ?? [];
        const sites = Array.isArray(e.sites) ? e.sites : [];
        return [
          entryLink(o.index),
          h('span', { class: 'type' }, scopeText(e.scope)),
          h(
            'div',
            null,
            ids.length ? h('div', null, ids.slice(0, 3).map((id) => h('div', null, h('a', { href: `#/check?id=${encodeURIComponent(id)}` }, hashText(id, 10)))), ids.length > 3 ? h('div', { class: 'note' }, `and ${fmtInt(ids.length - 3)} more`) : null) : null,
            e.set ? h('span', null, `a set of ${fmtInt(e.set.size)} ids, root `, hashText(e.set.root, 8)) : null,
            sites.length ? sitesCell(sites) : null,
            !ids.length && !e.set && !sites.length ? '—' : null,
          ),
          fmtTime(e.time),
          signerCell(e),
        ];
      }),
      { empty: 'No opt-outs yet.' },
    ),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, after ? h('a', { href: '#/optouts', rel: 'first' }, '← First') : null, body.next != null ? h('a', { href: `#/optouts?after=${body.next}`, rel: 'next' }, 'Later →') : null),
  );
}

function sitesCell(sites) {
  return h('div', { class: 'optout-sites' }, sites.slice(0, 5).map((x) => h('div', null, h('a', { href: `#/site?q=${encodeURIComponent(x)}` }, x))), sites.length > 5 ? h('div', { class: 'note' }, `and ${fmtInt(sites.length - 5)} more`) : null);
}
