// Browser benchmark: loads the release build in headless Chromium and reports medians over repeated
// runs of
//   1. navigation start to the first plan on screen (the app's `rtkvm:plan-rendered` mark; also from
//      the end of the HTML response and from the start of the app's `main`, `rtkvm:start`), for the
//      example host and for a 1024-CPU host opened from a share link, in two ways: a new tab of a
//      browser that is already running (what a user does) and a fresh browser profile per load;
//   2. the same for two floors served the same way, which set the same marks: a static page of the
//      same shape (tests/floor: a style sheet and a module script, nothing to compute) and the smallest
//      Leptos app built like rtkvm (tests/leptos-floor). They show what the browser and the framework
//      take on this machine before rtkvm does anything;
//   3. an input change to the updated plan, for both hosts.
// Loads of the different pages are interleaved, so that a slow spell of the machine hits them alike.
// Prints one JSON object; `scripts/bench.sh` runs it and checks the budgets.
//
//   4. pasting a 1024-CPU host into the example page, to its plan on screen;
//   5. an input change to the updated plan with 8 guests on the 1024-CPU host (a share link of them):
//      the plan, each guest's room beside the others and the page's cards all follow the edit.
// Environment: RTKVM_DIST (dist/), RTKVM_LINK_1024 (a share-link fragment of a 1024-CPU host),
// RTKVM_LINK_1024_8 (the same host with 8 guests, optional),
// RTKVM_HOST_1024_FILE (that host's capabilities, for the paste),
// RTKVM_LEPTOS_FLOOR_DIST (the floor app's dist/, optional), RTKVM_BENCH_RUNS (loads per page, 21).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = process.env.RTKVM_DIST ?? path.join(here, '..', 'dist');
const runs = Number(process.env.RTKVM_BENCH_RUNS ?? 21);
const SUBPATH = '/rtkvm/';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const round = (x, digits = 1) => Number(x.toFixed(digits));

/** Loads `url` in a new page of `context` and reads the marks once a plan is on screen. */
async function load(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => performance.getEntriesByName('rtkvm:plan-rendered').length > 0, null, { timeout: 30000 });
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const start = performance.getEntriesByName('rtkvm:start')[0].startTime;
    const plan = performance.getEntriesByName('rtkvm:plan-rendered')[0].startTime;
    return { plan, afterHtml: plan - nav.responseEnd, afterStart: plan - start };
  });
  return { t, page };
}

/** Sets the value of the input `selector` on an open app page (`value`, or for `null` 2 and 3 in
 * turn, so that each time makes a new plan) and returns the time from its `input` event to the new
 * plan in the DOM. The value is set before the clock starts: typing or pasting is the browser's. */
async function inputTime(page, selector, value) {
  return page.evaluate(async ([selector, value]) => {
    const before = performance.getEntriesByName('rtkvm:plan-rendered').length;
    const input = document.querySelector(selector);
    input.value = value ?? (input.value === '2' ? '3' : '2');
    const t0 = performance.now();
    input.dispatchEvent(new Event('input', { bubbles: true }));
    while (performance.getEntriesByName('rtkvm:plan-rendered').length === before) {
      if (performance.now() - t0 > 10000) throw new Error('no plan was rendered within 10 s');
      await new Promise((r) => setTimeout(r, 0));
    }
    const marks = performance.getEntriesByName('rtkvm:plan-rendered');
    return marks[marks.length - 1].startTime - t0;
  }, [selector, value]);
}

async function recompute(page, rounds) {
  const times = [];
  for (let i = 0; i < rounds; i++) times.push(await inputTime(page, '[data-testid=vcpus]', null));
  return times;
}

/** As `recompute`, on a page of several guests, until both the plan and the second guest's card
 * (what it can still have beside the first, which the edit changes) are updated: the later of the
 * plan's mark and the card's text changing, timed by a MutationObserver. */
async function recomputeGuests(page, rounds) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    times.push(await page.evaluate(async () => {
      const before = performance.getEntriesByName('rtkvm:plan-rendered').length;
      const card = document.querySelector('[data-testid=guest-room-2]');
      const was = card.textContent;
      let changed = null;
      const observer = new MutationObserver(() => { if (changed === null && card.textContent !== was) changed = performance.now(); });
      observer.observe(card, { childList: true, characterData: true, subtree: true });
      const input = document.querySelector('[data-testid=vcpus]');
      input.value = input.value === '2' ? '3' : '2';
      const t0 = performance.now();
      input.dispatchEvent(new Event('input', { bubbles: true }));
      while (performance.getEntriesByName('rtkvm:plan-rendered').length === before || changed === null) {
        if (performance.now() - t0 > 10000) throw new Error('no plan and card update within 10 s');
        await new Promise((r) => setTimeout(r, 0));
      }
      observer.disconnect();
      const marks = performance.getEntriesByName('rtkvm:plan-rendered');
      return Math.max(marks[marks.length - 1].startTime, changed) - t0;
    }));
  }
  return times;
}

