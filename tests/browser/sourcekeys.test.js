// lib/source.js run by Chromium's own URL parser (not Node's): the explorer computes source keys
// and canonical sites in the reader's browser, so the browser's WHATWG URL must give what Rust's
// `url` crate gives. The expected values below were produced by verifier/src/source.rs; the
// shared vectors (api/explorer/test/vectors/sources.json), when present, are replayed too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, REPO } from './harness.js';

// [uri, key] and [site input, canonical or null, prefix or null], as Rust decided them.
const KEYS = [["https://www.Example.com/a/b?x=1#f", "com.example.www./a/b?x=1"], ["http://example.com", "com.example./"], ["https://\u4f8b\u3048.jp/", "jp.xn--r8jz45g./"], ["ftp://x.org/", ""], ["not a url", ""], ["http://u:p@example.com/x", "com.example./x"], ["https://example.com:443/x", "com.example./x"], ["https://example.com:8443/x", "com.example.:8443/x"], ["http://example.com/?", "com.example./?"], ["http://example.com/#", "com.example./"], ["http://example.com./a", "com.example./a"], ["http://1.2.3.4/a", "1.2.3.4./a"], ["http://[::1]:8080/", "[::1].:8080/"], ["http://example.com/\u00e4 \u00f6", "com.example./%C3%A4%20%C3%B6"], ["mailto:a@example.com", ""], ["", ""], ["http://0x7f.1/", "127.0.0.1./"], ["http://[2001:DB8::1]/", "[2001:db8::1]./"], ["http://e.com:443/", "com.e.:443/"], ["https://e.com/caf\u00e9?q=\u00fcber", "com.e./caf%C3%A9?q=%C3%BCber"], ["http://./", ""], ["http://../", "../"], ["http://a..b/", "b..a./"], ["HTTP://EXAMPLE.COM/A", "com.example./A"], ["https://example.com/a/../b/./c", "com.example./b/c"], ["https://example.com/%7Efoo", "com.example./%7Efoo"], ["https://example.com/~foo", "com.example./~foo"], ["http://example.com\\a\\b", "com.example./a/b"], ["  http://example.com/  ", "com.example./"], ["http://exa%41mple.com/", "com.exaample./"], ["https://xn--r8jz45g.jp/", "jp.xn--r8jz45g./"], ["https://\u00c9XAMPLE.com/", "com.xn--xample-9ua./"], ["https://fa\u00df.de/", "de.xn--fa-hia./"], ["https://example.com/?a=b c", "com.example./?a=b%20c"], ["https://example.com/?q=%", "com.example./?q=%"], ["https://example.com:0/", "com.example.:0/"], ["https://example.com:65535/", "com.example.:65535/"], ["http://127.1/", "127.0.0.1./"], ["http://0300.0250.0.1/", "192.168.0.1./"], ["http://[::ffff:1.2.3.4]/", "[::ffff:102:304]./"], ["https://example.com/a?b#c?d", "com.example./a?b"], ["https://example.com/\u0000", "com.example./"], ["https://example.com/a\tb", "com.example./ab"], ["https://example.com/a'b\"c<d>e`f{g}h", "com.example./a'b%22c%3Cd%3Ee%60f%7Bg%7Dh"], ["https://example.com/?a'b\"c<d>e`f{g}h", "com.example./?a%27b%22c%3Cd%3Ee`f{g}h"], ["https://a.b.c.d.e.f.g/", "g.f.e.d.c.b.a./"], ["http://example.com:/", "com.example./"], ["https://ex_ample.com/", "com.ex_ample./"], ["https://-x.com/", "com.-x./"], ["https://EXAMPLE.com.:8080/p", "com.example.:8080/p"], ["https://m\u00fcnchen.de./x", "de.xn--mnchen-3ya./x"]];
const SITES = [["Example.COM", "example.com", "com.example."], ["\u4f8b\u3048.jp", "xn--r8jz45g.jp", "jp.xn--r8jz45g."], ["example.com.", "example.com", "com.example."], ["com", null, null], ["1.2.3.4", null, null], ["3.4", null, null], ["[::1]", null, null], ["", null, null], ["exa mple.com", null, null], ["a/b.com", null, null], ["user@example.com", null, null], ["example.com:80", null, null], ["ftp://example.com/", null, null], ["*.example.com", null, null], ["a..example.com", null, null], ["https://Example.com/blog/#top", "https://example.com/blog/", "com.example./blog/"], ["https://example.com./a", "https://example.com/a", "com.example./a"], ["https://e.com", "https://e.com/", "com.e./"], ["https://1.2.3.4/x", null, null], ["https://[::1]/", null, null], ["https://u@e.com/", null, null], ["https://localhost/", null, null], ["https://", null, null], ["ex%61mple.com", "example.com", "com.example."], ["exa\ufeffmple.com", "example.com", "com.example."], ["fa\u00df.de", "xn--fa-hia.de", "de.xn--fa-hia."], ["\u00c9XAMPLE.com", "xn--xample-9ua.com", "com.xn--xample-9ua."], ["xn--r8jz45g.jp", "xn--r8jz45g.jp", "jp.xn--r8jz45g."], ["https://\u4f8b\u3048.jp/\u30d1\u30b9", "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9", "jp.xn--r8jz45g./%E3%83%91%E3%82%B9"], ["http://example.com:8080/a", "http://example.com:8080/a", "com.example.:8080/a"], ["https://ex_ample.com/", "https://ex_ample.com/", "com.ex_ample./"], ["-x.com", "-x.com", "com.-x."], ["a.b.c", "a.b.c", "c.b.a."], ["https://example.com/a?b=c#d", "https://example.com/a?b=c", "com.example./a?b=c"], ["example.com\u0085", null, null], ["EXAMPLE.COM.", "example.com", "com.example."], ["https://example.com/blog", "https://example.com/blog", "com.example./blog"]];

