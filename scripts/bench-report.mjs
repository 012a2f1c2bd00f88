// Reads criterion's estimates, dist/ and the browser benchmark's JSON, prints the figures and checks
// the budgets of BENCHMARKS.md. Exits 1 if a budget is missed.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';

const crit = (group, bench) => {
  const file = path.join('target', 'criterion', group, bench, 'new', 'estimates.json');
  return JSON.parse(readFileSync(file, 'utf8')).median.point_estimate / 1e6; // ms
};
const lines = [];
const out = (s = '') => lines.push(s);
let failed = 0;
const budget = (name, ok, detail) => { if (!ok) failed++; out(`- ${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`); };

out(`# rtkvm benchmark summary`);
out();
out(`Machine: ${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, node ${process.version}`);
out();
out('## Native (criterion medians)');
out();
out('| host | bytes | parse | plan | emit | share link | parse+plan+emit | MB/s |');
out('|---|---|---|---|---|---|---|---|');
const hosts = readdirSync(path.join('target', 'criterion', 'parse')).filter((h) => h !== 'report');
const sizes = {};
for (const h of hosts) {
  const bench = JSON.parse(readFileSync(path.join('target', 'criterion', 'parse', h, 'new', 'benchmark.json'), 'utf8'));
  const bytes = bench.throughput?.Bytes ?? 0;
  sizes[h] = bytes;
  const total = crit('parse+plan+emit', h);
  out(`| ${h} | ${bytes} | ${crit('parse', h).toFixed(3)} ms | ${crit('plan', h).toFixed(3)} ms | ${crit('emit', h).toFixed(3)} ms | ${crit('share-link', h).toFixed(3)} ms | ${total.toFixed(3)} ms | ${(bytes / total / 1e3).toFixed(0)} |`);
}
const big = 'synthetic-4096';
const bigMBs = sizes[big] / crit('parse+plan+emit', big) / 1e3;
const rtkvmProc = crit('process-4096', 'rtkvm plan --format json');
const xmllint = crit('process-4096', 'xmllint --noout');
out();
out(`Whole processes on the 4096-CPU host: \`rtkvm plan --format json\` ${rtkvmProc.toFixed(2)} ms, \`xmllint --noout\` ${xmllint.toFixed(2)} ms.`);
out();
const refusals = readdirSync(path.join('target', 'criterion', 'refusal')).filter((h) => h !== 'report');
const refusalTimes = refusals.map((r) => [r.replace(/_/g, ' '), crit('refusal', r)]);
const domain1mb = crit('existing-domain', 'check+apply 1 MB');
out(`Existing domain of 1 MB (\`rtkvm check\` against the host, then \`rtkvm apply\`): ${domain1mb.toFixed(2)} ms.`);
out();
out('Refusals (worst cases of docs/bad-input.md): ' + refusalTimes.map(([r, t]) => `${r} ${t.toFixed(2)} ms`).join('; ') + '.');
out();
out('## Size of dist/');
out();
out('| file | bytes | gzip -9 |');
out('|---|---|---|');
let raw = 0; let gz = 0;
for (const f of readdirSync('dist').sort()) {
  const data = readFileSync(path.join('dist', f));
  const g = gzipSync(data, { level: 9 }).length;
  raw += data.length; gz += g;
  out(`| ${f} | ${data.length} | ${g} |`);
}
out(`| total | ${raw} | ${gz} |`);
out();
// The site with every feature: the shipped one plus sections 8 and 9 (the app's deploy feature,
// built by bench.sh into target/dist-full), which the budget is about; and the shipped site with each
// section alone (the exports, the live host's check), what each costs.
const gzipDir = (dir) => readdirSync(dir).reduce((sum, f) => sum + gzipSync(readFileSync(path.join(dir, f)), { level: 9 }).length, 0);
const gzFull = gzipDir(path.join('target', 'dist-full'));
out(`With every feature (sections 8 and 9 too, \`--features deploy\`, target/dist-full): ${gzFull} bytes gzipped, ${gzFull - gz} more than the shipped site.`);
for (const [feature, section] of [['exports', 'section 8 (the exports)'], ['live-check', 'section 9 (the live host\'s check)']]) {
  const size = gzipDir(path.join('target', `dist-${feature}`));
  out(`With ${section} alone (\`--features ${feature}\`): ${size} bytes gzipped, ${size - gz} more than the shipped site.`);
}
out();
const browser = JSON.parse(readFileSync(path.join('target', 'browser-bench.json'), 'utf8'));
out(`## Browser (headless Chromium, medians of ${browser.runs} loads)`);
out();
out('First plan on screen, from navigation start (and from the end of the HTML response, and from the app\'s `main`):');
out();
out('| page | new tab of a running browser | fresh browser profile |');
out('|---|---|---|');
const cell = (r) => `${r.first_plan_ms} ms (${r.after_html_ms} / ${r.after_start_ms})`;
for (const [name, r] of Object.entries(browser.pages)) out(`| ${name} | ${cell(r.new_tab)} | ${cell(r.fresh_profile)} |`);
out();
out('| host | recompute after an input | worst recompute |');
out('|---|---|---|');
for (const [name, r] of Object.entries(browser.pages)) {
  if (r.recompute_ms !== undefined) out(`| ${name} | ${r.recompute_ms} ms | ${r.recompute_max_ms} ms |`);
}
if (browser.recompute_8_guests_1024_ms !== undefined) {
  out(`| 1024-cpu, 8 guests (plan and cards) | ${browser.recompute_8_guests_1024_ms} ms | ${browser.recompute_8_guests_1024_max_ms} ms |`);
}
out();
// Counted, not timed (tests/startup.mjs): the same from run to run, so a change shows even when the
// machine's drift hides it in the times.
const startup = JSON.parse(readFileSync(path.join('target', 'startup.json'), 'utf8'));
out('Start-up work, from `main` to the first plan (counted, the same in every run):');
out();
out('| page | wasm functions compiled on first call | their code | after the plan | DOM calls | most frequent |');
out('|---|---|---|---|---|---|');
for (const [name, s] of Object.entries(startup)) {
  const w = s.wasm_compiled_lazily;
  const top = Object.entries(s.dom_calls.by_kind).slice(0, 3).map(([k, n]) => `${k} ${n}`).join(', ');
  out(`| ${name} | ${w.before_plan.functions} | ${(w.before_plan.bytes / 1024).toFixed(1)} KiB | ${w.after_plan.functions} (${(w.after_plan.bytes / 1024).toFixed(1)} KiB) | ${s.dom_calls.total} | ${top} |`);
}
out();
out('## Budgets');
out();
budget('whole site transferred, gzip -9, every feature in it', gzFull <= 300_000, `${gzFull} bytes (budget 300000, aim 250000; issue 21)`);
budget('the shipped site (sections 8 and 9 left out), gzip -9', gz <= 300_000, `${gz} bytes (budget 300000)`);
// The first plan is measured against the floors loaded the same way in the same run, so that the
// machine's drift (the floors alone move by 20-30% between runs here) cancels out.
const leptosFloor = browser.pages['floor: minimal Leptos app']?.new_tab.first_plan_ms;
const staticFloor = browser.pages['floor: static page']?.new_tab.first_plan_ms;
if (!leptosFloor) throw new Error('the minimal Leptos floor was not measured (RTKVM_LEPTOS_FLOOR_DIST)');
const ratio = (ms) => `${ms} ms = ${(ms / leptosFloor).toFixed(2)} × the minimal Leptos app (${leptosFloor} ms), ${(ms / staticFloor).toFixed(2)} × the static page (${staticFloor} ms)`;
const example = browser.pages.example.new_tab.first_plan_ms;
budget('first plan on screen, example host, new tab', example <= 1.75 * leptosFloor, `${ratio(example)} (budget ≤ 1.75 × the Leptos app; issue 21)`);
const link1024 = browser.pages['1024-cpu']?.new_tab.first_plan_ms;
if (link1024 !== undefined) {
  budget('first plan on screen, 1024-CPU link, new tab', link1024 <= 2 * leptosFloor, `${ratio(link1024)} (budget ≤ 2 × the Leptos app)`);
}
// The start-up work, counted: it does not drift with the machine as the times do, so its budget
// catches any growth of the code the first plan waits for (262.9 KiB for the example and 261.2 KiB
// for the 1024-CPU link on 2026-12-02, BENCHMARKS.md; the budget is that and about 5%).
for (const [name, s] of Object.entries(startup)) {
  const kib = s.wasm_compiled_lazily.before_plan.bytes / 1024;
  budget(`wasm compiled before the first plan, ${name}`, kib <= 275, `${kib.toFixed(1)} KiB in ${s.wasm_compiled_lazily.before_plan.functions} functions (budget <= 275 KiB)`);
}
const big1024 = browser.pages['1024-cpu'];
if (big1024) {
  budget('recompute after a change, 1024-CPU host', big1024.recompute_ms < 16, `${big1024.recompute_ms} ms median, ${big1024.recompute_max_ms} ms worst (budget < 16 ms)`);
}
if (browser.recompute_8_guests_1024_ms !== undefined) {
  budget('recompute after an edit with 8 guests on a 1024-CPU host (issue 23)', browser.recompute_8_guests_1024_ms < 16, `${browser.recompute_8_guests_1024_ms} ms median, ${browser.recompute_8_guests_1024_max_ms} ms worst (budget < 16 ms)`);
} else {
  budget('recompute after an edit with 8 guests on a 1024-CPU host (issue 23)', false, 'not measured (RTKVM_LINK_1024_8)');
}
if (browser.paste_1024_ms !== undefined) {
  budget('a pasted 1024-CPU host to its plan (issue 11)', browser.paste_1024_ms <= 100, `${browser.paste_1024_ms} ms median, ${browser.paste_1024_max_ms} ms worst, from the input event to the plan in the DOM (budget <= 100 ms)`);
}
budget('native parse+plan+emit throughput, 4096-CPU host', bigMBs >= 200, `${bigMBs.toFixed(0)} MB/s (budget >= 200 MB/s)`);
const worstRefusal = Math.max(...refusalTimes.map(([, t]) => t));
budget('every bad input answered within 100 ms natively', worstRefusal < 100, `worst ${worstRefusal.toFixed(1)} ms`);
budget('check and patch of a 1 MB domain natively (issue 13)', domain1mb <= 10, `${domain1mb.toFixed(2)} ms (budget <= 10 ms)`);
budget('rtkvm faster than xmllint --noout on the same file', rtkvmProc < xmllint, `${rtkvmProc.toFixed(2)} ms vs ${xmllint.toFixed(2)} ms`);
console.log(lines.join('\n'));
process.exit(failed ? 1 : 0);
