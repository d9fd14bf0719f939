// The committed dist/ (which `cargo build` embeds) is exactly what the sources build to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');

function files(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [join(dir, e.name).slice(base.length + 1)])).sort();
}

test('dist/ is up to date with src/ (run api/explorer/build.sh)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'explorer-dist-'));
  try {
    execFileSync(process.execPath, [join(here, 'build.mjs'), join(tmp, 'dist')], { stdio: 'pipe' });
    const fresh = files(join(tmp, 'dist'));
    assert.deepEqual(files(join(here, 'dist')), fresh);
    for (const f of fresh) assert.ok(readFileSync(join(tmp, 'dist', f)).equals(readFileSync(join(here, 'dist', f))), f);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the built page loads nothing from another origin', () => {
  const html = readFileSync(join(here, 'dist/index.html'), 'utf8');
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html));
  for (const f of files(join(here, 'dist/assets')).filter((f) => f.endsWith('.js') || f.endsWith('.css'))) {
    const text = readFileSync(join(here, 'dist/assets', f), 'utf8');
    assert.ok(!/(import|url)\(\s*["']?(https?:)?\/\//.test(text) && !/from\s*["'](https?:)?\/\//.test(text), f);
  }
});
