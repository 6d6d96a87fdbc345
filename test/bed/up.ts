#!/usr/bin/env -S npx zx
// npm run cluster:up — starts (or reuses) the test bed and prints its kubeconfig path.
// --with-kagent (or TODO_OPS_BED_KAGENT=1) adds the real kagent to it (scripts/lib/local-cluster/kagent.ts);
// --kagent-model-url URL (or TODO_OPS_BED_KAGENT_MODEL_URL) gives its default ModelConfig an OpenAI-compatible model.
import { up, bedName } from '../../scripts/lib/local-cluster/cluster.ts';

const argv = process.argv.slice(process.argv.findIndex((a) => a.endsWith('up.ts')) + 1);
const withKagent = argv.includes('--with-kagent');
const modelAt = argv.findIndex((a) => a === '--kagent-model-url' || a.startsWith('--kagent-model-url='));
if (modelAt >= 0)
  process.env.TODO_OPS_BED_KAGENT_MODEL_URL = argv[modelAt]!.includes('=')
    ? argv[modelAt]!.split('=').slice(1).join('=')
    : argv[modelAt + 1];
const t0 = Date.now();
const { kubeconfig, created } = await up((m) => process.stderr.write(`${m}\n`), { kagent: withKagent });
process.stderr.write(`test bed ${bedName} ${created ? 'created' : 'reused'} in ${((Date.now() - t0) / 1000).toFixed(1)}s
  API server:          export KUBECONFIG=${kubeconfig}
  inside the bed:      npm run -s cluster:exec -- CMD ARGS   (pods, Services and cluster DNS answer only there)
  e.g.                 npm run -s cluster:exec -- curl -s http://SERVICE.NAMESPACE.svc.cluster.local:PORT/
  stop and clean up:   npm run cluster:down   (--kagent: remove only kagent from the running bed)
`);
process.stdout.write(`${kubeconfig}\n`);
