// Every list is fetched a page at a time; no page ever asks for a whole list.

/** Rows per page of every list. */
export const PAGE_SIZE = 50;
