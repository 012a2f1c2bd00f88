// End-to-end tests of the release build in Debian's headless Chromium, driven as a user would:
// paste, type, click, download, open a share link. The site is served from a sub-path by a static
// server on loopback, and every request is checked to stay on that origin.
//
// Environment: RTKVM_DIST (the built dist/ directory), RTKVM_DIST_ABS (the site built with
// --public-url /tools/rtkvm/), RTKVM_DIST_FULL (the site built with the app's `deploy` feature:
// sections 8 and 9), RTKVM_BIN (the rtkvm CLI binary).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, mkdir, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dist = process.env.RTKVM_DIST ?? path.join(root, 'dist');
const distFull = process.env.RTKVM_DIST_FULL ?? path.join(root, 'target', 'dist-full');
const bin = process.env.RTKVM_BIN ?? path.join(root, 'target', 'debug', 'rtkvm');
const artifacts = path.join(here, 'artifacts');
const SUBPATH = '/tools/rtkvm/';
const corpus = (name) => path.join(root, 'core', 'tests', 'corpus', name);
const goldenDir = path.join(root, 'core', 'tests', 'links');
const fixture = (name) => path.join(root, 'core', 'fixtures', name);

let server, origin, browser;
// The site with sections 8 and 9 (the app's `deploy` feature), served beside the shipped one.
let serverFull, originFull;

function cli(args, input) {
  // From the repository's root, where the golden cases' relative paths start.
  return execFileSync(bin, args, { input, encoding: 'utf8', cwd: root });
}

before(async () => {
  await mkdir(artifacts, { recursive: true });
  server = await serve(dist, SUBPATH);
  origin = server.origin;
  serverFull = await serve(distFull, SUBPATH);
  originFull = serverFull.origin;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: chromiumArgs,
  });
});

after(async () => {
  await browser?.close();
  server?.close();
  serverFull?.close();
});

/** Opens the app (optionally with a fragment) and records every request and console error. */
async function open(fragment = '', site = origin) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(site + SUBPATH + fragment);
  await page.waitForSelector('[data-testid=topology-map]');
  return { page, context, requests, errors, site };
}

async function close({ page, context, requests, errors, site = origin }) {
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'CSP violations');
  for (const url of requests) {
    assert.ok(url.startsWith(site) || url.startsWith('blob:') || url.startsWith('data:'), `request left the origin: ${url}`);
  }
  assert.deepEqual(errors, [], 'console errors');
  await context.close();
}

/** Loads a site served by `server` in a fresh context, checks the example's plan appears without a
 * console error, and closes both. */
async function assertServesTheExample(server) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.origin + SUBPATH);
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.match(await page.innerText('[data-testid=placement]'), /host CPUs 12, 13, 14, 15/);
  assert.deepEqual(errors, []);
  await context.close();
  server.close();
}

/** The box each output is folded in until it is opened (a guest's files and the runbook are written
 * only then), by the output's test id without a guest number. */
const FOLDED = { 'out-xml': 'xml-box', 'out-guest-cmdline': 'guest-files', 'out-guest-tuned': 'guest-files', 'out-guest-setup': 'guest-files', 'out-latency-test': 'latency-files', 'out-readme': 'readme-box',
  'out-nto': 'nto-box', 'out-kubevirt': 'kubevirt-box', 'out-nova': 'nova-box', 'out-nova-conf': 'nova-box', 'out-check': 'check-box' };

/** Opens the box an output is folded in, if it is, and waits for the output. */
async function reveal(page, testid) {
  const [, base, n] = testid.match(/^(.*?)(-\d+)?$/);
  const box = FOLDED[base];
  if (box) {
    const details = page.locator(`[data-testid=${box}${n ?? ''}]`);
    await details.waitFor();
    if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
  }
  await page.waitForSelector(`[data-testid=${testid}]`);
}

async function outputText(page, testid) {
  await reveal(page, testid);
  return page.locator(`[data-testid=${testid}] pre`).textContent();
}

async function downloadOf(page, testid) {
  await reveal(page, testid);
  // Headless Chromium now and then drops one of many downloads made in a row (the button clicked,
  // no download started; the same click again downloads): one more click after 10 s.
  const click = (timeout) => Promise.all([
    page.waitForEvent('download', { timeout }),
    page.click(`[data-testid=${testid}-download]`),
  ]);
  const [download] = await click(10000).catch(() => click(30000));
  const file = await download.path();
  return { name: download.suggestedFilename(), content: await readFile(file, 'utf8') };
}

async function paste(page, text) {
  await page.fill('[data-testid=caps-input]', text);
}

test('the example plan is shown on load, and its downloads equal the CLI output', async () => {
  const s = await open();
  const { page } = s;
  assert.match(await page.innerText('[data-testid=placement]'), /NUMA node 1: vCPUs → host CPUs 12, 13, 14, 15; emulator threads → 8-9/);
  assert.equal(await page.locator('svg.topology g.cpu').count(), 16);
  assert.equal(await page.locator('svg.topology g.cpu.vcpu').count(), 4);
  // A CPU's tooltip is made when the pointer comes over it, and names the guest.
  await page.hover('svg.topology g.cpu[data-cpu="12"]');
  assert.equal(await page.textContent('[data-cpu="12"] title'), 'CPU 12: node 1, socket 1, core 0, siblings 12 — isolated, runs vCPU 0 of rt-guest (not real-time)');
  const example = cli(['example']);
  for (const [testid, format, name] of [['out-cmdline', 'cmdline', 'kernel-cmdline.txt'], ['out-hugepages', 'hugepages', 'rtkvm-host.sh'], ['out-xml', 'xml', 'rt-guest.xml'],
    ['out-sysctl', 'sysctl', '90-rtkvm-realtime.conf'], ['out-unit', 'unit', 'rtkvm-host.service'], ['out-tuned', 'tuned', 'tuned-host.sh']]) {
    const d = await downloadOf(page, testid);
    assert.equal(d.name, name);
    assert.equal(d.content, cli(['plan', '--format', format], example), `${name} differs from rtkvm plan --format ${format}`);
  }
  await page.screenshot({ path: path.join(artifacts, 'example.png'), fullPage: true });
  await close(s);
});

test('pasting corpus hosts updates the map and the outputs', async () => {
  const s = await open();
  const { page } = s;
  for (const [file, cpus] of [['virt-tuner/test_virt.py__L9.xml', 96], ['libvirt/caps-qemu-real-full.xml', 32], ['vdsm/caps_libvirt_multiqemu.out', 24]]) {
    const xml = await readFile(corpus(file), 'utf8');
    await paste(page, xml);
    await page.waitForFunction((n) => document.querySelectorAll('svg.topology g.cpu').length === n, cpus);
    assert.equal(await outputText(page, 'out-xml'), cli(['plan', '--format', 'xml'], xml), file);
    assert.equal(await outputText(page, 'out-cmdline'), cli(['plan', '--format', 'cmdline'], xml), file);
    await page.screenshot({ path: path.join(artifacts, `pasted-${path.basename(file).replace(/[^a-z0-9]+/gi, '-')}.png`) });
  }
  await close(s);
});

test('a saved capabilities file can be opened with the file picker', async () => {
  const s = await open();
  const { page } = s;
  const file = fixture('two-mib-only.xml');
  await page.setInputFiles('[data-testid=caps-file]', file);
  await page.waitForFunction(() => document.querySelectorAll('svg.topology g.cpu').length === 12);
  const xml = await readFile(file, 'utf8');
  assert.equal(await page.inputValue('[data-testid=caps-input]'), xml);
  assert.equal(await outputText(page, 'out-hugepages'), cli(['plan', '--format', 'hugepages'], xml));
  await close(s);
});

test('changing vCPUs and the node changes the pins', async () => {
  const s = await open();
  const { page } = s;
  await page.fill('[data-testid=vcpus]', '2');
  // Node 1's socket 0 has two isolated cores (10, 11): the lowest socket with enough.
  await page.waitForFunction(() => document.querySelector('[data-testid=placement]').innerText.includes('host CPUs 10, 11;'));
  await page.selectOption('[data-testid=node]', '0');
  await page.waitForFunction(() => document.querySelector('[data-testid=placement]').innerText.includes('NUMA node 0: vCPUs → host CPUs 2, 3;'));
  const xml = await outputText(page, 'out-xml');
  assert.equal(xml, cli(['plan', '--vcpus', '2', '--node', '0', '--format', 'xml'], cli(['example'])));
  await close(s);
});

test('a link made by --format link opens the same plan', async () => {
  const xml = await readFile(fixture('smt2.xml'), 'utf8');
  const args = ['--vcpus', '3', '--memory', '8G', '--rt-vcpus', '^0', '--name', 'plc <1>'];
  const link = cli(['plan', ...args, '--format', 'link'], xml).trim();
  assert.ok(link.startsWith('#v7.') && link.length < 400, link);
  const s = await open(link);
  const { page } = s;
  await page.waitForSelector('[data-testid=from-link]');
  assert.equal(await outputText(page, 'out-xml'), cli(['plan', ...args, '--format', 'xml'], xml));
  assert.equal(await page.inputValue('[data-testid=vcpus]'), '3');
  // The address bar keeps the same configuration.
  assert.equal(new URL(page.url()).hash, link);
  const d = await downloadOf(page, 'out-xml');
  assert.equal(d.name, 'plc__1_.xml');
  await page.screenshot({ path: path.join(artifacts, 'shared-link.png'), fullPage: true });
  await close(s);
});

test('editing updates the share link, and the link restores the edit', async () => {
  const s = await open();
  const { page } = s;
  // The link follows a change in a task of its own, after the plan, compressed by the browser's own
  // deflate: its bytes may differ from the CLI's, and it opens to the same plan.
  await page.waitForFunction(() => location.hash.startsWith('#v7.'));
  const exampleLink = await page.evaluate(() => location.hash);
  const example = await open(exampleLink);
  for (const [testid, format] of [['out-cmdline', 'cmdline'], ['out-xml', 'xml']]) {
    assert.equal(await outputText(example.page, testid), cli(['plan', '--format', format], cli(['example'])));
  }
  await close(example);
  await page.fill('[data-testid=name]', 'trading-1');
  await reveal(page, 'out-xml');
  await page.waitForFunction(() => document.querySelector('[data-testid=out-xml] pre').innerText.includes('trading-1'));
  await page.waitForFunction((l) => location.hash.startsWith('#v7.') && location.hash !== l, exampleLink);
  assert.equal(await page.getAttribute('[data-testid=share-link]', 'href'), new URL(page.url()).hash);
  const hash = new URL(page.url()).hash;
  assert.ok(hash.startsWith('#v7.'));
  assert.ok(hash.length <= 200, `the example's link is ${hash.length} characters`);
  const again = await open(hash);
  assert.equal(await again.page.inputValue('[data-testid=name]'), 'trading-1');
  assert.equal(await outputText(again.page, 'out-xml'), await outputText(page, 'out-xml'));
  await close(again);
  await close(s);
});

test('a bad paste shows an error with its position and keeps the settings', async () => {
  const s = await open();
  const { page } = s;
  await page.fill('[data-testid=vcpus]', '3');
  await paste(page, '<capabilities>\n  <host>\n    <cpu></host>\n</capabilities>');
  const error = await page.innerText('[data-testid=error]');
  assert.match(error, /line 3, column \d+/);
  assert.equal(await page.inputValue('[data-testid=vcpus]'), '3');
  await page.screenshot({ path: path.join(artifacts, 'bad-paste.png') });
  await paste(page, '<domainCapabilities/>');
  assert.match(await page.innerText('[data-testid=error]'), /virsh domcapabilities/);
  await page.click('[data-testid=load-example]');
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.match(await page.innerText('[data-testid=placement]'), /host CPUs 12, 13, 14;/);
  await close(s);
});

