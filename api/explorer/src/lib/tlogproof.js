// C2SP tlog-proof (c2sp.org/tlog-proof@v1): an entry's index, its audit path and the signed
// checkpoint it leads to, as one text. Verifying needs only the log's vkey and the entry's bytes,
// so it works for any C2SP log with an Ed25519 key (same rules as ledger/src/tlog_proof.rs).
//
//   c2sp.org/tlog-proof@v1
//   extra <base64>      (optional, unauthenticated)
//   index <N>
//   <base64 hash>...    (the audit path, leaf side first)
//   <blank line>
//   <checkpoint note, verbatim>

import { FormatError, fromBase64, hashFromBase64 } from './bytes.js';
import { Sha256Log, verifyInclusion } from './merkle.js';
import { verifyCheckpoint } from './note.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** Parses a tlog-proof into {extra, index (BigInt), proof: [bytes], checkpoint (text)}. */
export function parseTlogProof(text) {
  let rest = String(text);
  const next = () => {
    const i = rest.indexOf('\n');
    if (i < 0) return null;
    const line = rest.slice(0, i);
    rest = rest.slice(i + 1);
    return line;
  };
  if (next() !== TLOG_PROOF_HEADER) throw new FormatError(`missing header line ${TLOG_PROOF_HEADER}`);
  let line = next();
  let extra = null;
  if (line !== null && line.startsWith('extra ')) {
    extra = fromBase64(line.slice(6));
    line = next();
  }
  const m = line === null ? null : /^index (0|[1-9][0-9]{0,19})$/.exec(line);
  if (!m) throw new FormatError('missing or invalid index line');
  const proof = [];
  for (;;) {
    const l = next();
    if (l === null) throw new FormatError('missing blank line before the checkpoint');
    if (l === '') break;
    proof.push(hashFromBase64(l));
  }
  if (rest.length === 0) throw new FormatError('missing checkpoint');
  return { extra, index: BigInt(m[1]), proof, checkpoint: rest };
}

/**
 * Verifies a tlog-proof for an entry (its bytes) or its leaf hash ({leafHash}) with the log's
 * vkey. Returns the verified checkpoint; throws unless both the signature and the path hold.
 */
export function verifyTlogProof(text, vkey, { entry, leafHash } = {}) {
  const p = parseTlogProof(text);
  const cp = verifyCheckpoint(p.checkpoint, vkey);
  const leaf = leafHash ?? Sha256Log.leafHash(entry);
  verifyInclusion(Sha256Log, p.index, cp.size, leaf, p.proof, cp.root);
  return { ...cp, index: p.index, proof: p.proof };
}
