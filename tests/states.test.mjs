// The page in every state (issue 22), in headless Chromium: each error on the field at fault, the map
// with no roles while the host's partition cannot be made, the banner listing every wrong field, the
// page's own spelling of the settings, what a link copied while a setting is wrong opens to, the map's
// colours against the contrast rule in both colour schemes, the example named as such, select boxes
// not cut, a damaged link kept in the address bar, "Copied" announced, and the phone's order.
//
// Environment: RTKVM_DIST (the built dist/ directory).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dist = process.env.RTKVM_DIST ?? path.join(root, 'dist');
const artifacts = path.join(here, 'artifacts');
const SUBPATH = '/tools/rtkvm/';
const corpus = (name) => path.join(root, 'core', 'tests', 'corpus', name);
const fixture = (name) => path.join(root, 'core', 'fixtures', name);

let server, origin, browser;

before(async () => {
  await mkdir(artifacts, { recursive: true });
  server = await serve(dist, SUBPATH);
  origin = server.origin;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: chromiumArgs });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Opens the app (optionally with a fragment) in a context of its own; console errors are recorded. */
async function open(fragment = '', options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(origin + SUBPATH + fragment);
  await page.waitForSelector('[data-testid=caps-input]');
  return { page, context, errors };
}

async function close({ context, errors }) {
  assert.deepEqual(errors, [], 'console errors');
  await context.close();
}

/** The ids of the fields marked invalid. */
const invalid = (page) => page.$$eval('[aria-invalid=true]', (fields) => fields.map((f) => f.id));

/** The message under a field, once there is one. */
async function messageUnder(page, id) {
  await page.waitForSelector(`#${id}-hint .field-error`);
  return page.innerText(`#${id}-hint .field-error`);
}

/** The map's CPUs by class: `{ host: 4, isolated: 12 }`. */
const roles = (page) => page.$$eval('svg.topology g.cpu', (cpus) => cpus.reduce((n, g) => {
  const role = g.getAttribute('class').replace('cpu ', '').replace(' focus', '');
  n[role] = (n[role] ?? 0) + 1;
  return n;
}, {}));

/** Runs axe-core on the page as it is; returns the serious and critical violations as lines. */
async function axeViolations(page) {
  await page.evaluate(await readFile(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8'));
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}×, e.g. ${v.nodes[0].target.join(' ')})`);
}

test('a host setting the partition cannot be made with is marked on its field, and the map shows no roles', async () => {
  const s = await open();
  const { page } = s;
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.deepEqual(await roles(page), { host: 2, emulator: 2, isolated: 8, vcpu: 4 });
  for (const [field, value, message, reset] of [
    ['housekeeping', '0-1,99', /CPU 99, which is not online on this host/, ''],
    ['housekeeping', '0-1', /keeps no CPU of NUMA node 1 \(CPUs 8-15\)/, ''],
    ['host-cpus', '8', /every online CPU \(0-15\) stays with the host/, '2'],
    ['spare', '8G', /only with the guest's reservation \(Huge pages: only the guest's\)/, ''],
  ]) {
    await page.fill(`[data-testid=${field}]`, value);
    assert.match(await messageUnder(page, field), message, field);
    assert.deepEqual(await invalid(page), [field], `${field} = ${value}`);
    // The topology without roles: no CPU is called the host's.
    assert.deepEqual(await roles(page), { unplanned: 16 }, `${field} = ${value}`);
    assert.match(await page.innerText('[data-testid=no-partition]'), /No CPU roles/);
    assert.equal(await page.locator('.legend .swatch').count(), 0);
    await page.hover('svg.topology g.cpu[data-cpu="3"]');
    assert.match(await page.innerText('[data-testid=map-line]'), /^CPU 3: .* — no role/);
    // The banner names the field, as a link that takes the focus there (the address keeps the link).
    const hash = await page.evaluate(() => location.hash);
    await page.click(`[data-testid=error] li[data-field=${field}] a`);
    assert.equal(await page.evaluate(() => document.activeElement.id), field);
    assert.equal(await page.evaluate(() => location.hash), hash);
    if (field === 'host-cpus' || field === 'housekeeping') {
      await page.screenshot({ path: path.join(artifacts, `host-side-error-${field}.png`), fullPage: false });
    }
    await page.fill(`[data-testid=${field}]`, reset);
    await page.waitForSelector(`#${field}-hint .field-error`, { state: 'detached' });
    await page.waitForSelector('[data-testid=out-cmdline]');
    assert.deepEqual(await roles(page), { host: 2, emulator: 2, isolated: 8, vcpu: 4 });
  }
  // A host field that does not read at all: no roles either.
  await page.fill('[data-testid=host-cpus]', '');
  await page.waitForSelector('[data-testid=no-partition]');
  assert.deepEqual(await roles(page), { unplanned: 16 });
  assert.deepEqual(await invalid(page), ['host-cpus']);
  assert.deepEqual(await axeViolations(page), [], 'axe-core, a host field wrong');
  await close(s);
});

