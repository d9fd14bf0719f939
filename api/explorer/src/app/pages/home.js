// The log: origin, verifier key, the latest checkpoint (verified here), and recent entries.

import { h, dl, section, table, badge, hashText, fmtInt, fmtTime, errorBox } from '../dom.js';
import { latestCheckpoint, logInfo, pinKey, unpinKey, checkConsistency, witnessPolicy, setWitnessPolicy } from '../trust.js';
import { recentEntries } from '../logscan.js';
import { entryRows, ENTRY_HEADERS } from '../entryview.js';
import { toBase64, toHex } from '../../lib/bytes.js';
import { api } from '../api.js';
import { mirrorSetting, setMirror, forgetMirror } from '../mirror.js';
import { TileReader } from '../../lib/tiles.js';

export async function render(root, { alive }) {
  root.append(h('h1', null, 'The log'));
  let log;
  try {
    log = await logInfo();
  } catch (e) {
    root.append(errorBox(`No verifier key: ${e.message}`), pinForm(null, true), sourceSection(true));
    return;
  }
  const latest = await latestCheckpoint({ fresh: true });
  if (!alive()) return;
  const cp = latest.ok ? latest.cp : null;
  root.append(
    section(
      'Latest checkpoint',
      h('p', { class: 'row' }, latest.policy?.k > 0 ? 'Log key and witness policy: ' : 'Signature by the log key: ', h('span', { id: 'checkpoint-badge' }, badge(latest.ok ? 'ok' : 'bad')), latest.ok ? null : h('span', { class: 'note' }, String(latest.error?.message ?? ''))),
      dl([
        ['Origin', h('code', null, log.origin)],
        ['Verifier key', h('code', { class: 'hash', id: 'vkey' }, log.vkey)],
        mirrorSetting() ? ['Read from', h('span', { id: 'read-from' }, 'the static mirror at ', h('code', null, mirrorSetting().url))] : null,
        mirrorSetting() ? ['Tiles', h('span', { id: 'tiles-root' }, badge('pending'))] : null,
        log.pinned ? ['Key source', h('span', null, 'pinned by you in this browser', log.served && log.served !== log.vkey ? h('strong', null, ' (differs from the key this server announces)') : null)] : ['Key source', mirrorSetting() ? 'given by you with the mirror setting' : 'announced by this server (pin a key you obtained elsewhere below)'],
        ['Tree size', cp ? h('span', { id: 'cp-size' }, fmtInt(cp.size)) : '—'],
        ['Root hash', cp ? h('code', { class: 'hash', title: toHex(cp.root) }, toBase64(cp.root)) : '—'],
        ['Fetched at', fmtTime(new Date().toISOString())],
      ]),
      h('p', { class: 'row', id: 'consistency' }, 'History since your last visit: ', badge('pending')),
      h('details', null, h('summary', null, latest.policy?.k > 0 ? 'The cosigned checkpoint note' : 'The signed checkpoint note'), h('pre', null, latest.text)),
      pinForm(log, false),
    ),
    witnessSection(latest),
    sourceSection(false),
  );
  // From a mirror: its hash tiles must hash to the signed root (a tampered tile is caught here).
  if (mirrorSetting() && cp) {
    new TileReader(cp.size, (p) => api.tile(p))
      .root()
      .then((r) => (toBase64(r) === toBase64(cp.root) ? ['ok', 'hash to the signed root'] : ['bad', 'do not hash to the signed root']))
      .catch((e) => ['bad', `unreadable: ${e.message}`])
      .then(([state, text]) => {
        const el = root.querySelector('#tiles-root');
        if (el) {
          el.replaceChildren(badge(state, state === 'ok' ? 'verified' : 'does not verify'), ` the mirror's hash tiles ${text}`);
          el.dataset.state = state;
        }
      });
  }
  checkConsistency(latest).then((c) => {
    const el = root.querySelector('#consistency');
    if (!el) return;
    const texts = {
      first: [badge('none', 'first visit'), ' this checkpoint is remembered in your browser; next time the page proves the log only grew since.'],
      same: [badge('ok', 'unchanged'), ` the same checkpoint as on ${fmtTime(c.seen?.at)}.`],
      ok: [badge('ok'), ` the log only appended to the ${fmtInt(c.seen?.size)} entries you saw on ${fmtTime(c.seen?.at)} (consistency proof).`],
      bad: [badge('bad'), ` ${c.error?.message ?? ''}${c.seen ? ` (since the ${fmtInt(c.seen.size)} entries you saw on ${fmtTime(c.seen.at)})` : ''}`],
    };
    el.replaceChildren('History since your last visit: ', ...texts[c.state]);
    el.dataset.state = c.state;
  });
  const sec = section('Recent entries');
  root.append(sec);
  const items = cp ? await recentEntries(20) : [];
  if (!alive()) return;
  sec.append(
    table(null, ENTRY_HEADERS, entryRows(items), { empty: cp ? 'The log is empty.' : 'Not shown: the checkpoint does not verify.' }),
    h('p', null, h('a', { href: '#/entries' }, 'All entries →'), ' · ', h('a', { href: '#/optouts' }, 'Opt-outs in log order →')),
  );
}