test('a 20 MiB paste is refused at once and the page stays responsive', async () => {
  const s = await open();
  const { page } = s;
  await page.fill('[data-testid=vcpus]', '3');
  const elapsed = await page.evaluate(async () => {
    const area = document.querySelector('[data-testid=caps-input]');
    const data = new DataTransfer();
    data.setData('text/plain', '<capabilities>' + ' '.repeat(20 * 1024 * 1024) + '</capabilities>');
    const t0 = performance.now();
    area.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    while (!document.querySelector('[data-testid=error]')) await new Promise((r) => setTimeout(r, 5));
    return performance.now() - t0;
  });
  assert.match(await page.innerText('[data-testid=error]'), /more than the 16 MiB limit/);
  assert.ok(elapsed < 1000, `the error took ${elapsed} ms`);
  // The text area was spared the 20 MiB.
  assert.ok((await page.inputValue('[data-testid=caps-input]')).length < 10000);
  assert.equal(await page.inputValue('[data-testid=vcpus]'), '3');
  await page.click('[data-testid=load-example]');
  await page.waitForFunction(() => document.querySelector('[data-testid=placement]')?.innerText.includes('host CPUs 12, 13, 14;'));
  await close(s);
});

test('a damaged or future link shows a message and falls back to the example', async () => {
  for (const [fragment, expected] of [['#v1.AAAA', /damaged/], ['#v9.AAAA', /newer rtkvm/], ['#<script>alert(1)</script>', /damaged/]]) {
    const s = await open(fragment);
    const { page } = s;
    assert.match(await page.innerText('[data-testid=link-error]'), expected);
    assert.match(await page.innerText('[data-testid=placement]'), /host CPUs 12, 13, 14, 15/);
    await close(s);
  }
});

test('the page carries a strict Content-Security-Policy', async () => {
  const html = await readFile(path.join(dist, 'index.html'), 'utf8');
  const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)[1];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'( 'sha256-[A-Za-z0-9+\/=]+')+;/);
  assert.doesNotMatch(csp, /unsafe-inline|https?:/);
  // A script injected into the page is refused by that policy.
  const s = await open();
  const ran = await s.page.evaluate(async () => {
    const el = document.createElement('script');
    el.textContent = 'window.__injected = true';
    document.body.append(el);
    await new Promise((r) => setTimeout(r, 50));
    return window.__injected === true;
  });
  assert.equal(ran, false);
  assert.ok((await s.page.evaluate(() => window.__cspViolations)).length >= 1);
  await s.context.close();
});

test('the page works from a server that does not know the wasm content type', async () => {
  // Many internal static servers send .wasm as application/octet-stream: the page then compiles the
  // module from a buffer instead of streaming it.
  await assertServesTheExample(await serve(dist, SUBPATH, { '.wasm': 'application/octet-stream' }));
});

test('the page is usable on a phone', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await context.newPage();
  await page.goto(origin + SUBPATH);
  await page.waitForSelector('[data-testid=out-cmdline]');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: path.join(artifacts, 'phone-dark.png'), fullPage: false });
  await context.close();
});

/** Waits until the page's share link is made, then returns the address bar's fragment. */
async function settledHash(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid=share-link]')?.getAttribute('href'));
  return page.evaluate(() => location.hash);
}

/** The three outputs on the page, as the CLI's formats name them. */
async function pageOutputs(page) {
  return {
    cmdline: await outputText(page, 'out-cmdline'),
    hugepages: await outputText(page, 'out-hugepages'),
    xml: await outputText(page, 'out-xml'),
  };
}

/** The same three outputs as the CLI prints them for `args` and the capabilities `xml`. */
function cliOutputs(args, xml) {
  return {
    cmdline: cli(['plan', ...args, '--format', 'cmdline'], xml),
    hugepages: cli(['plan', ...args, '--format', 'hugepages'], xml),
    xml: cli(['plan', ...args, '--format', 'xml'], xml),
  };
}

async function goldens() {
  const files = (await readdir(goldenDir)).filter((f) => f.endsWith('.json')).sort();
  // Bug fixes made after a golden was recorded (the same list core/tests/golden_links.rs applies).
  const { fixes } = JSON.parse(await readFile(path.join(goldenDir, 'fixes', 'golden-fixes.json'), 'utf8'));
  const fixed = (text) => fixes
    .filter((f) => f.file === 'rtkvm-host.sh')
    .reduce((t, f) => (t.includes(f.new) ? t : t.split(f.old).join(f.new)), text);
  return Promise.all(files.map(async (f) => {
    const g = JSON.parse(await readFile(path.join(goldenDir, f), 'utf8'));
    return { name: f, ...g, hugepages_sh: fixed(g.hugepages_sh) };
  }));
}

test('golden links of every version open to their recorded plans and stay in the address bar', async () => {
  const all = await goldens();
  assert.ok(all.length >= 20);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  for (const g of all) {
    const page = await context.newPage();
    await page.goto(origin + SUBPATH + g.link);
    await page.waitForSelector('[data-testid=out-cmdline]');
    const out = await pageOutputs(page);
    assert.equal(out.cmdline, g.kernel_cmdline, `${g.name}: kernel command line`);
    assert.equal(out.hugepages, g.hugepages_sh, `${g.name}: hugepages.sh`);
    assert.equal(out.xml, g.domain_xml, `${g.name}: domain XML`);
    assert.equal(await settledHash(page), g.link, `${g.name}: the page rewrote the link`);
    await page.close();
  }
  await context.close();
});

test('links made by the CLI with each non-default flag open to the CLI\'s outputs, fragment unchanged', async () => {
  // The golden cases' hosts and flags (each once), links made anew by this CLI.
  const seen = new Set();
  const cases = (await goldens()).filter((g) => !g.host.startsWith('synthetic:'))
    .map((g) => [g.host, g.args]).filter((c) => !seen.has(JSON.stringify(c)) && seen.add(JSON.stringify(c)));
  cases.push(['core/fixtures/seed-example.xml', ['--vcpus', '5', '--rt-vcpus', '^0', '--scheduler', 'rr', '--priority', '10']]);
  const s = await open();
  const { page } = s;
  for (const [host, args] of cases) {
    const xml = await readFile(path.join(root, host), 'utf8');
    const link = cli(['plan', ...args, '--format', 'link'], xml).trim();
    assert.ok(link.startsWith('#v7.'), link);
    // A fresh page from the link.
    const fresh = await s.context.newPage();
    await fresh.goto(origin + SUBPATH + link);
    await fresh.waitForSelector('[data-testid=out-cmdline]');
    const expected = cliOutputs(args, xml);
    assert.deepEqual(await pageOutputs(fresh), expected, `${host} ${args.join(' ')}`);
    assert.equal(await settledHash(fresh), link, `${host} ${args.join(' ')}: the fragment changed`);
    await fresh.close();
  }
  await close(s);
});

test('the housekeeping link opens to its isolated CPUs, and the form shows what the CLI was given', async () => {
  const example = cli(['example']);
  const link = cli(['plan', '--housekeeping', '0-3,8-11', '--format', 'link'], example).trim();
  const s = await open(link);
  const { page } = s;
  assert.match(await outputText(page, 'out-cmdline'), /^isolcpus=managed_irq,domain,4-7,12-15 /);
  assert.equal(await page.inputValue('[data-testid=housekeeping]'), '0-3,8-11');
  assert.equal(await settledHash(page), link);
  // The aarch64 host's 32 MiB pages are offered, and chosen.
  const aarch64 = await readFile(corpus('virt-manager/kvm-aarch64.xml'), 'utf8');
  const link32 = cli(['plan', '--page-size', '32M', '--vcpus', '2', '--memory', '4G', '--format', 'link'], aarch64).trim();
  const t = await open(link32);
  assert.equal(await t.page.inputValue('[data-testid=page-size]'), '32M');
  const sizes = await t.page.$$eval('[data-testid=page-size] option', (o) => o.map((x) => x.value));
  assert.deepEqual(sizes, ['auto', '64K', '2M', '32M', '1G']);
  await close(t);
  // A mask stays a mask: ^0 of 5 vCPUs still plans when the vCPUs drop to 3.
  const masked = cli(['plan', '--vcpus', '5', '--rt-vcpus', '^0', '--format', 'link'], example).trim();
  const m = await open(masked);
  assert.equal(await m.page.inputValue('[data-testid=rt-vcpus]'), '^0');
  await m.page.fill('[data-testid=vcpus]', '3');
  await m.page.waitForFunction(() => document.querySelector('[data-testid=placement]')?.innerText.includes('real-time vCPUs 1-2'));
  assert.equal(await outputText(m.page, 'out-xml'), cli(['plan', '--vcpus', '3', '--rt-vcpus', '^0', '--format', 'xml'], example));
  await close(m);
  await close(s);
});

test('a link pasted into the address bar of an open page is followed', async () => {
  const s = await open();
  const { page } = s;
  await settledHash(page);
  const smt = await readFile(fixture('smt2.xml'), 'utf8');
  const args = ['--vcpus', '2', '--memory', '4G', '--name', 'from-hash'];
  const link = cli(['plan', ...args, '--format', 'link'], smt).trim();
  await page.evaluate((l) => { location.hash = l; }, link);
  await reveal(page, 'out-xml');
  await page.waitForFunction(() => document.querySelector('[data-testid=out-xml] pre')?.innerText.includes('from-hash'));
  assert.equal(await outputText(page, 'out-xml'), cli(['plan', ...args, '--format', 'xml'], smt));
  assert.equal(await page.inputValue('[data-testid=name]'), 'from-hash');
  assert.equal(await settledHash(page), link);
  // A damaged link changes nothing but a message, and the address bar returns to the page's link.
  await page.evaluate(() => { location.hash = '#v4.AAAA'; });
  await page.waitForSelector('[data-testid=link-error]');
  assert.match(await page.innerText('[data-testid=link-error]'), /damaged.*still shows/);
  await page.waitForFunction((l) => location.hash === l, link);
  assert.equal(await page.inputValue('[data-testid=name]'), 'from-hash');
  await close(s);
});

test('a site built with --public-url /tools/rtkvm/ works under that path', async () => {
  // Built by scripts/test.sh: scripts/trunk.sh build --release --public-url /tools/rtkvm/ --dist target/dist-abs
  await assertServesTheExample(await serve(process.env.RTKVM_DIST_ABS ?? path.join(root, 'target', 'dist-abs'), SUBPATH));
});

test('a large host opens only the guest\'s node, and a header opens any other', async () => {
  const g = JSON.parse(await readFile(path.join(goldenDir, 'v2-host-1024.json'), 'utf8'));
  const s = await open(g.link);
  const { page } = s;
  await page.waitForSelector('[data-testid=out-cmdline]');
  const guestNode = Number((await page.innerText('[data-testid=placement]')).match(/NUMA node (\d+)/)[1]);
  const openNodes = () => page.$$eval('.topology-map .node', (nodes) => nodes.filter((n) => n.querySelector('svg')).map((n) => Number(n.dataset.node)));
  assert.deepEqual(await openNodes(), [guestNode]);
  assert.equal(await page.locator('svg.topology g.cpu').count(), 64);
  assert.equal(await page.locator('.topology-map .node').count(), 16);
  await page.click('.topology-map .node[data-node="0"] .node-toggle');
  assert.deepEqual(await openNodes(), [0, guestNode]);
  assert.equal(await page.getAttribute('.topology-map .node[data-node="0"] .node-toggle', 'aria-expanded'), 'true');
  assert.equal(await page.locator('svg.topology g.cpu').count(), 128);
  await page.screenshot({ path: path.join(artifacts, 'host-1024-cpus.png'), fullPage: true });
  await close(s);
});

