// Source keys and sites in JavaScript: the worked examples of SPEC13 / docs/formats.md, and the
// boundaries a domain opt-out must keep (a domain covers its subdomains, never notexample.com
// nor example.com.evil). The Rust implementation is held equal by test/sources.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceKey, Site, keyHost, MAX_KEY_LEN } from '../src/lib/source.js';

test('source keys: the worked examples', () => {
  assert.equal(sourceKey('https://www.Example.com/a/b?x=1#f'), 'com.example.www./a/b?x=1');
  assert.equal(sourceKey('http://example.com'), 'com.example./');
  assert.equal(sourceKey('https://例え.jp/'), 'jp.xn--r8jz45g./');
  assert.equal(sourceKey('ftp://x.org/'), '');
  assert.equal(sourceKey('not a url'), '');
});

test('source keys: scheme, userinfo and fragment dropped; ports, queries and IPs kept as serialised', () => {
  assert.equal(sourceKey('http://u:p@example.com/x'), sourceKey('https://example.com/x'));
  assert.equal(sourceKey('https://example.com:443/x'), 'com.example./x', 'a default port is not part of the key');
  assert.equal(sourceKey('https://example.com:8443/x'), 'com.example.:8443/x');
  assert.equal(sourceKey('http://example.com/?'), 'com.example./?', 'an empty query is kept');
  assert.equal(sourceKey('http://example.com/#'), 'com.example./');
  assert.equal(sourceKey('http://example.com./a'), 'com.example./a', 'one trailing dot stripped');
  assert.equal(sourceKey('http://1.2.3.4/a'), '1.2.3.4./a', 'IPv4 kept, not reversed');
  assert.equal(sourceKey('http://[::1]:8080/'), '[::1].:8080/');
  assert.equal(sourceKey('http://example.com/ä ö'), 'com.example./%C3%A4%20%C3%B6');
  assert.equal(sourceKey('mailto:a@example.com'), '');
  assert.equal(sourceKey(''), '');
});

test('source keys longer than 1,024 bytes are cut and keep their prefix', () => {
  const k = sourceKey(`https://example.com/${'a'.repeat(3000)}`);
  assert.equal(k.length, MAX_KEY_LEN);
  assert.ok(k.startsWith('com.example./aaa'));
});

test('keyHost: the host of a key in reading order, as the stats group it', () => {
  assert.equal(keyHost('com.example.www./a:b'), 'www.example.com');
  assert.equal(keyHost('com.example.:8443/x'), 'example.com');
  assert.equal(keyHost('1.2.3.4./'), '1.2.3.4');
  assert.equal(keyHost('[::1].:8080/'), '[::1]');
  assert.equal(keyHost(''), null);
});

test('source keys: the odd cases', () => {
  assert.equal(sourceKey('http://0x7f.1/'), '127.0.0.1./');
  assert.equal(sourceKey('http://[2001:DB8::1]/'), '[2001:db8::1]./');
  assert.equal(sourceKey('http://e.com:443/'), 'com.e.:443/');
  assert.equal(sourceKey('https://e.com/caf\u00e9?q=\u00fcber'), 'com.e./caf%C3%A9?q=%C3%BCber');
  for (const u of ['file:///etc/passwd', 'data:text/plain,hi', 'javascript:alert(1)', '//example.com/', 'example.com', 'wss://example.com/', 'http://./']) {
    assert.equal(sourceKey(u), '', u);
  }
});

test('sites: domains are canonical ASCII hosts; their prefix covers subdomains', () => {
  const d = Site.parse('Example.COM');
  assert.equal(d.kind, 'domain');
  assert.equal(d.toString(), 'example.com');
  assert.equal(d.prefix(), 'com.example.');
  assert.equal(Site.parse('例え.jp').toString(), 'xn--r8jz45g.jp');
  assert.equal(Site.parse('example.com.').toString(), 'example.com');
  assert.ok(Site.isCanonical('example.com'));
  assert.ok(!Site.isCanonical('Example.com'));
  for (const bad of ['com', '1.2.3.4', '3.4', '[::1]', '', 'exa mple.com', 'a/b.com', 'user@example.com', 'example.com:80', 'ftp://example.com/', '*.example.com', 'a..example.com', `${'a'.repeat(64)}.com`, `${'abcdefghi.'.repeat(30)}com`]) {
    assert.throws(() => Site.parse(bad), `${JSON.stringify(bad)} is not a site`);
  }
});

test('sites: URL prefixes are http(s) URLs with a domain host, without fragment', () => {
  const u = Site.parse('https://Example.com/blog/#top');
  assert.equal(u.kind, 'url_prefix');
  assert.equal(u.toString(), 'https://example.com/blog/');
  assert.equal(u.prefix(), 'com.example./blog/');
  assert.equal(Site.parse('https://example.com./a').toString(), 'https://example.com/a');
  assert.equal(Site.parse('https://e.com').toString(), 'https://e.com/');
  for (const bad of ['https://1.2.3.4/x', 'https://[::1]/', 'https://u@e.com/', 'https://localhost/', 'https://', 'ftp://e.com/']) {
    assert.throws(() => Site.parse(bad), bad);
  }
});

test('notexample.com and example.com.evil are not under example.com', () => {
  const p = Site.parse('example.com').prefix();
  for (const [url, inside] of [
    ['https://example.com/', true],
    ['https://www.example.com/a', true],
    ['https://a.b.example.com:8080/a', true],
    ['https://notexample.com/', false],
    ['https://example.com.evil/', false],
    ['https://example.co/', false],
    ['https://com/', false],
  ]) {
    assert.equal(sourceKey(url).startsWith(p), inside, url);
  }
});
