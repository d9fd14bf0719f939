// RFC 8785 JSON Canonicalization Scheme for the values entries hold: object keys sorted by UTF-16
// code units, no whitespace, strings and numbers serialised as ECMAScript's JSON.stringify does
// (which is what RFC 8785 specifies). Integers beyond 2^53 cannot round-trip through JSON.parse;
// a verifier should prefer the entry's exact bytes (from the entry tiles) where it has them.

export function canonicalize(v) {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError('non-finite number');
    return JSON.stringify(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map(canonicalize).join(',')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(v[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot canonicalize ${typeof v}`);
}
