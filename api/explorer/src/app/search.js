// Where a search goes: a content id to "Was my work used?", an entry index to its page, anything
// else to the search page, which looks for publishers, datasets and models by name.

import { isCid } from '../lib/set.js';

export function searchTarget(q) {
  const s = q.trim();
  if (isCid(s)) return `#/check?id=${encodeURIComponent(s)}`;
  if (/^[0-9a-fA-F]{64}$/.test(s)) return `#/check?id=${encodeURIComponent('blake3:' + s.toLowerCase())}`;
  if (/^#?[0-9]{1,19}$/.test(s)) return `#/entry/${s.replace('#', '')}`;
  return `#/search?q=${encodeURIComponent(s)}`;
}
