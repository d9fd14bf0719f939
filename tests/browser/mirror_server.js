// The static HTTP server of the mirror tests (mirror.test.js, mirror_witness.test.js): plain
// files, single HTTP Range requests and CORS for any origin, as a CDN in front of a bucket serves
// the mirror `prov serve --publish` writes; and the log page's "Read the log from" setting.

import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { visit } from './harness.js';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.txt': 'text/plain' };

/**
 * Serves `root` on a free loopback port: GET and HEAD of plain files, `Range: bytes=A-B` (one
 * range, 206), CORS for any origin (the Range header allowed, preflights answered). Returns
 * {url, close()}.
 */
export async function staticServer(root) {
  const server = createServer((req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'range, cache-control, if-none-match, if-modified-since');
    res.setHeader('access-control-expose-headers', 'content-range, content-length, accept-ranges');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '');
    if (path.startsWith('..')) {
      res.writeHead(400).end();
      return;
    }
    let file = join(root, path || 'index.html');
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const size = statSync(file).size;
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      const a = Number(m[1]);
      const b = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (a > b || a >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { 'content-type': type, 'content-length': b - a + 1, 'content-range': `bytes ${a}-${b}/${size}`, 'accept-ranges': 'bytes' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file, { start: a, end: b }).pipe(res);
      return;
    }
    res.writeHead(200, { 'content-type': type, 'content-length': size, 'accept-ranges': 'bytes', 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const ranges = [];
  server.on('request', (req) => {
    if (req.headers.range) ranges.push(req.url);
  });
  return { url: `http://127.0.0.1:${server.address().port}`, ranges, close: () => new Promise((r) => server.close(r)) };
}

/** Sets "Read the log from: a static mirror at `url`" with the log key `vkey` on the log page. */
export async function useMirror(p, siteUrl, url, vkey) {
  await visit(p, siteUrl, '#/', 'home');
  const details = await p.$('section:has(#source-form) details');
  if (details) await details.evaluate((d) => (d.open = true));
  await p.check('#source-mirror');
  await p.fill('#mirror-url', url);
  await p.fill('#mirror-vkey', vkey);
  await Promise.all([p.waitForEvent('load'), p.click('#source-save')]);
  await p.waitForSelector('body[data-ready="home"]');
}
