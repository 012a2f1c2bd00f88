// A static file server for dist/ under a sub-path, on loopback only, shared by the browser tests and
// the browser benchmark.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.svg': 'image/svg+xml' };

/**
 * Serves `dist` at http://127.0.0.1:<port><subpath>; returns { origin, close }. `contentTypes` overrides
 * the content type of some extensions (a server that does not know `.wasm`, say).
 */
export async function serve(dist, subpath, contentTypes = {}) {
  const typeOf = { ...types, ...contentTypes };
  // Files are read once and kept in memory, as a real static server serves them from its cache.
  const cache = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (!url.pathname.startsWith(subpath)) { res.writeHead(404).end(); return; }
    const file = url.pathname.slice(subpath.length) || 'index.html';
    if (file.includes('..')) { res.writeHead(400).end(); return; }
    try {
      if (!cache.has(file)) cache.set(file, await readFile(path.join(dist, file)));
      const body = cache.get(file);
      res.writeHead(200, { 'content-type': typeOf[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch { res.writeHead(404).end(); }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/**
 * The Chromium flags that work as root on this kind of machine, with no network access. Headless
 * Chromium 156 opens each page in a window of its own and loads that window's omnibox popups (web
 * pages of about 400 modules, in a renderer of their own) while the page loads: on two cores they
 * took a core from every load measured, and moved the first plan by tens of milliseconds from one
 * load to the next. A user's new tab opens in a window whose popups are loaded already, so they are
 * turned off here (the last flag).
 */
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup'];