const STATES = {
  verified: ['ok', 'verified'],
  'wrong-key': ['bad', 'wrong key'],
  absent: ['none', 'absent'],
};

/**
 * The reader's witness policy and, when one is set, each witness's cosignature on
 * /checkpoint.cosigned (verified with its time / wrong key / absent) and whether the policy is met.
 */
function witnessSection(latest) {
  const policy = latest.policy ?? witnessPolicy();
  const parts = [];
  if (policy.k > 0) {
    const c = latest.cosigned;
    parts.push(
      h(
        'p',
        { class: 'row', id: 'witness-policy' },
        `Policy: ${policy.k} of ${policy.vkeys.length} witness(es): `,
        badge(latest.ok ? 'ok' : 'bad', latest.ok ? 'met' : 'not met'),
        latest.ok ? ` (${c.count} cosigned; every proof on these pages is against this cosigned checkpoint)` : h('span', { class: 'note' }, ` ${latest.error?.message ?? ''}`),
      ),
    );
    if (c) {
      parts.push(
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { id: 'witnesses' },
            h('thead', null, h('tr', null, ['Witness', 'Key id', 'Cosignature', 'Time'].map((x) => h('th', { scope: 'col' }, x)))),
            h(
              'tbody',
              null,
              c.witnesses.map((w) =>
                h(
                  'tr',
                  { dataset: { witness: w.name, state: w.state } },
                  h('td', null, h('code', null, w.name)),
                  h('td', null, h('code', null, w.keyId)),
                  h('td', null, badge(...STATES[w.state]), w.detail && w.state !== 'absent' ? h('span', { class: 'note' }, ` ${w.detail}`) : null),
                  h('td', null, w.timestamp != null ? fmtTime(Number(w.timestamp)) : '—'),
                ),
              ),
            ),
          ),
        ),
      );
    }
  } else {
    parts.push(h('p', { class: 'note', id: 'witness-policy' }, 'No witness policy: checkpoints are checked with the log key only. Add the witnesses you trust below to check /checkpoint.cosigned instead.'));
  }
  parts.push(witnessForm(policy));
  return section('Witnesses', ...parts);
}

