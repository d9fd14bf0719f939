// Every entry, newest first, one entry tile (256 entries) per page, read from the C2SP tiles.

import { h, table, fmtInt } from '../dom.js';
import { treeSize, entriesRange } from '../logscan.js';
import { entryRows, ENTRY_HEADERS } from '../entryview.js';

const PAGE = 256n;

export async function render(root, { query, alive }) {
  root.append(h('h1', null, 'Log entries'));
  const size = await treeSize();
  let before = /^[0-9]+$/.test(query.get('before') ?? '') ? BigInt(query.get('before')) : size;
  if (before > size) before = size;
  const lo = before > PAGE ? before - PAGE : 0n;
  const items = (await entriesRange(lo, before, size)).reverse();
  if (!alive()) return;
  root.append(
    h('p', { class: 'note' }, size === 0n ? 'The log is empty.' : `Entries ${fmtInt(lo)}–${fmtInt(before - 1n)} of ${fmtInt(size)}, newest first, read from the log's entry tiles.`),
    table(null, ENTRY_HEADERS, entryRows(items), { empty: 'No entries.' }),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Pages' },
      before < size ? h('a', { href: `#/entries?before=${before + PAGE > size ? size : before + PAGE}`, rel: 'prev' }, '← Newer') : null,
      lo > 0n ? h('a', { href: `#/entries?before=${lo}`, rel: 'next' }, 'Older →') : null,
    ),
  );
}
