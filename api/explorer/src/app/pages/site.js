// "Is my site in it?": a site owner types a domain (covering its subdomains) or a URL prefix and
// sees, for every dataset version (or only those a model checkpoint names), how many items came
// from it, proven with a range proof checked here against the source tree root THAT version's
// entry commits to: a count and the items shown, or a verified exclusion (two adjacent leaves
// bracketing the site's range). A version published without a source tree cannot be decided,
// and the page says so rather than guessing.

import { h, section, badge, fmtInt, errorBox, hashText } from '../dom.js';
import { api, ApiError } from '../api.js';
import { verifiedEntry } from '../trust.js';
import { entryLink, datasetRoute, modelRoute, itemRoute } from '../entryview.js';
import { Site } from '../../lib/source.js';
import { verifyRange, siteRange, splitSource } from '../../lib/range.js';
import { recentEntries } from '../logscan.js';
import { SCAN } from './publishers.js';

/** Dataset versions examined, at most (as "Was my work used?"). */
const MAX_VERSIONS = 200;
/** Items a range proof reveals per version (the server's default is 100). */
const REVEAL = 100;

export async function render(root, { query, alive }) {
  root.append(
    h('h1', null, 'Is my site in it?'),
    h('p', null, 'Type a domain (it covers every subdomain: ', h('code', null, 'example.com'), ' covers ', h('code', null, 'www.example.com'), ' but never ', h('code', null, 'notexample.com'), ') or a URL prefix (', h('code', null, 'https://example.com/blog/'), '). For every dataset version the page shows how many items came from it, with a range proof your browser checks against the root the version\'s log entry commits to.'),
  );
  const q = h('input', { id: 'site-input', name: 'q', type: 'text', spellcheck: 'false', placeholder: 'example.com', value: query.get('q') ?? '', style: 'width:100%' });
  const m = h('input', { id: 'model-input', name: 'model', type: 'text', spellcheck: 'false', placeholder: 'publisher/model@checkpoint (optional)', value: query.get('model') ?? '', style: 'width:100%' });
  const out = h('div', { id: 'site-result', 'aria-live': 'polite' });
  root.append(
    h(
      'form',
      {
        id: 'site-form',
        onsubmit: (ev) => {
          ev.preventDefault();
          const p = new URLSearchParams({ q: q.value.trim() });
          if (m.value.trim()) p.set('model', m.value.trim());
          location.hash = `#/site?${p}`;
        },
      },
      h('p', null, h('label', { for: 'site-input' }, 'Domain or URL prefix')),
      q,
      h('p', null, h('label', { for: 'model-input' }, 'Only the dataset versions a model checkpoint was trained on')),
      m,
      h('p', null, h('button', { type: 'submit' }, 'Check this site')),
    ),
    out,
  );
  const given = (query.get('q') ?? '').trim();
  if (!given) return;
  let site;
  try {
    site = Site.parse(given);
  } catch (e) {
    out.append(errorBox(`Not a site: ${e.message}. A domain looks like example.com; a URL prefix like https://example.com/blog/.`));
    return;
  }
  out.append(h('p', { class: 'loading' }, 'Looking it up and checking the proofs…'));
  const model = (query.get('model') ?? '').trim();
  let scope;
  try {
    scope = model ? await checkpointVersions(model) : await allVersions();
  } catch (e) {
    if (!alive()) return;
    out.replaceChildren(errorBox(e.message));
    return;
  }
  const served = await serverAnswers(site.toString());
  const checked = await Promise.all(scope.versions.map((v) => checkVersion(v, site, served.get(String(v.index)))));
  if (!alive()) return;
  checked.sort((a, b) => a.v.index - b.v.index);
  out.replaceChildren(...results(site, checked, scope));
  if (!scope.checkpoint) out.append(await modelsSection(site, checked));
  if (!alive()) return;
  root.dataset.site = site.toString();
}

/**
 * The model checkpoints (among the recent entries of the log, as the models page lists them)
 * trained on a dataset version that holds items from the site, each linked to this page for that
 * checkpoint alone.
 */
async function modelsSection(site, checked) {
  const inIdx = new Set(checked.filter((c) => c.state === 'in').map((c) => Number(c.v.index)));
  if (inIdx.size === 0) return section('Model checkpoints', h('p', { class: 'empty' }, 'None: no dataset version holds items from this site.'));
  let recent = [];
  try {
    recent = await recentEntries(SCAN);
  } catch {
    recent = [];
  }
  const cps = recent.filter(({ entry }) => entry?.type === 'model_checkpoint' && (entry.datasets ?? []).some((d) => inIdx.has(Number(d.index))));
  return section(
    'Model checkpoints trained on it',
    h('p', { class: 'note' }, `Checkpoints in the last ${fmtInt(SCAN)} entries of the log that name a dataset version holding items from this site.`),
    cps.length
      ? h(
          'ul',
          { id: 'site-models' },
          cps.map(({ index, entry: e }) => {
            const label = `${e.publisher}/${e.model}@${e.checkpoint}`;
            return h('li', null, h('a', { href: modelRoute(e.publisher, e.model, e.checkpoint) }, label), ' (entry ', entryLink(index), ') · ', h('a', { href: `#/site?${new URLSearchParams({ q: site.toString(), model: label })}` }, 'only its versions'));
          }),
        )
      : h('p', { class: 'empty' }, 'None recently.'),
  );
}

