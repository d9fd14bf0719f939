// "Was my work used?", passage by passage (SPEC14B section 9): a writer drops one or many files
// (.txt, .md, .html). For each, the browser reads its text (lib/work.js: Markdown rendered, HTML
// through DOMParser), normalises it and cuts it into passages (lib/passage.js, the same ids the
// publishers' hashers give every record's text), and asks, per dataset version (all of them, one,
// or every version a model checkpoint names), which passages that version's passage tree holds:
// ONE multi-range proof per version for the whole work, checked here against the passage root
// and size THAT version's entry commits to, the entry itself checked against the signed
// checkpoint (as "Is my site in it?" does). So a paragraph re-wrapped inside a web page is found,
// and "not found" is a verified exclusion, never a server's word. Only passage ids leave the
// browser, never the text.

import { h, section, badge, fmtInt, fmtBytes, errorBox, hashText, table } from '../dom.js';
import { api, ApiError } from '../api.js';
import { verifiedEntry, forgetEntries, latestCheckpoint } from '../trust.js';
import { entryLink, datasetRoute, modelRoute, itemRoute } from '../entryview.js';
import { cidOfBytes } from '../../lib/cid.js';
import { kindOf, decodeUtf8, workText } from '../../lib/work.js';
import { passages as cutPassages, MIN_PASSAGE_BYTES } from '../../lib/passage.js';
import { verifyRanges, passageRange, splitPassage } from '../../lib/range.js';
import { checkpointVersions, allVersions } from './site.js';

/** Passage ids per request, at most (the service's limit). */
export const MAX_PASSAGE_QUERY = 4096;
/** Items a multi-range proof reveals per passage (the bundle's figure). */
const REVEAL = 16;
/** The service's bound on reveal × passage ids in one request. */
const MAX_REVEALED = 65536;
/** Requests in flight at once (the service answers at most `limits.heavy_reads`, 4 by default, at once). */
const PARALLEL = 2;
/** Tries of a request the service answers 503 (busy), waiting what its Retry-After says (at most 10 s). */
const TRIES = 6;

export async function render(root, { query, alive }) {
  const model = (query.get('model') ?? '').trim();
  const dataset = (query.get('dataset') ?? '').trim();
  root.append(
    h('h1', null, 'Was my work used? Passage by passage'),
    h('p', null, 'Drop one or more texts (', h('code', null, '.txt'), ', ', h('code', null, '.md'), ', ', h('code', null, '.html'), '). Your browser reads each one, cuts it into passages (sentences of at least ', String(MIN_PASSAGE_BYTES), ' bytes once normalised: case, spacing, line wrapping, quotes and hyphenation do not matter) and sends ', h('strong', null, 'only their ids'), ' — never the text. Every dataset version with a passage tree answers with one proof for the whole work, checked here against the root its log entry commits to: a passage found inside a web page, re-wrapped and surrounded by other text, is found; one not found is proven absent.'),
    h('p', { class: 'note' }, 'To check whether an exact file was used, by its content id, use ', h('a', { href: '#/check' }, 'the content id check'), '.'),
  );
  const out = h('div', { id: 'work-result', 'aria-live': 'polite' });
  const progress = h('p', { class: 'note', id: 'work-progress', role: 'status' });
  const fileInput = h('input', { type: 'file', id: 'work-files', multiple: true, accept: '.txt,.md,.markdown,.html,.htm,text/plain,text/markdown,text/html', 'aria-describedby': 'work-drop-help' });
  const drop = h('div', { class: 'drop', id: 'work-drop' }, h('p', { id: 'work-drop-help' }, 'Drop files here, or choose them:'), h('label', { for: 'work-files', class: 'visually-hidden' }, 'Works to check'), fileInput);
  const m = h('input', { id: 'work-model', name: 'model', type: 'text', spellcheck: 'false', placeholder: 'publisher/model@checkpoint (optional)', value: model, style: 'width:100%' });
  const d = h('input', { id: 'work-dataset', name: 'dataset', type: 'text', spellcheck: 'false', placeholder: 'publisher/dataset@version (optional)', value: dataset, style: 'width:100%' });
  const scopeForm = h(
    'form',
    {
      id: 'work-scope',
      onsubmit: (ev) => {
        ev.preventDefault();
        const p = new URLSearchParams();
        if (m.value.trim()) p.set('model', m.value.trim());
        else if (d.value.trim()) p.set('dataset', d.value.trim());
        const q = p.toString();
        location.hash = `#/work${q ? `?${q}` : ''}`;
      },
    },
    h('p', null, h('label', { for: 'work-model' }, 'Only the dataset versions a model checkpoint was trained on')),
    m,
    h('p', null, h('label', { for: 'work-dataset' }, 'Or only one dataset version')),
    d,
    h('p', null, h('button', { type: 'submit' }, 'Set the scope')),
  );
  const run = async (files) => {
    if (!files.length) return;
    delete out.dataset.done;
    out.replaceChildren(h('p', { class: 'loading' }, 'Reading the files and checking the proofs…'));
    try {
      await checkWorks(out, progress, files, { model, dataset }, alive);
    } catch (e) {
      if (alive()) out.replaceChildren(errorBox(e.message));
    }
    if (alive()) out.dataset.done = 'true';
  };
  fileInput.addEventListener('change', () => run([...(fileInput.files ?? [])]));
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    run([...(ev.dataTransfer?.files ?? [])]);
  });
  root.append(
    section('Scope', scopeForm, h('p', { class: 'note', id: 'work-scope-now' }, model ? `Checking the dataset versions ${model} was trained on.` : dataset ? `Checking ${dataset} only.` : 'Checking every dataset version in the log.')),
    section('Your works', drop, progress),
    out,
  );
}

