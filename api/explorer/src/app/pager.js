// Pagination for every list: the API returns a page and an opaque cursor for the next one; the
// cursor goes into the hash route's query (#/entries?cursor=...) so pages are linkable and the
// back button works. No page ever asks for a whole list.

import { h } from './dom.js';

export const PAGE_SIZE = 50;

/** The items and the next cursor of a page, whatever the list is called in the body. */
export function pageOf(body, key) {
  const items = body?.[key] ?? body?.items ?? body?.entries ?? [];
  const next = body?.next ?? body?.next_cursor ?? body?.cursor ?? null;
  return { items, next, total: body?.total ?? null };
}

/** "Previous / Next" links for a list at hash route `base` (which may carry its own query). */
export function pager(base, query, next) {
  const cur = query.get('cursor');
  const prev = query.get('prev');
  const link = (cursor, label, rel, back) => {
    const q = new URLSearchParams(query);
    if (cursor == null) q.delete('cursor');
    else q.set('cursor', cursor);
    if (back === undefined) q.delete('prev');
    else if (back == null) q.delete('prev');
    else q.set('prev', back);
    const s = q.toString();
    return h('a', { href: `${base}${s ? '?' + s : ''}`, rel }, label);
  };
  const parts = [];
  if (cur != null) parts.push(link(prev || null, '← Newer', 'prev'));
  if (next != null) parts.push(link(next, 'More →', 'next', cur ?? ''));
  if (parts.length === 0) return null;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' }, parts);
}
