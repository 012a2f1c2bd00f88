// Start-up work: what the page does between the app's `main` (`rtkvm:start`) and its first plan on
// screen (`rtkvm:plan-rendered`), counted rather than timed, so that it can be compared from one run
// to the next on a machine whose speed drifts:
//   1. the wasm functions V8 compiles on their first call (Chromium compiles wasm lazily), and their
//      bytes of code, read from a Chromium trace; the same after the plan, for the rest of the load;
//   2. the DOM calls the page makes to build itself (elements, attributes, text, insertions,
//      template clones, listeners), counted by wrapping the DOM's own methods in a second load.
// Prints one JSON object; `scripts/bench.sh` runs it for the example and the 1024-CPU link.
//
// Environment: RTKVM_DIST (dist/, the release build), RTKVM_LINK_1024 (a share-link fragment,
// optional).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = process.env.RTKVM_DIST ?? path.join(here, '..', 'dist');
const SUBPATH = '/rtkvm/';
const planned = () => performance.getEntriesByName('rtkvm:plan-rendered').length > 0;

/** Counts the DOM calls made before the first plan mark, by kind (`setAttribute class`, …). */
function countDomCalls() {
  const counts = {};
  const count = (kind) => { counts[kind] = (counts[kind] ?? 0) + 1; };
  const wrap = (proto, name, kind) => {
    const original = proto[name];
    proto[name] = function (...args) {
      if (!window.__rtkvmDomCalls) count(kind(args));
      return original.apply(this, args);
    };
  };
  wrap(Element.prototype, 'setAttribute', (a) => `setAttribute ${a[0]}`);
  wrap(Node.prototype, 'insertBefore', () => 'insertBefore');
  wrap(Node.prototype, 'appendChild', () => 'appendChild');
  wrap(Node.prototype, 'cloneNode', () => 'cloneNode');
  wrap(Document.prototype, 'createElement', (a) => `createElement ${a[0]}`);
  wrap(Document.prototype, 'createElementNS', (a) => `createElementNS ${a[1]}`);
  wrap(Document.prototype, 'createTextNode', () => 'createTextNode');
  wrap(Document.prototype, 'createComment', () => 'createComment');
  wrap(EventTarget.prototype, 'addEventListener', (a) => `addEventListener ${a[0]}`);
  const mark = performance.mark.bind(performance);
  performance.mark = (name, options) => {
    if (name === 'rtkvm:plan-rendered' && !window.__rtkvmDomCalls) window.__rtkvmDomCalls = counts;
    return mark(name, options);
  };
}

/** Loads `url` in a new page of `context` with a trace, and counts the wasm compiled around the plan. */
async function compiled(browser, context, url) {
  const page = await context.newPage();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rtkvm-trace-'));
  const file = path.join(dir, 'trace.json');
  await browser.startTracing(page, { path: file, categories: ['v8.wasm', 'disabled-by-default-v8.wasm.detailed', 'blink.user_timing'] });
  await page.goto(url);
  await page.waitForFunction(planned, null, { timeout: 30000 });
  // The link is made, and put in the address bar, in tasks after the plan: let them run.
  await page.waitForTimeout(300);
  await browser.stopTracing();
  await page.close();
  const events = JSON.parse(readFileSync(file, 'utf8')).traceEvents;
  rmSync(dir, { recursive: true });
  const at = (name) => events.find((e) => e.name === name)?.ts ?? Number.NaN;
  const [start, plan] = [at('rtkvm:start'), at('rtkvm:plan-rendered')];
  const size = new Map(events.filter((e) => e.name === 'wasm.CompileBaseline').map((e) => [e.args.funcIndex, e.args.bodySize]));
  const lazy = events.filter((e) => e.name === 'wasm.CompileLazy');
  const sum = (es) => ({ functions: es.length, bytes: es.reduce((n, e) => n + (size.get(e.args.func_index) ?? 0), 0) });
  if (!lazy.length || Number.isNaN(start) || Number.isNaN(plan)) throw new Error(`no lazy compilation or marks in the trace of ${url}`);
  return {
    before_plan: sum(lazy.filter((e) => e.ts >= start && e.ts <= plan)),
    after_plan: sum(lazy.filter((e) => e.ts > plan)),
  };
}

/** Loads `url` with the DOM's methods wrapped, and returns the calls made before the plan. */
async function domCalls(context, url) {
  const page = await context.newPage();
  await page.addInitScript(countDomCalls);
  await page.goto(url);
  await page.waitForFunction(planned, null, { timeout: 30000 });
  const counts = await page.evaluate(() => window.__rtkvmDomCalls);
  await page.close();
  const byKind = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
  return { total: Object.values(counts).reduce((a, b) => a + b, 0), by_kind: byKind };
}

const site = await serve(dist, SUBPATH);
const pages = [{ name: 'example', url: site.origin + SUBPATH }];
if (process.env.RTKVM_LINK_1024) pages.push({ name: '1024-cpu', url: site.origin + SUBPATH + process.env.RTKVM_LINK_1024 });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: chromiumArgs });
const context = await browser.newContext();
const results = {};
for (const p of pages) {
  // One load first, so that the running browser has set up its network service and caches.
  const warm = await context.newPage();
  await warm.goto(p.url);
  await warm.waitForFunction(planned, null, { timeout: 30000 });
  await warm.close();
  results[p.name] = { wasm_compiled_lazily: await compiled(browser, context, p.url), dom_calls: await domCalls(context, p.url) };
}
await browser.close();
site.close();
console.log(JSON.stringify(results, null, 2));
