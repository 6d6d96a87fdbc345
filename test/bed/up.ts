#!/usr/bin/env -S npx zx
// npm run cluster:up — starts (or reuses) the test bed and prints its kubeconfig path.
import { up, bedName } from '../../scripts/lib/local-cluster/cluster.ts';

const t0 = Date.now();
const { kubeconfig, created } = await up((m) => process.stderr.write(`${m}\n`));
process.stderr.write(`test bed ${bedName} ${created ? 'created' : 'reused'} in ${((Date.now() - t0) / 1000).toFixed(1)}s
  API server:          export KUBECONFIG=${kubeconfig}
  inside the bed:      npm run -s cluster:exec -- CMD ARGS   (pods, Services and cluster DNS answer only there)
  e.g.                 npm run -s cluster:exec -- curl -s http://SERVICE.NAMESPACE.svc.cluster.local:PORT/
  stop and clean up:   npm run cluster:down
`);
process.stdout.write(`${kubeconfig}\n`);
