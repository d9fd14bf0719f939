// Opt-outs in log order, with their scope: what a model's horizon is counted against.

import { h, table, hashText, fmtInt } from '../dom.js';
import { api } from '../api.js';
import { entryLink } from '../entryview.js';
import { pageOf, pager, PAGE_SIZE } from '../pager.js';

export async function render(root, { query, alive }) {
  root.append(h('h1', null, 'Opt-outs'));
  root.append(h('p', { class: 'note' }, 'Every opt-out recorded in the log, oldest first. A model checkpoint with opt-out horizon N promises that none of the ids named by opt-outs before entry N is in its training data.'));
  const body = await api.optouts({ limit: PAGE_SIZE, cursor: query.get('cursor') });
  if (!alive()) return;
  const { items, next } = pageOf(body, 'optouts');
  root.append(
    table(
      null,
      ['Entry', 'Scope', 'Ids', 'Requester'],
      items.map((o) => {
        const b = o.body ?? o.entry ?? o;
        const ids = b.ids ?? [];
        return [
          entryLink(o.index),
          h('span', { class: 'type' }, b.scope ?? '—'),
          ids.length
            ? h('div', null, ids.slice(0, 3).map((id) => h('div', null, h('a', { href: `#/check?id=${encodeURIComponent(id)}` }, hashText(id, 10)))), ids.length > 3 ? h('div', { class: 'note' }, `and ${fmtInt(ids.length - 3)} more`) : null)
            : b.root ? h('span', null, `a set of ${fmtInt(b.count ?? b.size)} ids, root `, hashText(b.root, 8)) : '—',
          b.requester ?? o.key ? hashText(b.requester ?? o.key, 8) : h('span', { class: 'note' }, 'anonymous'),
        ];
      }),
      { empty: 'No opt-outs yet.' },
    ),
    pager('#/optouts', query, next),
  );
}
