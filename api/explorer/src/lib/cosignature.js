// C2SP tlog-cosignature v1 (c2sp.org/tlog-cosignature) and a reader's witness policy (k of n),
// as verifier/src/cosignature.rs decides them; test/cosignature.test.js replays that crate's
// vectors (verifier/tests/data/cosignatures.json).
//
// A cosignature is one signed-note signature line on the checkpoint,
// "— <witness name> base64(key id (4) || timestamp (u64 BE, 8) || Ed25519 signature (64))", where
// the key id is SHA-256(name || "\n" || 0x04 || public key)[:4] and the signature is over
// "cosignature/v1\ntime <timestamp>\n" || the checkpoint body. A witness's key is a vkey of type
// 0x04.
//
// Unlisted keys' lines are ignored (signed-note); a line that names a listed witness key (same
// name and key id) but does not verify makes the note malformed, so the policy is not met; a
// witness listed twice counts once.

import { ed25519 } from '@noble/curves/ed25519.js';
import { FormatError, concat, equal, toHex, utf8 } from './bytes.js';
import { SIG_COSIGNATURE_V1, SignatureError, parseNote, parseVkey, verifyCheckpoint } from './note.js';

/** The message a v1 cosignature signs. `timestamp` is a BigInt. */
export function cosignedMessage(bodyText, timestamp) {
  return concat(utf8(`cosignature/v1\ntime ${timestamp}\n`), utf8(bodyText));
}

/** Parses a witness vkey (type 0x04); a log key (0x01) is refused, as the Rust side does. */
export function parseWitnessKey(text) {
  const k = parseVkey(text);
  if (k.type !== SIG_COSIGNATURE_V1) throw new FormatError(`${k.name} is not a witness key (signature type 0x04, cosignature/v1)`);
  return k;
}

/**
 * Checks `noteText` (a cosigned checkpoint) with the log's key and a witness policy. Returns
 * {checkpoint, witnesses, count, k, met, error}: `checkpoint` as verifyCheckpoint returns it (it
 * throws when the log's signature does not verify); `witnesses` one row per distinct listed key,
 * in the order given: {name, keyId (hex), vkey, state: 'verified' | 'wrong-key' | 'absent',
 * timestamp (BigInt, when verified), detail}; `met` whether at least `k` distinct listed
 * witnesses verified and no line of a listed key failed (`error` says why not).
 *
 * 'wrong-key': a line under the witness's name that this key does not verify (another key id, or
 * a signature that fails); 'absent': no line under its name.
 */
export function checkCosigned(noteText, logKey, witnessVkeys, k) {
  const checkpoint = verifyCheckpoint(noteText, logKey);
  const note = parseNote(noteText);
  const keys = [];
  for (const v of witnessVkeys) {
    const key = typeof v === 'string' ? parseWitnessKey(v) : v;
    if (!keys.some((o) => o.name === key.name && equal(o.keyId, key.keyId) && equal(o.publicKey, key.publicKey))) keys.push(key);
  }
  const rows = [];
  let count = 0;
  let malformed = null;
  for (const key of keys) {
    const row = { name: key.name, keyId: toHex(key.keyId), vkey: key.text, state: 'absent', timestamp: null, detail: 'no cosignature by this witness' };
    for (const s of note.signatures) {
      if (s.name !== key.name) continue;
      if (!equal(s.keyId, key.keyId)) {
        if (row.state === 'absent') Object.assign(row, { state: 'wrong-key', detail: `a line by key id ${toHex(s.keyId)}, not ${toHex(key.keyId)}` });
        continue;
      }
      // Only the first line of a listed key counts, as on the Rust side: valid, or the note is
      // malformed.
      const ts = verifyOne(key, note.bodyText, s.sig);
      if (ts === null) {
        Object.assign(row, { state: 'wrong-key', timestamp: null, detail: 'the line by this key id does not verify' });
        malformed ??= `cosignature by ${key.name}+${toHex(key.keyId)} does not verify`;
      } else {
        Object.assign(row, { state: 'verified', timestamp: ts, detail: null });
        count += 1;
      }
      break;
    }
    rows.push(row);
  }
  let error = malformed;
  if (!error && count < k) error = `${count} valid cosignature(s) from distinct listed witnesses, ${k} required`;
  return { checkpoint, witnesses: rows, count, k, met: !error, error };
}

/** The timestamp (BigInt) of a valid cosignature `sig` (timestamp || Ed25519) by `key`, or null. */
function verifyOne(key, bodyText, sig) {
  if (sig.length !== 72) return null;
  const ts = new DataView(sig.buffer, sig.byteOffset, 8).getBigUint64(0, false);
  if (ts > (1n << 63n) - 1n) return null;
  try {
    return ed25519.verify(sig.slice(8), cosignedMessage(bodyText, ts), key.publicKey, { zip215: false }) ? ts : null;
  } catch {
    return null;
  }
}

/** Throws a SignatureError unless `result` (from checkCosigned) meets its policy. */
export function requirePolicy(result) {
  if (!result.met) throw new SignatureError(`witness policy not met: ${result.error}`);
  return result;
}