test('the host kernel choices change the host outputs as the CLI does', async () => {
  const s = await open();
  const { page } = s;
  const example = cli(['example']);
  await page.selectOption('[data-testid=kernel]', 'rhel8');
  await page.selectOption('[data-testid=kernel-type]', 'generic');
  const args = ['--kernel', 'rhel8', '--kernel-type', 'generic'];
  await page.waitForFunction(() => document.querySelector('[data-testid=out-sysctl] pre')?.innerText.includes('numa_balancing'));
  for (const [testid, format] of [['out-cmdline', 'cmdline'], ['out-hugepages', 'hugepages'], ['out-sysctl', 'sysctl'], ['out-tuned', 'tuned']]) {
    assert.equal(await outputText(page, testid), cli(['plan', ...args, '--format', format], example), format);
  }
  assert.match(await page.innerText('[data-testid=warnings]'), /not PREEMPT_RT/);
  // Recipe 2 has no host files: their boxes go.
  await page.selectOption('[data-testid=recipe]', '2');
  await page.waitForFunction(() => !document.querySelector('[data-testid=out-sysctl]'));
  assert.equal((await downloadOf(page, 'out-hugepages')).name, 'hugepages.sh');
  await close(s);
});

test('the guest OS files and the latency test download as the CLI prints them', async () => {
  const s = await open();
  const { page } = s;
  await page.click('[data-testid=guest-files] summary');
  await page.click('[data-testid=latency-files] summary');
  const example = cli(['example']);
  for (const [testid, format, name] of [['out-guest-cmdline', 'guest-cmdline', 'guest-kernel-cmdline.txt'],
    ['out-guest-tuned', 'guest-tuned', 'realtime-virtual-guest-variables.conf'],
    ['out-guest-setup', 'guest-setup', 'guest-setup.sh'], ['out-latency-test', 'latency-test', 'latency-test.sh']]) {
    const d = await downloadOf(page, testid);
    assert.equal(d.name, name);
    assert.equal(d.content, cli(['plan', '--format', format], example), `${name} differs from rtkvm plan --format ${format}`);
  }
  // The boxes stay open, and follow, when the plan changes.
  await page.fill('[data-testid=vcpus]', '3');
  await page.waitForFunction(() => document.querySelector('[data-testid=out-latency-test] pre')?.innerText.includes('--affinity=1-2'));
  assert.equal(await outputText(page, 'out-guest-cmdline'), cli(['plan', '--vcpus', '3', '--format', 'guest-cmdline'], example));
  await page.screenshot({ path: path.join(artifacts, 'guest-os.png'), fullPage: true });
  await close(s);
});

test('a refused file\'s message goes once other capabilities are pasted', async () => {
  const s = await open();
  const { page } = s;
  const big = path.join(artifacts, 'too-big.xml');
  await writeFile(big, Buffer.alloc(17 * 1024 * 1024, 32));
  await page.setInputFiles('[data-testid=caps-file]', big);
  assert.match(await page.innerText('[data-testid=link-error]'), /16 MiB limit/);
  await rm(big);
  await paste(page, await readFile(fixture('smt2.xml'), 'utf8'));
  await page.waitForFunction(() => document.querySelectorAll('svg.topology g.cpu').length === 16);
  assert.equal(await page.locator('[data-testid=link-error]').count(), 0);
  await close(s);
});

test('copy buttons are named for what they copy and say when they have copied', async () => {
  const s = await open();
  const { page, context } = s;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  assert.equal(await page.getAttribute('[data-testid=out-cmdline-copy]', 'aria-label'), 'Copy kernel-cmdline.txt');
  await reveal(page, 'out-xml');
  assert.equal(await page.getAttribute('[data-testid=out-xml-download]', 'aria-label'), 'Download rt-guest.xml');
  assert.equal(await page.getAttribute('[data-testid=copy-link]', 'aria-label'), 'Copy link to this plan');
  await page.click('[data-testid=out-cmdline-copy]');
  await page.waitForFunction(() => document.querySelector('[data-testid=out-cmdline-copy]').textContent === 'Copied');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), cli(['plan', '--format', 'cmdline'], cli(['example'])));
  // Back to "Copy" after two seconds.
  await page.waitForFunction(() => document.querySelector('[data-testid=out-cmdline-copy]').textContent === 'Copy', null, { timeout: 5000 });
  await page.click('[data-testid=copy-link]');
  await page.waitForFunction(() => document.querySelector('[data-testid=copy-link]').textContent === 'Copied');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), page.url());
  await close(s);
});

test('messages read well: quoted commands in quotes, warnings announced, plain words for odd input', async () => {
  const s = await open();
  const { page } = s;
  await paste(page, 'hello');
  await page.waitForSelector('[data-testid=error]');
  assert.equal(await page.getAttribute('[data-testid=error]', 'role'), 'alert');
  assert.ok(!(await page.innerText('[data-testid=error]')).includes('`'), 'no literal backticks');
  assert.ok((await page.innerText('[data-testid=error]')).includes('“virsh capabilities”'));
  await page.click('[data-testid=load-example]');
  await page.fill('[data-testid=priority]', '99');
  await page.waitForSelector('[data-testid=warnings] [data-code=kthread-priority]');
  assert.equal(await page.getAttribute('[data-testid=warnings]', 'role'), 'status');
  await page.fill('[data-testid=priority]', '1');
  for (const [field, value, expected] of [['vcpus', '-1', 'vCPUs cannot be negative (-1)'], ['rt-vcpus', '', 'real-time vCPUs: empty']]) {
    await page.fill(`[data-testid=${field}]`, value);
    await page.waitForFunction((e) => document.querySelector('[data-testid=error]')?.innerText.includes(e), expected);
    await page.fill(`[data-testid=${field}]`, field === 'vcpus' ? '4' : '^0');
  }
  await page.fill('[data-testid=rt-vcpus]', 'none');
  await page.waitForFunction(() => document.querySelector('[data-testid=placement]')?.innerText.endsWith('no real-time vCPUs'));
  // A name in any script downloads under its own letters.
  await page.fill('[data-testid=name]', 'ünï');
  await reveal(page, 'out-xml');
  await page.waitForFunction(() => document.querySelector('[data-testid=out-xml] pre').innerText.includes('<name>ünï</name>'));
  assert.equal((await downloadOf(page, 'out-xml')).name, 'ünï.xml');
  await close(s);
});

test('a file dragged over the input is shown where it will land', async () => {
  const s = await open();
  const { page } = s;
  await page.dispatchEvent('section.card.input', 'dragover');
  await page.waitForSelector('section.card.input.dragging');
  await page.dispatchEvent('section.card.input', 'dragleave');
  await page.waitForSelector('section.card.input:not(.dragging)');
  await close(s);
});

test('the largest guest each node takes is said before a limit is met', async () => {
  const s = await open();
  const { page } = s;
  assert.equal(await page.innerText('[data-testid=capacity]'),
    'A guest lives on one NUMA node, next to its memory. The largest per node: node 0: 6 vCPUs, 26 GiB; node 1: 6 vCPUs, 26 GiB.');
  // Isolated emulator threads take a core of their own; more host memory leaves fewer pages.
  await page.selectOption('[data-testid=emulator]', 'isolate');
  await page.fill('[data-testid=host-memory]', '8G');
  await page.waitForFunction(() => document.querySelector('[data-testid=capacity]').innerText.endsWith('node 1: 5 vCPUs, 24 GiB.'));
  // The limit said is the limit met.
  await page.fill('[data-testid=vcpus]', '6');
  await page.waitForFunction(() => document.querySelector('[data-testid=error]')?.innerText.includes('fits on no NUMA node'));
  await page.fill('[data-testid=vcpus]', '5');
  await page.waitForSelector('[data-testid=out-cmdline]');
  await close(s);
});

/** Runs axe-core (WCAG 2 A and AA rules and best practices) on the page as it is, and returns the
 * serious and critical violations as readable lines. The script is evaluated through the DevTools
 * protocol, which the page's Content-Security-Policy does not govern. */
async function axeViolations(page) {
  const source = await readFile(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}×, e.g. ${v.nodes[0].target.join(' ')})`);
}

test('axe-core finds no serious or critical accessibility violation in the main states', async () => {
  const states = [];
  const s = await open();
  states.push(['the example plan', await axeViolations(s.page)]);
  await s.page.click('[data-testid=params-box] summary');
  await s.page.click('[data-testid=guest-files] summary');
  await s.page.click('[data-testid=xml-box] summary');
  await s.page.click('[data-testid=readme-box] summary');
  states.push(['the example with its explanations open', await axeViolations(s.page)]);
  await s.page.fill('[data-testid=vcpus]', '64');
  await s.page.waitForSelector('[data-testid=error]');
  states.push(['a guest that does not fit', await axeViolations(s.page)]);
  await paste(s.page, 'not xml');
  await s.page.waitForSelector('[data-testid=error]');
  states.push(['a bad paste', await axeViolations(s.page)]);
  await s.page.fill('[data-testid=vcpus]', '4');
  await paste(s.page, await readFile(corpus('virt-manager/kvm-ppc64le.xml'), 'utf8'));
  await s.page.waitForSelector('[data-testid=warnings]');
  states.push(['a ppc64le host with warnings', await axeViolations(s.page)]);
  await s.page.screenshot({ path: path.join(artifacts, 'host-ppc64le-smt8.png'), fullPage: true });
  await close(s);
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await phone.newPage();
  await page.goto(origin + SUBPATH);
  await page.waitForSelector('[data-testid=out-cmdline]');
  states.push(['a phone in dark mode', await axeViolations(page)]);
  await phone.close();
  const found = states.filter(([, v]) => v.length).map(([name, v]) => `${name}:\n  ${v.join('\n  ')}`);
  assert.deepEqual(found, [], found.join('\n'));
});

test('the node menu shows the node the form holds, even one a new host lacks, and automatic works again', async () => {
  const s = await open();
  await s.page.selectOption('[data-testid=node]', '1');
  await s.page.waitForFunction(() => document.querySelector('[data-testid=placement]')?.textContent.includes('NUMA node 1'));
  await paste(s.page, await readFile(fixture('smt2.xml'), 'utf8'));
  await s.page.waitForSelector('[data-testid=error]');
  assert.match(await s.page.innerText('[data-testid=error]'), /node 1/);
  assert.equal(await s.page.inputValue('[data-testid=node]'), '1');
  assert.match(await s.page.locator('[data-testid=node] option:checked').innerText(), /node 1 \(not on this host\)/);
  await s.page.selectOption('[data-testid=node]', 'auto');
  await s.page.waitForSelector('[data-testid=error]', { state: 'detached' });
  assert.match(await s.page.innerText('[data-testid=placement]'), /NUMA node 0/);
  assert.equal(await s.page.inputValue('[data-testid=node]'), 'auto');
  await s.page.click('[data-testid=load-example]');
  await s.page.waitForFunction(() => document.querySelector('[data-testid=placement]')?.textContent.includes('NUMA node 1'));
  assert.equal(await s.page.inputValue('[data-testid=node]'), 'auto');
  await close(s);
});
test('a link that inflates past the limit is refused by the browser-side inflater too', async () => {
  const { deflateRawSync } = await import('node:zlib');
  const bomb = deflateRawSync(Buffer.alloc(5 * 1024 * 1024), { level: 9 }).toString('base64url');
  const s = await open(`#v4.${bomb}`);
  const { page } = s;
  await page.waitForSelector('[data-testid=link-error]');
  assert.match(await page.innerText('[data-testid=link-error]'), /decompresses to more than the size limit\)\. The example host is shown instead\./);
  // A cut-off payload is "does not decompress", the same words as the CLI's.
  const link = cli(['plan', '--format', 'link'], cli(['example'])).trim();
  const packed = Buffer.from(link.slice('#v7.'.length), 'base64url');
  const cut = `#v7.${packed.subarray(0, packed.length - 3).toString('base64url')}`;
  await page.evaluate((l) => { location.hash = l; }, cut);
  await page.waitForFunction(() => document.querySelector('[data-testid=link-error]')?.innerText.includes('does not decompress'));
  assert.match(await page.innerText('[data-testid=placement]'), /host CPUs 12, 13, 14, 15/);
  await close(s);
});

