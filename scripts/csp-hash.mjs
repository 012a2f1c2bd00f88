// trunk post-build hook: fills the Content-Security-Policy of the built index.html with the SHA-256 of
// trunk's inline loader script, so that the policy allows exactly that script and no other inline code.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this as a trunk post_build hook');
const file = path.join(dir, 'index.html');
let html = readFileSync(file, 'utf8');
const scripts = [...html.matchAll(/<script(?: [^>]*)?>([\s\S]*?)<\/script>/g)];
if (scripts.length !== 1) throw new Error(`expected trunk's one inline script, found ${scripts.length}`);
const hash = createHash('sha256').update(scripts[0][1], 'utf8').digest('base64');
if (!html.includes('RTKVM_LOADER_HASH')) throw new Error('index.html has no RTKVM_LOADER_HASH placeholder');
html = html.replace('RTKVM_LOADER_HASH', `'sha256-${hash}'`);
writeFileSync(file, html);