test('memory kept per node beyond a node\'s, and guest memory the page size cannot back, are said on the field at fault', async () => {
  const s = await open();
  const { page } = s;
  await page.fill('[data-testid=host-memory]', '40G');
  assert.equal(await messageUnder(page, 'host-memory'), 'Node 0 has 32 GiB: keep less than that for the host, so that huge pages are left for the guest');
  assert.deepEqual(await invalid(page), ['host-memory'], 'the guest\'s memory is not blamed');
  const capacity = await page.innerText('[data-testid=capacity]');
  assert.doesNotMatch(capacity, /0 KiB/);
  assert.match(capacity, /node 0: 6 vCPUs, no memory for a guest/);
  assert.match(await page.innerText('[data-testid=error] li[data-field=host-memory]'), /^Memory kept per node: node 0 has 32 GiB/);
  // The partition itself is made: the map keeps it.
  assert.deepEqual(await roles(page), { host: 4, isolated: 12 });
  await page.fill('[data-testid=host-memory]', '6G');
  await page.waitForSelector('[data-testid=out-cmdline]');
  // 1536M with 1 GiB pages: the Memory field, with the way out the host has.
  await page.fill('[data-testid=memory]', '1536M');
  assert.equal(await messageUnder(page, 'memory'), '1.5 GiB is not a whole number of 1 GiB pages: choose 1 GiB or 2 GiB, or 2 MiB pages (Huge page size)');
  assert.deepEqual(await invalid(page), ['memory']);
  await page.selectOption('[data-testid=page-size]', '2M');
  await page.waitForSelector('#memory-hint .field-error', { state: 'detached' });
  await page.waitForSelector('[data-testid=out-cmdline]');
  await close(s);
});