test('a wrong setting keeps the host partition on the map and the last outputs, marked out of date', async () => {
  const s = await open();
  const { page } = s;
  const count = (cls) => page.locator(`svg.topology g.cpu.${cls}`).count();
  const xml = await outputText(page, 'out-xml');
  assert.equal(await count('vcpu'), 4);
  for (const [field, value] of [['priority', '0'], ['name', 'a/b'], ['vcpus', '64']]) {
    await page.fill(`[data-testid=${field}]`, value);
    await page.waitForSelector('[data-testid=error]');
    await page.waitForSelector('[data-testid=stale]');
    // The partition still shows: 2 housekeeping CPUs per node, the rest isolated and free.
    assert.equal(await count('host'), 4, field);
    assert.equal(await count('isolated'), 12, field);
    assert.equal(await count('vcpu'), 0, field);
    assert.equal(await outputText(page, 'out-xml'), xml, field);
    assert.ok(await page.locator('section.outputs.stale').count() >= 1);
  }
  await page.fill('[data-testid=vcpus]', '4');
  await page.fill('[data-testid=name]', 'rt-guest');
  await page.fill('[data-testid=priority]', '2');
  await page.waitForSelector('[data-testid=stale]', { state: 'detached' });
  assert.equal(await count('vcpu'), 4);
  assert.match(await outputText(page, 'out-xml'), /priority="2"/);
  await close(s);
});

test('the host\'s limit a guest meets, and what is wrong with a value, are said under the field, marked invalid', async () => {
  const s = await open();
  const { page } = s;
  const invalid = () => page.$$eval('[aria-invalid=true]', (fields) => fields.map((f) => f.id));
  assert.deepEqual(await invalid(), []);
  for (const [field, value, message, reset] of [
    ['vcpus', '7', /^At most 6 vCPUs on node 1$/, '4'],
    ['memory', '30G', /^At most 26 GiB on node 1$/, '16G'],
    ['vcpus', '-1', /^vCPUs cannot be negative \(-1\)$/, '4'],
    ['host-memory', '6X', /^Host memory per node: /, '6G'],
    ['name', 'a/b', /^The guest name contains '\/', which libvirt does not allow$/, 'rt-guest'],
  ]) {
    await page.fill(`[data-testid=${field}]`, value);
    await page.waitForSelector(`#${field}-hint .field-error`);
    assert.match(await page.innerText(`#${field}-hint .field-error`), message);
    // The field names the line as its description, so a screen reader says it with the field.
    assert.equal(await page.getAttribute(`[data-testid=${field}]`, 'aria-describedby'), `${field}-hint`);
    assert.deepEqual(await invalid(), [field]);
    await page.fill(`[data-testid=${field}]`, reset);
    await page.waitForSelector(`#${field}-hint .field-error`, { state: 'detached' });
    assert.deepEqual(await invalid(), []);
  }
  // Every wrong field is marked at once, each with its own message; mending one leaves the other.
  await page.fill('[data-testid=priority]', '0');
  await page.fill('[data-testid=vcpus]', '2.5');
  await page.waitForFunction(() => document.querySelectorAll('[aria-invalid=true]').length === 2);
  assert.deepEqual((await invalid()).sort(), ['priority', 'vcpus']);
  assert.match(await page.innerText('#priority-hint .field-error'), /between 1 and 99, not 0/);
  assert.match(await page.innerText('#vcpus-hint .field-error'), /'2.5' is not a whole number/);
  await page.fill('[data-testid=vcpus]', '4');
  await page.waitForFunction(() => document.querySelectorAll('[aria-invalid=true]').length === 1);
  assert.deepEqual(await invalid(), ['priority']);
  await page.fill('[data-testid=priority]', '1');
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.deepEqual(await invalid(), []);
  // A one-node host with node 1 chosen: the node menu says why.
  await page.selectOption('[data-testid=node]', '1');
  await paste(page, await readFile(fixture('smt2.xml'), 'utf8'));
  await page.waitForSelector('#node-hint .field-error');
  assert.match(await page.innerText('#node-hint .field-error'), /no NUMA node 1; its nodes are 0/);
  await close(s);
});

/** Every drawn map's SVG at its own size (`shrunk` lists those drawn smaller), the smallest CPU
 * label's rendered height, and how far the map scrolls sideways. */
async function mapGeometry(page) {
  return page.evaluate(() => {
    const svgs = [...document.querySelectorAll('svg.topology')];
    const map = document.querySelector('[data-testid=topology-map]');
    return {
      shrunk: svgs.filter((s) => s.getBoundingClientRect().width + 0.5 < Number(s.getAttribute('width'))).length,
      smallestLabel: Math.min(...[...document.querySelectorAll('svg.topology g.cpu text')].map((t) => t.getBoundingClientRect().height)),
      sideways: map.scrollWidth - map.clientWidth,
      pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
    };
  });
}

test('the map is one tab stop moved with the arrow keys, and its text stays readable on wide hosts and phones', async () => {
  const s = await open();
  const { page } = s;
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.equal(await page.locator('svg.topology g.cpu[tabindex]').count(), 0, 'no CPU is a tab stop of its own');
  // Tabbing from box 1's last button reaches the map beside it, which starts on the guest's vCPU 0.
  await page.focus('[data-testid=load-example]');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'topology-map');
  const line = () => page.innerText('[data-testid=map-line]');
  assert.equal(await line(), 'CPU 12: node 1, socket 1, core 0, siblings 12 — isolated, runs vCPU 0 of rt-guest (not real-time)');
  assert.equal(await page.getAttribute('svg.topology g.cpu.focus', 'data-cpu'), '12');
  await page.keyboard.press('ArrowRight');
  assert.match(await line(), /^CPU 13: .* runs vCPU 1 of rt-guest \(real-time\)$/);
  await page.keyboard.press('Home');
  assert.match(await line(), /^CPU 0: node 0, socket 0, core 0, siblings 0 — host \(housekeeping\)$/);
  await page.keyboard.press('ArrowLeft');
  assert.match(await line(), /^CPU 0: /, 'the first CPU stays put');
  // Down moves to the next row of the node, or on to the next node's first CPU.
  const before = await page.$eval('svg.topology g.cpu.focus', (g) => g.getBoundingClientRect().top);
  await page.keyboard.press('ArrowDown');
  const after = await page.$eval('svg.topology g.cpu.focus', (g) => g.getBoundingClientRect().top);
  assert.ok(after > before, `ArrowDown moved from ${before} to ${after}`);
  await page.keyboard.press('End');
  assert.match(await line(), /^CPU 15: /);
  assert.equal(await page.locator('svg.topology g.cpu.focus').count(), 1);
  // The pointer says what it is over; a click moves the keyboard there.
  await page.hover('svg.topology g.cpu[data-cpu="4"]');
  assert.match(await line(), /^CPU 4: /);
  await page.click('svg.topology g.cpu[data-cpu="5"]');
  assert.equal(await page.getAttribute('svg.topology g.cpu.focus', 'data-cpu'), '5');
  // A new plan recolours the CPUs the line describes.
  await page.fill('[data-testid=vcpus]', '2');
  await page.waitForFunction(() => document.querySelectorAll('svg.topology g.cpu.vcpu').length === 2);
  await page.focus('[data-testid=topology-map]');
  await page.click('svg.topology g.cpu[data-cpu="14"]');
  assert.match(await line(), /^CPU 14: .* isolated, free$/);

  // ppc64le with SMT8: its cores wrap onto rows that fit the page, at full size.
  await paste(page, await readFile(corpus('virt-manager/kvm-ppc64le.xml'), 'utf8'));
  await page.waitForFunction(() => document.querySelectorAll('svg.topology g.cpu').length === 96);
  const ppc = await mapGeometry(page);
  assert.deepEqual({ shrunk: ppc.shrunk, sideways: ppc.sideways }, { shrunk: 0, sideways: 0 });
  assert.ok(ppc.smallestLabel >= 10, `labels ${ppc.smallestLabel}px high`);
  await close(s);

  // A phone: the 160-CPU aarch64 host's map keeps its text size and fits or scrolls within itself.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const small = await phone.newPage();
  await small.goto(origin + SUBPATH);
  await small.waitForSelector('[data-testid=out-cmdline]');
  await small.fill('[data-testid=caps-input]', await readFile(corpus('virt-manager/kvm-aarch64.xml'), 'utf8'));
  await small.waitForFunction(() => document.querySelectorAll('svg.topology g.cpu').length === 160);
  const onPhone = await mapGeometry(small);
  assert.equal(onPhone.shrunk, 0);
  assert.ok(onPhone.smallestLabel >= 10, `labels ${onPhone.smallestLabel}px high on a phone`);
  assert.ok(onPhone.pageOverflow <= 1, `the page is ${onPhone.pageOverflow}px wider than the phone`);
  await small.screenshot({ path: path.join(artifacts, 'phone-aarch64-160-cpus.png'), fullPage: true });
  await phone.close();
});

test('the next steps are the bundle\'s README, with the page\'s link, and follow the plan', async () => {
  const xml = await readFile(fixture('smt2.xml'), 'utf8');
  const args = ['--vcpus', '3', '--memory', '8G', '--name', 'plc <1>', '--recipe', '3'];
  const link = cli(['plan', ...args, '--format', 'link'], xml).trim();
  const dir = await mkdtemp(path.join(tmpdir(), 'rtkvm-bundle-'));
  cli(['plan', ...args, '--format', 'bundle', '--out', dir], xml);
  const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
  await rm(dir, { recursive: true, force: true });
  const s = await open(link);
  const { page } = s;
  await reveal(page, 'out-readme');
  const d = await downloadOf(page, 'out-readme');
  assert.equal(d.name, 'README.md');
  assert.equal(d.content, readme, 'the runbook differs from the README of rtkvm plan --format bundle');
  assert.match(readme, /virsh vcpupin 'plc <1>'/);
  // A new plan brings its own steps, and the link they name is the page's new one.
  await page.fill('[data-testid=vcpus]', '2');
  await page.waitForFunction(() => document.querySelector('[data-testid=out-readme] pre')?.innerText.includes('The guest gets 2 vCPUs'));
  const hash = await settledHash(page);
  await page.waitForFunction((h) => document.querySelector('[data-testid=out-readme] pre')?.innerText.includes(h), hash);
  await close(s);
});

