// One item of a dataset version: its leaf, its metadata (where it came from, its licence, the
// consent signal observed when it was collected), and the proofs, checked here: the version's
// entry in the log, the item's inclusion proof against the manifest root and item count THAT
// entry commits to, and the metadata digest (BLAKE3 of the canonical JSON of the metadata must be
// the leaf's `meta`). Only then does the page call the licence, source and consent "verified".

import { blake3 } from '@noble/hashes/blake3.js';
import { h, dl, section, badge, hashText, fmtInt, fmtBytes, errorBox } from '../dom.js';
import { api, ApiError } from '../api.js';
import { verifiedEntry } from '../trust.js';
import { entryLink, datasetRoute } from '../entryview.js';
import { isCid, verifyMembershipJson } from '../../lib/set.js';
import { canonicalize } from '../../lib/jcs.js';
import { toHex, utf8 } from '../../lib/bytes.js';
import { sourceKey, keyHost } from '../../lib/source.js';

const ZERO = '0'.repeat(64);

/** BLAKE3 of the canonical (RFC 8785) JSON of `meta`, as 64 hex digits: what a leaf's meta commits. */
export function metaDigest(meta) {
  return toHex(blake3(utf8(canonicalize(meta))));
}

/** The source entries of an item's metadata: `{"sources": [..]}` as the hasher writes it, or one object. */
export function sourceEntries(meta) {
  if (meta == null || typeof meta !== 'object') return [];
  if (Array.isArray(meta.sources)) return meta.sources.filter((e) => e && typeof e === 'object');
  return [meta];
}

/**
 * Checks an item answer against the log: {entry, inclusion, digest, leafMatches, ok, error}.
 * `ok` only when the version's entry verifies and names this version, the inclusion proof holds
 * against its root and size, the proof's leaf is the leaf shown, and the metadata digest matches.
 */
export async function checkItem(item, { publisher, dataset, version, cid }) {
  const out = { entry: null, inclusion: null, digest: null, ok: false, error: null };
  try {
    const e = await verifiedEntry(item.entry_index);
    if (!e.ok) throw e.error ?? new Error('the dataset version entry is not in the log');
    const d = e.entry;
    if (d.type !== 'dataset_version' || d.publisher !== publisher || d.dataset !== dataset || d.version !== version) throw new Error(`entry ${item.entry_index} is not ${publisher}/${dataset}@${version}`);
    out.entry = d;
    const proof = item.proof?.included || item.proof?.excluded ? item.proof : { included: item.proof };
    const r = verifyMembershipJson(proof, { cid, root: d.manifest_root, size: d.item_count });
    if (r.membership !== 'included') throw new Error('the proof shows the item is not in this version');
    const p = proof.included;
    if (p.leaf.cid !== item.leaf.cid || Number(p.leaf.size) !== Number(item.leaf.size) || (p.leaf.meta ?? ZERO) !== (item.leaf.meta ?? ZERO)) throw new Error('the proven leaf is not the leaf shown');
    out.inclusion = { index: p.index, size: d.item_count, root: d.manifest_root, path: p.path };
    const want = item.leaf.meta ?? ZERO;
    if (item.meta == null) out.digest = want === ZERO ? 'none' : 'absent';
    else out.digest = metaDigest(item.meta) === want ? 'ok' : 'bad';
    if (out.digest === 'bad') throw new Error('the metadata does not hash to the leaf\'s meta digest');
    out.ok = true;
  } catch (error) {
    out.error = error;
  }
  return out;
}

/** The exclusion proof of a 404 `item-not-found`, checked against the version's verified entry. */
async function checkExclusion(exclusion, { publisher, dataset, version, cid }) {
  try {
    const v = await api.datasetVersion(publisher, dataset, version);
    const e = await verifiedEntry(v.index);
    if (!e.ok) throw e.error ?? new Error('the dataset version entry is not in the log');
    const d = e.entry;
    if (d.type !== 'dataset_version' || d.publisher !== publisher || d.dataset !== dataset || d.version !== version) throw new Error(`entry ${v.index} is not ${publisher}/${dataset}@${version}`);
    const proof = exclusion.excluded || exclusion.included ? exclusion : { excluded: exclusion };
    const r = verifyMembershipJson(proof, { cid, root: d.manifest_root, size: d.item_count });
    if (r.membership !== 'excluded') throw new Error('the proof shows the item IS in this version');
    return { ok: true, error: null };
  } catch (error) {
    return { ok: false, error };
  }
}

