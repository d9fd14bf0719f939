// The log: origin, verifier key, the latest checkpoint (verified here), and recent entries.

import { h, dl, section, table, badge, hashText, fmtInt, fmtTime, errorBox } from '../dom.js';
import { api } from '../api.js';
import { latestCheckpoint, logInfo, pinKey, unpinKey } from '../trust.js';
import { typeTag, summary, entryLink } from '../entryview.js';
import { toBase64, toHex } from '../../lib/bytes.js';

export async function render(root, { alive }) {
  root.append(h('h1', null, 'The log'));
  const [log, latest] = await Promise.all([logInfo(), latestCheckpoint({ fresh: true })]);
  if (!alive()) return;
  const cp = latest.ok ? latest.cp : null;
  root.append(
    section(
      'Latest checkpoint',
      h('p', { class: 'row' }, 'Signature by the log key: ', badge(latest.ok ? 'ok' : 'bad'), latest.ok ? null : h('span', { class: 'note' }, String(latest.error?.message ?? ''))),
      dl([
        ['Origin', h('code', null, log.origin)],
        ['Verifier key', h('code', { class: 'hash', id: 'vkey' }, log.vkey)],
        log.pinned ? ['Key source', h('span', null, 'pinned by you in this browser', log.served !== log.vkey ? h('strong', null, ' (differs from the key this server announces)') : null)] : null,
        ['Tree size', cp ? h('span', { id: 'cp-size' }, fmtInt(cp.size)) : '—'],
        ['Root hash', cp ? h('code', { class: 'hash', title: toHex(cp.root) }, toBase64(cp.root)) : '—'],
        ['Signed at', fmtTime(log.info.checkpoint_time ?? log.info.timestamp ?? null)],
      ]),
      h('details', null, h('summary', null, 'The signed checkpoint note'), h('pre', null, latest.text)),
      pinForm(log),
    ),
  );
  const sec = section('Recent entries');
  root.append(sec);
  const page = await api.entries({ limit: 20, order: 'desc' });
  if (!alive()) return;
  const items = page.entries ?? page.items ?? [];
  sec.append(
    table(null, ['Index', 'Type', 'What', 'Signer'], items.map((e) => [entryLink(e.index), typeTag(e.type ?? e.entry?.type), summary(e), e.key ?? e.signer ? hashText(e.key ?? e.signer, 8) : h('span', { class: 'note' }, 'anonymous')]), { empty: 'The log is empty.' }),
    h('p', null, h('a', { href: '#/entries' }, 'All entries in log order →')),
  );
}

function pinForm(log) {
  const input = h('input', { id: 'pin-vkey', name: 'vkey', type: 'text', value: log.vkey, spellcheck: 'false', style: 'width:100%' });
  const msg = h('p', { role: 'status' });
  return h(
    'details',
    null,
    h('summary', null, 'Verify with a key you trust'),
    h('p', { class: 'note' }, 'By default this page checks signatures with the key the server announces. Paste the log key you obtained elsewhere to check against it instead; it is kept in this browser only.'),
    h(
      'form',
      {
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
      h('p', { class: 'row' }, h('button', { type: 'submit' }, 'Use this key'), log.pinned ? h('button', { type: 'button', class: 'secondary', onclick: () => (unpinKey(), location.reload()) }, 'Forget pinned key') : null),
      msg,
    ),
  );
}
