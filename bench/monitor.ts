#!/usr/bin/env -S npx zx
// Benchmark (not a test): monitor's whole scan against `kubectl get pods -o json`
// at 100, 1,000 and 5,000 pods on kwok's fake nodes (monitor as `npx zx` runs it, and as
// a crontab line starts it). Reports wall time, peak
// RSS and API requests of each, in the same run. `npm run bench:monitor`
// (starts or reuses the test bed; --sizes 100,1000 to choose; --node PATH times
// monitor under another Node, e.g. one from ~/.cache/todo-chatbot-ops/node/, while
// the bench itself runs under the system's Node, whose npm builds the bed's images).
import path from 'node:path';
import { $, argv } from 'zx';
import { up, bedEnv } from '../scripts/lib/local-cluster/cluster.ts';

const sizes = String(argv.sizes ?? '100,1000,5000')
  .split(',')
  .map(Number);
const root = path.resolve(import.meta.dirname, '..');
const ns = 'bench-monitor';
const loader = path.join(root, 'scripts/lib/ts-loader/register.mjs');
const zxCli = path.join(root, 'node_modules/zx/build/cli.js');
const release = 'bench';
const node = typeof argv.node === 'string' ? path.resolve(argv.node) : process.execPath;
// npx finds node on PATH: the chosen Node first.
const nodePath = { PATH: `${path.dirname(node)}:${process.env.PATH}` };
await up((m) => console.error(`[bed] ${m}`));
const env = bedEnv();
const k = $({ env, quiet: true });

// Fake nodes with room for the pods; kwok marks them Ready.
const nodes = Array.from({ length: 6 }, (_, i) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: `bench-node-${i}`,
    annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    labels: { type: 'bench', 'kubernetes.io/hostname': `bench-node-${i}` },
  },
  spec: { taints: [{ key: 'bench', value: 'true', effect: 'NoSchedule' }] },
  status: {
    allocatable: { cpu: '1000', memory: '4Ti', pods: '1000' },
    capacity: { cpu: '1000', memory: '4Ti', pods: '1000' },
  },
}));
await $({ env, quiet: true, input: nodes.map((n) => JSON.stringify(n)).join('\n') })`kubectl apply --server-side -f -`;
await k`kubectl create namespace ${ns} --dry-run=client -o yaml`.pipe($({ env, quiet: true })`kubectl apply -f -`);

const deployment = (replicas: number) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${release}-backend`, namespace: ns, labels: { 'app.kubernetes.io/instance': release } },
    spec: {
      replicas,
      selector: { matchLabels: { 'app.kubernetes.io/instance': release } },
      template: {
        metadata: {
          labels: { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/component': 'backend' },
          annotations: { 'kwok.x-k8s.io/usage-cpu': '20m', 'kwok.x-k8s.io/usage-memory': '64Mi' },
        },
        spec: {
          nodeSelector: { type: 'bench' },
          tolerations: [{ key: 'bench', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [
            {
              name: 'backend',
              image: 'todo-chatbot-backend:bench',
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '256Mi' } },
            },
          ],
        },
      },
    },
  });

async function timed(cmd: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = await $({
    env: { ...env, ...extraEnv },
    cwd: root,
    quiet: true,
    nothrow: true,
  })`/usr/bin/time -f ${'%e %M'} ${cmd}`;
  const [secs, kb] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { s: secs!, mb: kb! / 1024, stdout: r.stdout, stderr: r.stderr, code: r.exitCode };
}

const rows: string[] = [];
for (const n of sizes) {
  await $({ env, quiet: true, input: deployment(n) })`kubectl apply --server-side -f -`;
  const t0 = Date.now();
  await k`kubectl rollout status deployment/${release}-backend -n ${ns} --timeout=15m`;
  console.error(`[bench] ${n} pods Ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  for (let i = 0; i < 2; i++) {
    const m = await timed(['npx', 'zx', 'scripts/monitor.ts', '--profile', 'testbed', '-n', ns, '-o', 'json'], {
      TODO_RELEASE: release,
      ...nodePath,
    });
    // The same run started as the crontab lines start a script: node, the suite's loader, zx (no npm).
    const direct = await timed(
      [node, '--import', loader, zxCli, 'scripts/monitor.ts', '--profile', 'testbed', '-n', ns, '-o', 'json'],
      { TODO_RELEASE: release },
    );
    const doc = JSON.parse(m.stdout) as { data: { requests: number; pods: unknown[] }; exitCode: number };
    const kc = await timed(['kubectl', 'get', 'pods', '-n', ns, '-o', 'json', '-v=6']);
    const kubectlRequests = (kc.stderr.match(/verb="GET"| GET https?:\/\//g) ?? []).length;
    if (i === 1)
      // the first round warms caches (discovery, page cache)
      rows.push(
        `${String(n).padStart(5)} pods | monitor ${m.s.toFixed(2)} s (node directly ${direct.s.toFixed(2)} s), ${m.mb.toFixed(0)} MB, ${doc.data.requests} requests, ${doc.data.pods.length} pods seen | kubectl get pods -o json ${kc.s.toFixed(2)} s, ${kc.mb.toFixed(0)} MB, ${kubectlRequests} requests`,
      );
  }
}
// --keep: leave the pods and nodes for a profile of one run (npx zx bench/monitor.ts --sizes 1000 --keep).
if (!argv.keep) {
  await k`kubectl delete namespace ${ns} --wait=false`;
  await k`kubectl delete node -l type=bench`;
}
console.log(
  `monitor scan vs kubectl, Node ${(await $`${node} --version`).stdout.trim()}, ${(await $`nproc`).stdout.trim()} cores\n${rows.join('\n')}`,
);
