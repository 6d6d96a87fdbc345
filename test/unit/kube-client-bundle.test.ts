// The Kubernetes client as one bundled file (scripts/lib/kube/client-bundle.mjs):
// built at install, holding every class the suite uses, and the one k8s.ts
// hands out, unless TODO_KUBE_CLIENT_BUNDLE=0 asks for the package.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleFile, names } from '../../scripts/lib/kube/client-bundle.mjs';
import * as k8s from '../../scripts/lib/kube/k8s.ts';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';
import { repoRoot } from '../helpers/run.ts';

describe('the bundled Kubernetes client', () => {
  it('was built by npm install, exports exactly the names the suite uses, and is what k8s.ts hands out', async () => {
    expect(fs.existsSync(bundleFile())).toBe(true);
    const bundle = (await import(pathToFileURL(bundleFile()).href)) as Record<string, unknown>;
    // and the client's own node-fetch, for the suite's plain-JSON requests
    const exported = [...names, 'fetch'].sort();
    expect(Object.keys(bundle).sort()).toEqual(exported);
    expect(Object.keys(k8s).sort()).toEqual(exported);
    for (const n of exported) expect((k8s as Record<string, unknown>)[n]).toBe(bundle[n]);
  });

  it('TODO_KUBE_CLIENT_BUNDLE=0 loads the package instead, with the same classes by name', () => {
    const probe = `const k = await import(${JSON.stringify(pathToFileURL(`${repoRoot}/scripts/lib/kube/k8s.ts`).href)});
const p = { ...(await import('@kubernetes/client-node')), fetch: (await import('node-fetch')).default };
console.log(JSON.stringify(${JSON.stringify([...names, 'fetch'])}.map((n) => k[n] === p[n])));`;
    const run = (bundle: string) =>
      JSON.parse(
        execFileSync(process.execPath, [...tsNodeFlags(), '--input-type=module', '-e', probe], {
          cwd: repoRoot,
          env: { ...process.env, TODO_KUBE_CLIENT_BUNDLE: bundle },
          encoding: 'utf8',
        }),
      ) as boolean[];
    expect(run('0').every(Boolean)).toBe(true);
    expect(run('1').some(Boolean)).toBe(false);
  });
});
