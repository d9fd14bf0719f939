// "Was my work used?": a person drops a file or pastes text; the browser computes its content id
// with BLAKE3 (nothing is uploaded), asks the server where that id appears, and checks every
// answer itself: the checkpoint's signature, each dataset version's entry in the log, and the set
// inclusion or exclusion proof against the root that entry commits to. Each result then says
// "verified" or "does not verify". From here the person can also file an opt-out for the id.

import { h, section, badge, hashText, fmtInt, fmtBytes, errorBox } from '../dom.js';
import { api } from '../api.js';
import { latestCheckpoint, verifiedEntry, verifyEntry, forgetEntries } from '../trust.js';
import { entryLink, datasetRoute, modelRoute, itemRoute } from '../entryview.js';
import { cidOfBlob, cidOfText } from '../../lib/cid.js';
import { isCid, verifyMembershipJson } from '../../lib/set.js';
import { buildAnonymousOptout, originOf } from '../../lib/entry.js';
import { complianceOf } from './models.js';

// The current IETF aipref vocabulary's usage categories (verifier/src/entry, Scope): `ai-use`,
// withdrawn from the draft, stays readable in logged entries but new entries may not use it.
const SCOPES = [
  ['train-ai', 'Training AI models (train-ai)'],
  ['search', 'Search (search)'],
];

export async function render(root, { query, alive }) {
  root.append(
    h('h1', null, 'Was my work used?'),
    h('p', null, 'Drop a file or paste text. Your browser computes its content id (BLAKE3) itself — ', h('strong', null, 'nothing is uploaded'), ' — and then checks, with proofs it verifies here, which dataset versions and model checkpoints contain it.'),
    h('p', { class: 'note' }, 'A content id finds exact copies only. To find a text inside other documents (a web page quoting it, re-wrapped, with other text around it), ', h('a', { href: '#/work', id: 'work-link' }, 'check it passage by passage'), ' (one file or many).'),
  );
  const out = h('div', { id: 'check-result', 'aria-live': 'polite' });
  const progress = h('p', { class: 'note', id: 'hash-progress', role: 'status' });
  const fileInput = h('input', { type: 'file', id: 'file-input', 'aria-describedby': 'drop-help' });
  const drop = h(
    'div',
    { class: 'drop', id: 'drop-zone' },
    h('p', { id: 'drop-help' }, 'Drop a file here, or choose one:'),
    h('label', { for: 'file-input', class: 'visually-hidden' }, 'File to check'),
    fileInput,
  );
  const text = h('textarea', { id: 'paste-text', name: 'text', spellcheck: 'false' });
  const idInput = h('input', { id: 'cid-input', name: 'id', type: 'text', spellcheck: 'false', placeholder: 'blake3:…', style: 'width:100%' });

  const run = async (cidPromise, label, userAction = true) => {
    out.replaceChildren(h('p', { class: 'loading' }, 'Hashing…'));
    let cid;
    try {
      cid = await cidPromise;
    } catch (e) {
      out.replaceChildren(errorBox(`Could not hash: ${e.message}`));
      return;
    }
    progress.textContent = '';
    const q = new URLSearchParams({ id: cid });
    history.replaceState(null, '', `#/check?${q}`);
    await showResults(out, cid, label, alive);
    if (alive() && userAction) out.scrollIntoView({ block: 'start' });
  };

  fileInput.addEventListener('change', () => {
    const f = fileInput.files?.[0];
    if (f) run(hashFile(f, progress), `the file ${f.name} (${fmtBytes(f.size)})`);
  });
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const f = ev.dataTransfer?.files?.[0];
    if (f) run(hashFile(f, progress), `the file ${f.name} (${fmtBytes(f.size)})`);
  });

  root.append(
    section(
      'Your work',
      drop,
      h(
        'form',
        {
          id: 'paste-form',
          onsubmit: (ev) => {
            ev.preventDefault();
            run(Promise.resolve(cidOfText(text.value)), 'the pasted text');
          },
        },
        h('p', null, h('label', { for: 'paste-text' }, 'Or paste text (hashed as UTF-8, as a JSON Lines or line corpus stores it):')),
        text,
        h('p', null, h('button', { type: 'submit' }, 'Check this text')),
      ),
      h(
        'form',
        {
          id: 'id-form',
          onsubmit: (ev) => {
            ev.preventDefault();
            const v = idInput.value.trim();
            if (!isCid(v)) {
              out.replaceChildren(errorBox('A content id looks like blake3: followed by 64 lowercase hex digits.'));
              return;
            }
            run(Promise.resolve(v), 'the id you entered');
          },
        },
        h('p', null, h('label', { for: 'cid-input' }, 'Or enter a content id:')),
        idInput,
        h('p', null, h('button', { type: 'submit' }, 'Check this id')),
      ),
      progress,
    ),
    out,
  );

  const given = query.get('id');
  if (given && isCid(given)) {
    idInput.value = given;
    await run(Promise.resolve(given), 'the id in the link', false);
  }
}

