// Regenerates spdx-licences.jsonl from the npm package spdx-license-list@6.12.0 (CC0-1.0; SPDX
// License List 3.28.0). Deterministic: the same package gives the same file, byte for byte.
//
//   cd /tmp && npm pack spdx-license-list@6.12.0 && tar xzf spdx-license-list-6.12.0.tgz
//   node cli/demo/gen.js /tmp/package > cli/demo/spdx-licences.jsonl
//
// Layout (cli/src/demo.rs relies on it; see README.md here):
//   lines 1..V1-1   texts in both versions of spdx-archive/licences, by SPDX id
//   line  V1        the text that is opted out and dropped from version 2 (Beerware)
//   lines V1+1..    texts added in version 2, by SPDX id
// Texts are unique (the SPDX list repeats some texts under deprecated ids; the preferred id is
// kept; deprecated `+` ids are left out), unmodified, and at most MAX_TEXT bytes each, so the
// file stays small.

import fs from 'node:fs';
import path from 'node:path';

const pkg = process.argv[2];
if (!pkg) {
  console.error('usage: node gen.js <unpacked spdx-license-list package dir>');
  process.exit(2);
}
const OPTED_OUT = 'Beerware';
const TOTAL = 250; // texts in the file
const ADDED_IN_V2 = 12; // of which only in version 2
const MAX_TEXT = 40 * 1024;

const dir = path.join(pkg, 'licenses');
const all = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => {
    const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    return { id: f.slice(0, -5), name: j.name, url: j.url, osi: Boolean(j.osiApproved), text: j.licenseText };
  })
  .filter((l) => typeof l.text === 'string' && l.text.length > 0 && Buffer.byteLength(l.text) <= MAX_TEXT)
  // `+` ids are deprecated since SPDX 3.0; their `-or-later` successors stay.
  .filter((l) => !l.id.endsWith('+'));

// Prefer `-only`, then the shortest id, then by id: the current SPDX id of a text.
const rank = (id) => [id.endsWith('-only') ? 0 : 1, id.length, id];
const cmp = (a, b) => {
  const [x, y] = [rank(a.id), rank(b.id)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
};
const byText = new Map();
for (const l of all) {
  const seen = byText.get(l.text);
  if (!seen || cmp(l, seen) < 0) byText.set(l.text, l);
}
const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const unique = [...byText.values()].sort(byId);
const optedOut = unique.find((l) => l.id === OPTED_OUT);
if (!optedOut) throw new Error(`${OPTED_OUT} is not in the package`);
const rest = unique.filter((l) => l !== optedOut);
// Every OSI-approved text, then others spread evenly over the id order, TOTAL - 1 in all.
const osi = rest.filter((l) => l.osi);
const others = rest.filter((l) => !l.osi);
const want = TOTAL - 1 - osi.length;
const chosen = [...osi, ...Array.from({ length: want }, (_, k) => others[Math.floor((k * others.length) / want)])];
// The last ADDED_IN_V2 non-OSI texts by id are the ones version 2 adds.
const nonOsi = chosen.filter((l) => !l.osi).sort(byId);
const added = new Set(nonOsi.slice(-ADDED_IN_V2));
const both = chosen.filter((l) => !added.has(l)).sort(byId);
const later = [...added].sort(byId);

const line = (l) => JSON.stringify({ id: l.id, name: l.name, url: l.url, osi_approved: l.osi, text: l.text });
process.stdout.write([...both, optedOut, ...later].map(line).join('\n') + '\n');
console.error(`${both.length + 1 + later.length} texts; version 1 = lines 1..${both.length + 1}, opted out = line ${both.length + 1}`);
