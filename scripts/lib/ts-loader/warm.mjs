// npm's postinstall: the transform of every .ts the scripts can load, made once at
// install, so no run pays for esbuild (nor needs to write the cache: cron's users),
// and the Kubernetes client bundled into one file.
import fs from 'node:fs';
import path from 'node:path';
import { javascriptOf, repoRoot } from './cache.mjs';

if (!process.features.typescript) {
  const t0 = Date.now();
  let n = 0;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        javascriptOf(p);
        n++;
      }
    }
  };
  for (const top of ['scripts', 'ops', 'bench', 'test']) walk(path.join(repoRoot, top));
  process.stderr.write(`ts-loader: ${n} modules ready in ${Date.now() - t0} ms\n`);
}

// The Kubernetes client as one file (scripts/lib/kube/client-bundle.mjs): on every Node version.
{
  const t0 = Date.now();
  const { buildBundle } = await import('../kube/client-bundle.mjs');
  const file = await buildBundle();
  process.stderr.write(`kube client bundle: ${path.basename(file)} ready in ${Date.now() - t0} ms\n`);
}