/** A work read in the browser: {name, size, cid, kind, total, pids (sorted, unique), texts: pid -> text, error}. */
export async function readWork(file) {
  const w = { name: file.name, size: file.size, kind: kindOf(file.name), cid: null, pids: [], texts: new Map(), error: null };
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    w.cid = cidOfBytes(bytes);
    const text = workText(w.kind, decodeUtf8(bytes), { parseHtml: (s) => new DOMParser().parseFromString(s, 'text/html') });
    for (const p of cutPassages(text)) if (!w.texts.has(p.id)) w.texts.set(p.id, p.text);
    // Sorted by their bytes: lowercase hex after the same prefix sorts the same way.
    w.pids = [...w.texts.keys()].sort();
  } catch (e) {
    w.error = e;
  }
  return w;
}

async function scopeVersions({ model, dataset }) {
  if (model) return checkpointVersions(model);
  if (dataset) {
    const mm = /^([^/@]+)\/([^/@]+)@(.+)$/.exec(dataset);
    if (!mm) throw new Error('A dataset version is written publisher/dataset@version.');
    const v = await api.datasetVersion(mm[1], mm[2], mm[3]).catch((e) => {
      if (e instanceof ApiError && e.status === 404) throw new Error(`No dataset version ${dataset} in the log.`);
      throw e;
    });
    return { versions: [{ publisher: mm[1], dataset: mm[2], version: mm[3], index: Number(v.index) }], truncated: false };
  }
  return allVersions();
}

async function checkWorks(out, progress, files, scope, alive) {
  forgetEntries();
  await latestCheckpoint({ fresh: true });
  const sc = await scopeVersions(scope);
  const works = [];
  for (const [k, f] of files.entries()) {
    progress.textContent = `Reading ${k + 1} of ${files.length}: ${f.name}`;
    works.push(await readWork(f));
  }
  progress.textContent = '';
  // Each version's entry once, checked against the signed checkpoint.
  const entries = new Map();
  const entryOf = (v) => {
    if (!entries.has(v.index)) entries.set(v.index, versionEntry(v));
    return entries.get(v.index);
  };
  const jobs = [];
  for (const w of works) {
    w.results = [];
    if (w.error || w.pids.length === 0) continue;
    for (const v of sc.versions) jobs.push(async () => w.results.push(await checkVersion(v, w, await entryOf(v))));
  }
  let done = 0;
  await pool(jobs, PARALLEL, () => {
    done++;
    progress.textContent = `Checked ${done} of ${jobs.length} (work, dataset version) pairs.`;
  });
  if (!alive()) return;
  for (const w of works) w.results.sort((a, b) => a.v.index - b.v.index);
  out.replaceChildren(...report(works, sc));
}

