#!/usr/bin/env -S npx zx
// Benchmark (not a test): how fast the deterministic layer reacts.
//  1. self-heal --watch on the bed's real node: from the moment a container's
//     state turns bad (it then exits 2 at every start: a real crash loop under
//     the kubelet) to self-heal's delete of the pod, read from the audit stream.
//     Goal: under 10 s (kube-prometheus' KubePodCrashLooping waits 15 minutes).
//  2. alert with the smallest `for` (0): from a crash loop starting on a kwok
//     pod to the webhook receiver on loopback getting the FIRING notice, for one
//     alert run started when the pod shows CrashLoopBackOff (under cron, add up
//     to the schedule's period: 60 s for every minute).
// `npm run bench:self-heal` (starts or reuses the test bed; --rounds N).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { $, argv } from 'zx';
import { Kube } from '../scripts/lib/kube/client.ts';
import { bedEnv, up } from '../scripts/lib/local-cluster/cluster.ts';
import { tsNodeFlags } from '../scripts/lib/kit/node-flags.ts';

const rounds = Number(argv.rounds ?? 3);
const root = path.resolve(import.meta.dirname, '..');
const { kubeconfig } = await up((m) => console.error(`[bed] ${m}`));
const env = { ...bedEnv(), KUBECONFIG: kubeconfig };
const k = $({ env, quiet: true });
const kube = new Kube({ kubeconfig });
const ns = 'bench-self-heal';
const release = 'bench';
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-bench-heal-'));
await k`kubectl create namespace ${ns} --dry-run=client -o yaml`.pipe($({ env, quiet: true })`kubectl apply -f -`);
await k`helm upgrade --install ${release} ${path.join(root, 'test/fixtures/self-heal-chart')} -n ${ns} --wait --timeout 120s`;

type Pod = {
  metadata: { name: string; uid: string; deletionTimestamp?: Date };
  status?: {
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      restartCount: number;
      lastState?: { terminated?: { finishedAt?: string } };
      state?: { terminated?: { finishedAt?: string } };
    }[];
  };
};
const ready = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const pods = async () =>
  (await kube.list<Pod & { kind?: string; apiVersion?: string }>('v1', 'Pod', ns, `app=${release}-web`)).filter(
    (p) => !p.metadata.deletionTimestamp,
  );

// 1. self-heal --watch
const runEnv = {
  ...env,
  TODO_PROFILE: 'testbed',
  TODO_STATE_DIR: stateDir,
  TODO_NAMESPACE: ns,
  TODO_RELEASE: release,
  TODO_SELF_HEAL_COOLDOWN: '1',
  NODE_OPTIONS: tsNodeFlags().join(' '),
};
const watcher = spawn(
  process.execPath,
  [
    path.join(root, 'node_modules/zx/build/cli.js'),
    path.join(root, 'ops/self-heal.ts'),
    '--watch',
    '--for',
    `${rounds * 60 + 60}`,
  ],
  { env: runEnv, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
);
await new Promise<void>((resolve) => watcher.stdout!.on('data', (d) => String(d).includes('watching') && resolve()));
const audit = () => {
  const ctxDir = fs.readdirSync(stateDir).find((d) => fs.existsSync(path.join(stateDir, d, ns, 'self-heal.jsonl')));
  return ctxDir
    ? fs
        .readFileSync(path.join(stateDir, ctxDir, ns, 'self-heal.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as { at: string; decision: string; object?: string; step?: string }];
          } catch {
            return []; // a line being written
          }
        })
    : [];
};
const healRows: string[] = [];
for (let i = 0; i < rounds; i++) {
  const [pod] = await pods();
  const t0 = Date.now();
  await k`kubectl -n ${ns} exec ${pod!.metadata.name} -c web -- python -c ${"open('/data/poison', 'w')"}`;
  const acted = await new Promise<{ at: string; step?: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('self-heal did not act within 120 s')), 120_000);
    const check = () => {
      const a = audit().find((r) => r.decision === 'act' && r.object === `pod/${pod!.metadata.name}`);
      if (a) {
        clearTimeout(timer);
        fs.unwatchFile(file);
        resolve(a);
      }
    };
    const ctxDir = fs.readdirSync(stateDir).find((d) => fs.existsSync(path.join(stateDir, d, ns)))!;
    const file = path.join(stateDir, ctxDir, ns, 'self-heal.jsonl');
    fs.watchFile(file, { interval: 100 }, check);
    check();
  });
  const deletedAt = Date.parse(acted.at);
  healRows.push(
    `round ${i + 1}: state turned bad -> self-heal acted (${acted.step}): ${((deletedAt - t0) / 1000).toFixed(1)} s`,
  );
  await kube.waitFor<Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: ns,
    labelSelector: `app=${release}-web`,
    timeoutSec: 120,
    done: (ps) =>
      ps.filter((p) => !p.metadata.deletionTimestamp).length === 1 &&
      ps.some((p) => p.metadata.uid !== pod!.metadata.uid && !p.metadata.deletionTimestamp && ready(p)),
  });
}
watcher.kill('SIGTERM');
await new Promise((r) => watcher.on('exit', r));

// 2. alert with for 0 to the webhook
const received: { at: number; title: string }[] = [];
const server = http.createServer((req, res) => {
  let body = '';
  req
    .on('data', (d) => (body += d))
    .on('end', () => (received.push({ at: Date.now(), title: JSON.parse(body).title }), res.writeHead(200).end()));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const alertRows: string[] = [];
for (let i = 0; i < rounds; i++) {
  const name = `crash-${i}`;
  const t0 = Date.now();
  await kube.apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: {
          labels: { app: name, 'todo-ops.test/crashloop': 'true' },
          annotations: { 'todo-ops.test/crashloop-delay-ms': '300' },
        },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
      },
    },
  } as never);
  await kube.waitFor<Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: ns,
    labelSelector: `app=${name}`,
    timeoutSec: 60,
    done: (ps) => ps.some((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1),
  });
  const crashed = Date.now();
  const r = await $({
    env: {
      ...runEnv,
      TODO_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-bench-alert-')),
      TODO_ALERT_RULES: 'crash-loop',
      TODO_ALERT_FOR: 'crash-loop=0',
      TODO_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      TODO_WEBHOOK_FORMAT: 'json',
    },
    cwd: root,
    quiet: true,
    nothrow: true,
  })`npx zx ops/alert.ts -o json`;
  const got = received.find((n) => n.title.includes(`deployment/${name}`));
  alertRows.push(
    `round ${i + 1}: crash loop seen ${((crashed - t0) / 1000).toFixed(1)} s after the fault; alert run (exit ${r.exitCode}) -> webhook ${got ? `${((got.at - crashed) / 1000).toFixed(1)} s later (${((got.at - t0) / 1000).toFixed(1)} s after the fault)` : 'got nothing'}`,
  );
  await kube.delete({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns } });
}
server.close();
await k`kubectl delete namespace ${ns} --wait=false`;
console.log(
  [
    'self-heal --watch on the real node (goal < 10 s):',
    ...healRows,
    '',
    'alert, smallest for (0), one run at CrashLoopBackOff (cron adds up to its period):',
    ...alertRows,
  ].join('\n'),
);
