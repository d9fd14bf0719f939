// Models and their checkpoints: the dataset versions each trained on, the opt-out horizon, and a
// compliance badge (compliant / violation / not yet checked) computed here from the checkpoint's
// compliance bundle, linking to the evidence.

import { h, dl, section, table, badge, hashText, fmtInt, route, errorBox } from '../dom.js';
import { api, ApiError } from '../api.js';
import { logInfo, verifiedEntry } from '../trust.js';
import { entryLink, modelRoute, datasetLabelLink } from '../entryview.js';
import { recentEntries } from '../logscan.js';
import { verifyComplianceBundle } from '../../lib/compliance.js';
import { SCAN } from './publishers.js';

export async function render(root, ctx) {
  if (ctx.params.checkpoint != null) return renderCheckpoint(root, ctx);
  if (ctx.params.model != null) return renderModel(root, ctx);
  return renderList(root, ctx);
}

const bundles = new Map();

/**
 * The compliance of the model_checkpoint entry at `index`, checked here: {state: 'compliant' |
 * 'violation' | 'bad' | 'none', violations, error, bundle}. 'none' (not yet checked) when the
 * server cannot assemble a bundle; 'bad' when the bundle it sends does not verify.
 */
export function complianceOf(index) {
  if (!bundles.has(index)) {
    bundles.set(
      index,
      (async () => {
        let bundle;
        try {
          bundle = await api.compliance(index);
        } catch (error) {
          return { state: 'none', error };
        }
        try {
          const log = await logInfo();
          const r = verifyComplianceBundle(bundle, log.key);
          return { state: r.verdict === 'compliant' ? 'compliant' : 'violation', violations: r.violations, bundle };
        } catch (error) {
          return { state: 'bad', error, bundle };
        }
      })(),
    );
  }
  return bundles.get(index);
}

function complianceBadge(c) {
  if (c.state === 'bad') return badge('bad', 'does not verify');
  return badge(c.state);
}

async function renderList(root, { alive }) {
  root.append(h('h1', null, 'Models'));
  const recent = await recentEntries(SCAN);
  if (!alive()) return;
  const models = new Map();
  for (const { index, entry } of recent) {
    if (entry?.type !== 'model_checkpoint') continue;
    const k = `${entry.publisher}/${entry.model}`;
    const m = models.get(k) ?? { publisher: entry.publisher, model: entry.model, count: 0, latest: null };
    m.count++;
    if (!m.latest) m.latest = { checkpoint: entry.checkpoint, index };
    models.set(k, m);
  }
  root.append(
    h('p', { class: 'note' }, `Models with checkpoints in the last ${fmtInt(SCAN)} entries of the log.`),
    table(
      null,
      ['Model', 'Publisher', 'Recent checkpoints', 'Latest'],
      [...models.values()].map((m) => [h('a', { href: modelRoute(m.publisher, m.model) }, m.model), h('a', { href: route('publisher', m.publisher) }, m.publisher), fmtInt(m.count), h('a', { href: modelRoute(m.publisher, m.model, m.latest.checkpoint) }, m.latest.checkpoint)]),
      { empty: 'No model checkpoint has been recorded recently.' },
    ),
  );
}

async function allCheckpoints(publisher, model) {
  const out = [];
  let after;
  for (let i = 0; i < 20; i++) {
    const page = await api.modelCheckpoints(publisher, model, { limit: 100, after });
    out.push(...page.items);
    if (page.next == null) break;
    after = page.next;
  }
  return out;
}