async function pool(jobs, n, onDone) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      await j();
      onDone();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
}

/** The version's entry, verified in the log: {entry} or {error}. */
async function versionEntry(v) {
  try {
    const e = await verifiedEntry(v.index);
    if (!e.ok) throw e.error ?? new Error('the dataset version entry is not in the log');
    const d = e.entry;
    if (d.type !== 'dataset_version') throw new Error(`entry ${v.index} is not a dataset version`);
    if (d.publisher !== v.publisher || d.dataset !== v.dataset || d.version !== v.version) throw new Error(`entry ${v.index} is not ${v.publisher}/${v.dataset}@${v.version}`);
    return { entry: d };
  } catch (error) {
    return { error };
  }
}

/**
 * One work in one version: without a passage tree in the version's entry, undecidable; otherwise
 * the work's passage ids (in requests of at most 4096) and each answer's multi-range proof
 * verified against the entry's `passages` root and size. A proof that does not verify, or a
 * server count that is not the proven one, makes the answer "does not verify", never "absent".
 */
export async function checkVersion(v, w, { entry, error }) {
  const res = { v, state: 'bad', found: 0, total: w.pids.length, hits: [], error: null };
  try {
    if (error) throw error;
    const tree = entry.passages;
    if (!tree) {
      res.state = 'unproven';
      return res;
    }
    for (let at = 0; at < w.pids.length; at += MAX_PASSAGE_QUERY) {
      const pids = w.pids.slice(at, at + MAX_PASSAGE_QUERY);
      let answer;
      try {
        const reveal = Math.max(1, Math.min(REVEAL, Math.floor(MAX_REVEALED / pids.length)));
        answer = await busyRetry(() => api.versionPassages(v.publisher, v.dataset, v.version, pids, reveal));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) throw new Error('the server says this version has no passage tree, but its entry names one');
        throw e;
      }
      const got = verifyRanges(tree.root, tree.size, pids.map(passageRange), answer.proof);
      const claimed = new Map((answer.results ?? []).map((r) => [r.passage, r.count]));
      for (const [k, pid] of pids.entries()) {
        const r = got[k];
        if (claimed.has(pid) && BigInt(claimed.get(pid)) !== r.count) throw new Error(`the server says ${claimed.get(pid)} items hold a passage, its proof shows ${r.count}`);
        if (r.count === 0n) continue;
        const items = [...new Set(r.revealed.map(({ leaf }) => splitPassage(leaf)?.cid).filter(Boolean))].sort();
        res.hits.push({ pid, text: w.texts.get(pid), count: r.count, items });
      }
    }
    res.found = res.hits.length;
    res.state = res.found ? 'in' : 'out';
  } catch (e) {
    res.error = e;
    res.state = 'bad';
    res.hits = [];
    res.found = 0;
  }
  return res;
}

/** `call()`, again after a pause while the service answers 503 (busy). */
async function busyRetry(call) {
  for (let k = 1; ; k++) {
    try {
      return await call();
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 503 || k >= TRIES) throw e;
      const wait = Math.min(10, e.retryAfter ?? k);
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
  }
}

function workState(w) {
  if (w.error) return 'unreadable';
  if (!w.pids.length) return 'empty';
  if (w.results.some((r) => r.state === 'in')) return 'found';
  if (w.results.some((r) => r.state === 'bad')) return 'bad';
  if (w.results.some((r) => r.state === 'out')) return 'absent';
  return 'unproven';
}