function hashFile(file, progress) {
  const t0 = performance.now();
  return cidOfBlob(file, {
    onProgress: (done, total) => {
      progress.textContent = total ? `Hashing locally: ${Math.floor((100 * done) / total)}% of ${fmtBytes(total)}` : 'Hashing locally…';
    },
  }).then((cid) => {
    progress.textContent = `Hashed locally in ${Math.round(performance.now() - t0)} ms.`;
    return cid;
  });
}

/** Dataset versions examined for exclusion proofs, at most. */
const MAX_VERSIONS = 200;

/**
 * Checks one dataset version for `cid`: the version's entry in the log (checkpoint signature,
 * inclusion, entry signature), then the membership proof against the root and item count that
 * entry commits to (never those the proof or the listing claim).
 */
async function checkVersion(v, cid, givenProof) {
  const res = { v, cid, ok: false, membership: null, error: null };
  try {
    const e = await verifiedEntry(v.index);
    if (!e.ok) throw e.error ?? new Error('the dataset version entry is not in the log');
    if (e.entry.type !== 'dataset_version') throw new Error(`entry ${v.index} is not a dataset version`);
    const root = e.entry.manifest_root;
    const size = e.entry.item_count;
    const proof = givenProof ?? (await api.setProof(root, cid));
    const r = verifyMembershipJson(proof, { cid, root, size });
    res.ok = true;
    res.membership = r.membership;
    res.case = r.case;
  } catch (error) {
    res.error = error;
  }
  return res;
}

async function allVersions() {
  const out = [];
  let cursor;
  while (out.length < MAX_VERSIONS) {
    const page = await api.datasets({ limit: 100, cursor });
    out.push(...page.items);
    if (page.next == null) return { versions: out, truncated: false };
    cursor = page.next;
  }
  return { versions: out.slice(0, MAX_VERSIONS), truncated: true };
}

async function showResults(out, cid, label, alive) {
  out.replaceChildren(h('p', { class: 'loading' }, 'Looking it up and checking the proofs…'));
  forgetEntries();
  const latest = await latestCheckpoint({ fresh: true });
  const [where, all] = await Promise.all([api.content(cid, { limit: 100 }), allVersions()]);
  if (!alive()) return;
  const included = where.dataset_versions ?? [];
  const inIdx = new Set(included.map((a) => a.dataset.index));
  const jobs = [
    ...included.map((a) => checkVersion(a.dataset, cid, a.proof)),
    ...all.versions.filter((v) => !inIdx.has(v.index)).map((v) => checkVersion(v, cid, null)),
  ];
  const checked = (await Promise.all(jobs)).sort((a, b) => a.v.index - b.v.index);
  if (!alive()) return;
  const used = checked.filter((c) => c.ok && c.membership === 'included');
  const notUsed = checked.filter((c) => c.ok && c.membership === 'excluded');
  const bad = checked.filter((c) => !c.ok);
  const usedIdx = new Set(used.map((c) => c.v.index));
  const checkpoints = (where.checkpoints ?? []).filter((c) => c.dataset_indexes.some((i) => usedIdx.has(i)));

  let summary;
  if (used.length) {
    summary = h('p', { class: 'result used', id: 'verdict', dataset: { verdict: 'used' } }, h('strong', null, `Used in ${used.length} dataset version${used.length === 1 ? '' : 's'}`), checkpoints.length ? ` and by ${checkpoints.length} model checkpoint${checkpoints.length === 1 ? '' : 's'}` : '', '.');
  } else if (bad.length) {
    summary = h('p', { class: 'result', id: 'verdict', dataset: { verdict: 'unknown' } }, h('strong', null, 'No verified answer'), ` for ${bad.length} of ${checked.length} dataset version${checked.length === 1 ? '' : 's'}: the server's proofs do not verify.`);
  } else {
    summary = h('p', { class: 'result notused', id: 'verdict', dataset: { verdict: 'not-used' } }, h('strong', null, 'Not found in any dataset version'), checked.length ? ` — proven absent from all ${checked.length}.` : ' (the log has none yet).');
  }

  const cpList = h('ul', { id: 'checkpoints' });
  out.replaceChildren(
    section(
      'Result',
      h('p', null, /^the (file|pasted)/.test(label) ? `Content id of ${label}, computed in your browser: ` : `Content id (${label}): `, h('code', { class: 'hash', id: 'cid' }, cid)),
      h('p', { class: 'row' }, 'Log checkpoint: ', badge(latest.ok ? 'ok' : 'bad'), latest.ok ? ` tree size ${fmtInt(latest.cp.size)}` : ` ${latest.error?.message ?? ''}`),
      summary,
      bad.length ? errorBox(`${bad.length} answer${bad.length === 1 ? '' : 's'} from the server did not verify; do not trust ${bad.length === 1 ? 'it' : 'them'}.`) : null,
      all.truncated ? h('p', { class: 'note' }, `Only the first ${MAX_VERSIONS} dataset versions were checked for exclusion.`) : null,
    ),
    section('Dataset versions', checked.length ? h('div', { id: 'versions' }, checked.map(versionResult)) : h('p', { class: 'empty' }, 'The log has no dataset versions yet.')),
    section('Model checkpoints trained on it', checkpoints.length ? cpList : h('p', { class: 'empty' }, used.length ? 'No model checkpoint lists these dataset versions.' : 'None: no dataset version holding it was used by a model in the log.')),
    optoutForm(cid),
  );
  for (const c of checkpoints) {
    const slot = h('span', null, badge('pending'));
    cpList.append(h('li', null, h('a', { href: modelRoute(c.publisher, c.model, c.checkpoint) }, `${c.publisher}/${c.model}@${c.checkpoint}`), ' entry ', entryLink(c.index), ' · compliance ', slot));
    complianceOf(c.index).then((r) => slot.replaceChildren(r.state === 'bad' ? badge('bad') : badge(r.state)));
  }
}

