// @kubernetes/client-node is about 970 modules: importing it cost a script more
// than the rest of its run (1-2 s and 165 MB on this 2-core machine). Bundled
// into one minified file of only what the suite uses, it loads in a fraction of
// that. npm's postinstall builds it (scripts/lib/ts-loader/warm.mjs); k8s.ts
// loads it, or the package itself when it is missing. Plain JavaScript: it runs
// at install, before anything can load .ts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** The classes and values the suite takes from the client at run time (k8s.ts re-exports exactly these). */
export const names = [
  'ApiException',
  'AppsV1Api',
  'AutoscalingV2Api',
  'CoreV1Api',
  'Exec',
  'KubeConfig',
  'KubernetesObjectApi',
  'ListWatch',
  'Metrics',
  'PatchStrategy',
  'PortForward',
  'VersionApi',
  'Watch',
];

/**
 * The client's own fetch (node-fetch 2, which its applyToFetchOptions agents are made for), exported
 * as `fetch` for the suite's plain-JSON requests: importing the package again beside the bundle loaded
 * a second copy with its URL and punycode tables (17-30 ms and several MB a run).
 */
const fetchSource = 'node-fetch';

/** Where the bundle of this client version, this esbuild and these names is kept: another of any is another file. */
export function bundleFile() {
  const { version } = require('@kubernetes/client-node/package.json');
  const key = crypto
    .createHash('sha1')
    .update(
      `${version}\0${require('esbuild/package.json').version}\0${names.join(',')}\0${fetchSource}@${require(`${fetchSource}/package.json`).version}`,
    )
    .digest('hex')
    .slice(0, 12);
  return path.join(repoRoot, 'node_modules', '.cache', 'todo-chatbot-ops-kube', `client-node-${version}-${key}.mjs`);
}

/** Builds the bundle unless it is there; returns its path. Written aside and renamed: a reader never sees half a file. */
export async function buildBundle() {
  const out = bundleFile();
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await require('esbuild').build({
    stdin: {
      contents: `export { ${names.join(', ')} } from '@kubernetes/client-node';\nexport { default as fetch } from '${fetchSource}';`,
      resolveDir: repoRoot,
      loader: 'js',
    },
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    // The oldest Node the suite supports: one bundle serves 20, 22 and 24.
    target: 'node20',
    // Some of the client's dependencies are CommonJS and call require() for Node's own modules.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    outfile: tmp,
    logLevel: 'warning',
  });
  fs.renameSync(tmp, out);
  return out;
}
