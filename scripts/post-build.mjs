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
//  4. Drops the Web Streams adapters that Leptos always links (server_fn's `wasm-streams`: three
//     exported classes for server functions' streamed bodies, which a client-side app never calls):
//     their exports leave the wasm, wasm-opt runs again to remove their code and the imports only
//     it used, and the glue loses the classes and every import the wasm no longer asks for
//     (BENCHMARKS.md: 1.9 KB gzipped).
//  5. Gives the wasm's imports and the exports the glue calls short names, in the wasm and in the
//     glue alike (wasm-bindgen names them after Rust paths with hashes: 6 KB of names that gzip cannot
//     shrink, written twice), as Emscripten's MINIFY_WASM_IMPORTS_AND_EXPORTS does. The wasm's
//     integrity in the early fetch is the new file's.
// Every pattern it relies on is checked: a trunk that writes something else stops the build.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
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
if (!/ integrity="sha384-[A-Za-z0-9+/=]+"/.test(preload[0])) fail('the wasm preload\'s integrity');
html = html.replace(preload[0], '');
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const wasmFile = path.join(dir, path.basename(wasm));
const unusedExports = /^(__wbg_)?intounderlying(bytesource|sink|source)_/;
const { imports: wasmImports } = dropExports(wasmFile, unusedExports);
const glue = html.match(/import init, \* as bindings from '((?:\.\/|\/)[A-Za-z0-9_.\/-]*\.js)';/) ?? fail('the JS glue\'s import');
const glueFile = path.join(dir, path.basename(glue[1]));
const glueCalls = new Set([...readFileSync(glueFile, 'utf8').matchAll(/\bwasm\.([A-Za-z_$][\w$]*)/g)].map((m) => m[1]));
const renamed = shortenNames(wasmFile, wasmImports, glueCalls);
const integrity = `sha384-${createHash('sha384').update(readFileSync(wasmFile)).digest('base64')}`;
html = html.replace(loader[0], 'await init({ module_or_path: window.rtkvmWasm })');
const early = `<script>window.rtkvmWasm = fetch(${JSON.stringify(wasm)}, { integrity: ${JSON.stringify(integrity)} }).then((r) => {
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

const preloadGlue = html.match(new RegExp(`<link rel="modulepreload" href="${glue[1].replace(/\./g, '\\.')}"[^>]* integrity="(sha384-[A-Za-z0-9+/=]+)"`)) ?? fail('the JS glue\'s preload');
const tools = createRequire(path.join(root, '.tools', 'package.json'));
const { minify } = tools('terser');
const glueSource = dropFromGlue(readFileSync(glueFile, 'utf8'), ['IntoUnderlyingByteSource', 'IntoUnderlyingSink', 'IntoUnderlyingSource'], renamed);
const { code } = await minify(glueSource, { module: true, compress: true, mangle: true });
writeFileSync(glueFile, code);
html = html.replace(preloadGlue[1], `sha384-${createHash('sha384').update(code, 'utf8').digest('base64')}`);
writeFileSync(file, html);

/** Reads LEB128 numbers and names in a wasm module's bytes: each returns [value, where the next starts]. */
function wasmReader(bytes) {
  const leb = (at) => {
    let value = 0, shift = 0, byte;
    do { byte = bytes[at++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return [value, at];
  };
  const name = (at) => {
    const [length, from] = leb(at);
    return [bytes.subarray(from, from + length).toString('utf8'), from + length];
  };
  return { leb, name };
}

/** Writes a number as unsigned LEB128. */
function uleb(n) {
  const out = [];
  do { let byte = n & 0x7f; n = Math.floor(n / 128); if (n) byte |= 0x80; out.push(byte); } while (n);
  return Buffer.from(out);
}

/** Rewrites the entries of the module's sections whose ids are in `ids` (each section a vector):
 * `entry(id, at)` reads the entry at `at` and returns [its new bytes, or null to drop it, where the
 * next entry starts]. Every other section is copied as it is. */
function rewriteVectors(bytes, ids, entry) {
  const { leb } = wasmReader(bytes);
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = leb(at + 1);
    const end = start + size;
    if (!ids.includes(id)) { parts.push(bytes.subarray(at, end)); at = end; continue; }
    let [count, p] = leb(start);
    const kept = [];
    for (let i = 0; i < count; i++) {
      const [out, next] = entry(id, p);
      if (out) kept.push(out);
      p = next;
    }
    if (p !== end) fail(`the end of wasm section ${id} where its entries end`);
    const body = Buffer.concat([uleb(kept.length), ...kept]);
    parts.push(Buffer.from([id]), uleb(body.length), body);
    at = end;
  }
  return Buffer.concat(parts);
}

/** Removes the exports whose names match `pattern` from the wasm file, then runs wasm-opt again with
 * the page's own settings (index.html), which removes the code only they reached and the imports only
 * that code called. Returns the names the optimized wasm still imports. */
function dropExports(file, pattern) {
  const bytes = readFileSync(file);
  const { leb, name } = wasmReader(bytes);
  let dropped = 0;
  // An export: name, kind, index.
  const rewritten = rewriteVectors(bytes, [7], (_, at) => {
    const [field, kindAt] = name(at);
    const [, next] = leb(kindAt + 1);
    if (!pattern.test(field)) return [bytes.subarray(at, next), next];
    dropped++;
    return [null, next];
  });
  if (dropped === 0) fail(`wasm exports matching ${pattern}`);
  writeFileSync(file, rewritten);
  // The page trunk built from (index.html, or another given to `trunk build`).
  const page = readFileSync(process.env.TRUNK_HTML_FILE ?? path.join(root, 'index.html'), 'utf8');
  const level = page.match(/data-wasm-opt="([a-z0-9]+)"/) ?? fail('data-wasm-opt in index.html');
  const params = page.match(/data-wasm-opt-params="([^"]*)"/) ?? fail('data-wasm-opt-params in index.html');
  // The features rustc's wasm32 target emits; a wasm using another fails wasm-opt's validation here.
  const features = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals', 'reference-types', 'multivalue'].map((f) => `--enable-${f}`);
  execFileSync('wasm-opt', [`-O${level[1]}`, ...params[1].split(/\s+/).filter(Boolean), ...features, file, '-o', file], { stdio: 'inherit' });
  const module = new WebAssembly.Module(readFileSync(file));
  return { imports: new Set(WebAssembly.Module.imports(module).map((i) => i.name)) };
}

/** Removes these exported classes (with their finalization registries) from wasm-bindgen's glue and
 * every function of its import object that the wasm does not import, and renames the imports and
 * exports as `shortenNames` did in the wasm. */
function dropFromGlue(source, classes, { imports, exports }) {
  for (const name of classes) {
    const start = source.indexOf(`export class ${name} {`);
    const dispose = `if (Symbol.dispose) ${name}.prototype[Symbol.dispose] = ${name}.prototype.free;\n`;
    const end = source.indexOf(dispose, start);
    if (start < 0 || end < 0) fail(`the glue's class ${name}`);
    source = source.slice(0, start) + source.slice(end + dispose.length);
    const registry = new RegExp(`const ${name}Finalization = [^;]*;\n`);
    if (!registry.test(source)) fail(`the glue's ${name}Finalization`);
    source = source.replace(registry, '');
    if (source.includes(name)) fail(`a last use of ${name} in the glue`);
  }
  const acorn = createRequire(tools.resolve('terser'))('acorn');
  const ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'module' });
  const getImports = ast.body.find((n) => n.type === 'FunctionDeclaration' && n.id.name === '__wbg_get_imports') ?? fail('__wbg_get_imports in the glue');
  const object = getImports.body.body[0]?.declarations?.[0]?.init;
  if (object?.type !== 'ObjectExpression') fail('the glue\'s import object');
  const functions = object.properties.filter((p) => p.key?.type === 'Identifier' && p.key.name !== '__proto__');
  for (const name of imports.keys()) {
    if (!functions.some((p) => p.key.name === name)) fail(`the glue's import ${name}`);
  }
  for (const p of functions.reverse()) {
    const short = imports.get(p.key.name);
    if (short) {
      source = source.slice(0, p.key.start) + short + source.slice(p.key.end);
    } else {
      const end = source[p.end] === ',' ? p.end + 1 : p.end;
      source = source.slice(0, p.start) + source.slice(end);
    }
  }
  const module = /\n {8}"\.\/[\w-]+_bg\.js": import0,\n/;
  if (!module.test(source)) fail('the glue\'s module of imports');
  source = source.replace(module, '\n        a: import0,\n');
  for (const [name, short] of exports) {
    const call = new RegExp(`\\bwasm\\.${name}(?![\\w$])`, 'g');
    if (!call.test(source)) fail(`the glue's use of the export ${name}`);
    source = source.replace(call, `wasm.${short}`);
  }
  return source;
}

