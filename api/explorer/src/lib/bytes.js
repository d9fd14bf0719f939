// Byte helpers shared by the verifiers: strict hex and base64 decoding (a hash that is not exactly
// 32 bytes is an error, never truncated or padded), concatenation and byte-order comparison.

/** Thrown for any malformed input to a verifier. */
export class FormatError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FormatError';
  }
}

const enc = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(s) {
  return enc.encode(s);
}

/** Strict UTF-8 decoding: invalid bytes throw. */
export function fromUtf8(b) {
  return new TextDecoder('utf-8', { fatal: true }).decode(b);
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Byte-order comparison: negative, zero or positive, like a sort comparator. */
export function compare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function toHex(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Hex (either case), an even number of digits. */
export function fromHex(s) {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new FormatError('invalid hex');
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Standard base64 with padding, as C2SP notes and checkpoints write it. */
export function toBase64(b) {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    s += B64[n >> 18] + B64[(n >> 12) & 63];
    s += i + 1 < b.length ? B64[(n >> 6) & 63] : '=';
    s += '=';
  }
  return s;
}

/** Strict standard base64 with padding: no whitespace, no URL alphabet, canonical trailing bits. */
export function fromBase64(s) {
  if (typeof s !== 'string' || s.length % 4 !== 0) throw new FormatError('invalid base64');
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    const v = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      if (last && c === 61 /* = */ && j >= 4 - pad) {
        v[j] = 0;
        continue;
      }
      const x = c < 128 ? B64_INDEX[c] : -1;
      if (x < 0) throw new FormatError('invalid base64');
      v[j] = x;
    }
    const n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
    if (last && pad === 2 && (v[1] & 15) !== 0) throw new FormatError('invalid base64');
    if (last && pad === 1 && (v[2] & 3) !== 0) throw new FormatError('invalid base64');
  }
  return out;
}

/** A 32-byte hash from base64, or FormatError: the RFC 6962 vectors demand exactly 32 bytes. */
export function hashFromBase64(s) {
  const b = fromBase64(s);
  if (b.length !== 32) throw new FormatError(`hash must be exactly 32 bytes, got ${b.length}`);
  return b;
}

/** A 32-byte hash from 64 hex digits. */
export function hashFromHex(s) {
  const b = fromHex(s);
  if (b.length !== 32) throw new FormatError(`hash must be exactly 32 bytes, got ${b.length}`);
  return b;
}

/** A non-negative integer as a BigInt, from a number, a decimal string or a BigInt. */
export function toU64(x, what = 'value') {
  let v;
  if (typeof x === 'bigint') v = x;
  else if (typeof x === 'number' && Number.isSafeInteger(x)) v = BigInt(x);
  else if (typeof x === 'string' && /^(0|[1-9][0-9]*)$/.test(x)) v = BigInt(x);
  else throw new FormatError(`${what} must be a non-negative integer`);
  if (v < 0n || v >= 1n << 64n) throw new FormatError(`${what} out of range`);
  return v;
}

/** `n` as 8 bytes big-endian. */
export function u64be(n) {
  const v = toU64(n);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}