test('messages on the page name its fields, never the CLI\'s flags', async () => {
  const s = await open();
  const { page } = s;
  const noFlag = async (what) => {
    const text = await page.innerText('main');
    assert.doesNotMatch(text, /\(--[a-z]/, `${what}: a CLI flag on the page`);
  };
  await page.fill('[data-testid=spare]', '8G');
  await page.waitForSelector('[data-testid=error]');
  assert.match(await page.innerText('[data-testid=error]'), /\(Huge pages: only the guest's\)/);
  assert.match(await messageUnder(page, 'spare'), /\(Huge pages: only the guest's\)/);
  await noFlag('spare with all pages');
  await close(s);
});

test('the banner lists every wrong field, each a link to it', async () => {
  const s = await open();
  const { page } = s;
  await page.fill('[data-testid=vcpus]', '-1');
  await page.fill('[data-testid=priority]', '0');
  await page.fill('[data-testid=name]', 'a/b');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=error] li').length === 3);
  assert.match(await page.innerText('[data-testid=error] strong'), /^3 settings are not valid/);
  const items = await page.$$eval('[data-testid=error] li', (li) => li.map((l) => [l.dataset.field, l.innerText]));
  assert.deepEqual(items, [
    ['name', "Name: the guest name contains '/', which libvirt does not allow"],
    ['vcpus', 'vCPUs: vCPUs cannot be negative (-1)'],
    ['priority', 'Priority: real-time priority must be between 1 and 99, not 0'],
  ]);
  for (const [field] of items) {
    await page.click(`[data-testid=error] li[data-field=${field}] a`);
    assert.equal(await page.evaluate(() => document.activeElement.id), field);
  }
  await page.fill('[data-testid=name]', 'rt-guest');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=error] li').length === 2);
  // A plan error says what stops the plan once, and the field under which it is said.
  await page.fill('[data-testid=vcpus]', '7');
  await page.fill('[data-testid=priority]', '1');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=error] li').length === 1);
  assert.match(await page.innerText('[data-testid=error]'), /^No plan for these settings: the guest \(7 vCPUs, 16 GiB\) fits on no NUMA node/);
  assert.equal(await page.innerText('[data-testid=error] li'), 'vCPUs: at most 6 vCPUs on node 1');
  await close(s);
});

test('while a guest field cannot be read, what the host fields make impossible is said too', async () => {
  const s = await open();
  const { page } = s;
  await page.fill('[data-testid=vcpus]', '-1');
  await page.waitForSelector('[data-testid=error] li[data-field=vcpus]');
  assert.doesNotMatch(await page.innerText('[data-testid=error]'), /host's fields/);
  // Every CPU of the example host's nodes (8 each) kept for the host: nothing left to isolate.
  await page.fill('[data-testid=host-cpus]', '8');
  await page.waitForFunction(() => /host's fields also make no plan/.test(document.querySelector('[data-testid=error]')?.innerText ?? ''));
  const banner = await page.innerText('[data-testid=error]');
  assert.match(banner, /^A setting is not valid: the host's fields also make no plan: with 8 host CPUs per node every online CPU \(0-15\) stays with the host and nothing is left to isolate; keep fewer CPUs for the host/);
  assert.match(banner, /vCPUs: vCPUs cannot be negative \(-1\)/);
  // Once the guest field reads, the plan's own error says the same, once.
  await page.fill('[data-testid=vcpus]', '4');
  await page.waitForFunction(() => /^No plan for these settings/.test(document.querySelector('[data-testid=error]')?.innerText ?? ''));
  assert.doesNotMatch(await page.innerText('[data-testid=error]'), /host's fields/);
  await close(s);
});

test('a link copied while a setting is wrong says what it opens to, and opens to the same errors under the same fields', async () => {
  const s = await open();
  const { page } = s;
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.equal(await page.locator('[data-testid=link-status]').count(), 0, 'nothing to say while there is a plan');
  const before = await page.evaluate(() => location.hash);
  // A plan error: the link is the settings as typed.
  await page.fill('[data-testid=host-memory]', '40G');
  await page.waitForSelector('[data-testid=link-status]');
  assert.match(await page.innerText('.share [data-testid=link-status]'), /holds these settings as typed: it opens to the same error, under the same field/);
  await page.waitForFunction((b) => location.hash !== b, before);
  const link = await page.getAttribute('[data-testid=share-link]', 'href');
  assert.equal(link, await page.evaluate(() => location.hash));
  const other = await open(link);
  await other.page.waitForSelector('[data-testid=error]');
  assert.deepEqual(await invalid(other.page), ['host-memory']);
  assert.equal(await messageUnder(other.page, 'host-memory'), await messageUnder(page, 'host-memory'));
  assert.equal(await other.page.inputValue('[data-testid=host-memory]'), '40G');
  await close(other);
  // A value a link cannot hold: the link stays the last one that could, and the page says so.
  await page.fill('[data-testid=host-memory]', '6G');
  await page.waitForSelector('[data-testid=out-cmdline]');
  await page.waitForSelector('[data-testid=link-status]', { state: 'detached' });
  await page.fill('[data-testid=priority]', '0');
  await page.waitForSelector('[data-testid=link-status]');
  assert.match(await page.innerText('[data-testid=link-status]'), /cannot hold the value marked wrong/);
  await close(s);
});

/** The contrast ratio of a CSS colour (`rgb(…)` or `rgba(…)`, drawn over `b`) against the opaque
 * colour `b`, as WCAG 2 defines it. */
function contrast(a, b) {
  const parts = (c) => c.match(/[\d.]+/g).map(Number);
  const [bg, fg] = [parts(b), parts(a)];
  const alpha = fg[3] ?? 1;
  const over = fg.slice(0, 3).map((v, i) => v * alpha + bg[i] * (1 - alpha));
  const lum = (rgb) => {
    const [r, g, bl] = rgb.slice(0, 3).map((v) => {
      const x = v / 255;
      return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(over), lum(bg)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The colours the map paints, per role: its label's and its box's, the idle box's outline, the core
 * behind it, the card, and the idle swatch's border. */
async function mapColours(page) {
  return page.evaluate(() => {
    const style = (el) => getComputedStyle(el);
    const cpus = {};
    for (const g of document.querySelectorAll('svg.topology g.cpu')) {
      const role = g.getAttribute('class').replace('cpu ', '').replace(' focus', '');
      if (cpus[role]) continue;
      const rect = g.querySelector('rect');
      cpus[role] = { text: style(g.querySelector('text')).fill, box: style(rect).fill, line: style(rect).stroke };
    }
    const swatch = document.querySelector('.swatch.idle');
    return {
      cpus,
      core: style(document.querySelector('svg.topology rect.core')).fill,
      card: style(document.querySelector('section.card.input')).backgroundColor,
      swatch: swatch && { border: style(swatch).borderTopColor, fill: style(swatch).backgroundColor },
    };
  });
}

test('the map\'s labels and the idle sibling meet the contrast rule in both colour schemes', async () => {
  const smt = await readFile(fixture('smt2.xml'), 'utf8');
  for (const colorScheme of ['light', 'dark']) {
    const s = await open('', { colorScheme, viewport: { width: 390, height: 844 } });
    const { page } = s;
    // A host with SMT: the guest's cores have idle siblings, so every role is on the map.
    await page.fill('[data-testid=caps-input]', smt);
    await page.selectOption('[data-testid=emulator]', 'isolate');
    await page.waitForSelector('svg.topology g.cpu.idle');
    await page.waitForSelector('svg.topology g.cpu.host');
    const seen = await mapColours(page);
    assert.deepEqual(Object.keys(seen.cpus).sort(), ['emulator', 'host', 'idle', 'isolated', 'vcpu'], colorScheme);
    for (const [role, c] of Object.entries(seen.cpus)) {
      const ratio = contrast(c.text, c.box);
      assert.ok(ratio >= 4.5, `${colorScheme}: ${role} CPU label ${c.text} on ${c.box} is ${ratio.toFixed(2)}:1`);
    }
    // The idle sibling is visible: its outline against the core, its swatch's border against the card.
    const idle = contrast(seen.cpus.idle.line, seen.core);
    assert.ok(idle >= 3, `${colorScheme}: idle outline ${seen.cpus.idle.line} on ${seen.core} is ${idle.toFixed(2)}:1`);
    const swatch = contrast(seen.swatch.border, seen.card);
    assert.ok(swatch >= 3, `${colorScheme}: idle swatch border ${seen.swatch.border} on ${seen.card} is ${swatch.toFixed(2)}:1`);
    // And the map with no roles.
    await page.fill('[data-testid=host-cpus]', '16');
    await page.waitForSelector('svg.topology g.cpu.unplanned');
    const none = (await mapColours(page)).cpus.unplanned;
    const ratio = contrast(none.text, none.box);
    assert.ok(ratio >= 4.5, `${colorScheme}: a CPU with no role: ${ratio.toFixed(2)}:1`);
    if (colorScheme === 'dark') {
      await page.fill('[data-testid=host-cpus]', '2');
      await page.waitForSelector('svg.topology g.cpu.idle');
      await page.screenshot({ path: path.join(artifacts, 'states-phone-dark.png'), fullPage: false });
      assert.deepEqual(await axeViolations(page), [], 'axe-core, a dark phone');
    }
    await close(s);
  }
});

/** The colours of every guest's CPUs on the map, by class (`vcpu g3`, `emu g1`): the label's, and the
 * box's, each colour of a pattern (its ground and its marks, drawn over the ground). */
async function guestColours(page) {
  return page.evaluate(() => {
    const style = (el) => getComputedStyle(el);
    const seen = {};
    for (const g of document.querySelectorAll('svg.topology g.cpu.vcpu, svg.topology g.cpu.emu')) {
      const kind = g.getAttribute('class').replace('cpu ', '').replace(' focus', '');
      if (seen[kind]) continue;
      const fill = style(g.querySelector('rect')).fill;
      const id = fill.match(/url\("?#([\w-]+)"?\)/)?.[1];
      const pattern = id && document.getElementById(id);
      seen[kind] = {
        text: style(g.querySelector('text')).fill,
        label: g.querySelector('text').textContent,
        fills: pattern ? [style(pattern.querySelector('rect')).fill, style(pattern.querySelector('path, circle')).fill] : [fill],
      };
    }
    return seen;
  });
}

test('every guest\'s colour and pattern on the map meet the contrast rule in both colour schemes', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const s = await open('', { colorScheme, viewport: { width: 390, height: 844 } });
    const { page } = s;
    await page.waitForSelector('[data-testid=out-cmdline]');
    // Eight guests of one vCPU on the example host (each added as a copy of the first), two with an
    // emulator core of their own: every guest style is on the map.
    await page.fill('[data-testid=vcpus]', '1');
    await page.fill('[data-testid=memory]', '2G');
    for (let n = 2; n <= 8; n++) await page.click('[data-testid=add-guest]');
    await page.selectOption('[data-testid=guest2-emulator]', 'isolate');
    await page.selectOption('[data-testid=guest8-emulator]', 'isolate');
    await page.waitForFunction(() => document.querySelectorAll('svg.topology g.cpu.vcpu').length === 8 && document.querySelectorAll('svg.topology g.cpu.emu').length === 2);
    const seen = await guestColours(page);
    assert.deepEqual(Object.keys(seen).sort(), ['emu g1', 'emu g7', 'vcpu', 'vcpu g1', 'vcpu g2', 'vcpu g3', 'vcpu g4', 'vcpu g5', 'vcpu g6', 'vcpu g7'], colorScheme);
    const patterns = new Set();
    for (const [kind, c] of Object.entries(seen)) {
      // The marks are drawn over the ground: the label is read on both.
      const [ground, marks] = c.fills;
      for (const fill of marks ? [ground, contrastBlend(marks, ground)] : [ground]) {
        const ratio = contrast(c.text, fill);
        assert.ok(ratio >= 4.5, `${colorScheme}: ${kind} label "${c.label}" ${c.text} on ${fill} is ${ratio.toFixed(2)}:1`);
      }
      if (kind.startsWith('vcpu')) patterns.add(c.fills.join(' '));
    }
    assert.equal(patterns.size, 8, `${colorScheme}: eight guests, eight styles`);
    // The legend shows each guest's swatch and name.
    const legend = await page.$$eval('.legend li', (li) => li.map((l) => l.innerText.trim()));
    assert.deepEqual(legend.slice(-8).map((t) => t.split(':')[0]), ['rt-guest', ...[2, 3, 4, 5, 6, 7, 8].map((n) => `rt-guest-${n}`)]);
    await page.locator('[data-testid=topology-map]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(artifacts, `states-eight-guests-${colorScheme}.png`), fullPage: false });
    await close(s);
  }
});

/** `rgba(…)` drawn over the opaque `ground`, as `rgb(…)`. */
function contrastBlend(over, ground) {
  const parts = (c) => c.match(/[\d.]+/g).map(Number);
  const [fg, bg] = [parts(over), parts(ground)];
  const alpha = fg[3] ?? 1;
  return `rgb(${fg.slice(0, 3).map((v, i) => Math.round(v * alpha + bg[i] * (1 - alpha))).join(', ')})`;
}

test('the example is named where the host is, and "Paste your own" empties the box and focuses it', async () => {
  const s = await open();
  const { page } = s;
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.match(await page.innerText('[data-testid=host-name]'), /^Example host \(libvirt's guide\):/);
  assert.match((await page.innerText('[data-testid=example-note]')).replace(/\s+/g, ' '), /^Example host \(libvirt's guide\) is shown/);
  await page.screenshot({ path: path.join(artifacts, 'states-example-first-load.png'), fullPage: false });
  await page.click('[data-testid=paste-own]');
  await page.waitForSelector('[data-testid=example-note]', { state: 'detached' });
  assert.equal(await page.inputValue('[data-testid=caps-input]'), '');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'caps');
  // An empty box is a step, not an error: the page says what to do.
  assert.equal(await page.locator('[data-testid=error]').count(), 0);
  assert.match(await page.innerText('[data-testid=empty]'), /Paste the output of virsh capabilities/);
  assert.equal(await page.locator('[data-testid=host-name]').count(), 0);
  assert.deepEqual(await axeViolations(page), [], 'axe-core, an empty box');
  // Another host is not the example.
  await page.fill('[data-testid=caps-input]', await readFile(fixture('smt2.xml'), 'utf8'));
  await page.waitForSelector('[data-testid=topology-map]');
  assert.equal(await page.locator('[data-testid=host-name]').count(), 0);
  await page.click('[data-testid=load-example]');
  await page.waitForSelector('[data-testid=host-name]');
  // A link to the example's host names it too.
  await page.waitForFunction(() => location.hash.startsWith('#v'));
  const link = await page.evaluate(() => location.hash);
  const other = await open(link);
  await other.page.waitForSelector('[data-testid=host-name]');
  await close(other);
  await close(s);
});

test('select boxes show their whole text at 1280 px', async () => {
  const s = await open();
  const { page } = s;
  await page.waitForSelector('[data-testid=out-cmdline]');
  for (const host of ['', await readFile(corpus('virt-manager/kvm-ppc64le.xml'), 'utf8')]) {
    if (host) {
      await page.fill('[data-testid=caps-input]', host);
      await page.waitForFunction(() => document.querySelector('[data-testid=page-size]').options[0].text.includes('16 MiB'));
    }
    for (const reserve of ['all', 'guest']) {
      await page.selectOption('[data-testid=reserve]', reserve);
      // Each select is at least as wide as the same select on its own (as wide as its chosen option).
      const cut = await page.$$eval('.settings select', (selects) => selects.map((sel) => {
        const alone = sel.cloneNode(true);
        alone.value = sel.value;
        Object.assign(alone.style, { position: 'absolute', left: '0', top: '0', maxWidth: 'none', width: 'auto' });
        document.body.append(alone);
        const need = alone.getBoundingClientRect().width;
        alone.remove();
        return [sel.id, Math.round(need - sel.getBoundingClientRect().width)];
      }).filter(([, short]) => short > 1));
      assert.deepEqual(cut, [], `select boxes narrower than their text (px short) with ${reserve}`);
    }
  }
  // The phone: nothing wider than the screen.
  const phone = await open('', { viewport: { width: 390, height: 844 } });
  await phone.page.waitForSelector('[data-testid=out-cmdline]');
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
  await close(phone);
  await close(s);
});

test('a damaged link on a fresh load stays in the address bar until something changes; another fragment is no link', async () => {
  const damaged = '#v6.bm90IGEgbGluaw';
  const s = await open(damaged);
  const { page } = s;
  await page.waitForSelector('[data-testid=link-error]');
  await page.waitForSelector('[data-testid=out-cmdline]');
  // The example's link is made (Copy link has it), and the address bar keeps the damaged one.
  await page.waitForFunction(() => document.querySelector('[data-testid=share-link]')?.getAttribute('href')?.startsWith('#v'));
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => location.hash), damaged);
  await page.fill('[data-testid=name]', 'changed');
  await page.waitForFunction((d) => location.hash !== d && location.hash.startsWith('#v'), damaged);
  assert.equal(await page.evaluate(() => location.hash), await page.getAttribute('[data-testid=share-link]', 'href'));
  await close(s);
  // A fragment that is not a link is not called damaged, on load or in an open page.
  const t = await open('#section-2');
  await t.page.waitForSelector('[data-testid=out-cmdline]');
  assert.equal(await t.page.locator('[data-testid=link-error]').count(), 0);
  await t.page.evaluate(() => { location.hash = '#video'; });
  await t.page.waitForTimeout(300);
  assert.equal(await t.page.locator('[data-testid=link-error]').count(), 0);
  await close(t);
});

test('"Copied" is announced in the page\'s live region', async () => {
  const s = await open();
  const { page, context } = s;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  await page.waitForSelector('[data-testid=out-cmdline]');
  assert.equal(await page.getAttribute('[data-testid=announce]', 'role'), 'status');
  await page.click('[data-testid=out-cmdline-copy]');
  await page.waitForFunction(() => document.querySelector('[data-testid=announce]').textContent === 'Copied kernel-cmdline.txt');
  await page.click('[data-testid=copy-link]');
  await page.waitForFunction(() => document.querySelector('[data-testid=announce]').textContent === 'Copied link to this plan');
  await page.waitForFunction(() => document.querySelector('[data-testid=announce]').textContent === '', null, { timeout: 4000 });
  await close(s);
});

/** Every tab stop from the top of the page, in the order Tab reaches it: its test id (or id, or tag),
 * where it is drawn, and whether it is in the page's right-hand column (the map beside box 1, the
 * outputs beside the form). */
async function tabStops(page) {
  // A click on the page's title starts the keyboard's path from the top.
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.click('header h1');
  const stops = [];
  for (;;) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      // A file input is drawn by its label.
      const drawn = e.type === 'file' ? document.querySelector(`label[for="${e.id}"]`) ?? e : e;
      const r = drawn.getBoundingClientRect();
      return {
        name: e.dataset.testid ?? (e.id || e.tagName.toLowerCase()),
        top: Math.round(r.top + scrollY), bottom: Math.round(r.bottom + scrollY), left: Math.round(r.left),
        right: Boolean(e.closest('.column.wide, [data-testid=host-view]')),
      };
    });
    if (!stop || stops.some((s) => s.name === stop.name && s.top === stop.top && s.left === stop.left)) break;
    stops.push(stop);
    if (stops.length > 400) throw new Error('more than 400 tab stops');
  }
  return stops;
}

test('the page reads in the order it is drawn: box 1 and its map, the problems, the settings, then the outputs, on a phone and at 1280 px', async () => {
  for (const viewport of [{ width: 390, height: 844 }, { width: 1280, height: 900 }]) {
    const s = await open('', { viewport, colorScheme: 'dark' });
    const { page } = s;
    const px = `${viewport.width} px`;
    await page.waitForSelector('[data-testid=out-cmdline]');
    // A host-side error: the map without roles, the banner under it, the form right after.
    await page.fill('[data-testid=housekeeping]', '0-1,99');
    await page.waitForSelector('[data-testid=error] li[data-field=housekeeping]');
    if (viewport.width === 390) {
      await page.locator('[data-testid=error]').evaluate((e) => e.scrollIntoView({ block: 'center' }));
      await page.screenshot({ path: path.join(artifacts, 'states-phone-dark-host-error.png'), fullPage: false });
    }
    // A host field and two guest fields wrong.
    await page.fill('[data-testid=housekeeping]', '0-1,x');
    await page.fill('[data-testid=vcpus]', '-1');
    await page.fill('[data-testid=priority]', '0');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=error] li').length === 3);
    const box = (sel) => page.locator(sel).first().evaluate((e) => {
      const r = e.getBoundingClientRect();
      return { top: r.top + scrollY, bottom: r.bottom + scrollY };
    });
    const [input, map, error, settings, outputs] = await Promise.all(['section.card.input', '[data-testid=host-view]',
      '[data-testid=error]', 'section.card.settings', 'section.card.outputs'].map(box));
    const at = `${px}: input ${input.top}, map ${map.top}, error ${error.top}, settings ${settings.top}, outputs ${outputs.top}`;
    // The banner comes right after box 1 and its map: just above the form, and above the outputs.
    assert.ok(input.top <= map.top && map.bottom <= error.top && error.top < settings.top && error.top < outputs.top, at);
    assert.ok(settings.top - error.bottom < 40, `${at}: the banner ends ${settings.top - error.bottom}px above the settings`);
    // Tab reaches box 1, the map, the banner's links, the form, then the outputs.
    const stops = await tabStops(page);
    const names = stops.map((t) => t.name);
    const index = (name) => {
      const i = names.indexOf(name);
      assert.ok(i >= 0, `${px}: ${name} is a tab stop`);
      return i;
    };
    const order = ['caps-input', 'load-example', 'topology-map', 'host-cpus', 'housekeeping', 'vcpus', 'priority', 'domain-input', 'copy-link', 'out-cmdline-copy'];
    for (let i = 1; i < order.length; i++) {
      assert.ok(index(order[i - 1]) < index(order[i]), `${px}: ${order[i - 1]} before ${order[i]}`);
    }
    const links = await page.$$eval('[data-testid=error] a', (a) => a.length);
    const between = names.slice(index('topology-map'), index('host-cpus')).filter((n) => n === 'a').length;
    assert.equal(between, links, `${px}: the banner's ${links} links come between the map and the form`);
    // Reading order is drawing order: each stop is below the one before, or beside it on its right;
    // at 1280 px a stop may go up only into the right-hand column beside the one it comes from.
    for (let i = 1; i < stops.length; i++) {
      const [a, b] = [stops[i - 1], stops[i]];
      const nextColumn = viewport.width > 900 && !a.right && b.right;
      assert.ok(nextColumn || b.bottom > a.top + 1 || b.left > a.left,
        `${px}: ${b.name} (top ${b.top}, left ${b.left}) is drawn above ${a.name} (top ${a.top}, left ${a.left})`);
    }
    await close(s);
  }
});

test('ppc64le: the automatic page size is said in the host\'s own sizes, and SMT is turned off with ppc64_cpu', async () => {
  const s = await open();
  const { page } = s;
  await page.fill('[data-testid=caps-input]', await readFile(corpus('virt-manager/kvm-ppc64le.xml'), 'utf8'));
  await page.waitForSelector('[data-testid=warnings] [data-code=smt-enabled]');
  assert.equal(await page.locator('[data-testid=page-size] option').first().innerText(), 'automatic: 16 MiB on this host');
  const smt = await page.innerText('[data-testid=warnings] [data-code=smt-enabled]');
  assert.match(smt, /ppc64_cpu --smt=off/);
  assert.doesNotMatch(smt, /firmware/);
  await close(s);
});
