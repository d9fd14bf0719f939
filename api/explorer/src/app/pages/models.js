// Models and their checkpoints: the dataset versions each trained on, the opt-out horizon, and a
// compliance badge computed here from the checkpoint's compliance bundle AND this browser's own
// completeness scan of the log's tiles below the horizon, linking to the evidence. "compliant"
// (green) only when the bundle verifies, names no violation, the scan found no opt-out the bundle
// leaves out, and the horizon is not 0; the evidence says what was not checked.

import { h, dl, section, table, badge, hashText, fmtInt, route, errorBox } from '../dom.js';
import { api, ApiError } from '../api.js';
import { linkedToCosigned, logInfo, verifiedEntry } from '../trust.js';
import { entryLink, modelRoute, datasetLabelLink } from '../entryview.js';
import { recentEntries } from '../logscan.js';
import { MirrorUnsupported, giveBundle, mirrorSetting } from '../mirror.js';
import { verifyComplianceBundle, scanCompleteness, conclude, lagEntries, lagSeconds } from '../../lib/compliance.js';
import { SCAN } from './publishers.js';

export async function render(root, ctx) {
  if (ctx.params.checkpoint != null) return renderCheckpoint(root, ctx);
  if (ctx.params.model != null) return renderModel(root, ctx);
  return renderList(root, ctx);
}

const bundles = new Map();

/**
 * The compliance of the model_checkpoint entry at `index`, checked here: {state, conclusion,
 * violations, report, scan, lagEntries, lagSeconds, error, bundle}. `state` is 'compliant' |
 * 'violation' | 'incomplete' | 'vacuous' | 'site_unverified' | 'sites_unproven' | 'unscanned' (verified, but the completeness scan could
 * not run) | 'bad' (does not verify) | 'none' (the server cannot assemble a bundle).
 * `onVerified` is called when the bundle verifies, before the scan (never with a green state).
 */
export function complianceOf(index, onVerified) {
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
        let report;
        try {
          const log = await logInfo();
          report = verifyComplianceBundle(bundle, log.key);
          if (report.modelIndex != null && Number(report.modelIndex) !== Number(index)) throw new Error(`this is the bundle of entry ${report.modelIndex}, not of entry ${index}`);
          // Under a witness policy, only a bundle of a checkpoint the witnesses vouch for.
          await linkedToCosigned(report.checkpoint);
        } catch (error) {
          return { state: 'bad', error, bundle };
        }
        const base = { bundle, report, violations: report.violations, siteViolations: report.siteViolations ?? [], sitesUnproven: report.sitesUnproven ?? [], passageViolations: report.passageViolations ?? [], passagesUnchecked: report.passagesUnchecked ?? [], lagEntries: lagEntries(report) };
        // An id violation stands whatever the scan finds; a site violation is weighed after it
        // (its requester's control of the site is not checked in the browser).
        if (report.violations.length || base.passageViolations.length) return { ...base, state: 'violation', conclusion: 'violated', lagSeconds: lagSeconds(report, report.horizonTime) };
        if (onVerified) onVerified(base);
        let scan;
        try {
          scan = await scanCompleteness(report, (p) => api.tile(p));
        } catch (error) {
          const lag = lagSeconds(report, report.horizonTime);
          return { ...base, state: 'unscanned', conclusion: conclude(report, { complete: null, lagSeconds: lag }), lagSeconds: lag, error };
        }
        const lag = lagSeconds(report, scan.horizonTime ?? report.horizonTime);
        const conclusion = conclude(report, { complete: scan.missing.length === 0, lagSeconds: lag });
        const state = { compliant: 'compliant', incomplete: 'incomplete', vacuous: 'vacuous', site_unverified: 'site_unverified', sites_unproven: 'sites_unproven' }[conclusion] ?? 'unscanned';
        return { ...base, scan, state, conclusion, lagSeconds: lag };
      })(),
    );
  }
  return bundles.get(index);
}

function complianceBadge(c) {
  const text = {
    bad: 'does not verify',
    incomplete: 'incomplete: leaves out opt-outs',
    vacuous: 'vacuous: horizon 0',
    unscanned: 'verified, completeness not checked',
    site_unverified: 'site opt-outs found (requester control not checked)',
    sites_unproven: 'sites unproven: a version has no source tree',
  }[c.state];
  return badge(c.state, text);
}

