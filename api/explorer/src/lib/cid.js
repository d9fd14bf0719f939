// Content ids computed in the browser (DESIGN.md, "Content ids"): `blake3:<hex>` of an item's
// bytes. A dropped File is read in chunks so a large file never sits whole in memory; pasted text
// is hashed as its UTF-8 bytes, which is the id a JSON Lines or line-mode corpus gives that text.

import { blake3 } from '@noble/hashes/blake3.js';
import { toHex, utf8 } from './bytes.js';

export const CHUNK = 4 * 1024 * 1024;

/** `blake3:<hex>` of bytes. */
export function cidOfBytes(bytes) {
  return `blake3:${toHex(blake3(bytes))}`;
}

/** `blake3:<hex>` of a string's UTF-8 bytes. */
export function cidOfText(text) {
  return cidOfBytes(utf8(text));
}

/**
 * `blake3:<hex>` of a Blob or File, read `chunk` bytes at a time. `onProgress(done, total)` is
 * called after each chunk; the promise yields to the event loop between chunks so the page stays
 * responsive.
 */
export async function cidOfBlob(blob, { chunk = CHUNK, onProgress } = {}) {
  const h = blake3.create();
  const total = blob.size;
  for (let off = 0; off < total; off += chunk) {
    const part = new Uint8Array(await blob.slice(off, Math.min(total, off + chunk)).arrayBuffer());
    h.update(part);
    if (onProgress) onProgress(Math.min(total, off + chunk), total);
  }
  if (total === 0 && onProgress) onProgress(0, 0);
  return `blake3:${toHex(h.digest())}`;
}