test('the huge pages can be only the guest\'s, and the page says what they take of the host\'s memory', async () => {
  const s = await open();
  const { page } = s;
  await page.waitForSelector('[data-testid=reservation]');
  assert.equal(await page.innerText('[data-testid=reservation]'),
    'Huge pages take 52 GiB of the host\'s 64 GiB: 26 × 1 GiB on node 0, 26 × 1 GiB on node 1. The rest, 12 GiB, stays normal memory (6 GiB or more on every node). The guest uses 16 GiB of them; 36 GiB stay free for more guests, or reserve only the guest\'s.');
  const example = cli(['example']);
  await page.selectOption('[data-testid=reserve]', 'guest');
  await page.waitForFunction(() => document.querySelector('[data-testid=reservation]')?.innerText.includes('uses all of them'));
  assert.match(await page.innerText('[data-testid=reservation]'), /^Huge pages take 16 GiB of the host's 64 GiB: none on node 0, 16 × 1 GiB on node 1\./);
  // The map's node headers say the same.
  assert.match(await page.innerText('.node[data-node="0"] .node-toggle'), /huge pages: none$/);
  assert.match(await page.innerText('.node[data-node="1"] .node-toggle'), /huge pages: 16 × 1 GiB$/);
  const args = ['--reserve', 'guest'];
  assert.deepEqual(await pageOutputs(page), cliOutputs(args, example));
  assert.match(await outputText(page, 'out-cmdline'), /hugepages=0:0,1:16\n$/);
  // Spare pages beside the guest's, for guests started later: on its node, said in the sentence.
  await page.fill('[data-testid=spare]', '8G');
  await page.waitForFunction(() => document.querySelector('[data-testid=reservation]')?.innerText.includes('stay spare'));
  assert.match(await page.innerText('[data-testid=reservation]'),
    /^Huge pages take 24 GiB of the host's 64 GiB: none on node 0, 24 × 1 GiB on node 1\. .* The guest uses 16 GiB of them; 8 GiB stay spare on node 1 for guests started later\.$/);
  const spared = [...args, '--spare', '8G'];
  assert.deepEqual(await pageOutputs(page), cliOutputs(spared, example));
  assert.match(await outputText(page, 'out-cmdline'), /hugepages=0:0,1:24\n$/);
  // More than the node has room for beside the guest is said under the field, with the limit.
  await page.fill('[data-testid=spare]', '20G');
  await page.waitForSelector('#spare-hint .field-error');
  assert.equal(await page.innerText('#spare-hint .field-error'), 'At most 10 GiB spare beside the guest on node 1');
  assert.equal(await page.getAttribute('[data-testid=spare]', 'aria-invalid'), 'true');
  await page.fill('[data-testid=spare]', '8G');
  await page.waitForSelector('#spare-hint .field-error', { state: 'detached' });
  // The choices travel in the link (v6) and come back with it.
  const hash = await settledHash(page);
  assert.ok(hash.startsWith('#v7.'), hash);
  const other = await s.context.newPage();
  await other.goto(origin + SUBPATH + hash);
  await other.waitForSelector('[data-testid=out-cmdline]');
  assert.equal(await other.inputValue('[data-testid=reserve]'), 'guest');
  assert.equal(await other.inputValue('[data-testid=spare]'), '8G');
  assert.equal(await outputText(other, 'out-cmdline'), cli(['plan', ...spared, '--format', 'cmdline'], example));
  // Spare pages with every page reserved already are refused, under the field.
  await other.selectOption('[data-testid=reserve]', 'all');
  await other.waitForSelector('#spare-hint .field-error');
  assert.match(await other.innerText('#spare-hint .field-error'), /^Spare huge pages \(8 GiB\) are kept only with the guest's reservation/);
  await other.close();
  await close(s);
});

/** Writes the example host's capabilities to a file of its own, for the CLI's `--caps`. */
async function exampleCapsFile() {
  const dir = await mkdtemp(path.join(tmpdir(), 'rtkvm-caps-'));
  const file = path.join(dir, 'caps.xml');
  await writeFile(file, cli(['example']));
  return { file, done: () => rm(dir, { recursive: true, force: true }) };
}

/** What `rtkvm check DOMAIN --caps CAPS [args]` finds, as `code:line`, in order (it exits 1 with findings). */
function cliFindings(domainFile, caps, args = []) {
  const r = spawnSync(bin, ['check', domainFile, '--caps', caps, ...args, '--format', 'json'], { encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return JSON.parse(r.stdout).findings.map((f) => `${f.code}:${f.line}`);
}

/** The page's findings, as `code:line`, in order. */
function pageFindings(page) {
  return page.$$eval('[data-testid=finding]', (els) => els.map((e) => `${e.dataset.code}:${e.querySelector('[data-testid=finding-line]').dataset.line}`));
}

test('a pasted domain: the CLI\'s findings, each showing its line, announced; the link leaves it out; the runbook defines it patched', async () => {
  const domainFile = path.join(root, 'core', 'fixtures', 'domains', 'guide-example.xml');
  const domain = await readFile(domainFile, 'utf8');
  const caps = await exampleCapsFile();
  const s = await open();
  const { page } = s;
  // Nothing of the domain's is on the page before one is pasted.
  assert.equal(await page.getAttribute('[data-testid=domain-status]', 'aria-live'), 'polite');
  assert.equal(await page.innerText('[data-testid=domain-status]'), '');
  assert.equal(await page.locator('[data-testid=link-note]').count(), 0);
  await page.fill('[data-testid=domain-input]', domain);
  await page.waitForSelector('[data-testid=findings]');
  // What `rtkvm check --caps` finds against the same host and settings, in the same order and lines;
  // libvirt's guide example keeps both of the guide's mistakes.
  const found = await pageFindings(page);
  assert.deepEqual(found, cliFindings(domainFile, caps.file));
  assert.ok(found.includes('vcpusched-unknown-vcpu:9'), found.join(' '));
  assert.ok(found.includes('hugepage-nodeset-unknown:12'), found.join(' '));
  const vcpusched = page.locator('[data-testid=finding][data-code=vcpusched-unknown-vcpu]');
  assert.match(await vcpusched.innerText(), /^error vcpusched-unknown-vcpu line 9 <cputune\/vcpusched>: <vcpusched vcpus='0-4'> names vCPU 4, but the domain has 4 \(0 to 3\)\n.+\nFix: /);
  // The finding's line button selects its line in the box.
  await vcpusched.locator('[data-testid=finding-line]').click();
  const selected = await page.evaluate(() => {
    const area = document.getElementById('domain');
    return { focused: document.activeElement === area, text: area.value.slice(area.selectionStart, area.selectionEnd) };
  });
  assert.deepEqual(selected, { focused: true, text: domain.split('\n')[8] });
  // Announced, politely: the counts and the errors' codes.
  assert.match(await page.innerText('[data-testid=domain-status]'),
    /^rt-guide-example: 3 errors \(memory-not-bound, vcpusched-unknown-vcpu, hugepage-nodeset-unknown\), 4 warnings\./);
  // The share link does not carry the domain, and the page says so next to Copy link.
  assert.match(await page.innerText('.share [data-testid=link-note]'), /does not carry your VM's domain/);
  // The patched domain and the diff are rtkvm apply's.
  const apply = (format) => cli(['apply', domainFile, '--caps', caps.file, '--format', format]);
  assert.equal(await outputText(page, 'out-patched'), apply('xml'));
  assert.equal(await outputText(page, 'out-diff'), apply('diff'));
  // The runbook defines the patched domain instead of a new one.
  const readme = await outputText(page, 'out-readme');
  assert.match(readme, /Review the changes in `rt-guide-example\.diff`/);
  assert.match(readme, /define the patched domain `rt-guide-example\.xml`/);
  assert.match(readme, /\n {4}virsh define rt-guide-example\.xml\n {4}virsh start rt-guide-example\n/);
  assert.doesNotMatch(readme, /Add the guest's disks/);
  assert.deepEqual(await axeViolations(page), [], 'axe-core, a domain pasted');
  await page.screenshot({ path: path.join(artifacts, 'domain-guide-example.png'), fullPage: true });
  // An empty box takes it all away again.
  await page.fill('[data-testid=domain-input]', '');
  await page.waitForSelector('[data-testid=domain-results]', { state: 'detached' });
  assert.equal(await page.locator('[data-testid=link-note]').count(), 0);
  assert.match(await outputText(page, 'out-readme'), /Add the guest's disks/);
  await close(s);
  await caps.done();
});

test('a typical virt-install VM opened from a file is patched as rtkvm apply patches it, byte for byte', async () => {
  const domainFile = path.join(root, 'core', 'tests', 'domains', 'virt-manager', 'virt-install-f21-kvm-remote.xml');
  const caps = await exampleCapsFile();
  const s = await open();
  const { page } = s;
  await page.setInputFiles('[data-testid=domain-file]', domainFile);
  await page.waitForSelector('[data-testid=out-diff]');
  assert.equal(await page.inputValue('[data-testid=domain-input]'), await readFile(domainFile, 'utf8'));
  // The form at its defaults gives no --vcpus, --memory or --node: the domain's own are planned.
  const apply = (args, format) => cli(['apply', domainFile, '--caps', caps.file, ...args, '--format', format]);
  const xml = await downloadOf(page, 'out-patched');
  assert.equal(xml.name, 'fedora21.xml');
  assert.equal(xml.content, apply([], 'xml'));
  const diff = await downloadOf(page, 'out-diff');
  assert.equal(diff.name, 'fedora21.diff');
  assert.equal(diff.content, apply([], 'diff'));
  assert.equal(await page.innerText('[data-testid=planned-for]'),
    'Patched with the plan for 2 vCPUs and 1 GiB on host node 1. Memory rounded up from 64 MiB to 1 GiB, a whole number of 1 GiB pages.');
  assert.deepEqual(await pageFindings(page), cliFindings(domainFile, caps.file));
  // A field that differs from its default is the CLI's flag.
  await page.fill('[data-testid=vcpus]', '3');
  await page.fill('[data-testid=priority]', '2');
  await page.selectOption('[data-testid=emulator]', 'isolate');
  await page.waitForFunction(() => document.querySelector('[data-testid=planned-for]')?.innerText.includes('3 vCPUs'));
  const args = ['--vcpus', '3', '--priority', '2', '--emulator', 'isolate'];
  assert.equal(await outputText(page, 'out-patched'), apply(args, 'xml'));
  assert.equal(await outputText(page, 'out-diff'), apply(args, 'diff'));
  assert.deepEqual(await pageFindings(page), cliFindings(domainFile, caps.file, args));
  assert.match(await outputText(page, 'out-readme'), /define the patched domain `fedora21\.xml`/);
  // Patching the patched domain changes nothing.
  await page.fill('[data-testid=domain-input]', apply(args, 'xml'));
  await page.waitForSelector('[data-testid=domain-unchanged]');
  await close(s);
  await caps.done();
});

test('capabilities pasted into the domain box, and a domain into the capabilities box, are each sent to the right box', async () => {
  const s = await open();
  const { page } = s;
  await page.fill('[data-testid=domain-input]', cli(['example']));
  await page.waitForSelector('[data-testid=domain-error]');
  const inDomainBox = await page.innerText('[data-testid=domain-error]');
  assert.match(inDomainBox, /this is the output of “virsh capabilities”, the host's capabilities, not a VM: paste it into box 1, “Host capabilities”; this box takes a VM's “virsh dumpxml NAME”/);
  assert.doesNotMatch(inDomainBox, /--caps/);
  // The plan stays the example's.
  assert.match(await page.innerText('[data-testid=placement]'), /host CPUs 12, 13, 14, 15/);
  await page.fill('[data-testid=domain-input]', '');
  await page.waitForSelector('[data-testid=domain-error]', { state: 'detached' });
  await paste(page, await readFile(path.join(root, 'core', 'fixtures', 'domains', 'guide-example.xml'), 'utf8'));
  await page.waitForSelector('[data-testid=error]');
  const inCapsBox = await page.innerText('[data-testid=error]');
  assert.match(inCapsBox, /^The capabilities cannot be used: this is a domain XML \(“virsh dumpxml”\), not the host's “virsh capabilities”: to check and patch this VM, paste it into box 4, “Your VM”; box 1 takes the output of “virsh capabilities” run on the host/);
  assert.equal(await page.locator('[data-testid=domain-results]').count(), 0);
  await close(s);
});

/** Every file of `rtkvm plan … --format bundle` for the capabilities `xml`, by its path in the bundle. */
async function cliBundle(args, xml) {
  const dir = await mkdtemp(path.join(tmpdir(), 'rtkvm-bundle-'));
  cli(['plan', ...args, '--format', 'bundle', '--out', dir], xml);
  const files = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    files[path.relative(dir, full)] = await readFile(full, 'utf8');
  }
  await rm(dir, { recursive: true, force: true });
  return files;
}

/** The page's output (its test id) that a bundle file is, for a plan of the guests `names` in order;
 * `null` for a file the page does not offer. */
function pageTestid(file, names) {
  const host = { 'README.md': 'out-readme', 'kernel-cmdline.txt': 'out-cmdline', 'rtkvm-host.sh': 'out-hugepages', 'hugepages.sh': 'out-hugepages',
    '90-rtkvm-realtime.conf': 'out-sysctl', 'rtkvm-host.service': 'out-unit', 'tuned-host.sh': 'out-tuned', 'rtkvm-rtentsk.service': 'out-rtentsk' };
  const guest = { 'guest-kernel-cmdline.txt': 'out-guest-cmdline', 'realtime-virtual-guest-variables.conf': 'out-guest-tuned',
    'guest-setup.sh': 'out-guest-setup', 'latency-test.sh': 'out-latency-test' };
  if (host[file]) return host[file];
  const [folder, name, ...rest] = file.split('/');
  const i = names.indexOf(folder);
  if (i < 0 || rest.length) return null;
  const base = name === `${folder}.xml` ? 'out-xml' : guest[name];
  return base ? (i ? `${base}-${i + 1}` : base) : null;
}

/** Downloads every file of a CLI bundle from the page and compares it, name and bytes; the README's
 * share link is the page's own (`link`), where the CLI's bundle has the CLI's (`cliLink`). Returns
 * the bundle's files the page does not offer. */
async function assertBundleEqualsPage(page, bundle, names, link, cliLink) {
  const absent = [];
  for (const [file, content] of Object.entries(bundle)) {
    const testid = pageTestid(file, names);
    if (!testid) { absent.push(file); continue; }
    const d = await downloadOf(page, testid).catch((e) => { throw new Error(`${file} (${testid}): ${e.message}`); });
    assert.equal(d.name, path.basename(file), `${file}: the page names it ${d.name}`);
    const expected = file === 'README.md' ? content.split(cliLink).join(link) : content;
    assert.equal(d.content, expected, `${file} differs from rtkvm plan --format bundle's`);
  }
  return absent;
}

test('three guests built in the page (added, duplicated, edited, reordered) equal rtkvm plan --guest … --format bundle file for file, and the link reopens them', async () => {
  const s = await open();
  const { page } = s;
  // One guest: the form as it always was, no card.
  assert.equal(await page.locator('.guest-card').count(), 0);
  await page.fill('[data-testid=name]', 'plc-a');
  await page.fill('[data-testid=vcpus]', '2');
  await page.fill('[data-testid=memory]', '8G');
  await page.click('[data-testid=add-guest]');
  await page.waitForSelector('[data-testid=guest-card-2]');
  // The new guest's name has the focus, so that it can be named at once.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'guest2-name');
  assert.equal(await page.inputValue('[data-testid=guest2-name]'), 'plc-a-2');
  // Every card has the first guest's fields: selects for the node, scheduler and emulator threads.
  for (const key of ['node', 'scheduler', 'emulator']) {
    assert.equal(await page.locator(`[data-testid=guest2-${key}]`).evaluate((e) => e.tagName), 'SELECT', key);
  }
  await page.click('[data-testid=duplicate-guest-2]');
  await page.waitForSelector('[data-testid=guest-card-3]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'guest3-name');
  assert.equal(await page.inputValue('[data-testid=guest3-name]'), 'plc-a-2-2');
  await page.fill('[data-testid=guest3-name]', 'hmi');
  await page.fill('[data-testid=guest3-vcpus]', '3');
  await page.fill('[data-testid=guest3-memory]', '4G');
  await page.selectOption('[data-testid=guest3-node]', '0');
  await page.selectOption('[data-testid=guest3-emulator]', 'isolate');
  await page.selectOption('[data-testid=guest2-node]', '1');
  await page.selectOption('[data-testid=guest2-scheduler]', 'rr');
  await page.fill('[data-testid=guest2-priority]', '10');
  // Reordered with the keyboard: hmi moves up, and the focus stays on its Move up button.
  await page.focus('[data-testid=move-up-guest-3]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=guest2-name]').value === 'hmi');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'move-up-guest-2');
  assert.equal(await page.innerText('[data-testid=announce]'), 'hmi is guest 2 of 3');
  // At the top it has no Move up: the focus goes to its Move down.
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=name]').value === 'hmi');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'move-down-guest-1');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=guest2-name]').value === 'hmi');
  const names = ['plc-a', 'hmi', 'plc-a-2'];
  const args = ['--guest', 'name=plc-a,vcpus=2,memory=8G', '--guest', 'name=hmi,vcpus=3,memory=4G,node=0,emulator=isolate',
    '--guest', 'name=plc-a-2,vcpus=2,memory=8G,node=1,scheduler=rr,priority=10'];
  const example = cli(['example']);
  const plan = JSON.parse(cli(['plan', ...args, '--format', 'json'], example));
  assert.deepEqual(plan.guests.map((g) => g.name), names);
  await page.waitForSelector('[data-testid=guest-3]');
  // Each card says what its guest can still have beside the others.
  assert.equal(await page.innerText('[data-testid=guest-room-1]'), 'At most 4 vCPUs and 18 GiB on node 1 beside plc-a-2.');
  assert.equal(await page.innerText('[data-testid=guest-room-2]'), 'At most 5 vCPUs and 26 GiB on node 0.');
  assert.match((await page.innerText('[data-testid=room-left]')).trim(), /^The largest further guest each node still takes beside these: node 0: 2 vCPUs, 22 GiB; node 1: 2 vCPUs, 10 GiB\.$/);
  const link = await settledHash(page);
  const cliLink = cli(['plan', ...args, '--format', 'link'], example).trim();
  const bundle = await cliBundle(args, example);
  const absent = await assertBundleEqualsPage(page, bundle, names, link, cliLink);
  // The page offers every file of the bundle but the live-host check and the exports for other stacks.
  assert.deepEqual(absent.filter((f) => !f.startsWith('deploy/')), ['rtkvm-check.sh']);
  assert.ok(Object.keys(bundle).length - absent.length >= 1 + 3 + 3 * 5, Object.keys(bundle).join(' '));
  await page.screenshot({ path: path.join(artifacts, 'three-guests.png'), fullPage: true });
  // The link carries every guest: a new page opens the same three, with the same files.
  const again = await open(link);
  await again.page.waitForSelector('[data-testid=guest-card-3]');
  assert.deepEqual(await Promise.all(['name', 'guest2-name', 'guest3-name'].map((f) => again.page.inputValue(`[data-testid=${f}]`))), names);
  assert.equal(await again.page.inputValue('[data-testid=guest3-scheduler]'), 'rr');
  await assertBundleEqualsPage(again.page, bundle, names, link, cliLink);
  await close(again);
  // The CLI's own link opens to its bundle, README and all.
  const cliPage = await open(cliLink);
  await cliPage.page.waitForSelector('[data-testid=guest-card-3]');
  await assertBundleEqualsPage(cliPage.page, bundle, names, cliLink, cliLink);
  // Removing a guest plans the others alone.
  await cliPage.page.click('[data-testid=remove-guest-3]');
  await cliPage.page.waitForFunction(() => !document.querySelector('[data-testid=guest-3]'));
  await close(cliPage);
  await close(s);
});

test('the map draws each guest in its own colour and pattern, with its name, and names it on the keyboard line', async () => {
  const s = await open();
  const { page } = s;
  await page.waitForSelector('[data-testid=out-cmdline]');
  const one = { legend: await page.innerText('.legend'), cpus: await page.$$eval('svg.topology g.cpu', (g) => g.map((c) => c.getAttribute('class').replace(' focus', ''))) };
  await page.click('[data-testid=add-guest]');
  await page.click('[data-testid=add-guest]');
  await page.fill('[data-testid=guest2-vcpus]', '2');
  await page.fill('[data-testid=guest3-vcpus]', '2');
  await page.fill('[data-testid=guest3-memory]', '4G');
  await page.selectOption('[data-testid=guest3-emulator]', 'isolate');
  await page.waitForSelector('[data-testid=guest-3]');
  await page.waitForSelector('svg.topology g.cpu.emu');
  const plan = JSON.parse(cli(['plan', '--guest', 'name=rt-guest,vcpus=4,memory=16G', '--guest', 'name=rt-guest-2,vcpus=2,memory=16G',
    '--guest', 'name=rt-guest-3,vcpus=2,memory=4G,emulator=isolate', '--format', 'json'], cli(['example'])));
  // Each guest's vCPUs in its own style (the first as with one guest), labelled v0, v1, …
  for (const [i, g] of plan.guests.entries()) {
    for (const [k, cpu] of g.vcpupin.entries()) {
      const drawn = await page.$eval(`svg.topology g.cpu[data-cpu="${cpu}"]`, (c) => [c.getAttribute('class'), c.querySelector('text').textContent]);
      assert.deepEqual(drawn, [i === 0 ? 'cpu vcpu' : `cpu vcpu g${i}`, `v${k}`], `vCPU ${k} of ${g.name} on CPU ${cpu}`);
    }
  }
  // Guest 3's emulator core of its own is in its style, labelled emu; guest 2's emulator threads run on
  // its node's housekeeping CPUs, as the plan's.
  const emu = Number(plan.guests[2].emulatorpin);
  assert.deepEqual(await page.$eval(`svg.topology g.cpu[data-cpu="${emu}"]`, (c) => [c.getAttribute('class'), c.querySelector('text').textContent]), ['cpu emu g2', 'emu']);
  const fills = await page.$$eval('svg.topology g.cpu.g1 rect, svg.topology g.cpu.g2 rect', (r) => [...new Set(r.map((x) => getComputedStyle(x).fill))].sort());
  assert.deepEqual(fills, ['url("#p1")', 'url("#p2")'], 'a pattern of its own for each guest');
  // The legend names each guest beside its swatch, in its style.
  const legend = await page.$$eval('.legend li', (li) => li.map((l) => [l.querySelector('.swatch').className, l.innerText.trim()]));
  assert.deepEqual(legend.slice(-3), [
    ['swatch vcpu', 'rt-guest: vCPU k (vk)'],
    ['swatch vcpu g1', 'rt-guest-2: vCPU k (vk)'],
    ['swatch vcpu g2', 'rt-guest-3: vCPU k (vk), its emulator core (emu)'],
  ]);
  const node = plan.guests[1].node;
  assert.match(await page.innerText(`.node[data-node="${node}"] .node-toggle`), /; guests rt-guest-2, rt-guest-3$/);
  // The keyboard line and the tooltip name the guest.
  const line = () => page.innerText('[data-testid=map-line]');
  await page.click(`svg.topology g.cpu[data-cpu="${plan.guests[1].vcpupin[1]}"]`);
  assert.match(await line(), /— isolated, runs vCPU 1 of rt-guest-2 \(real-time\)$/);
  assert.match(await page.textContent(`[data-cpu="${plan.guests[1].vcpupin[1]}"] title`), /runs vCPU 1 of rt-guest-2 \(real-time\)$/);
  await page.click(`svg.topology g.cpu[data-cpu="${emu}"]`);
  assert.match(await line(), /— isolated, runs the emulator threads of rt-guest-3$/);
  await page.click(`svg.topology g.cpu[data-cpu="${plan.guests[1].emulatorpin.split(/[-,]/)[0]}"]`);
  assert.match(await line(), /— host \(housekeeping\), runs the emulator threads of rt-guest-2$/);
  // A guest renamed is named at once on the line, and in a tooltip when the pointer comes back.
  await page.fill('[data-testid=guest2-name]', 'plc-b');
  await page.waitForFunction(() => [...document.querySelectorAll('.legend li')].some((l) => l.innerText.startsWith('plc-b:')));
  await page.hover(`svg.topology g.cpu[data-cpu="${emu}"]`);
  await page.hover(`svg.topology g.cpu[data-cpu="${plan.guests[1].vcpupin[1]}"]`);
  assert.match(await page.textContent(`[data-cpu="${plan.guests[1].vcpupin[1]}"] title`), /runs vCPU 1 of plc-b \(real-time\)$/);
  assert.deepEqual(await axeViolations(page), [], 'axe-core, three guests');
  await page.screenshot({ path: path.join(artifacts, 'map-three-guests.png'), fullPage: false });
  // Back to one guest: the map and its legend look as they did.
  await page.click('[data-testid=remove-guest-3]');
  await page.click('[data-testid=remove-guest-2]');
  await page.waitForFunction(() => !document.querySelector('svg.topology g.cpu.g1, svg.topology g.cpu.emu'));
  assert.deepEqual({ legend: await page.innerText('.legend'), cpus: await page.$$eval('svg.topology g.cpu', (g) => g.map((c) => c.getAttribute('class').replace(' focus', ''))) }, one);
  await close(s);
});

/** Runs the CLI and returns its output and the warnings it printed for an export (`rtkvm: warning[nto]: …`). */
function cliWarned(args, input) {
  const r = spawnSync(bin, args, { input, encoding: 'utf8', cwd: root });
  assert.equal(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('rtkvm: warning[')).map((l) => l.replace(/^rtkvm: warning\[[a-z-]+\]: /, ''));
  return { out: r.stdout, warnings };
}

/** The warnings an export's box lists beside it. */
async function exportWarnings(page, testid) {
  const list = page.locator(`[data-testid=${testid}-warnings] li`);
  return list.allInnerTexts();
}

/** Each deploy export of the page, downloaded, against `rtkvm plan … --format F` (and its warnings). */
async function assertExportsAsTheCli(page, args, example, guests) {
  for (const [testid, format, name] of [['out-nto', 'nto', 'nto-performanceprofile.yaml'], ['out-nova', 'nova', 'nova-flavors.sh'],
    ['out-nova-conf', 'nova-conf', 'nova.conf'], ['out-check', 'check-script', 'rtkvm-check.sh']]) {
    const d = await downloadOf(page, testid);
    const { out, warnings } = cliWarned(['plan', ...args, '--format', format], example);
    assert.equal(d.name, name);
    assert.equal(d.content, out, `${name} differs from rtkvm plan --format ${format}`);
    if (format !== 'check-script') assert.deepEqual(await exportWarnings(page, testid), warnings, `${name}: the warnings beside it`);
  }
  // A VirtualMachine per guest: each the bundle's file, together the CLI's stream.
  const dir = await mkdtemp(path.join(tmpdir(), 'rtkvm-bundle-'));
  cli(['plan', ...args, '--format', 'bundle', '--out', dir], example);
  const vms = [];
  for (const [i, guest] of guests.entries()) {
    const d = await downloadOf(page, i ? `out-kubevirt-${i + 1}` : 'out-kubevirt');
    assert.equal(d.name, `kubevirt-${guest}.yaml`);
    assert.equal(d.content, await readFile(path.join(dir, 'deploy', d.name), 'utf8'), `${d.name} differs from the bundle's`);
    vms.push(d.content);
  }
  await rm(dir, { recursive: true });
  const { out, warnings } = cliWarned(['plan', ...args, '--format', 'kubevirt'], example);
  assert.equal(vms.join('---\n'), out, 'the VirtualMachines differ from rtkvm plan --format kubevirt');
  const shown = [];
  for (const i of guests.keys()) shown.push(...await exportWarnings(page, i ? `out-kubevirt-${i + 1}` : 'out-kubevirt'));
  assert.deepEqual(shown, warnings, 'the VirtualMachines\' warnings');
}

test('the deploy exports and the check script download as the CLI prints them, for one guest and for two', async () => {
  const s = await open('', originFull);
  const { page } = s;
  const example = cli(['example']);
  await page.waitForSelector('[data-testid=deploy]');
  // Nothing is written before its box is opened.
  assert.equal(await page.locator('[data-testid=out-nto], [data-testid=out-kubevirt], [data-testid=out-nova], [data-testid=out-check]').count(), 0);
  // The profile's node selector is a placeholder the page names, as the file's header does.
  assert.match(await page.innerText('[data-testid=deploy]'), /replace the node selector's placeholder label node-role\.kubernetes\.io\/worker-rt with the label of your real-time worker nodes/);
  await assertExportsAsTheCli(page, [], example, ['rt-guest']);
  assert.ok((await exportWarnings(page, 'out-nova')).length > 0, 'Nova\'s own placement is said beside its flavors');
  await page.click('[data-testid=add-guest]');
  await page.fill('[data-testid=guest2-vcpus]', '2');
  await page.fill('[data-testid=guest2-priority]', '5');
  await page.waitForSelector('[data-testid=kubevirt-box-2]');
  await page.waitForFunction(() => document.querySelector('[data-testid=out-nova] pre')?.innerText.includes("'hw:cpu_realtime_mask=^0'") && document.querySelector('[data-testid=out-nova] pre').innerText.includes('rt-guest-2'));
  await assertExportsAsTheCli(page, ['--guest', 'name=rt-guest', '--guest', 'name=rt-guest-2,vcpus=2,priority=5'], example, ['rt-guest', 'rt-guest-2']);
  await close(s);
});

/** The expectations `rtkvm-check.sh` carries, read from the script itself. */
function checkPlan(script) {
  const one = (re) => script.match(re)?.[1];
  return {
    isolated: one(/^isolated="(.*)"$/m),
    housekeeping: one(/^housekeeping="(.*)"$/m),
    params: one(/^for param in (.*); do$/m).split(' '),
    sizeKb: one(/hugepages-(\d+)kB$/m),
    pages: [...script.matchAll(/^pages (\d+) (\d+)$/gm)].map((m) => ({ node: m[1], count: Number(m[2]) })),
    sysctls: [...script.matchAll(/^sysctl_is (\S+) (.*)$/gm)].map((m) => [m[1], m[2]]),
    kthreads: [...script.matchAll(/^kthreads (\S+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
    stalld: Number(one(/"running, SCHED_FIFO (\d+)"/)),
    guests: [...script.matchAll(/^guest (\d+) "([^"]*)" "([^"]*)" (\d) (\d+) (\S+)$/gm)].map((m) => ({
      pins: m[2].split(' ').map(Number), rt: m[3] ? m[3].split(' ').map(Number) : [], policy: Number(m[4]), priority: Number(m[5]), emulator: m[6],
    })),
  };
}

/** The CPUs of a cpulist (`2-7,10-15`). */
function cpus(list) {
  return list.split(',').filter(Boolean).flatMap((r) => {
    const [a, b = a] = r.split('-').map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

/** A cpulist as the kernel's hexadecimal cpumask. */
function cpumask(list) {
  return cpus(list).reduce((m, c) => m | (1n << BigInt(c)), 0n).toString(16);
}

/** Writes a fake host's /proc and /sys under `dir` (what `rtkvm-check.sh --root DIR` reads, as
 * core/tests/verify.rs's trees): the host the script's plan expects, its guests running, or with
 * `faults` a host rebooted without the plan's command line, one node short of pages, irqbalance
 * running and no guest started. */
async function fakeHost(dir, plan, faults = false) {
  const write = async (file, text) => {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), `${text}\n`);
  };
  let next = 100;
  const stat = (pid, comm, state, cpu, rtprio, policy) => `${pid} (${comm}) ${[state, ...Array(35).fill(0), cpu, rtprio, policy].join(' ')}`;
  const processOf = async (comm, cpu, rtprio, policy) => {
    const pid = next++;
    await write(`proc/${pid}/comm`, comm);
    await write(`proc/${pid}/stat`, stat(pid, comm, 'S', cpu, rtprio, policy));
    return pid;
  };
  const thread = async (pid, comm, allowed, rtprio, policy) => {
    const tid = next++;
    const task = `proc/${pid}/task/${tid}`;
    await write(`${task}/comm`, comm);
    await write(`${task}/status`, `Name:\t${comm}\nCpus_allowed_list:\t${allowed}`);
    await write(`${task}/stat`, stat(tid, comm, 'S', cpus(allowed)[0], rtprio, policy));
  };
  await write('proc/cmdline', faults ? 'BOOT_IMAGE=/vmlinuz ro quiet' : `BOOT_IMAGE=/vmlinuz ro ${plan.params.join(' ')}`);
  await write('sys/devices/system/cpu/isolated', faults ? '' : plan.isolated);
  await write('sys/devices/system/cpu/nohz_full', faults ? '' : plan.isolated);
  for (const [i, p] of plan.pages.entries()) {
    const pages = `sys/devices/system/node/node${p.node}/hugepages/hugepages-${plan.sizeKb}kB`;
    const count = faults && i === plan.pages.length - 1 ? p.count - 2 : p.count;
    await write(`${pages}/nr_hugepages`, String(count));
    await write(`${pages}/free_hugepages`, String(count));
  }
  for (const [key, value] of plan.sysctls) await write(`proc/sys/${key.replaceAll('.', '/')}`, value);
  await write('proc/sys/kernel/version', '#1 SMP PREEMPT_RT Thu Dec  4 00:00:00 UTC 2026');
  await write('proc/irq/24/smp_affinity_list', plan.housekeeping);
  await write('proc/irq/default_smp_affinity', cpumask(plan.housekeeping));
  await write('sys/devices/virtual/workqueue/cpumask', cpumask(plan.housekeeping));
  for (const [prefix, priority] of plan.kthreads) {
    for (const cpu of cpus(plan.isolated)) await processOf(`${prefix}/${cpu}`, cpu, priority, 1);
  }
  await processOf('stalld', 0, plan.stalld, 1);
  if (faults) {
    await processOf('irqbalance', 0, 0, 0);
    return;
  }
  for (const g of plan.guests) {
    const qemu = await processOf('qemu-system-x86', 0, 0, 0);
    await thread(qemu, 'qemu-system-x86', g.emulator, 0, 0);
    for (const [vcpu, cpu] of g.pins.entries()) {
      const rt = g.rt.includes(vcpu);
      await thread(qemu, `CPU ${vcpu}/KVM`, String(cpu), rt ? g.priority : 0, rt ? g.policy : 0);
    }
  }
}

/** Runs the check script on a fake host; returns its output and exit status. */
async function checkReport(script, faults) {
  const dir = await mkdtemp(path.join(tmpdir(), 'rtkvm-host-'));
  await writeFile(path.join(dir, 'rtkvm-check.sh'), script);
  const tree = path.join(dir, 'root');
  await fakeHost(tree, checkPlan(script), faults);
  const r = spawnSync('sh', [path.join(dir, 'rtkvm-check.sh'), '--root', tree], { encoding: 'utf8' });
  await rm(dir, { recursive: true });
  return { report: r.stdout, status: r.status };
}

/** Pastes a report into the page's box and waits for what the page makes of it. */
async function pasteReport(page, report) {
  await page.fill('[data-testid=report-input]', report);
  await page.waitForSelector('[data-testid=report-summary], [data-testid=report-error]');
}

test('a report of the check script, pasted back, shows the plan\'s checklist: green, red with what to do, grey; another plan\'s is refused', async () => {
  const s = await open('', originFull);
  const { page } = s;
  const example = cli(['example']);
  const caps = path.join(await mkdtemp(path.join(tmpdir(), 'rtkvm-caps-')), 'example.xml');
  await writeFile(caps, example);
  const script = (await downloadOf(page, 'out-check')).content;

  // A host that runs the plan, its guest included: every check green.
  const good = await checkReport(script, false);
  assert.equal(good.status, 0, good.report);
  await pasteReport(page, good.report);
  const lines = page.locator('[data-testid=check-line]');
  const count = good.report.split('\n').filter((l) => /^(PASS|FAIL|SKIP) /.test(l)).length;
  assert.ok(count > 30, good.report);
  assert.equal(await lines.count(), count);
  assert.equal(await page.locator('[data-testid=check-line][data-status=PASS]').count(), count);
  const summary = `Report read: ${count} checks, ${count} passed, 0 failed, 0 skipped.`;
  assert.equal(await page.innerText('[data-testid=report-summary]'), summary);
  await page.waitForFunction((t) => document.getElementById('announce').textContent === t, summary);
  assert.equal(await lines.first().evaluate((li) => getComputedStyle(li).borderLeftColor), 'rgb(26, 127, 55)');

  // A host rebooted without the command line, short of pages, irqbalance running, no guest started.
  const bad = await checkReport(script, true);
  const failed = bad.report.split('\n').filter((l) => l.startsWith('FAIL ')).map((l) => l.slice(5).split(' | ')[0]);
  assert.equal(bad.status, failed.length);
  for (const check of ['cmdline isolcpus=managed_irq,domain,2-7,10-15', 'isolated', 'nohz_full', 'hugepages node 1', 'irqbalance']) {
    assert.ok(failed.includes(check), `${check} did not fail:\n${bad.report}`);
  }
  await pasteReport(page, bad.report);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=check-line][data-status=FAIL]').length === n, failed.length);
  const red = page.locator('[data-testid=check-line][data-status=FAIL]');
  assert.deepEqual(await red.locator('code:first-of-type').allInnerTexts(), failed);
  for (const li of await red.all()) {
    assert.equal(await li.evaluate((e) => getComputedStyle(e).borderLeftColor), 'rgb(179, 38, 30)');
    assert.match(await li.innerText(), /\nWhat to do: \S/);
  }
  const grey = page.locator('[data-testid=check-line][data-status=SKIP]');
  assert.match(await grey.first().innerText(), /^SKIP guest 1: found no vCPU thread on host CPU 12 \(not running\?\); expected vCPU 0 on 12$/);
  assert.equal(await grey.first().evaluate((e) => getComputedStyle(e).borderLeftColor), 'rgb(89, 99, 110)');
  // Each line as `rtkvm verify` prints it, what to do included.
  const verify = spawnSync(bin, ['verify', '--caps', caps], { input: bad.report, encoding: 'utf8' });
  assert.equal(verify.status, 1, verify.stderr);
  const shown = (await lines.allInnerTexts()).map((t) => t.replace('\nWhat to do: ', '\n     what to do: '));
  const expected = verify.stdout.replace(/^\d+ checks, \d+ failed\n$/m, '').split('\n').slice(0, -1);
  assert.equal(shown.length, expected.filter((l) => !l.startsWith(' ')).length);
  assert.deepEqual(shown.flatMap((t) => t.split('\n')), expected);
  const announced = await page.evaluate(() => document.getElementById('announce').textContent);
  const badCount = bad.report.split('\n').filter((l) => /^(PASS|FAIL|SKIP) /.test(l)).length;
  assert.match(announced, new RegExp(`^Report read: ${badCount} checks, ${badCount - failed.length - 1} passed, ${failed.length} failed, 1 skipped\\. Failed: cmdline isolcpus=managed_irq,domain,2-7,10-15; .*; and ${failed.length - 5} more\\.$`));

  // The sections open, the checklist shown: nothing for axe-core to find.
  for (const box of ['nto-box', 'kubevirt-box', 'nova-box']) await page.click(`[data-testid=${box}] summary`);
  await page.waitForSelector('[data-testid=out-nova-conf]');
  assert.deepEqual(await axeViolations(page), [], 'axe-core, the deploy sections open and a report with failures');

  // Another plan: the report stays in its box and is refused, in the page's words.
  await page.fill('[data-testid=vcpus]', '2');
  await page.waitForSelector('[data-testid=report-error]');
  const refused = await page.innerText('[data-testid=report-error]');
  assert.match(refused, /^The report cannot be read: This report checks another plan \([0-9a-f]{16}\); the page's plan is [0-9a-f]{16}\. It was made for another host, other settings or another version of rtkvm\. Make the page show the plan the report was made for \(that host's capabilities in 1\. Host capabilities, the same values in 2\. Host and 3\. Guest, or that plan's share link\), or run this plan's check script/);
  assert.ok(!refused.includes('--'), 'no CLI flag');
  assert.equal(await page.locator('[data-testid=checklist]').count(), 0);
  await page.waitForFunction(() => document.getElementById('announce').textContent.startsWith('Report refused. This report checks another plan'));
  assert.deepEqual(await axeViolations(page), [], 'axe-core, a report refused');
  // Back to the report's plan, it is read again; a report of another format is refused too.
  await page.fill('[data-testid=vcpus]', '4');
  await page.waitForSelector('[data-testid=checklist]');
  await pasteReport(page, bad.report.replace(/^rtkvm-check 1 /, 'rtkvm-check 2 '));
  assert.match(await page.innerText('[data-testid=report-error]'), /This report is in format 2, which another version of rtkvm wrote; this page reads format 1\./);
  await rm(path.dirname(caps), { recursive: true });
  await close(s);

  // In dark mode the checklist's colours pass axe-core's contrast rule too.
  const dark = await browser.newContext({ colorScheme: 'dark', viewport: { width: 1280, height: 900 } });
  const darkPage = await dark.newPage();
  await darkPage.goto(originFull + SUBPATH);
  await darkPage.waitForSelector('[data-testid=report-input]');
  await pasteReport(darkPage, bad.report);
  assert.deepEqual(await axeViolations(darkPage), [], 'axe-core, a report with failures in dark mode');
  await dark.close();
});

test('a guest that does not fit is said under its own card, with its node, by how much and where it would fit', async () => {
  const example = cli(['example']);
  const args = ['--guest', 'name=plc-a,vcpus=2,memory=8G', '--guest', 'name=hmi,vcpus=3,memory=4G,node=0,emulator=isolate',
    '--guest', 'name=plc-a-2,vcpus=2,memory=8G,node=1,scheduler=rr,priority=10'];
  const s = await open(cli(['plan', ...args, '--format', 'link'], example).trim());
  const { page } = s;
  await page.waitForSelector('[data-testid=guest-card-3]');
  const invalid = () => page.$$eval('[aria-invalid=true]', (fields) => fields.map((f) => f.id));
  const states = [['three guests', await axeViolations(page)]];
  // hmi on node 1 takes 5 of its 6 cores (4 vCPUs and its emulator core): plc-a-2, placed after it
  // (both ask for node 1, hmi comes first), does not fit; node 0 has room for it.
  await page.selectOption('[data-testid=guest2-node]', '1');
  await page.fill('[data-testid=guest2-vcpus]', '4');
  await page.waitForFunction(() => document.querySelector('[data-testid=guest-misfit-3]')?.textContent);
  assert.equal(await page.innerText('[data-testid=guest-misfit-3]'),
    'Guest plc-a-2 does not fit on node 1 beside hmi: 1 isolated core short (it needs 2, 1 free). It fits on node 0: choose that node for it.');
  assert.deepEqual(await invalid(), ['guest3-vcpus']);
  assert.equal(await page.innerText('#guest3-vcpus-hint .field-error'), 'At most 1 vCPU on node 1 beside hmi');
  // Only its own card says it; the others say their rooms, and the banner names its field.
  assert.deepEqual(await page.$$eval('[data-testid^=guest-misfit-]', (ps) => ps.filter((p) => p.textContent).map((p) => p.dataset.testid)), ['guest-misfit-3']);
  assert.equal(await page.innerText('[data-testid=guest-room-1]'), 'At most 6 vCPUs and 26 GiB on node 0.');
  assert.equal(await page.innerText('[data-testid=guest-room-2]'), 'At most 5 vCPUs and 26 GiB on node 1.');
  assert.equal(await page.innerText('[data-testid=guest-room-3]'), '');
  assert.equal(await page.innerText('[data-testid=error] li'), 'vCPUs (guest 3): at most 1 vCPU on node 1 beside hmi');
  states.push(['a guest that does not fit, three cards', await axeViolations(page)]);
  await page.screenshot({ path: path.join(artifacts, 'guest-does-not-fit.png'), fullPage: true });
  // A value that cannot be read is said under its own card's field.
  await page.fill('[data-testid=guest3-priority]', '0');
  await page.waitForSelector('#guest3-priority-hint .field-error');
  assert.match(await page.innerText('#guest3-priority-hint .field-error'), /between 1 and 99, not 0/);
  assert.deepEqual(await invalid(), ['guest3-priority']);
  await page.fill('[data-testid=guest3-priority]', '10');
  await page.selectOption('[data-testid=guest2-node]', '0');
  await page.waitForFunction(() => !document.querySelector('[data-testid=guest-misfit-3]').textContent);
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.deepEqual(await invalid(), []);
  await close(s);
  const found = states.filter(([, v]) => v.length).map(([name, v]) => `${name}:\n  ${v.join('\n  ')}`);
  assert.deepEqual(found, [], found.join('\n'));
});