function fmtLag(seconds) {
  if (seconds == null) return 'an unknown time';
  const d = Math.floor(seconds / 86400);
  const hh = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return `${d} d ${hh} h`;
  if (hh) return `${hh} h ${m} min`;
  if (m) return `${m} min ${seconds % 60} s`;
  return `${seconds} s`;
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
    section(
      'Trained on',
      h('ul', null, c.datasets.map((d, k) => h('li', null, datasetLabelLink(d), ' (entry ', entryLink(c.dataset_indexes[k]), ')'))),
      h('p', null, h('a', { href: `#/site?${new URLSearchParams({ model: `${publisher}/${model}@${checkpoint}` })}`, id: 'site-for-model' }, 'Is my site in the data of this checkpoint?')),
      h('p', null, h('a', { href: `#/work?${new URLSearchParams({ model: `${publisher}/${model}@${checkpoint}` })}`, id: 'work-for-model' }, 'Was my work used to train this checkpoint? (passage by passage)')),
    ),
  );
  const ev = section('Evidence');
  root.append(ev);
  const onVerified = () => alive() && complianceSlot.replaceChildren(badge('pending', 'bundle verified; scanning the log for completeness…'));
  const [r, e] = await Promise.all([complianceOf(c.index, onVerified), verifiedEntry(c.index)]);
  if (!alive()) return;
  complianceSlot.replaceChildren(complianceBadge(r));
  entryBadge.replaceChildren(badge(e.ok ? 'ok' : 'bad'));
  if (r.state === 'none' && r.error instanceof MirrorUnsupported) {
    // A static mirror holds no bundles: the reader gives one, checked against the mirror.
    const input = h('input', { type: 'file', id: 'bundle-file', accept: '.json,application/json' });
    const msg = h('div', { role: 'status' });
    input.addEventListener('change', async () => {
      try {
        giveBundle(c.index, JSON.parse(await input.files[0].text()));
        bundles.delete(c.index);
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      } catch (e) {
        msg.replaceChildren(errorBox(`Not a compliance bundle: ${e.message}`));
      }
    });
    ev.append(
      h('p', { class: 'note', id: 'bundle-wanted' }, 'Read from a static mirror, which holds no compliance bundles. Give this checkpoint\'s bundle (`prov proof compliance --model ... --out FILE`, or the publisher\'s copy) to verify it here against the mirror\'s checkpoint, with its completeness checked against the mirror\'s tiles:'),
      h('p', null, h('label', { for: 'bundle-file' }, 'Compliance bundle '), input),
      msg,
    );
  } else if (r.state === 'none') {
    ev.append(h('p', { class: 'note' }, `Not yet checked: the server could not assemble a compliance bundle (${r.error instanceof ApiError ? r.error.message : 'unavailable'}).`));
  } else if (r.state === 'bad') {
    ev.append(errorBox(`The compliance bundle from the server does not verify: ${r.error.message}`));
  } else {
    const b = r.bundle;
    const proofs = (b.multi_proofs ?? []).length ? `${fmtInt(b.multi_proofs.length)} multi-proof${b.multi_proofs.length === 1 ? '' : 's'}` : `${fmtInt((b.set_proofs ?? []).length)} set proof${(b.set_proofs ?? []).length === 1 ? '' : 's'}`;
    const horizon = Number(r.report.horizon);
    const scanText =
      r.scan != null
        ? r.scan.missing.length
          ? `Completeness: this browser read the ${fmtInt(r.scan.entriesRead)} entries below the horizon from the log's tiles (each checked against the signed checkpoint) and found opt-out${r.scan.missing.length === 1 ? '' : 's'} the bundle leaves out: entr${r.scan.missing.length === 1 ? 'y' : 'ies'} ${r.scan.missing.join(', ')}. The verdict does not stand.`
          : `Completeness: this browser read all ${fmtInt(r.scan.entriesRead)} entries below the horizon from the log's tiles (each checked against the signed checkpoint); the bundle carries every opt-out among them.`
        : r.state === 'violation'
          ? 'Completeness: not needed for a violation (the bundle itself proves it).'
          : `Completeness: NOT checked (${r.error?.message ?? 'the tiles could not be read'}): an opt-out the bundle leaves out would not be seen.`;
    ev.append(
      h('p', null, `Checked in this browser against the signed checkpoint: ${fmtInt(b.optouts.length)} opt-out entr${b.optouts.length === 1 ? 'y' : 'ies'} before the horizon, ${proofs} across ${fmtInt(b.datasets.length)} dataset version${b.datasets.length === 1 ? '' : 's'}.`),
      h('p', { id: 'completeness', dataset: { state: r.scan ? (r.scan.missing.length ? 'incomplete' : 'complete') : 'unchecked' } }, scanText),
      h(
        'p',
        { id: 'not-checked' },
        horizon === 0
          ? 'Vacuous: the horizon is 0, so no opt-out was checked at all; this checkpoint claims nothing.'
          : `Not checked: opt-outs logged in the ${fmtInt(r.lagEntries)} entries between the horizon (${fmtInt(horizon)}) and this checkpoint (entry ${fmtInt(c.index)}), ${fmtLag(r.lagSeconds)} of log time; opt-outs after it; and whether the dataset versions named are what the model was really trained on (the publisher's claim).`,
      ),
      r.violations.length
        ? table(
            'Opted-out ids found in the training data (each with its inclusion proof)',
            ['Opt-out entry', 'Content id', 'Dataset version'],
            r.violations.map((v) => [entryLink(v.optout_index), h('a', { href: `#/check?id=${encodeURIComponent(v.cid)}` }, hashText(v.cid, 10)), datasetLabelLink(v.dataset)]),
          )
        : h('p', null, 'Every opted-out id the bundle carries is proven absent from every dataset version above.'),
      siteEvidence(r) ?? '',
      passageEvidence(r) ?? '',
    );
  }
  if (!mirrorSetting()) ev.append(h('p', null, h('a', { href: `/v1/compliance/${c.index}`, download: `${model}-${checkpoint}.compliance.json` }, 'Download the compliance bundle'), ' and check it offline with ', h('code', null, 'prov verify compliance --vkey … --server URL BUNDLE'), '.'));
}

