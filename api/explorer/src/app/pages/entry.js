// One entry: its canonical JSON, its signer, and its inclusion proof, checked here against the
// latest checkpoint signed by the log key.

import { h, dl, section, badge, hashText, fmtInt, fmtTime, errorBox } from '../dom.js';
import { api, orNull } from '../api.js';
import { latestCheckpoint, verifyEntry, entryFromTiles } from '../trust.js';
import { typeTag, summary, signerCell } from '../entryview.js';
import { toBase64, utf8, fromUtf8 } from '../../lib/bytes.js';
import { canonicalize } from '../../lib/jcs.js';
import { verifyEntrySignature } from '../../lib/entry.js';

export async function render(root, { params, alive }) {
  const index = params.index;
  if (!/^(0|[1-9][0-9]*)$/.test(index)) {
    root.append(h('h1', null, 'No such entry'), errorBox('An entry index is a whole number.'));
    return;
  }
  root.append(h('h1', null, `Entry #${index}`));
  const [latest, e] = await Promise.all([latestCheckpoint(), orNull(api.entry(index))]);
  if (!alive()) return;
  if (!e) {
    root.append(errorBox(`The log has no entry #${index}.`));
    return;
  }
  // The exact bytes the log committed to: from the C2SP entry tiles when the checkpoint covers the
  // entry; otherwise (or if tiles are unavailable) the canonical form of the JSON the API returned.
  let bytes = null;
  let bytesFrom = 'entry tiles';
  if (latest.ok && BigInt(index) < latest.cp.size) {
    try {
      bytes = await entryFromTiles(index, latest.cp.size);
    } catch {
      bytes = null;
    }
  }
  if (!bytes) {
    bytesFrom = 'the JSON API';
    bytes = e.canonical != null ? utf8(e.canonical) : utf8(canonicalize(e.entry ?? e));
  } else if (e.canonical != null && e.canonical !== fromUtf8(bytes)) {
    root.append(errorBox('The JSON API and the entry tiles disagree about this entry; the tiles are shown.'));
  }
  let decoded = null;
  try {
    decoded = JSON.parse(fromUtf8(bytes));
  } catch {
    decoded = e.entry;
  }
  const type = decoded?.type ?? e.type;
  let sigState;
  try {
    sigState = verifyEntrySignature(decoded) ? 'ok' : 'none';
  } catch (err) {
    sigState = err.name === 'SignatureError' ? 'bad' : 'none';
  }
  const badgeSlot = h('span', { id: 'inclusion-badge' }, badge('pending'));
  const proofSlot = h('div');
  root.append(
    dl([
      ['Type', typeTag(type)],
      ['What', summary(decoded)],
      ['Time', decoded?.time != null ? fmtTime(decoded.time) : '—'],
      ['Signer', signerCell(decoded)],
      ['Signature', sigState === 'none' ? h('span', { class: 'note' }, 'anonymous entry, or a format this page cannot check') : badge(sigState)],
      ['In the log', badgeSlot],
    ]),
    section('Canonical JSON', h('p', { class: 'note' }, `${fmtInt(bytes.length)} bytes, read from ${bytesFrom}. The log's leaf is SHA-256(0x00 || these bytes).`), h('pre', { id: 'canonical' }, fromUtf8(bytes))),
    section('Inclusion proof', proofSlot),
  );
  const r = await verifyEntry(index, bytes);
  if (!alive()) return;
  badgeSlot.replaceChildren(badge(r.ok ? 'ok' : 'bad'));
  if (r.ok) {
    proofSlot.append(
      h('p', null, `Entry #${index} is leaf ${fmtInt(r.index)} of the tree of ${fmtInt(r.size)} entries whose root `, hashText(toBase64(r.root), 10), ' the log signed. Audit path, leaf side first:'),
      h('ol', null, r.proof.map((p) => h('li', null, h('code', { class: 'hash' }, toBase64(p))))),
    );
  } else {
    proofSlot.append(errorBox(`Does not verify: ${r.error?.message ?? 'unknown error'}`));
  }
  if (r.proofText) proofSlot.append(h('details', null, h('summary', null, 'As a C2SP tlog-proof file'), h('pre', { id: 'tlog-proof' }, r.proofText), h('p', null, h('a', { href: `/v1/entries/${index}/inclusion.tlog-proof`, download: `entry-${index}.tlog-proof` }, 'Download'))));
}