/** Renames, in the wasm file, the module it imports from to `a`, every function it imports from
 * `names` (the glue's import object) to `a`, `b`, … `aa`, …, and every export the glue calls (`calls`)
 * to `_a`, …; returns the maps from old to new names of the imports and the exports. */
function shortenNames(file, names, calls) {
  const bytes = readFileSync(file);
  const { leb, name } = wasmReader(bytes);
  const encoded = (text) => { const b = Buffer.from(text, 'utf8'); return Buffer.concat([uleb(b.length), b]); };
  let counter = 0;
  const next = () => {
    let n = counter++, out = '';
    do { out = String.fromCharCode(97 + (n % 26)) + out; n = Math.floor(n / 26) - 1; } while (n >= 0);
    return out;
  };
  const imports = new Map(), exports = new Map();
  // wasm-bindgen's one module of imports (`./rtkvm-app_bg.js`), repeated in every import: renamed `a`.
  let glueModule;
  const limits = (at) => { const flags = bytes[at]; let [, p] = leb(at + 1); if (flags & 1) [, p] = leb(p); return p; };
  const rewritten = rewriteVectors(bytes, [2, 7], (id, at) => {
    if (id === 2) {
      // An import: module, name, then what it is (function, table, memory, global or tag).
      const [module, nameAt] = name(at);
      const [field, kindAt] = name(nameAt);
      const kind = bytes[kindAt];
      let end = kindAt + 1;
      if (kind === 0) [, end] = leb(end);
      else if (kind === 1) end = limits(end + 1);
      else if (kind === 2) end = limits(end);
      else if (kind === 3) end += 2;
      else if (kind === 4) [, end] = leb(end + 1);
      else fail(`a known kind of wasm import (found ${kind})`);
      let renamed = field;
      if (kind === 0 && names.has(field)) { renamed = next(); imports.set(field, renamed); }
      glueModule ??= module;
      if (module !== glueModule) fail(`wasm imports from ${glueModule} only (found ${module})`);
      return [Buffer.concat([encoded('a'), encoded(renamed), bytes.subarray(kindAt, end)]), end];
    }
    // An export: name, kind, index. Those the glue calls by a long name get a short one.
    const [field, kindAt] = name(at);
    const [, end] = leb(kindAt + 1);
    let renamed = field;
    if (calls.has(field)) { renamed = `_${next()}`; exports.set(field, renamed); }
    return [Buffer.concat([encoded(renamed), bytes.subarray(kindAt, end)]), end];
  });
  writeFileSync(file, rewritten);
  new WebAssembly.Module(readFileSync(file));
  return { imports, exports };
}
