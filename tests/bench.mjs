// Browser benchmark: loads the release build in headless Chromium and reports medians over repeated
// runs of (1) navigation start to the first plan on screen (the app's `rtkvm:plan-rendered` mark; also
// from the end of the HTML response, and from the start of the app's `main`, `rtkvm:start`) and
// (2) an input change to the updated plan, for the example host and for a 1024-CPU host opened from a
// share link. Prints one JSON object; `scripts/bench.sh` runs it and checks the budgets.
//
// Environment: RTKVM_DIST (dist/), RTKVM_LINK_1024 (a share-link fragment of a 1024-CPU host).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = process.env.RTKVM_DIST ?? path.join(here, '..', 'dist');
const runs = Number(process.env.RTKVM_BENCH_RUNS ?? 15);
const SUBPATH = '/rtkvm/';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function firstPlan(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => performance.getEntriesByName('rtkvm:plan-rendered').length > 0, null, { timeout: 30000 });
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const start = performance.getEntriesByName('rtkvm:start')[0].startTime;
    const plan = performance.getEntriesByName('rtkvm:plan-rendered')[0].startTime;
    return { plan, afterHtml: plan - nav.responseEnd, afterStart: plan - start };
  });
  return { t, page, context };
}

async function recompute(page, rounds) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    times.push(await page.evaluate(async () => {
      const before = performance.getEntriesByName('rtkvm:plan-rendered').length;
      const input = document.querySelector('[data-testid=vcpus]');
      // Alternate between 2 and 3 vCPUs, always changing the value so that a new plan is made.
      const value = input.value === '2' ? '3' : '2';
      const t0 = performance.now();
      input.value = value;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      while (performance.getEntriesByName('rtkvm:plan-rendered').length === before) {
        if (performance.now() - t0 > 10000) throw new Error('no plan was rendered within 10 s');
        await new Promise((r) => setTimeout(r, 0));
      }
      const marks = performance.getEntriesByName('rtkvm:plan-rendered');
      return marks[marks.length - 1].startTime - t0;
    }));
  }
  return times;
}

const server = await serve(dist, SUBPATH);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: chromiumArgs });
const results = {};
const cases = [['example', '']];
if (process.env.RTKVM_LINK_1024) cases.push(['1024-cpu', process.env.RTKVM_LINK_1024]);
for (const [name, fragment] of cases) {
  const loads = [];
  const afterHtml = [];
  const afterStart = [];
  let recomputes = [];
  for (let i = 0; i < runs; i++) {
    const { t, page, context } = await firstPlan(browser, server.origin + SUBPATH + fragment);
    loads.push(t.plan);
    afterHtml.push(t.afterHtml);
    afterStart.push(t.afterStart);
    if (i === 0) {
      await recompute(page, 3); // warm up
      recomputes = await recompute(page, runs * 2);
    }
    await context.close();
  }
  results[name] = {
    first_plan_ms: Number(median(loads).toFixed(1)),
    first_plan_after_html_ms: Number(median(afterHtml).toFixed(1)),
    first_plan_after_wasm_start_ms: Number(median(afterStart).toFixed(1)),
    recompute_ms: Number(median(recomputes).toFixed(2)),
    recompute_max_ms: Number(Math.max(...recomputes).toFixed(2)),
    runs,
  };
}
await browser.close();
server.close();
console.log(JSON.stringify(results, null, 2));