/** {versions: [{publisher, dataset, version, index}], truncated, checkpoint?} of one checkpoint, from its verified entry. */
export async function checkpointVersions(label) {
  const mm = /^([^/@]+)\/([^/@]+)@(.+)$/.exec(label);
  if (!mm) throw new Error('A model checkpoint is written publisher/model@checkpoint.');
  const [, publisher, model, checkpoint] = mm;
  let found = null;
  let after;
  for (let i = 0; i < 20 && !found; i++) {
    const page = await api.modelCheckpoints(publisher, model, { limit: 100, after });
    found = page.items.find((c) => c.checkpoint === checkpoint) ?? null;
    if (page.next == null) break;
    after = page.next;
  }
  if (!found) throw new Error(`No checkpoint ${label} in the log.`);
  const e = await verifiedEntry(found.index);
  if (!e.ok || e.entry.type !== 'model_checkpoint') throw new Error(`The entry of ${label} does not verify: ${e.error?.message ?? 'not a model checkpoint'}`);
  // The versions the signed entry names, never the listing's copy.
  const versions = e.entry.datasets.map((d) => ({ publisher: d.publisher, dataset: d.dataset, version: d.version, index: Number(d.index) }));
  return { versions, truncated: false, checkpoint: { publisher, model, checkpoint, index: found.index } };
}

export async function allVersions() {
  const versions = [];
  let cursor;
  while (versions.length < MAX_VERSIONS) {
    const page = await api.datasets({ limit: 100, cursor });
    versions.push(...page.items);
    if (page.next == null) return { versions, truncated: false };
    cursor = page.next;
  }
  return { versions: versions.slice(0, MAX_VERSIONS), truncated: true };
}