/** "Read the log from: this service | a static mirror at URL" (kept in this browser). */
function sourceSection(open) {
  const m = mirrorSetting();
  const url = h('input', { id: 'mirror-url', name: 'url', type: 'url', value: m?.url ?? '', spellcheck: 'false', style: 'width:100%' });
  const vkey = h('input', { id: 'mirror-vkey', name: 'vkey', type: 'text', value: m?.vkey ?? '', spellcheck: 'false', style: 'width:100%' });
  const service = h('input', { type: 'radio', name: 'source', id: 'source-service', value: 'service', checked: m ? null : '' });
  const mirror = h('input', { type: 'radio', name: 'source', id: 'source-mirror', value: 'mirror', checked: m ? '' : null });
  const msg = h('div', { role: 'status' });
  return section(
    'Read the log from',
    h('p', { class: 'note', id: 'source-now' }, m ? `A static mirror at ${m.url}: the checkpoint, entries, inclusion and consistency proofs and dataset items are read from its objects and checked here; pages that need the service's dynamic API say so.` : 'This service.'),
    h(
      'details',
      { open: open || null },
      h('summary', null, 'Change where the log is read from'),
      h(
        'form',
        {
          id: 'source-form',
          onsubmit: (ev) => {
            ev.preventDefault();
            try {
              if (mirror.checked) setMirror(url.value, vkey.value);
              else forgetMirror();
              location.reload();
            } catch (e) {
              msg.replaceChildren(errorBox(`Not a usable mirror: ${e.message}`));
            }
          },
        },
        h('p', { class: 'row' }, service, h('label', { for: 'source-service' }, 'this service')),
        h('p', { class: 'row' }, mirror, h('label', { for: 'source-mirror' }, 'a static mirror (prov serve --publish, behind HTTP with CORS)')),
        h('label', { for: 'mirror-url' }, 'Mirror URL (http(s)://…, the prefix holding checkpoint and tile/)'),
        url,
        h('label', { for: 'mirror-vkey' }, 'The log\'s verifier key (a mirror announces none)'),
        vkey,
        h('p', { class: 'row' }, h('button', { type: 'submit', id: 'source-save' }, 'Use this')),
        msg,
      ),
    ),
  );
}

function witnessForm(policy) {
  const vkeys = h('textarea', { id: 'witness-vkeys', name: 'vkeys', rows: 3, spellcheck: 'false', style: 'width:100%' }, policy.vkeys.join('\n'));
  const k = h('input', { id: 'witness-k', name: 'k', type: 'number', min: '0', value: String(policy.k), style: 'width:6em' });
  const msg = h('div', { role: 'status' });
  return h(
    'details',
    null,
    h('summary', null, 'Witnesses you trust'),
    h('p', { class: 'note' }, 'Witness keys (vkeys of type 0x04, one per line) and how many of them must have cosigned a checkpoint. Kept in this browser only.'),
    h(
      'form',
      {
        id: 'witness-form',
        onsubmit: (ev) => {
          ev.preventDefault();
          try {
            setWitnessPolicy(vkeys.value.split('\n'), Number(k.value));
            location.reload();
          } catch (e) {
            msg.replaceChildren(errorBox(`Not a valid witness policy: ${e.message}`));
          }
        },
      },
      h('label', { for: 'witness-vkeys' }, 'Witness keys'),
      vkeys,
      h('label', { for: 'witness-k' }, 'Threshold k'),
      k,
      h('p', { class: 'row' }, h('button', { type: 'submit' }, 'Use this policy'), policy.k > 0 ? h('button', { type: 'button', class: 'secondary', id: 'witness-forget', onclick: () => (setWitnessPolicy([], 0), location.reload()) }, 'Forget witnesses') : null),
      msg,
    ),
  );
}

function pinForm(log, open) {
  const input = h('input', { id: 'pin-vkey', name: 'vkey', type: 'text', value: log?.vkey ?? '', spellcheck: 'false', style: 'width:100%' });
  const msg = h('div', { role: 'status' });
  return h(
    'details',
    { open: open || null },
    h('summary', null, 'Verify with a key you trust'),
    h('p', { class: 'note' }, 'By default this page checks signatures with the key the server announces. Paste the log key you obtained elsewhere to check against it instead; it is kept in this browser only.'),
    h(
      'form',
      {
        id: 'pin-form',
        onsubmit: (ev) => {
          ev.preventDefault();
          try {
            pinKey(input.value);
            location.reload();
          } catch (e) {
            msg.replaceChildren(errorBox(`Not a valid vkey: ${e.message}`));
          }
        },
      },
      h('label', { for: 'pin-vkey' }, 'Verifier key (name+keyid+base64)'),
      input,
      h('p', { class: 'row' }, h('button', { type: 'submit' }, 'Use this key'), log?.pinned ? h('button', { type: 'button', class: 'secondary', onclick: () => (unpinKey(), location.reload()) }, 'Forget pinned key') : null),
      msg,
    ),
  );
}
