// Models and their checkpoints: the dataset versions each trained on, the opt-out horizon, and a
// compliance badge (compliant / violation / not yet checked) that links to the evidence.

import { h, dl, section, table, badge, hashText, fmtInt, route, errorBox } from '../dom.js';
import { api, orNull } from '../api.js';
import { verifiedEntry } from '../trust.js';
import { entryLink } from '../entryview.js';
import { pageOf, pager, PAGE_SIZE } from '../pager.js';

export async function render(root, ctx) {
  if (ctx.params.checkpoint != null) return renderCheckpoint(root, ctx);
  if (ctx.params.model != null) return renderModel(root, ctx);
  return renderList(root, ctx);
}

/** compliant / violation / none, from whatever the API reports. */
export function complianceState(c) {
  const s = c?.compliance ?? c?.status ?? c;
  const v = typeof s === 'object' && s !== null ? s.status ?? s.state : s;
  if (v === 'compliant') return 'compliant';
  if (v === 'violation' || v === 'violated' || v === 'violating') return 'violation';
  return 'none';
}

function dsRef(d) {
  if (typeof d === 'string') {
    const m = /^(.*)\/(.*)@(.*)$/.exec(d);
    return m ? h('a', { href: route('dataset', m[1], m[2], m[3]) }, d) : d;
  }
  const name = `${d.publisher}/${d.dataset ?? d.name}@${d.version}`;
  return h('a', { href: route('dataset', d.publisher, d.dataset ?? d.name, d.version) }, name);
}

async function renderList(root, { query, alive }) {
  root.append(h('h1', null, 'Models'));
  const body = await api.models({ limit: PAGE_SIZE, cursor: query.get('cursor') });
  if (!alive()) return;
  const { items, next } = pageOf(body, 'models');
  root.append(
    table(
      null,
      ['Model', 'Publisher', 'Checkpoints', 'Latest'],
      items.map((m) => [h('a', { href: route('model', m.name ?? m.model) }, m.name ?? m.model), m.publisher ? h('a', { href: route('publisher', m.publisher) }, m.publisher) : '—', fmtInt(m.checkpoints ?? m.checkpoint_count), m.latest ? h('a', { href: route('model', m.name ?? m.model, m.latest.checkpoint ?? m.latest) }, m.latest.checkpoint ?? m.latest) : '—']),
      { empty: 'No model has been attested yet.' },
    ),
    pager('#/models', query, next),
  );
}

async function renderModel(root, { params, alive }) {
  const name = params.model;
  root.append(h('h1', null, `Model ${name}`));
  const m = await orNull(api.model(name));
  if (!alive()) return;
  if (!m) {
    root.append(errorBox('No such model.'));
    return;
  }
  const cps = m.checkpoints ?? [];
  root.append(
    m.publisher ? dl([['Publisher', h('a', { href: route('publisher', m.publisher) }, m.publisher)]]) : null,
    section(
      'Checkpoints',
      table(
        null,
        ['Checkpoint', 'Entry', 'Trained on', 'Opt-out horizon', 'Compliance'],
        cps.map((c) => [
          h('a', { href: route('model', name, c.checkpoint ?? c.name) }, c.checkpoint ?? c.name),
          c.index != null ? entryLink(c.index) : '—',
          h('div', null, (c.datasets ?? []).map((d) => h('div', null, dsRef(d)))),
          c.optout_horizon != null ? fmtInt(c.optout_horizon) : '—',
          h('a', { href: route('model', name, c.checkpoint ?? c.name) }, badge(complianceState(c))),
        ]),
        { empty: 'No checkpoints.' },
      ),
    ),
  );
}

async function renderCheckpoint(root, { params, alive }) {
  const { model, checkpoint } = params;
  root.append(h('h1', null, `${model} · ${checkpoint}`));
  const [m, bundle] = await Promise.all([orNull(api.model(model)), orNull(api.compliance(model, checkpoint))]);
  if (!alive()) return;
  const c = (m?.checkpoints ?? []).find((x) => (x.checkpoint ?? x.name) === checkpoint) ?? bundle?.checkpoint ?? null;
  if (!c && !bundle) {
    root.append(errorBox('No such checkpoint.'));
    return;
  }
  const state = complianceState(bundle ?? c);
  const entryBadge = h('span', { id: 'entry-badge' }, c?.index != null ? badge('pending') : '—');
  root.append(
    h('p', { class: 'row' }, 'Compliance: ', h('span', { id: 'compliance-badge' }, badge(state))),
    dl([
      ['Model', h('a', { href: route('model', model) }, model)],
      ['Entry', c?.index != null ? entryLink(c.index) : '—'],
      ['Entry verified', entryBadge],
      ['Weights root', c?.weights_root ? hashText(c.weights_root, 16) : '—'],
      ['Opt-out horizon', c?.optout_horizon != null ? h('span', null, fmtInt(c.optout_horizon), ' — opt-outs in entries before this index are honoured') : '—'],
    ]),
    section('Trained on', h('ul', null, (c?.datasets ?? []).map((d) => h('li', null, dsRef(d))))),
  );
  const ev = section('Evidence');
  root.append(ev);
  if (!bundle) {
    ev.append(h('p', { class: 'note' }, 'No compliance bundle has been computed for this checkpoint yet.'));
  } else {
    const violations = bundle.violations ?? bundle.evidence?.violations ?? [];
    if (violations.length) {
      ev.append(
        table(
          'Opted-out ids found in the training data',
          ['Opt-out entry', 'Content id', 'Dataset version'],
          violations.map((v) => [v.optout_index != null ? entryLink(v.optout_index) : '—', h('a', { href: `#/check?id=${encodeURIComponent(v.id ?? v.cid)}` }, hashText(v.id ?? v.cid, 10)), v.dataset ? dsRef(v.dataset) : '—']),
        ),
      );
    } else {
      ev.append(h('p', null, `Every id opted out before entry ${fmtInt(c?.optout_horizon ?? bundle.horizon)} is proven absent from every dataset version above.`));
    }
    ev.append(h('p', null, h('a', { href: `/v1/models/${encodeURIComponent(model)}/checkpoints/${encodeURIComponent(checkpoint)}/compliance`, download: `${model}-${checkpoint}.compliance.json` }, 'Download the compliance bundle'), ' and check it offline with ', h('code', null, 'prov verify compliance --vkey … BUNDLE'), '.'));
  }
  if (c?.index != null) {
    const r = await verifiedEntry(c.index);
    if (!alive()) return;
    entryBadge.replaceChildren(badge(r.ok ? 'ok' : 'bad'));
  }
}
