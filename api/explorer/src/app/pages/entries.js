// Every entry, in log order, a page at a time.

import { h, table, hashText } from '../dom.js';
import { api } from '../api.js';
import { typeTag, summary, entryLink } from '../entryview.js';
import { pageOf, pager, PAGE_SIZE } from '../pager.js';

export async function render(root, { query, alive }) {
  root.append(h('h1', null, 'Log entries'));
  const body = await api.entries({ limit: PAGE_SIZE, cursor: query.get('cursor'), order: query.get('order') ?? 'desc' });
  if (!alive()) return;
  const { items, next } = pageOf(body, 'entries');
  root.append(
    table(null, ['Index', 'Type', 'What', 'Signer'], items.map((e) => [entryLink(e.index), typeTag(e.type ?? e.entry?.type), summary(e), e.key ?? e.signer ? hashText(e.key ?? e.signer, 8) : h('span', { class: 'note' }, 'anonymous')]), { empty: 'The log is empty.' }),
    pager('#/entries', query, next),
  );
}
