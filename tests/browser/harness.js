// Shared pieces of the browser tests: start `prov serve` on a free loopback port over a fresh
// ledger directory, launch Debian's chromium through playwright-core, record every request the
// page makes (none may leave the server's origin), and write screenshots to a folder the tests
// print.
//
// Environment:
//   PROV_BIN        the prov binary (default: target/release/prov, then target/debug/prov)
//   PROV_URL        use a server that is already running instead of starting one
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR  where screenshots go (default: prov-explorer-screenshots in the temporary
//                   folder, shared by the test files, which node runs in separate processes)
//   EXPLORER_DIR    serve the explorer from this directory (`--explorer-dir`) instead of the copy
//                   embedded in the binary (default: the embedded copy, which is what ships)

import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export function provBin() {
  const candidates = [process.env.PROV_BIN, join(REPO, 'target/release/prov'), join(REPO, 'target/debug/prov')].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no prov binary (tried ${candidates.join(', ')}): run \`cargo build -p cli\` or set PROV_BIN`);
  return found;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, child, ms = 30000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`prov serve exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prov serve did not become healthy: ${last}`);
}

/**
 * Starts `prov serve` over a new ledger directory. `extraArgs` (e.g. ['--demo']) are appended.
 * Returns {url, dataDir, stop(), output()}.
 */
export async function startServer(extraArgs = []) {
  if (process.env.PROV_URL) {
    const url = process.env.PROV_URL.replace(/\/$/, '');
    await waitHealthy(url, null);
    return { url, dataDir: null, vkey: null, stop: async () => {}, output: () => '' };
  }
  const bin = provBin();
  const dataDir = join(mkdtempSync(join(tmpdir(), 'prov-browser-')), 'ledger');
  const port = await freePort();
  const args = ['serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, ...extraArgs];
  if (process.env.EXPLORER_DIR) args.push('--explorer-dir', process.env.EXPLORER_DIR);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child);
  } catch (e) {
    child.kill('SIGTERM');
    throw new Error(`${e.message}\n--- prov serve output ---\n${out}`);
  }
  // The key `prov serve` announces when it creates the ledger: what a careful reader would pin.
  const vkey = /verifier key: (\S+)/.exec(out)?.[1] ?? null;
  return {
    url,
    dataDir,
    vkey,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dirname(dataDir), { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'prov-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A page that records every request URL and every page error. */
export async function newPage(context, baseUrl) {
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  page.foreignRequests = () => requests.filter((u) => !u.startsWith(baseUrl + '/') && !u.startsWith('data:') && !u.startsWith('blob:'));
  page.pageErrors = errors;
  page.requests = requests;
  return page;
}

let shotDir = null;
export function screenshotDir() {
  if (!shotDir) {
    shotDir = process.env.SCREENSHOT_DIR ?? join(tmpdir(), 'prov-explorer-screenshots');
    mkdirSync(shotDir, { recursive: true });
    console.log(`# screenshots: ${shotDir}`);
  }
  return shotDir;
}

export async function shot(page, name) {
  const p = join(screenshotDir(), `${name}.png`);
  await page.screenshot({ path: p, fullPage: true });
  return p;
}

/** Navigates to a hash route and waits until the page says it has rendered. */
export async function visit(page, baseUrl, hash, ready) {
  await page.goto(`${baseUrl}/${hash}`);
  await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: 15000 });
}

/** Runs `prov ARGS` to completion; its stdout, or an error with both streams. */
export function prov(args) {
  const r = spawnSync(provBin(), args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prov ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Spawns `prov ARGS` and waits for the stdout lines starting with each of `wants`. */
export async function daemon(args, wants) {
  const child = spawn(provBin(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const found = {};
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`prov ${args[0]} did not announce ${wants}: ${err}`)), 30000);
    child.once('exit', (c) => reject(new Error(`prov ${args[0]} exited with ${c}: ${err}`)));
    lines.on('line', (l) => {
      for (const w of wants) if (l.startsWith(w)) found[w] = l.slice(w.length).trim();
      if (wants.every((w) => found[w])) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    child,
    found,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
