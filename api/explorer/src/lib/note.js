// C2SP signed notes (c2sp.org/signed-note), verifier keys, and tlog checkpoints
// (c2sp.org/tlog-checkpoint), verified with Ed25519 as DESIGN.md ("Checkpoints") fixes.
//
// A note is UTF-8 text: a body of one or more newline-terminated lines, a blank line, then one or
// more signature lines "— <name> <base64(keyid || signature)>". The key id of an Ed25519 key is the
// first 4 bytes of SHA-256(name || "\n" || 0x01 || pubkey). Signatures by unknown keys are
// ignored; a note verifies when one line carries a valid signature by the given key.

import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { FormatError, concat, equal, fromBase64, fromUtf8, hashFromBase64, toBase64, toHex, utf8 } from './bytes.js';

export class SignatureError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SignatureError';
  }
}

/** Signature type bytes of c2sp.org/signed-note. */
export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;

const MAX_SIGNATURES = 100;
const MAX_NOTE_LEN = 1_000_000;

function validName(name) {
  return name.length > 0 && !/[\s+]/u.test(name) && !/[\u0000-\u001f\u007f]/u.test(name);
}

/** The 4-byte key id of a key of type `type` with public key bytes `pub` under `name`. */
export function keyId(name, type, pub) {
  return sha256(concat(utf8(name), new Uint8Array([0x0a, type]), pub)).slice(0, 4);
}

/**
 * Parses a vkey `name+keyid+base64(type || pubkey)`. Returns {name, type, publicKey, keyId, text}.
 * The key id written in the vkey must match the one computed from the key.
 */
export function parseVkey(text) {
  const s = String(text).trim();
  const i = s.indexOf('+');
  const j = s.indexOf('+', i + 1);
  if (i <= 0 || j < 0) {
    throw new FormatError('a vkey is name+keyid+base64');
  }
  const name = s.slice(0, i);
  const idHex = s.slice(i + 1, j);
  const keyB64 = s.slice(j + 1);
  if (!validName(name)) throw new FormatError('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new FormatError('key id must be 8 lowercase hex digits');
  const raw = fromBase64(keyB64);
  if (raw.length !== 33) throw new FormatError('an Ed25519 vkey holds 1 type byte and 32 key bytes');
  const type = raw[0];
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) {
    throw new FormatError(`unsupported key type 0x${type.toString(16).padStart(2, '0')}`);
  }
  const publicKey = raw.slice(1);
  const id = keyId(name, type, publicKey);
  if (toHex(id) !== idHex) throw new FormatError('key id does not match the key');
  return { name, type, publicKey, keyId: id, text: s };
}

/** Formats a vkey from a name and a 32-byte Ed25519 public key. */
export function formatVkey(name, publicKey, type = SIG_ED25519) {
  const raw = concat(new Uint8Array([type]), publicKey);
  return `${name}+${toHex(keyId(name, type, publicKey))}+${toBase64(raw)}`;
}

/**
 * Splits a note into {body, bodyText, signatures: [{name, keyId, sig}]}. Throws FormatError for
 * anything that is not a well-formed note.
 */
export function parseNote(text) {
  const s = typeof text === 'string' ? text : fromUtf8(text);
  if (s.length > MAX_NOTE_LEN) throw new FormatError('note is over 1,000,000 bytes');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/u.test(s)) throw new FormatError('note holds control characters');
  const sep = s.lastIndexOf('\n\n');
  if (sep < 0) throw new FormatError('note has no signature block');
  const bodyText = s.slice(0, sep + 1);
  if (bodyText.length === 0) throw new FormatError('note body is empty');
  const sigText = s.slice(sep + 2);
  if (!sigText.endsWith('\n')) throw new FormatError('note does not end with a newline');
  const lines = sigText.slice(0, -1).split('\n');
  if (lines.length === 0 || lines[0] === '') throw new FormatError('note has no signatures');
  if (lines.length > MAX_SIGNATURES) throw new FormatError('too many signatures');
  const signatures = [];
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new FormatError('malformed signature line');
    const raw = fromBase64(m[2]);
    if (raw.length < 5) throw new FormatError('signature too short');
    signatures.push({ name: m[1], keyId: raw.slice(0, 4), sig: raw.slice(4) });
  }
  return { body: utf8(bodyText), bodyText, signatures };
}