export async function render(root, { params, alive }) {
  const { publisher, dataset, version, cid } = params;
  const label = `${publisher}/${dataset}@${version}`;
  root.append(h('h1', null, 'Item'), h('p', null, 'In ', h('a', { href: datasetRoute(publisher, dataset, version) }, label), ': ', h('code', { class: 'hash', id: 'item-cid' }, cid)));
  if (!isCid(cid)) {
    root.append(errorBox('A content id looks like blake3: followed by 64 lowercase hex digits.'));
    return;
  }
  let item;
  try {
    item = await api.item(publisher, dataset, version, cid);
  } catch (e) {
    if (!alive()) return;
    if (e instanceof ApiError && e.status === 404) {
      const x = e.problem?.exclusion ? await checkExclusion(e.problem.exclusion, { publisher, dataset, version, cid }) : null;
      if (!alive()) return;
      root.append(
        h('p', { class: x?.ok ? 'result notused' : 'result', id: 'item-absent', dataset: { state: x ? (x.ok ? 'ok' : 'bad') : 'none' } }, h('strong', null, 'Not in this version'), x ? [' ', badge(x.ok ? 'ok' : 'bad', x.ok ? 'exclusion proof verified' : 'exclusion proof does not verify')] : null, ` ${x?.error ? x.error.message : e.message}`),
        h('p', null, h('a', { href: `#/check?id=${encodeURIComponent(cid)}` }, 'Check every version for this id'), ' (with proofs verified here).'),
      );
      return;
    }
    throw e;
  }
  if (!alive()) return;
  const c = await checkItem(item, { publisher, dataset, version, cid });
  if (!alive()) return;
  const state = c.ok ? 'ok' : 'bad';
  const entries = sourceEntries(item.meta);
  const metaState = c.digest === 'ok' && c.ok ? 'ok' : c.digest === 'none' ? 'none' : 'bad';
  root.dataset.verified = c.ok ? 'yes' : 'no';

  root.append(
    h(
      'p',
      { class: 'row', id: 'item-verdict', dataset: { digest: c.digest ?? '' } },
      badge(state, c.ok ? 'verified' : 'does not verify'),
      c.ok
        ? {
            ok: ' This item is in the version, and its metadata is what the version committed to.',
            none: ' This item is in the version, which was published without metadata.',
            absent: ' This item is in the version; its metadata is committed but not held by this server, so nothing about its source or licence can be shown.',
          }[c.digest]
        : ` ${c.error?.message ?? ''}`,
    ),
    section(
      'Where it came from',
      metaState === 'none'
        ? h('p', { class: 'empty', id: 'no-meta' }, 'This item was published without metadata (its leaf commits to none).')
        : c.digest === 'absent'
          ? h('p', { class: 'empty', id: 'no-meta' }, 'The leaf commits to metadata, but this server does not hold it (the version was uploaded without it).')
          : h('div', { id: 'sources' }, entries.map((e, k) => sourceCard(e, k, metaState))),
    ),
    section(
      'Leaf',
      dl([
        ['Content id', hashText(item.leaf.cid, 16)],
        ['Size', fmtBytes(item.leaf.size)],
        ['Metadata digest (BLAKE3 of the canonical metadata)', h('span', { id: 'meta-digest' }, hashText(item.leaf.meta ?? ZERO, 10), ' ', badge(metaState === 'ok' ? 'ok' : metaState === 'none' ? 'none' : 'bad', metaState === 'ok' ? 'matches' : metaState === 'none' ? 'no metadata' : 'does not match'))],
      ]),
    ),
    section(
      'Proof',
      c.inclusion
        ? h(
            'div',
            null,
            h('p', { id: 'inclusion', dataset: { state: 'ok' } }, badge('ok'), ` Leaf index ${fmtInt(c.inclusion.index)} (from 0) of the ${fmtInt(c.inclusion.size)} leaves under the manifest root `, hashText(c.inclusion.root, 10), ' that entry ', entryLink(item.entry_index), ' commits to; the entry is verified in the log.'),
            h('details', null, h('summary', null, `Audit path (${c.inclusion.path.length} hashes, leaf side first)`), h('ol', null, c.inclusion.path.map((p) => h('li', null, h('code', { class: 'hash' }, String(p)))))),
          )
        : h('p', { id: 'inclusion', dataset: { state: 'bad' } }, badge('bad'), ` ${c.error?.message ?? ''}`),
      item.meta != null ? h('details', null, h('summary', null, 'Metadata as canonical JSON (what the digest covers)'), h('pre', { id: 'meta-json' }, canonicalize(item.meta))) : null,
    ),
  );
}

const SHOWN = ['source', 'license', 'licence', 'consent', 'collected'];

function sourceCard(e, k, state) {
  const src = typeof e.source === 'string' ? e.source : null;
  const key = src ? sourceKey(src) : '';
  const host = key ? keyHost(key) : null;
  const shown = (v) => (v == null ? h('span', { class: 'note' }, 'not recorded') : typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(', ') : JSON.stringify(v));
  const rest = Object.entries(e).filter(([name]) => !SHOWN.includes(name));
  return h(
    'div',
    { class: 'card source-entry', dataset: { k: String(k), state } },
    dl([
      ['Source', src ? h('span', { class: 'src' }, h('code', null, src), host && !host.startsWith('[') && !/^[0-9.]+$/.test(host) ? [' · ', h('a', { href: `#/site?q=${encodeURIComponent(host)}` }, `Is ${host} in other datasets?`)] : null) : shown(null)],
      ['Source key', key ? h('code', { class: 'source-key' }, key) : h('span', { class: 'note' }, 'none (no http(s) source: sorted under the no-source key)')],
      ['Licence', h('span', { class: 'licence' }, shown(e.license ?? e.licence))],
      ['Consent signal at collection', h('span', { class: 'consent' }, shown(e.consent))],
      ['Collected', shown(e.collected)],
      ...rest.map(([name, v]) => [name, shown(v)]),
      ['Checked', badge(state === 'ok' ? 'ok' : 'bad', state === 'ok' ? 'verified: committed by the version' : 'not verified')],
    ]),
  );
}