function report(works, sc) {
  const parts = [];
  if (sc.checkpoint) parts.push(h('p', null, 'Model checkpoint: ', h('a', { href: modelRoute(sc.checkpoint.publisher, sc.checkpoint.model, sc.checkpoint.checkpoint) }, `${sc.checkpoint.publisher}/${sc.checkpoint.model}@${sc.checkpoint.checkpoint}`), ` (entry `, entryLink(sc.checkpoint.index), `, verified): its ${fmtInt(sc.versions.length)} dataset version${sc.versions.length === 1 ? '' : 's'}.`));
  if (sc.truncated) parts.push(h('p', { class: 'note' }, 'Only the first dataset versions of the log were checked.'));
  if (works.length > 1) parts.push(summaryTable(works));
  return [section('Result', ...parts), ...works.map(workResult)];
}

function summaryTable(works) {
  const t = table(
    'Summary',
    ['Work', 'Passages', 'Found', 'Dataset versions holding some', 'Answer'],
    works.map((w) => {
      const best = w.results.reduce((m, r) => Math.max(m, r.found), 0);
      const holding = w.results.filter((r) => r.state === 'in');
      return [
        // Not a fragment link: the fragment is the explorer's route.
        h('a', { href: location.hash, class: 'work-jump', onclick: (ev) => {
          ev.preventDefault();
          document.getElementById(`work-${workAnchor(w)}`)?.scrollIntoView({ block: 'start' });
        } }, w.name),
        w.error ? '—' : fmtInt(w.pids.length),
        w.error ? '—' : `${fmtInt(best)} of ${fmtInt(w.pids.length)}`,
        holding.length ? holding.map((r) => `${r.v.publisher}/${r.v.dataset}@${r.v.version}`).join(', ') : 'none',
        stateText(workState(w)),
      ];
    }),
  );
  t.id = 'work-summary';
  return t;
}

function stateText(s) {
  return {
    found: 'found (proven)',
    absent: 'not found (proven absent)',
    bad: 'the server\'s answer does not verify',
    unproven: 'no passage tree to check',
    empty: 'no passage long enough',
    unreadable: 'could not be read',
  }[s];
}

function workAnchor(w) {
  return encodeURIComponent(w.name).replace(/[^A-Za-z0-9_-]/g, '_');
}

function workResult(w) {
  const state = workState(w);
  const inV = w.results.filter((r) => r.state === 'in');
  const outV = w.results.filter((r) => r.state === 'out');
  const bad = w.results.filter((r) => r.state === 'bad');
  const unproven = w.results.filter((r) => r.state === 'unproven');
  const best = w.results.reduce((m, r) => Math.max(m, r.found), 0);
  let verdict;
  if (w.error) verdict = errorBox(`Could not read ${w.name}: ${w.error.message}`);
  else if (!w.pids.length) verdict = h('p', { class: 'result' }, h('strong', null, 'No passage to check'), `: no sentence of this work is ${MIN_PASSAGE_BYTES} bytes or longer once normalised.`);
  else if (inV.length) verdict = h('p', { class: 'result used', dataset: { verdict: 'found' } }, h('strong', null, `${fmtInt(best)} of its ${fmtInt(w.pids.length)} passage${w.pids.length === 1 ? '' : 's'} found`), ` in ${fmtInt(inV.length)} dataset version${inV.length === 1 ? '' : 's'}, each proven.`);
  else if (bad.length) verdict = h('p', { class: 'result', dataset: { verdict: 'unknown' } }, h('strong', null, 'No verified answer'), ` for ${fmtInt(bad.length)} dataset version${bad.length === 1 ? '' : 's'}: the server's proofs do not verify.`);
  else if (outV.length) verdict = h('p', { class: 'result notused', dataset: { verdict: 'absent' } }, h('strong', null, 'Not found'), ` — ${w.pids.length === 1 ? 'its one passage is' : `all ${fmtInt(w.pids.length)} of its passages are`} proven absent from ${outV.length === 1 ? 'the' : `all ${fmtInt(outV.length)}`} dataset version${outV.length === 1 ? '' : 's'} with a passage tree.`);
  else verdict = h('p', { class: 'result', dataset: { verdict: 'undecided' } }, h('strong', null, 'Cannot be decided'), w.results.length ? ': no dataset version here was published with a passage tree.' : ': there are no dataset versions to check.');
  return section(
    `${w.name}`,
    h(
      'div',
      { class: 'work-file', id: `work-${workAnchor(w)}`, dataset: { file: w.name, state, found: String(best), total: String(w.pids.length) } },
      h('p', { class: 'note' }, `${fmtBytes(w.size)}, read as ${w.kind === 'markdown' ? 'Markdown' : w.kind === 'html' ? 'HTML' : 'text'}`, w.cid ? [', content id ', hashText(w.cid, 12), ' (', h('a', { href: `#/check?id=${encodeURIComponent(w.cid)}` }, 'check this exact file'), ')'] : null, `; ${fmtInt(w.pids.length)} passage${w.pids.length === 1 ? '' : 's'}.`),
      verdict,
      bad.length && inV.length ? errorBox(`${bad.length} answer${bad.length === 1 ? '' : 's'} from the server did not verify; do not trust ${bad.length === 1 ? 'it' : 'them'}.`) : null,
      unproven.length ? h('p', { class: 'note' }, `${fmtInt(unproven.length)} dataset version${unproven.length === 1 ? ' was' : 's were'} published without a passage tree: whether ${unproven.length === 1 ? 'it holds' : 'they hold'} this work cannot be proven either way (its exact copies can, by content id).`) : null,
      w.results.length ? h('div', { class: 'work-versions' }, w.results.map((r) => versionResult(r, w))) : null,
    ),
  );
}