/**
 * Verifies `noteText` with the verifier key `vkey` (a string or a parsed vkey). Returns the parsed
 * note plus `{verifiedBy, timestamp}` when a signature line by that key verifies; throws
 * SignatureError when none does (including when no line names the key).
 */
export function verifyNote(noteText, vkey) {
  const key = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
  const note = parseNote(noteText);
  // A line that matches the key by name and key id but does not verify rejects the note.
  let result = null;
  for (const s of note.signatures) {
    if (s.name !== key.name || !equal(s.keyId, key.keyId)) continue;
    let ok = false;
    let timestamp = null;
    if (key.type === SIG_ED25519 && s.sig.length === 64) {
      ok = safeVerify(s.sig, note.body, key.publicKey);
    } else if (key.type === SIG_COSIGNATURE_V1 && s.sig.length === 72) {
      // c2sp.org/tlog-cosignature: sig = timestamp (u64 BE) || Ed25519 signature over
      // "cosignature/v1\ntime <timestamp>\n" || body.
      timestamp = new DataView(s.sig.buffer, s.sig.byteOffset, 8).getBigUint64(0, false);
      const msg = concat(utf8(`cosignature/v1\ntime ${timestamp}\n`), note.body);
      ok = safeVerify(s.sig.slice(8), msg, key.publicKey);
    }
    if (!ok) throw new SignatureError('the signature by the log key does not verify');
    result ??= { ...note, verifiedBy: key.text, timestamp };
  }
  if (!result) throw new SignatureError('no signature by the log key');
  return result;
}

function safeVerify(sig, msg, pub) {
  try {
    return ed25519.verify(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Parses a checkpoint body (c2sp.org/tlog-checkpoint): origin, decimal size without leading
 * zeros, base64 root of exactly 32 bytes, then optional extension lines.
 */
export function parseCheckpointBody(bodyText) {
  if (!bodyText.endsWith('\n')) throw new FormatError('checkpoint body must end with a newline');
  const lines = bodyText.slice(0, -1).split('\n');
  if (lines.length < 3) throw new FormatError('checkpoint body needs origin, size and root');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin.length === 0) throw new FormatError('checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeText)) throw new FormatError('checkpoint size is not a decimal');
  const size = BigInt(sizeText);
  if (size >= 1n << 64n) throw new FormatError('checkpoint size out of range');
  const root = hashFromBase64(rootText);
  for (const e of extensions) if (e.length === 0) throw new FormatError('empty extension line');
  return { origin, size, root, extensions };
}

/**
 * Verifies a checkpoint note with the log's vkey: the signature, and that the origin line is the
 * key's name. Returns {origin, size (BigInt), root (bytes), extensions, note}.
 */
export function verifyCheckpoint(noteText, vkey) {
  const key = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
  const note = verifyNote(noteText, key);
  const cp = parseCheckpointBody(note.bodyText);
  // With any key type, as the verifier crate: the log's key is named after the log's origin,
  // and a witness's cosignature key (named after the witness) is not the log's key.
  if (cp.origin !== key.name) {
    throw new SignatureError(`checkpoint origin ${cp.origin} is not the key name ${key.name}`);
  }
  return { ...cp, note };
}

/**
 * Verifies a checkpoint that a witness cosigned (c2sp.org/tlog-cosignature), with the witness's
 * key: a cosignature names the witness, not the log, so the origin is not checked against the
 * key's name here. This does NOT establish which log the checkpoint is of; for that, verify it
 * with the log's key ({@link verifyCheckpoint}). Returns what verifyCheckpoint returns.
 */
export function verifyWitnessedCheckpoint(noteText, witnessVkey) {
  const key = typeof witnessVkey === 'string' ? parseVkey(witnessVkey) : witnessVkey;
  const note = verifyNote(noteText, key);
  return { ...parseCheckpointBody(note.bodyText), note };
}

/** Signs `bodyText` as a note with an Ed25519 secret key (tests and the demo seeder use this). */
export function signNote(bodyText, name, secretKey) {
  const pub = ed25519.getPublicKey(secretKey);
  const sig = ed25519.sign(utf8(bodyText), secretKey);
  const raw = concat(keyId(name, SIG_ED25519, pub), sig);
  return `${bodyText}\n\u2014 ${name} ${toBase64(raw)}\n`;
}