/** The site opt-outs' evidence: violations with their items, and what could not be decided. */
function siteEvidence(r) {
  const sv = r.siteViolations ?? [];
  const su = r.sitesUnproven ?? [];
  const proofs = (r.bundle.source_proofs ?? []).length;
  if (!sv.length && !su.length && !proofs) return null;
  return h(
    'div',
    { id: 'site-evidence' },
    h('p', null, `Site opt-outs: ${fmtInt(proofs)} range proof${proofs === 1 ? '' : 's'} over the versions' source trees, checked here.`),
    sv.length
      ? [
          table(
            'Items from opted-out sites found in the training data (each counted by a range proof)',
            ['Opt-out entry', 'Site', 'Dataset version', 'Items', 'Shown'],
            sv.map((v) => [entryLink(v.optout_index), h('a', { href: `#/site?q=${encodeURIComponent(v.site)}` }, v.site), datasetLabelLink(v.dataset), fmtInt(v.count), h('div', null, v.cids.slice(0, 5).map((c) => h('div', null, itemLink(v.dataset, c))), v.cids.length > 5 ? h('div', { class: 'note' }, `and ${fmtInt(v.cids.length - 5)} more`) : null)]),
          ),
          h('p', { class: 'note' }, 'Whether each requester controls the site it named (a key the site publishes at /.well-known/prov-ledger-keys) is not checked in the browser, which reads only this server: run `prov verify compliance`, which does, to tell a violation from an unverified request.'),
        ]
      : h('p', null, 'Every opted-out site is proven absent (a range exclusion) from every dataset version with a source tree.'),
    su.length ? h('p', { class: 'note', id: 'sites-unproven' }, `Not decidable: ${su.map((u) => `${u.site} in ${u.dataset}`).join(', ')} (published without a source tree).`) : null,
  );
}

/**
 * The passage opt-outs' evidence: passages of opted-out works found (each counted by a
 * multi-range proof over the version's passage tree, with the items holding it), and the versions
 * without a passage tree, where nothing could be checked (the verdict does not count them: a tree
 * is declared by its publisher, so its absence proves nothing either way).
 */
function passageEvidence(r) {
  const pv = r.passageViolations ?? [];
  const pu = r.passagesUnchecked ?? [];
  const proofs = (r.bundle.passage_proofs ?? []).length;
  const optouts = (r.bundle.passage_optouts ?? []).length;
  if (!pv.length && !pu.length && !proofs && !optouts) return null;
  return h(
    'div',
    { id: 'passage-evidence' },
    h('p', null, `Passage opt-outs: ${fmtInt(optouts)} opted-out work tree${optouts === 1 ? '' : 's'} (leaves checked against the root each opt-out names), ${fmtInt(proofs)} multi-range proof${proofs === 1 ? '' : 's'} over the versions' passage trees, checked here.`),
    pv.length
      ? table(
          'Passages of opted-out works found in the training data (each counted by a range proof)',
          ['Opt-out entry', 'Work', 'Passage', 'Dataset version', 'Items', 'Shown'],
          pv.map((v) => [entryLink(v.optout_index), hashText(v.work, 10), hashText(v.passage, 10), datasetLabelLink(v.dataset), fmtInt(v.count), h('div', null, v.items.slice(0, 5).map((c) => h('div', null, itemLink(v.dataset, c))), v.items.length > 5 ? h('div', { class: 'note' }, `and ${fmtInt(v.items.length - 5)} more`) : null)]),
        )
      : h('p', null, 'Every passage of every opted-out work is proven absent (range exclusions) from every dataset version with a passage tree.'),
    pu.length ? h('p', { class: 'note', id: 'passages-unchecked' }, `Passages not checked: ${[...new Set(pu.map((u) => u.dataset))].join(', ')} (published without a passage tree; the verdict does not count this, since a tree is declared by its publisher, and the works' content ids still cover exact copies).`) : null,
  );
}

function itemLink(label, cid) {
  const m = /^([^/]+)\/([^@]+)@(.+)$/.exec(label);
  return m ? h('a', { href: route('dataset', m[1], m[2], m[3], 'item', cid) }, hashText(cid, 10)) : hashText(cid, 10);
}
