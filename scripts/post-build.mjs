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
//  4. Runs wasm-opt once more, with binaryen's own passes: `--remove-exports` drops the Web Streams
//     adapters that Leptos always links (server_fn's `wasm-streams`: three exported classes for server
//     functions' streamed bodies, which a client-side app never calls) so that the page's -O removes
//     their code and the imports only it used (BENCHMARKS.md: 1.9 KB gzipped); then
//     `--minify-imports-and-exports-and-modules` gives every import and export a short name and the
//     module of imports the name `a` (wasm-bindgen names them after Rust paths with hashes: 6 KB of
//     names that gzip cannot shrink, written twice), and prints the old and new names.
//  5. Makes the glue match: it loses the three classes and every import the wasm no longer asks for,
//     and calls the imports and exports by binaryen's names. The wasm's integrity in the early fetch is
//     the new file's.
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
const renamed = optimizeAgain(wasmFile, ['intounderlying*', '__wbg_intounderlying*']);
const glue = html.match(/import init, \* as bindings from '((?:\.\/|\/)[A-Za-z0-9_.\/-]*\.js)';/) ?? fail('the JS glue\'s import');
const glueFile = path.join(dir, path.basename(glue[1]));
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

/** Runs wasm-opt again over the wasm file with the page's own settings (index.html), after binaryen's
 * `--remove-exports` drops the exports whose names match `patterns` (so that -O removes the code only
 * they reached and the imports only that code called), then its `--minify-imports-and-exports-and-modules`
 * gives every import and export a short name and the module of imports the name `a`. Returns the maps
 * from old to new names that binaryen prints, of the imports and of the exports. */
function optimizeAgain(file, patterns) {
  const before = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(file))).map((e) => e.name);
  for (const pattern of patterns) {
    const re = new RegExp(`^${pattern.replace(/\*/g, '.*')}$`);
    if (!before.some((name) => re.test(name))) fail(`wasm exports matching ${pattern}`);
  }
  // The page trunk built from (index.html, or another given to `trunk build`).
  const page = readFileSync(process.env.TRUNK_HTML_FILE ?? path.join(root, 'index.html'), 'utf8');
  const level = page.match(/data-wasm-opt="([a-z0-9]+)"/) ?? fail('data-wasm-opt in index.html');
  const params = page.match(/data-wasm-opt-params="([^"]*)"/) ?? fail('data-wasm-opt-params in index.html');
  // The features rustc's wasm32 target emits; a wasm using another fails wasm-opt's validation here.
  const features = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals', 'reference-types', 'multivalue'].map((f) => `--enable-${f}`);
  const printed = execFileSync('wasm-opt', [
    `--remove-exports=${patterns.join(',')}`, `-O${level[1]}`, ...params[1].split(/\s+/).filter(Boolean), ...features,
    '--minify-imports-and-exports-and-modules', file, '-o', file,
  ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  // The page's parameters include `--converge`, which runs the passes again while the module shrinks:
  // binaryen then prints one map per run, each from the names the run before gave. (A run of wasm-opt
  // of its own for the names would write the module once more, 0.7 KB larger gzipped.)
  const runs = printed.split(/^(?=\{$)/m).map((text) => {
    const run = JSON.parse(text);
    return [new Map(run.imports.map(([, name, short]) => [name, short])), new Map(run.exports)];
  });
  if (runs.length === 0) fail('the names binaryen printed');
  const [imports, exports] = runs[0];
  for (const names of runs.slice(1)) {
    [imports, exports].forEach((map, i) => {
      for (const [name, short] of map) {
        if (names[i].has(short)) map.set(name, names[i].get(short)); else map.delete(name);
      }
    });
  }
  return { imports, exports };
}

/** Removes these exported classes (with their finalization registries) from wasm-bindgen's glue and
 * every function of its import object that the wasm does not import, and renames the imports and
 * exports as binaryen did in the wasm (`optimizeAgain`). */
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
  // Every export the glue calls (`wasm.name`) has its new name; one binaryen did not rename would be
  // a call to nothing.
  source = source.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (_, name) => `wasm.${exports.get(name) ?? fail(`the export ${name} the glue calls, in the wasm`)}`);
  return source;
}