async function renderModel(root, { params, alive }) {
  const { publisher, model } = params;
  root.append(h('h1', null, `${publisher}/${model}`));
  const cps = await allCheckpoints(publisher, model);
  if (!alive()) return;
  if (cps.length === 0) {
    root.append(errorBox('No checkpoints of this model are in the log.'));
    return;
  }
  const badges = new Map();
  root.append(
    dl([['Publisher', h('a', { href: route('publisher', publisher) }, publisher)]]),
    section(
      'Checkpoints',
      table(
        null,
        ['Checkpoint', 'Entry', 'Trained on', 'Opt-out horizon', 'Compliance'],
        cps.map((c) => {
          const slot = h('span', null, badge('pending'));
          badges.set(c.index, slot);
          return [h('a', { href: modelRoute(publisher, model, c.checkpoint) }, c.checkpoint), entryLink(c.index), h('div', null, c.datasets.map((d) => h('div', null, datasetLabelLink(d)))), fmtInt(c.optout_horizon), h('a', { href: modelRoute(publisher, model, c.checkpoint), 'aria-label': `compliance evidence of ${c.checkpoint}` }, slot)];
        }),
      ),
    ),
  );
  await Promise.all(
    cps.map(async (c) => {
      const r = await complianceOf(c.index);
      if (alive()) badges.get(c.index).replaceChildren(complianceBadge(r));
    }),
  );
}

async function renderCheckpoint(root, { params, alive }) {
  const { publisher, model, checkpoint } = params;
  root.append(h('h1', null, `${publisher}/${model}@${checkpoint}`));
  const cps = await allCheckpoints(publisher, model);
  if (!alive()) return;
  const c = cps.find((x) => x.checkpoint === checkpoint);
  if (!c) {
    root.append(errorBox('No such checkpoint in the log.'));
    return;
  }
  const complianceSlot = h('span', { id: 'compliance-badge' }, badge('pending'));
  const entryBadge = h('span', { id: 'entry-badge' }, badge('pending'));
  root.append(
    h('p', { class: 'row' }, 'Compliance: ', complianceSlot),
    dl([
      ['Model', h('a', { href: modelRoute(publisher, model) }, `${publisher}/${model}`)],
      ['Entry', entryLink(c.index)],
      ['Entry verified', entryBadge],
      ['Weights', h('span', null, `${fmtInt(c.weights_count)} files, root `, hashText(c.weights_root, 12))],
      ['Opt-out horizon', h('span', null, fmtInt(c.optout_horizon), ' — every train-ai opt-out in entries before this index is claimed honoured')],
    ]),
    section('Trained on', h('ul', null, c.datasets.map((d, k) => h('li', null, datasetLabelLink(d), ' (entry ', entryLink(c.dataset_indexes[k]), ')')))),
  );
  const ev = section('Evidence');
  root.append(ev);
  const [r, e] = await Promise.all([complianceOf(c.index), verifiedEntry(c.index)]);
  if (!alive()) return;
  complianceSlot.replaceChildren(complianceBadge(r));
  entryBadge.replaceChildren(badge(e.ok ? 'ok' : 'bad'));
  if (r.state === 'none') {
    ev.append(h('p', { class: 'note' }, `Not yet checked: the server could not assemble a compliance bundle (${r.error instanceof ApiError ? r.error.message : 'unavailable'}).`));
  } else if (r.state === 'bad') {
    ev.append(errorBox(`The compliance bundle from the server does not verify: ${r.error.message}`));
  } else {
    const b = r.bundle;
    ev.append(
      h('p', null, `Checked in this browser against the signed checkpoint: ${fmtInt(b.optouts.length)} opt-out entr${b.optouts.length === 1 ? 'y' : 'ies'} before the horizon, ${fmtInt(b.set_proofs.length)} set proof${b.set_proofs.length === 1 ? '' : 's'} across ${fmtInt(b.datasets.length)} dataset version${b.datasets.length === 1 ? '' : 's'}.`),
      r.violations.length
        ? table(
            'Opted-out ids found in the training data (each with its inclusion proof)',
            ['Opt-out entry', 'Content id', 'Dataset version'],
            r.violations.map((v) => [entryLink(v.optout_index), h('a', { href: `#/check?id=${encodeURIComponent(v.cid)}` }, hashText(v.cid, 10)), datasetLabelLink(v.dataset)]),
          )
        : h('p', null, 'Every opted-out id is proven absent (exclusion proofs) from every dataset version above.'),
    );
  }
  ev.append(h('p', null, h('a', { href: `/v1/compliance/${c.index}`, download: `${model}-${checkpoint}.compliance.json` }, 'Download the compliance bundle'), ' and check it offline with ', h('code', null, 'prov verify compliance --vkey … BUNDLE'), '.'));
}
