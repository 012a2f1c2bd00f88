// trunk post-build hook for the built index.html:
//  1. Starts compiling the wasm from the top of the page. trunk's loader is a module script, which runs
//     only once the page is parsed and the JS glue has arrived; a small classic script in <head> starts
//     `WebAssembly.compileStreaming` as soon as the page begins to parse (with the same integrity check
//     as trunk's preload, which it replaces), and the loader hands the compiled module to `init`
//     (BENCHMARKS.md: about 5 ms earlier on loopback). A server that does not send `application/wasm`
//     still works: the bytes are then compiled from a buffer, as wasm-bindgen's loader does.
//  2. Fills the Content-Security-Policy with the SHA-256 of each inline script (that one and trunk's
//     loader), so that the policy allows exactly those scripts and no other inline code.
//  3. Minifies wasm-bindgen's JS glue with terser (scripts/setup.sh installs it into .tools/; trunk's
//     own minifier cannot parse the glue) and updates the integrity of its preload: 1.5 KB less
//     gzipped (BENCHMARKS.md).
// Every pattern it relies on is checked: a trunk that writes something else stops the build.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this as a trunk post_build hook');
const file = path.join(dir, 'index.html');
let html = readFileSync(file, 'utf8');
const fail = (what) => { throw new Error(`post-build: ${what} not found in trunk's index.html`); };

// trunk's --public-url (or public_url in Trunk.toml) prefixes every asset: the relative default `./`
// works under any path; an absolute path such as /tools/rtkvm/ works when the site is served there.
// A URL on another origin cannot work: the Content-Security-Policy allows this site's own origin only.
const publicUrl = process.env.TRUNK_PUBLIC_URL ?? './';
if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(publicUrl)) {
  throw new Error(`post-build: the public URL ${publicUrl} names another origin, which the page's Content-Security-Policy refuses (it allows only the site's own files). Keep the relative default ./ (works under any path), or give a path on the same server such as /tools/rtkvm/.`);
}
const loader = html.match(/await init\(\{ module_or_path: '((?:\.\/|\/)[A-Za-z0-9_.\/-]*_bg\.wasm)' \}\)/) ?? fail(`the loader's init call (for a public URL of ${publicUrl})`);
const wasm = loader[1];
const preload = html.match(new RegExp(`<link rel="preload" href="${wasm.replace(/\./g, '\\.')}"[^>]*>`)) ?? fail('the wasm preload link');
const integrity = preload[0].match(/ integrity="(sha384-[A-Za-z0-9+/=]+)"/) ?? fail('the wasm preload\'s integrity');
html = html.replace(preload[0], '');
html = html.replace(loader[0], 'await init({ module_or_path: window.rtkvmWasm })');
const early = `<script>window.rtkvmWasm = fetch(${JSON.stringify(wasm)}, { integrity: ${JSON.stringify(integrity[1])} }).then((r) => {
      if (!r.ok) throw new Error('failed to fetch the wasm: ' + r.status);
      return (r.headers.get('content-type') || '').startsWith('application/wasm')
        ? WebAssembly.compileStreaming(r) : r.arrayBuffer().then((b) => WebAssembly.compile(b));
    });</script>`;
const csp = html.match(/<meta http-equiv="Content-Security-Policy"[^>]*>/) ?? fail('the Content-Security-Policy');
html = html.replace(csp[0], `${csp[0]}\n    ${early}`);

const scripts = [...html.matchAll(/<script(?: [^>]*)?>([\s\S]*?)<\/script>/g)];
if (scripts.length !== 2) throw new Error(`post-build: expected two inline scripts, found ${scripts.length}`);
const hashes = scripts.map((s) => `'sha256-${createHash('sha256').update(s[1], 'utf8').digest('base64')}'`);
if (!html.includes('RTKVM_LOADER_HASH')) fail('the RTKVM_LOADER_HASH placeholder');
html = html.replace('RTKVM_LOADER_HASH', hashes.join(' '));

const glue = html.match(/import init, \* as bindings from '((?:\.\/|\/)[A-Za-z0-9_.\/-]*\.js)';/) ?? fail('the JS glue\'s import');
const preloadGlue = html.match(new RegExp(`<link rel="modulepreload" href="${glue[1].replace(/\./g, '\\.')}"[^>]* integrity="(sha384-[A-Za-z0-9+/=]+)"`)) ?? fail('the JS glue\'s preload');
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { minify } = createRequire(path.join(root, '.tools', 'package.json'))('terser');
const glueFile = path.join(dir, path.basename(glue[1]));
const { code } = await minify(readFileSync(glueFile, 'utf8'), { module: true, compress: true, mangle: true });
writeFileSync(glueFile, code);
html = html.replace(preloadGlue[1], `sha384-${createHash('sha384').update(code, 'utf8').digest('base64')}`);
writeFileSync(file, html);