function versionResult(r, w) {
  const v = r.v;
  const ds = `${v.publisher}/${v.dataset}@${v.version}`;
  const cls = r.state === 'in' ? 'result used' : r.state === 'out' ? 'result notused' : 'result';
  const what = {
    in: `${fmtInt(r.found)} of ${fmtInt(r.total)} passages found (multi-range proof)`,
    out: `none of the ${fmtInt(r.total)} passages (range exclusions: adjacent leaves bracket each one)`,
    unproven: 'no passage tree: cannot be decided',
    bad: 'the server\'s answer does not verify',
  }[r.state];
  // Items holding the work, with how many of its passages each holds.
  const byItem = new Map();
  for (const hit of r.hits) for (const cid of hit.items) byItem.set(cid, (byItem.get(cid) ?? 0) + 1);
  const items = [...byItem.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return h(
    'div',
    { class: `${cls} work-version`, dataset: { state: r.state, dataset: ds, found: String(r.found), total: String(r.total) } },
    h('div', { class: 'row' }, h('a', { href: datasetRoute(v.publisher, v.dataset, v.version) }, ds), badge(r.state === 'bad' ? 'bad' : r.state === 'unproven' ? 'none' : 'ok', r.state === 'unproven' ? 'not provable' : undefined), h('span', null, what)),
    r.error ? h('p', { class: 'note' }, `Reason: ${r.error.message}`) : null,
    items.length
      ? h(
          'details',
          { open: items.length <= 10 },
          h('summary', null, `${fmtInt(items.length)} item${items.length === 1 ? '' : 's'} holding passages of ${w.name}${r.hits.some((x) => BigInt(x.items.length) < x.count) ? ' (shown: for a passage in more items than the proof reveals, the first and the last; every count is proven)' : ''}`),
          h('ul', { class: 'work-items' }, items.map(([cid, n]) => h('li', null, h('a', { href: itemRoute(v.publisher, v.dataset, v.version, cid) }, hashText(cid, 10)), ` — ${fmtInt(n)} passage${n === 1 ? '' : 's'}`))),
        )
      : null,
    r.hits.length
      ? h(
          'details',
          null,
          h('summary', null, 'The passages found'),
          h('ol', { class: 'work-passages' }, r.hits.map((hit) => h('li', { dataset: { pid: hit.pid } }, h('q', null, hit.text), ` — in ${fmtInt(hit.count)} item${hit.count === 1n ? '' : 's'}`))),
        )
      : null,
    h('p', { class: 'note' }, 'Published in entry ', entryLink(v.index), '.'),
  );
}
