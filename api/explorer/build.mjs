// Builds the explorer into dist/: one HTML page and content-hashed assets under dist/assets/,
// bundled with esbuild (every library is in the bundle: the page never fetches from another
// origin). Code that only some pages need (the charts) is split into its own chunk and loaded on
// demand, which keeps the home page small.
//
//   node build.mjs [OUTDIR]      (default dist)
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ? process.argv[2] : join(here, 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { main: 'src/app/main.js', style: 'src/style.css' },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  minify: true,
  legalComments: 'linked',
  sourcemap: false,
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

const names = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint === 'src/app/main.js') names.main = basename(file);
  if (meta.entryPoint === 'src/style.css') names.style = basename(file);
}
let html = readFileSync(join(here, 'src/index.html'), 'utf8');
html = html.replace('{{main}}', names.main).replace('{{style}}', names.style);
// Preload the main module so the browser starts fetching it with the HTML.
html = html.replace('</title>', `</title>\n<link rel="modulepreload" href="/assets/${names.main}">`);
writeFileSync(join(out, 'index.html'), html);

let total = 0;
for (const [file, meta] of Object.entries(result.metafile.outputs)) total += meta.bytes;
console.log(`built ${out}: ${Object.keys(result.metafile.outputs).length} files, ${total} bytes before compression`);
