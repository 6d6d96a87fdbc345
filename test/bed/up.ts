#!/usr/bin/env -S npx zx
// npm run cluster:up — starts (or reuses) the test bed and prints its kubeconfig path.
// --with-kagent (or TODO_OPS_BED_KAGENT=1) adds the real kagent to it (scripts/lib/local-cluster/kagent.ts);
// --kagent-model-url URL (or TODO_OPS_BED_KAGENT_MODEL_URL) gives its default ModelConfig an OpenAI-compatible model.
import { minimist } from 'zx';
import { up, bedName } from '../../scripts/lib/local-cluster/cluster.ts';

const argv = minimist(process.argv.slice(process.argv.findIndex((a) => a.endsWith('up.ts')) + 1), {
  boolean: ['with-kagent'],
  string: ['kagent-model-url'],
});
if (argv['kagent-model-url']) process.env.TODO_OPS_BED_KAGENT_MODEL_URL = argv['kagent-model-url'];
const t0 = Date.now();
try {
  const { kubeconfig, created } = await up((m) => process.stderr.write(`${m}\n`), { kagent: argv['with-kagent'] });
  process.stderr
    .write(`test bed ${bedName} ${created ? 'created' : 'reused'} in ${((Date.now() - t0) / 1000).toFixed(1)}s
  API server:          export KUBECONFIG=${kubeconfig}
  inside the bed:      npm run -s cluster:exec -- CMD ARGS   (pods, Services and cluster DNS answer only there)
  e.g.                 npm run -s cluster:exec -- curl -s http://SERVICE.NAMESPACE.svc.cluster.local:PORT/
  stop and clean up:   npm run cluster:down   (--kagent: remove only kagent from the running bed)
`);
  process.stdout.write(`${kubeconfig}\n`);
} catch (e) {
  // A missing prerequisite or a failed start is a sentence (with the log to read), not a stack trace.
  process.stderr.write(`cluster:up: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
