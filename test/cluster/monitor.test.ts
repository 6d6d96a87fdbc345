// monitor against the chart installed on the test bed: kwok plays the kubelet,
// its stages make backend pods crash-loop on demand (scripts/lib/local-cluster/kwok/).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartDir, profile } from '../fixtures/chart-helm.ts';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv, type RunResult } from '../helpers/run.ts';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';

const release = 'mon';
interface Doc {
  exitCode: number;
  findings: { name: string; level: string; detail: string; hint?: string }[];
  data: {
    state: string;
    requests: number;
    workloads: { name: string; ready: number; desired: number }[];
    pods: { name: string; restarts: number }[];
  };
}

describe('monitor on the test bed', () => {
  let ns: string;
  let env: NodeJS.ProcessEnv;
  const monitor = (...args: string[]) =>
    run('scripts/monitor.ts', ['--profile', 'testbed', '-n', ns, ...args], { env: { ...env, TODO_RELEASE: release } });
  const backendPods = async () =>
    (
      await kube().list<{ metadata: { name: string } }>(
        'v1',
        'Pod',
        ns,
        `app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend`,
      )
    )
      .map((p) => p.metadata.name)
      .sort();
  const crashLoop = (pod: string) =>
    kube().mergePatch({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: pod,
        namespace: ns,
        labels: { 'todo-ops.test/crashloop': 'true' },
        annotations: { 'todo-ops.test/exit-code': '3', 'todo-ops.test/crashloop-delay-ms': '300' },
      },
    });

  beforeAll(async () => {
    ns = await tempNamespace('monitor');
    env = { ...bedEnv(), ...scratchEnv() };
    await sh()`helm install ${release} ${chartDir} -n ${ns} -f ${profile('testbed')} --set backend.autoscaling.enabled=false --set backend.replicaCount=2 --wait --timeout 120s`;
  });
  afterAll(() => deleteNamespace(ns));

  it('a healthy release: exit 0, every workload ready, a fixed number of API requests', async () => {
    const r = await monitor('-o', 'json');
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.data.state).toBe('healthy');
    expect(doc.data.workloads.map((w) => [w.name, w.ready, w.desired]).sort()).toEqual([
      [`${release}-backend`, 2, 2],
      [`${release}-frontend`, 1, 1],
      [`${release}-postgresql`, 1, 1],
    ]);
    expect(doc.findings.filter((f) => f.level === 'fail')).toEqual([]);
    expect(doc.data.requests).toBe(11); // 9 Lists (ReplicaSets too) + metrics + the namespace check, whatever the pod count
    const text = await monitor();
    assertSuccess(text);
    expect(text.stdout).toMatch(/^release mon in monitor-\S+: HEALTHY$/m);
    expect(text.stdout).toMatch(/^deployment\/mon-backend\s+2\s+2\s+2\s+2$/m);
  });

  it('--watch sees one backend replica start crash-looping within seconds (degraded), and Ctrl-C ends it cleanly', async () => {
    const child = spawn(
      process.execPath,
      [
        ...tsNodeFlags(),
        path.join(repoRoot, 'node_modules/zx/build/cli.js'),
        'scripts/monitor.ts',
        '--profile',
        'testbed',
        '-n',
        ns,
        '--watch',
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, ...env, TODO_RELEASE: release, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const seen = (re: RegExp, ms = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not seen ${re} in ${ms} ms; output:\n${out}`)), ms);
        const check = () => re.test(out) && (clearTimeout(t), resolve());
        child.stdout.on('data', (d) => ((out += d), check()));
        check();
      });
    try {
      await seen(/ healthy$/m);
      const [victim] = await backendPods();
      const t0 = Date.now();
      await crashLoop(victim!);
      await seen(new RegExp(` degraded: .*${victim}: CrashLoopBackOff, last exit 3`));
      process.stderr.write(`[monitor] --watch saw the crash loop ${Date.now() - t0} ms after the label\n`);
    } finally {
      child.kill('SIGINT');
    }
    const status = await new Promise<number | null>((r) => child.on('close', r));
    expect(status).toBe(1); // the last state seen: degraded
    expect(out).not.toMatch(/Error:|at .*\.ts:\d+/);
  });

  it('degraded: exit 1 with the failing pod, its exit code and what to run next', async () => {
    const r = await monitor('-o', 'json');
    assertFailure(r, 1);
    const doc = r.json<Doc>();
    expect(doc.data.state).toBe('degraded');
    const failing = doc.findings.find((f) => f.name === 'pod failing')!;
    expect(failing.detail).toMatch(/CrashLoopBackOff, last exit 3 \(Error\), \d+ restarts/);
    expect(failing.hint).toMatch(/^npx zx scripts\/debug\.ts (-p testbed )?-n monitor-/); // the run's profile carried, when given
    expect(doc.findings.find((f) => f.name === 'workload degraded')?.detail).toBe(
      `deployment/${release}-backend: 1/2 ready`,
    );
  });

  it('down: no ready backend gives exit 6', async () => {
    const [, second] = await backendPods();
    await crashLoop(second!);
    await kube().waitFor<{ kind?: string; status?: { readyReplicas?: number } }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      labelSelector: `app.kubernetes.io/component=backend`,
      timeoutSec: 60,
      done: (ds) => ds.length === 1 && !ds[0]!.status?.readyReplicas,
    });
    const r = await monitor('-o', 'json');
    assertFailure(r, 6);
    expect(r.json<Doc>().findings.find((f) => f.name === 'workload down')?.detail).toBe(
      `deployment/${release}-backend: 0/2 ready`,
    );
  });

  it('bad inputs: one line, the documented code', async () => {
    const cases: [string[], NodeJS.ProcessEnv, number, RegExp][] = [
      [['--since', 'abc'], {}, 2, /^monitor: --since must be like 90, 90s, 5m, 1h or 2d, got "abc"$/],
      [['-n', 'no-such-namespace'], {}, 2, /^monitor: namespace "no-such-namespace" does not exist$/],
      [['--watch', '-o', 'json'], {}, 2, /^monitor: --watch draws a live view: use it without --output json$/],
      [
        [],
        { KUBECONFIG: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml') },
        3,
        /^monitor: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/,
      ],
    ];
    for (const [args, extra, code, first] of cases) {
      const r: RunResult = await run(
        'scripts/monitor.ts',
        ['--profile', 'testbed', ...(args.includes('-n') ? [] : ['-n', ns]), ...args],
        { env: { ...env, ...extra } },
      );
      assertFailure(r, code);
      expect(r.stderr.split('\n')[0]).toMatch(first);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});