/** Pastes `text` into the capabilities box and returns the time to its plan in the DOM. */
const pasteTime = (page, text) => inputTime(page, '[data-testid=caps-input]', text);

const site = await serve(dist, SUBPATH);
const servers = [site];
const pages = [
  { name: 'example', url: site.origin + SUBPATH, app: true },
];
if (process.env.RTKVM_LINK_1024) pages.push({ name: '1024-cpu', url: site.origin + SUBPATH + process.env.RTKVM_LINK_1024, app: true });
const floor = await serve(path.join(here, 'floor'), SUBPATH);
servers.push(floor);
pages.push({ name: 'floor: static page', url: floor.origin + SUBPATH });
if (process.env.RTKVM_LEPTOS_FLOOR_DIST) {
  const leptos = await serve(process.env.RTKVM_LEPTOS_FLOOR_DIST, SUBPATH);
  servers.push(leptos);
  pages.push({ name: 'floor: minimal Leptos app', url: leptos.origin + SUBPATH });
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: chromiumArgs });
const running = await browser.newContext();
// One load of each page first, so that the running browser has set up its network service and caches.
for (const p of pages) await (await load(running, p.url)).page.close();

const samples = new Map(pages.map((p) => [p.name, { new_tab: [], fresh_profile: [] }]));
const recomputes = new Map();
// Pasting a 1024-CPU host into the example page, then the example again (each paste a new host).
const host1024 = process.env.RTKVM_HOST_1024_FILE ? (await import('node:fs')).readFileSync(process.env.RTKVM_HOST_1024_FILE, 'utf8') : null;
const pastes = [];
if (host1024) {
  const { page } = await load(running, pages[0].url);
  const example = await page.inputValue('[data-testid=caps-input]');
  for (let i = 0; i < Math.max(5, runs); i++) {
    pastes.push(await pasteTime(page, host1024));
    await pasteTime(page, example);
  }
  await page.close();
}
// Eight guests on the 1024-CPU host: the first guest's vCPUs edited, as for one guest.
let guests8 = null;
if (process.env.RTKVM_LINK_1024_8) {
  const { page } = await load(running, site.origin + SUBPATH + process.env.RTKVM_LINK_1024_8);
  if (await page.locator('.guest-card').count() !== 8) throw new Error('the 8-guest link did not open to 8 guest cards');
  await recomputeGuests(page, 3); // warm up
  guests8 = await recomputeGuests(page, runs * 2);
  await page.close();
}
for (let i = 0; i < runs; i++) {
  for (const p of pages) {
    const s = samples.get(p.name);
    const tab = await load(running, p.url);
    s.new_tab.push(tab.t);
    if (p.app && i === 0) {
      await recompute(tab.page, 3); // warm up
      recomputes.set(p.name, await recompute(tab.page, runs * 2));
    }
    await tab.page.close();
    const fresh = await browser.newContext();
    s.fresh_profile.push((await load(fresh, p.url)).t);
    await fresh.close();
  }
}
await browser.close();
for (const s of servers) s.close();

const summary = (ts) => ({
  first_plan_ms: round(median(ts.map((t) => t.plan))),
  after_html_ms: round(median(ts.map((t) => t.afterHtml))),
  after_start_ms: round(median(ts.map((t) => t.afterStart))),
});
const results = { runs, pages: {} };
for (const p of pages) {
  const s = samples.get(p.name);
  results.pages[p.name] = { new_tab: summary(s.new_tab), fresh_profile: summary(s.fresh_profile) };
  if (recomputes.has(p.name)) {
    const r = recomputes.get(p.name);
    results.pages[p.name].recompute_ms = round(median(r), 2);
    results.pages[p.name].recompute_max_ms = round(Math.max(...r), 2);
  }
}
if (guests8) {
  results.recompute_8_guests_1024_ms = round(median(guests8), 2);
  results.recompute_8_guests_1024_max_ms = round(Math.max(...guests8), 2);
}
if (pastes.length) {
  results.paste_1024_ms = round(median(pastes));
  results.paste_1024_max_ms = round(Math.max(...pastes));
}
console.log(JSON.stringify(results, null, 2));
