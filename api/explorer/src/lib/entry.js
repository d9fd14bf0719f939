// Log entries (DESIGN.md "Log entries"; byte for byte as ledger/src/entry/mod.rs): one JSON object
// in RFC 8785 canonical form with `type`, `time` (unix seconds), optional `nonce`, `signer` (the
// Ed25519 public key, base64; absent only for an anonymous opt-out) and `sig` (base64, present
// exactly when `signer` is), plus the type's own fields. The signed message is
//   "prov-ledger/v1\n" || type || "\n" || JCS(entry without sig)
// verified strictly (RFC 8032).

import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalize } from './jcs.js';
import { FormatError, concat, fromBase64, toBase64, utf8 } from './bytes.js';

export const SIGNATURE_CONTEXT = 'prov-ledger/v1\n';
export const ENTRY_TYPES = ['publisher', 'dataset_version', 'optout', 'model_checkpoint'];
/** The aipref usage categories the ledger accepts, sorted as entries must list them. */
export const SCOPES = ['ai-use', 'search', 'train-ai'];

export class EntrySignatureError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SignatureError';
  }
}

/** The bytes an entry's signature covers. */
export function signingMessage(entry) {
  const { sig, ...unsigned } = entry;
  void sig;
  if (!ENTRY_TYPES.includes(entry.type)) throw new FormatError(`unknown entry type ${entry.type}`);
  return concat(utf8(SIGNATURE_CONTEXT + entry.type + '\n'), utf8(canonicalize(unsigned)));
}

/**
 * Checks a decoded entry's signature. Returns true when it carries a valid signature by its
 * `signer`, false for an anonymous opt-out; throws EntrySignatureError for a bad or missing
 * signature, or an anonymous entry of another type.
 */
export function verifyEntrySignature(entry) {
  if (entry == null || typeof entry !== 'object') throw new FormatError('entry is not an object');
  if (entry.signer == null) {
    if (entry.sig != null) throw new EntrySignatureError('signature without a signer');
    if (entry.type !== 'optout') throw new EntrySignatureError('only an opt-out may be anonymous');
    return false;
  }
  if (entry.sig == null) throw new EntrySignatureError('signer without a signature');
  const key = fromBase64(entry.signer);
  const sig = fromBase64(entry.sig);
  if (key.length !== 32 || sig.length !== 64) throw new EntrySignatureError('malformed key or signature');
  let ok = false;
  try {
    ok = ed25519.verify(sig, signingMessage(entry), key, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new EntrySignatureError('bad signature');
  return true;
}

/** The canonical bytes of an entry object (what the log stores and hashes). */
export function entryBytes(entry) {
  return utf8(canonicalize(entry));
}

/**
 * Signs an entry: `fields` are the type's own fields plus `type`; `time` defaults to now.
 * Returns the complete entry object (with `signer` and `sig`).
 */
export function signEntry(fields, secretKey, { time = Math.floor(Date.now() / 1000), nonce } = {}) {
  const unsigned = { ...fields, time, signer: toBase64(ed25519.getPublicKey(secretKey)) };
  if (nonce != null) unsigned.nonce = nonce;
  const sig = ed25519.sign(signingMessage(unsigned), secretKey);
  return { ...unsigned, sig: toBase64(sig) };
}

/**
 * An anonymous opt-out of `ids` for the usage categories `scope` (ids and scope are sorted and
 * de-duplicated, as the ledger requires). Returns {json, bytes}.
 */
export function buildAnonymousOptout(ids, scope, { time = Math.floor(Date.now() / 1000), nonce } = {}) {
  const sortedIds = [...new Set(ids)].sort();
  const scopes = [...new Set(Array.isArray(scope) ? scope : [scope])].sort();
  for (const s of scopes) if (!SCOPES.includes(s)) throw new FormatError(`unknown scope ${s}`);
  const json = { type: 'optout', time, ids: sortedIds, scope: scopes };
  if (nonce != null) json.nonce = nonce;
  return { json, bytes: entryBytes(json) };
}