/** The server's answers from /v1/sites/{site}, by entry index (empty when it has none). */
async function serverAnswers(site) {
  const out = new Map();
  let cursor;
  try {
    for (let i = 0; i < 20; i++) {
      const body = await api.site(site, { limit: 100, cursor, reveal: REVEAL });
      const items = Array.isArray(body) ? body : (body.items ?? []);
      for (const a of items) out.set(String(a.entry_index), a);
      if (Array.isArray(body) || body.next == null) break;
      cursor = body.next;
    }
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
  return out;
}

/**
 * One version: its entry verified in the log; without `sources`, undecidable; otherwise the
 * range proof (from the /v1/sites answer, or asked for this version alone when the answer left
 * it out) verified against the entry's source root and size.
 */
async function checkVersion(v, site, answer) {
  const res = { v, state: 'bad', count: null, revealed: [], error: null, claimed: answer?.count ?? null };
  try {
    const e = await verifiedEntry(v.index);
    if (!e.ok) throw e.error ?? new Error('the dataset version entry is not in the log');
    const d = e.entry;
    if (d.type !== 'dataset_version') throw new Error(`entry ${v.index} is not a dataset version`);
    if (d.publisher !== v.publisher || d.dataset !== v.dataset || d.version !== v.version) throw new Error(`entry ${v.index} is not ${v.publisher}/${v.dataset}@${v.version}`);
    if (!d.sources) {
      res.state = 'unproven';
      return res;
    }
    let proof = answer?.proof;
    if (!proof) {
      const one = await api.versionSite(v.publisher, v.dataset, v.version, site.toString(), REVEAL);
      proof = one.proof;
      res.claimed = one.count ?? null;
    }
    const r = verifyRange(d.sources.root, d.sources.size, siteRange(site), proof);
    if (res.claimed != null && BigInt(res.claimed) !== r.count) throw new Error(`the server says ${res.claimed} items, its proof shows ${r.count}`);
    res.count = r.count;
    res.revealed = r.revealed.map(({ index, leaf }) => ({ index, ...(splitSource(leaf) ?? { key: '?', cid: null }) }));
    res.state = r.count > 0n ? 'in' : 'out';
  } catch (error) {
    res.error = error;
    res.state = 'bad';
  }
  return res;
}

function results(site, checked, scope) {
  const inV = checked.filter((c) => c.state === 'in');
  const outV = checked.filter((c) => c.state === 'out');
  const unproven = checked.filter((c) => c.state === 'unproven');
  const bad = checked.filter((c) => c.state === 'bad');
  const items = inV.reduce((s, c) => s + c.count, 0n);
  const where = scope.checkpoint ? ` of the ${fmtInt(checked.length)} the checkpoint ${scope.checkpoint.publisher}/${scope.checkpoint.model}@${scope.checkpoint.checkpoint} was trained on` : '';
  let verdict;
  if (inV.length) verdict = h('p', { class: 'result used', id: 'site-verdict', dataset: { verdict: 'in', items: String(items) } }, h('strong', null, `${fmtInt(items)} item${items === 1n ? '' : 's'} from ${site} in ${fmtInt(inV.length)} dataset version${inV.length === 1 ? '' : 's'}`), where, '.');
  else if (bad.length) verdict = h('p', { class: 'result', id: 'site-verdict', dataset: { verdict: 'unknown' } }, h('strong', null, 'No verified answer'), ` for ${fmtInt(bad.length)} dataset version${bad.length === 1 ? '' : 's'}: the server's proofs do not verify.`);
  else if (outV.length) verdict = h('p', { class: 'result notused', id: 'site-verdict', dataset: { verdict: 'out' } }, h('strong', null, `Nothing from ${site}`), ` — proven absent from all ${fmtInt(outV.length)} dataset version${outV.length === 1 ? '' : 's'} with a source tree${where}.`);
  else verdict = h('p', { class: 'result', id: 'site-verdict', dataset: { verdict: 'undecided' } }, h('strong', null, 'Cannot be decided'), checked.length ? ': no dataset version here was published with a source tree.' : ': there are no dataset versions to check.');
  return [
    section(
      'Result',
      h('p', null, `Site (canonical form): `, h('code', { id: 'site-canonical' }, site.toString()), ` — every source key starting with `, h('code', { id: 'site-prefix' }, site.prefix())),
      verdict,
      bad.length ? errorBox(`${bad.length} answer${bad.length === 1 ? '' : 's'} from the server did not verify; do not trust ${bad.length === 1 ? 'it' : 'them'}.`) : null,
      unproven.length ? h('p', { class: 'note', id: 'site-unproven' }, `${fmtInt(unproven.length)} dataset version${unproven.length === 1 ? ' was' : 's were'} published without a source tree, so whether ${unproven.length === 1 ? 'it holds' : 'they hold'} items from this site cannot be proven either way.`) : null,
      scope.truncated ? h('p', { class: 'note' }, `Only the first ${MAX_VERSIONS} dataset versions were checked.`) : null,
      scope.checkpoint ? h('p', null, 'Model checkpoint: ', h('a', { href: modelRoute(scope.checkpoint.publisher, scope.checkpoint.model, scope.checkpoint.checkpoint) }, `${scope.checkpoint.publisher}/${scope.checkpoint.model}@${scope.checkpoint.checkpoint}`), ' (entry ', entryLink(scope.checkpoint.index), ', verified).') : null,
    ),
    section('Dataset versions', checked.length ? h('div', { id: 'site-versions' }, checked.map(versionResult)) : h('p', { class: 'empty' }, 'The log has no dataset versions yet.')),
  ];
}

function versionResult(c) {
  const v = c.v;
  const ds = `${v.publisher}/${v.dataset}@${v.version}`;
  const cls = c.state === 'in' ? 'result used' : c.state === 'out' ? 'result notused' : 'result';
  const what = {
    in: `${fmtInt(c.count)} item${c.count === 1n ? '' : 's'} from this site (range proof)`,
    out: 'nothing from this site (range exclusion: two adjacent items bracket it)',
    unproven: 'no source tree: cannot be decided',
    bad: 'the server\'s answer does not verify',
  }[c.state];
  const shown = c.revealed.filter((x) => x.cid);
  return h(
    'div',
    { class: cls, dataset: { state: c.state, dataset: ds, count: c.count == null ? '' : String(c.count) } },
    h('div', { class: 'row' }, h('a', { href: datasetRoute(v.publisher, v.dataset, v.version) }, ds), badge(c.state === 'bad' ? 'bad' : c.state === 'unproven' ? 'none' : 'ok', c.state === 'unproven' ? 'not provable' : undefined), h('span', null, what)),
    c.error ? h('p', { class: 'note' }, `Reason: ${c.error.message}`) : null,
    shown.length
      ? h(
          'details',
          { open: shown.length <= 20 },
          h('summary', null, shown.length < Number(c.count) ? `${fmtInt(shown.length)} of the ${fmtInt(c.count)} items (the first and the last)` : `The ${fmtInt(shown.length)} item${shown.length === 1 ? '' : 's'}`),
          h('ul', { class: 'site-items' }, shown.map((x) => h('li', null, h('a', { href: itemRoute(v.publisher, v.dataset, v.version, x.cid) }, hashText(x.cid, 10)), ' ', h('code', { class: 'source-key' }, x.key)))),
        )
      : null,
    h('p', { class: 'note' }, 'Published in entry ', entryLink(v.index), '.'),
  );
}