let browser;
let page;

before(async () => {
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto('about:blank');
  // The module as shipped, with its one import (the error class) inlined.
  const code = readFileSync(join(REPO, 'api/explorer/src/lib/source.js'), 'utf8')
    .replace(/^import .*$/m, 'class FormatError extends Error {}')
    .replace(/^export /gm, '');
  await page.evaluate(`${code}\nwindow.sourceKey = sourceKey; window.Site = Site;`);
});

after(async () => {
  await browser?.close();
});

async function inBrowser(keys, sites) {
  return page.evaluate(
    ([keys, sites]) => ({
      keys: keys.map((u) => window.sourceKey(u)),
      sites: sites.map((s) => {
        try {
          const x = window.Site.parse(s);
          return [x.toString(), x.prefix()];
        } catch {
          return [null, null];
        }
      }),
    }),
    [keys, sites],
  );
}

test('Chromium gives the Rust source keys and sites', async () => {
  const got = await inBrowser(KEYS.map((k) => k[0]), SITES.map((s) => s[0]));
  KEYS.forEach(([uri, key], i) => assert.equal(got.keys[i], key, JSON.stringify(uri)));
  SITES.forEach(([input, site, prefix], i) => assert.deepEqual(got.sites[i], [site, prefix], JSON.stringify(input)));
});

test('Chromium gives the Rust source keys and sites of the shared vectors', async (t) => {
  const file = join(REPO, 'api/explorer/test/vectors/sources.json');
  if (!existsSync(file)) return t.skip('api/explorer/test/vectors/sources.json is not written yet');
  const v = JSON.parse(readFileSync(file, 'utf8'));
  const got = await inBrowser(v.source_keys.map((c) => c.uri), v.sites.map((c) => c.input));
  v.source_keys.forEach((c, i) => assert.equal(got.keys[i], c.key, JSON.stringify(c.uri)));
  v.sites.forEach((c, i) => {
    const want = c.site;
    assert.deepEqual(got.sites[i], want == null ? [null, null] : [want, c.prefix], JSON.stringify(c.input));
  });
});
