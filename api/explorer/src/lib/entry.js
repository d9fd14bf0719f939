// Log entries (DESIGN.md "Log entries"; byte for byte as ledger/src/entry/mod.rs): one JSON object
// in RFC 8785 canonical form with `type`, `time` (unix seconds), optional `nonce`, `log` (the
// origin of the log the entry is for, the first line of its checkpoints; absent only in v1
// entries), `signer` (the Ed25519 public key, base64; absent only for an anonymous opt-out) and
// `sig` (base64, present exactly when `signer` is), plus the type's own fields. The signed
// message of a v2 entry (with `log`) is
//   "prov-ledger/v2\n" || type || "\n" || JCS(entry without sig)
// and of a v1 entry (without `log`, as logged before entries were bound to their log)
//   "prov-ledger/v1\n" || type || "\n" || JCS(entry without sig)
// verified strictly (RFC 8032). New entries are v2: a log refuses entries without its origin.

import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalize } from './jcs.js';
import { FormatError, concat, fromBase64, toBase64, utf8 } from './bytes.js';

/** The signing domain of a v1 entry (no `log`). */
export const SIGNATURE_CONTEXT = 'prov-ledger/v1\n';
/** The signing domain of a v2 entry (bound to a log by `log`). */
export const SIGNATURE_CONTEXT_V2 = 'prov-ledger/v2\n';
export const ENTRY_TYPES = ['publisher', 'dataset_version', 'optout', 'model_checkpoint'];
/** The aipref usage categories the ledger accepts, sorted as entries must list them. */
export const SCOPES = ['ai-use', 'search', 'train-ai'];
/** The scopes new entries may use: `ai-use` left the IETF aipref vocabulary (still readable). */
export const CURRENT_SCOPES = ['search', 'train-ai'];

export class EntrySignatureError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SignatureError';
  }
}

/** The bytes an entry's signature covers: the v2 message with `log`, the v1 one without. */
export function signingMessage(entry) {
  const { sig, ...unsigned } = entry;
  void sig;
  if (!ENTRY_TYPES.includes(entry.type)) throw new FormatError(`unknown entry type ${entry.type}`);
  const context = entry.log == null ? SIGNATURE_CONTEXT : SIGNATURE_CONTEXT_V2;
  return concat(utf8(context + entry.type + '\n'), utf8(canonicalize(unsigned)));
}

/** A log origin as an entry carries it: 1 to 255 bytes, no control characters. */
function checkLog(log) {
  const ok = typeof log === 'string' && log.length > 0 && utf8(log).length <= 255 && !/[\u0000-\u001f\u007f-\u009f]/.test(log);
  if (!ok) throw new FormatError('log must be the log\'s origin (the first line of its checkpoint)');
  return log;
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
 * Signs a v2 entry for the log named `log` (its origin, required): `fields` are the type's own
 * fields plus `type`; `time` defaults to now. Returns the complete entry object (with `log`,
 * `signer` and `sig`).
 */
export function signEntry(fields, secretKey, { log, time = Math.floor(Date.now() / 1000), nonce } = {}) {
  const unsigned = { ...fields, log: checkLog(log), time, signer: toBase64(ed25519.getPublicKey(secretKey)) };
  if (nonce != null) unsigned.nonce = nonce;
  const sig = ed25519.sign(signingMessage(unsigned), secretKey);
  return { ...unsigned, sig: toBase64(sig) };
}

/**
 * An anonymous opt-out of `ids` for the usage categories `scope`, for the log named `log` (its
 * origin, required); ids and scope are sorted and de-duplicated, as the ledger requires.
 * Returns {json, bytes}.
 */
export function buildAnonymousOptout(ids, scope, { log, time = Math.floor(Date.now() / 1000), nonce } = {}) {
  const sortedIds = [...new Set(ids)].sort();
  const scopes = [...new Set(Array.isArray(scope) ? scope : [scope])].sort();
  for (const s of scopes) {
    if (!SCOPES.includes(s)) throw new FormatError(`unknown scope ${s}`);
    if (!CURRENT_SCOPES.includes(s)) throw new FormatError(`scope ${s} was withdrawn from the aipref vocabulary; new opt-outs use train-ai or search`);
  }
  const json = { type: 'optout', log: checkLog(log), time, ids: sortedIds, scope: scopes };
  if (nonce != null) json.nonce = nonce;
  return { json, bytes: entryBytes(json) };
}

/** The origin of a log from its checkpoint note's text: the note's first line. */
export function originOf(checkpointText) {
  const nl = typeof checkpointText === 'string' ? checkpointText.indexOf('\n') : -1;
  if (nl <= 0) throw new FormatError('not a checkpoint: no origin line');
  return checkLog(checkpointText.slice(0, nl));
}