function versionResult(c) {
  const v = c.v;
  const ds = `${v.publisher}/${v.dataset}@${v.version}`;
  const cls = !c.ok ? 'result' : c.membership === 'included' ? 'result used' : 'result notused';
  const what = !c.ok ? 'the server\'s answer does not verify' : c.membership === 'included' ? 'contains it (inclusion proof)' : `does not contain it (exclusion proof: ${caseText(c.case)})`;
  return h(
    'div',
    { class: cls, dataset: { membership: c.membership ?? 'unknown', verified: c.ok ? 'yes' : 'no', dataset: ds } },
    h('div', { class: 'row' }, h('a', { href: datasetRoute(v.publisher, v.dataset, v.version) }, ds), badge(c.ok ? 'ok' : 'bad'), h('span', null, what), c.ok && c.membership === 'included' ? h('a', { href: itemRoute(v.publisher, v.dataset, v.version, c.cid), class: 'item-link' }, 'the item: licence, source, consent') : null),
    c.error ? h('p', { class: 'note' }, `Reason: ${c.error.message}`) : null,
    h('p', { class: 'note' }, 'Published in entry ', entryLink(v.index), '.'),
  );
}

function caseText(k) {
  return { empty: 'the version is empty', 'before-first': 'it sorts before the first item', 'after-last': 'it sorts after the last item', between: 'it falls between two adjacent items' }[k] ?? k;
}

function optoutForm(cid) {
  const scope = h('select', { id: 'optout-scope', name: 'scope' }, SCOPES.map(([v, l]) => h('option', { value: v }, l)));
  const status = h('div', { id: 'optout-status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', id: 'optout-submit' }, 'Record an opt-out');
  return section(
    'Opt out',
    h('p', null, 'Record in the public log that this content id must not be used for the purpose you choose. The opt-out is anonymous: only the id and the scope are sent. Model publishers who claim to honour opt-outs up to a later point of the log can then be checked against it.'),
    h(
      'form',
      {
        id: 'optout-form',
        onsubmit: async (ev) => {
          ev.preventDefault();
          button.disabled = true;
          status.replaceChildren(h('p', { class: 'loading' }, 'Submitting…'));
          try {
            // The entry names the log it is for (its checkpoint's origin line): a log refuses
            // entries for another log, and this one cannot be replayed elsewhere.
            const log = originOf(await api.checkpoint());
            const entry = buildAnonymousOptout([cid], [scope.value], { log });
            const ack = await api.submitEntry(entry.json);
            const index = ack.index;
            status.replaceChildren(h('p', null, 'Recorded as entry ', entryLink(index), '. Checking its inclusion proof…'));
            const r = await waitForInclusion(index, entry.bytes);
            status.replaceChildren(
              h('p', { class: 'row' }, 'Opt-out recorded as entry ', entryLink(index), ': ', badge(r.ok ? 'ok' : 'bad'), r.ok ? ` included in the log of ${fmtInt(r.size)} entries.` : ` ${r.error?.message ?? ''}`),
              r.proofText ? h('details', { open: true }, h('summary', null, 'Inclusion proof (C2SP tlog-proof)'), h('pre', null, r.proofText)) : null,
            );
          } catch (e) {
            status.replaceChildren(errorBox(`The opt-out was not recorded: ${e.message}`));
          } finally {
            button.disabled = false;
          }
        },
      },
      h('p', null, h('label', { for: 'optout-scope' }, 'Scope (IETF AI preferences vocabulary)'), ' ', scope),
      h('p', null, 'Content id: ', hashText(cid, 16)),
      button,
    ),
    status,
  );
}

/** The sequencer integrates within a batch; retry the proof a few times before giving up. */
async function waitForInclusion(index, bytes) {
  let r;
  for (let i = 0; i < 20; i++) {
    await latestCheckpoint({ fresh: true });
    r = await verifyEntry(index, bytes);
    if (r.ok) return r;
    await new Promise((res) => setTimeout(res, 250 * Math.min(4, i + 1)));
  }
  return r;
}

