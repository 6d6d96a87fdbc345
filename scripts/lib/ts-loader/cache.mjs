// One module's transform and where it is kept. The key is the file's path, size
// and mtime with the loader's and esbuild's versions: an edited file, or another
// esbuild, is a different key, so a stale transform is never served.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const repoRoot = path.resolve(import.meta.dirname, '../../..');
const cacheDir = path.join(repoRoot, 'node_modules', '.cache', 'todo-chatbot-ops-ts');
const loaderVersion = '1';
let esbuild;

// Its version from its package.json: loading esbuild itself costs a cache hit more than the rest of it.
let esbuildVersion;
function keyOf(file, st) {
  esbuildVersion ??= require('esbuild/package.json').version;
  return crypto
    .createHash('sha1')
    .update(`${loaderVersion}\0${esbuildVersion}\0${file}\0${st.size}\0${st.mtimeMs}`)
    .digest('hex');
}

function transform(file) {
  esbuild ??= require('esbuild');
  return esbuild.transformSync(fs.readFileSync(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcefile: file,
    sourcemap: 'inline',
  }).code;
}

/** The module's JavaScript: from the cache, else transformed now and kept (when the cache is writable: cron's users may not write it). */
export function javascriptOf(file) {
  const cached = path.join(cacheDir, `${keyOf(file, fs.statSync(file))}.mjs`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    const code = transform(file);
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, code);
      fs.renameSync(tmp, cached);
    } catch {
      // read-only here: this run uses the transform it made
    }
    return code;
  }
}
