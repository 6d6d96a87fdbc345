// Failures only a real kubelet produces (the bed's node real-0: containerd +
// runc), driven through the scripts as processes: deploy's broken image and
// crash-looping configuration (with its rollback to a serving revision), and
// debug's diagnosis of a real image pull error, OOMKilled, failing readiness
// probe, CreateContainerConfigError and crash loop. The kwok versions of these
// live in release-scripts.test.ts and debug.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insideExec } from '../../scripts/lib/local-cluster/node.ts';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace, untilMetrics } from '../helpers/cluster.ts';
import { makeEnvDir } from '../helpers/env-dir.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv, type RunResult } from '../helpers/run.ts';

const bedValues = path.join(repoRoot, 'scripts/lib/local-cluster/values-realnode.yaml');
const backendImage = 'localhost/todo-chatbot-backend:images-test';
const toleration = { key: 'todo-ops.test/real-node', operator: 'Exists', effect: 'NoSchedule' };
const onRealNode = { nodeSelector: { type: 'real' }, tolerations: [toleration] };
// Pod Security "restricted" compatible (the image runs as 10001).
const restricted = {
  runAsNonRoot: true,
  runAsUser: 10001,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

interface F {
  name: string;
  level: string;
  detail: string;
  hint?: string;
  object?: { kind: string; name: string };
  evidence?: Record<string, any>;
}
interface Doc {
  exitCode: number;
  actions: { what: string; target: string; status: string; detail?: string }[];
  findings: F[];
  data: Record<string, any>;
}

const oomScript = [
  'import os, time',
  'start = time.time()',
  "held = b'x' * (20 * 1024 * 1024)",
  'while True:',
  "    if os.path.exists('/tmp/boom') and os.stat('/tmp/boom').st_mtime > start:",
  "        more = b'x' * (200 * 1024 * 1024)",
  '    time.sleep(0.5)',
].join('\n');

const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('deploy on the real node: a broken image and a crash-looping configuration roll back to a serving revision', () => {
  const release = 'rn';
  const ns = `real-deploy-${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-realdeploy-'));
  let env: NodeJS.ProcessEnv;
  const deploy = (...args: string[]): Promise<RunResult> =>
    run('scripts/deploy.ts', ['-f', bedValues, ...args], { env, timeoutMs: 300_000 });
  const history = async () =>
    (await sh()`helm history ${release} -n ${ns} -o json`).json() as {
      revision: number;
      status: string;
      description: string;
    }[];
  const backendPods = async () =>
    (
      await kube().list<V1Pod>(
        'v1',
        'Pod',
        ns,
        `app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend`,
      )
    ).filter((p) => !p.metadata?.deletionTimestamp);
  /** A real request through the backend's Service, from inside the bed's network namespace. */
  const serving = async () => {
    const out = (
      await insideExec(
        [
          'curl',
          '-sS',
          '-m',
          '20',
          '-o',
          '-',
          '-w',
          '\n%{http_code}',
          `http://${release}-backend.${ns}.svc.cluster.local:8000/readyz`,
        ],
        { timeout: '60s' },
      )
    ).stdout;
    return { status: Number(out.split('\n').at(-1)), body: out.split('\n').slice(0, -1).join('\n') };
  };
  /** After a rollback: every backend pod is the previous revision's and Ready, and the Service answers. */
  const expectServingPrevious = async (good: number) => {
    const h = await history();
    expect(h.at(-1)!.description).toBe(`Rollback to ${good}`);
    expect(h.at(-1)!.status).toBe('deployed');
    await sh()`kubectl -n ${ns} rollout status deployment/${release}-backend --timeout=90s`;
    const pods = await backendPods();
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.every(ready)).toBe(true);
    expect(pods.every((p) => p.spec!.containers[0]!.image === backendImage)).toBe(true);
    expect(pods.every((p) => !(p.spec!.containers[0]!.env ?? []).some((e) => e.name === 'MAX_BODY_BYTES'))).toBe(true);
    const r = await serving();
    expect(r.status, r.body).toBe(200);
  };

  beforeAll(async () => {
    // One backend, no HPA: the real node runs every pod of this file.
    const envDir = makeEnvDir(tmp, {
      values: 'backend:\n  autoscaling:\n    enabled: false\nfrontend:\n  autoscaling:\n    enabled: false\n',
    });
    env = {
      ...bedEnv(),
      ...scratchEnv({
        TODO_ENV_DIR: envDir,
        TODO_NAMESPACE: ns,
        TODO_RELEASE: release,
        TODO_TIMEOUT: '150',
        TODO_DEPLOY_SETTLE: '3',
      }),
    };
    const r = await deploy('-o', 'json');
    assertSuccess(r);
    expect((await serving()).status).toBe(200);
  }, 320_000);
  afterAll(async () => {
    // The release's objects and history go with the namespace; PostgreSQL lives in an emptyDir (testbed profile): no volume to recycle.
    await deleteNamespace(ns);
  });

  it('a tag containerd does not have: exit 4 at once (no wait can fix it) naming the pod and ErrImageNeverPull, back on the previous revision, serving', async () => {
    const good = (await history()).at(-1)!.revision;
    const broken = 'localhost/todo-chatbot-backend:no-such-tag';
    // A timeout longer than the test's own: only the rollout giving up early lets this pass.
    const r = await run('scripts/deploy.ts', ['-f', bedValues, '--image', `backend=${broken}`, '-o', 'json'], {
      env: { ...env, TODO_TIMEOUT: '600' },
      timeoutMs: 280_000,
    });
    assertFailure(r, 4);
    const doc = r.json<Doc>();
    const rollout = doc.findings.find((f) => f.name === 'rollout')!;
    expect(rollout.detail).toMatch(
      new RegExp(`^deployment/${release}-backend rollout failed: waiting cannot fix it: `),
    );
    expect(rollout.detail).toMatch(
      new RegExp(`pod ${release}-backend-\\S+: ErrImageNeverPull: .*${broken.replace(/[.:/]/g, '\\$&')}`),
    );
    expect(doc.actions.find((a) => a.what === 'helm rollback')).toMatchObject({
      status: 'done',
      detail: `serving revision ${good} again`,
    });
    await expectServingPrevious(good);
  }, 300_000);

  it('a configuration the backend refuses at start: exit 4 naming CrashLoopBackOff, exit code 1 and its real last log lines, back on the previous revision, serving', async () => {
    const good = (await history()).at(-1)!.revision;
    const crash = path.join(tmp, 'crash.yaml');
    // The backend validates its settings at import and exits 1 with one line per bad variable.
    fs.writeFileSync(crash, 'backend:\n  extraEnv:\n    - name: MAX_BODY_BYTES\n      value: "12"\n');
    const r = await run('scripts/deploy.ts', ['-f', bedValues, '-f', crash, '-o', 'json'], {
      env: { ...env, TODO_TIMEOUT: '45' },
      timeoutMs: 300_000,
    });
    assertFailure(r, 4);
    const doc = r.json<Doc>();
    const rollout = doc.findings.find((f) => f.name === 'rollout')!;
    expect(rollout.detail).toMatch(new RegExp(`pod ${release}-backend-\\S+: CrashLoopBackOff.*last exit code 1`));
    const logs = doc.findings.find((f) => f.name === 'crash loop logs')!;
    expect(logs, JSON.stringify(doc.findings, null, 2)).toBeDefined();
    expect(logs.evidence!.lastLines).toEqual(
      expect.arrayContaining([
        'invalid configuration:',
        expect.stringMatching(/^\s*MAX_BODY_BYTES: Input should be greater than or equal to 1024$/),
      ]),
    );
    expect(doc.actions.find((a) => a.what === 'helm rollback')).toMatchObject({
      status: 'done',
      detail: `serving revision ${good} again`,
    });
    await expectServingPrevious(good);
  }, 300_000);
});

describe('debug on the real node: each failure class produced by the kubelet', () => {
  let ns = '';
  let env: NodeJS.ProcessEnv;
  let doc: Doc;
  const k = kube();
  const find = (name: string, pod: string) => doc.findings.find((f) => f.name === name && f.object?.name === pod);
  const pod = (name: string, container: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { test: name } },
    spec: {
      ...onRealNode,
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      ...extra,
      containers: [
        { name: 'app', image: backendImage, imagePullPolicy: 'Never', securityContext: restricted, ...container },
      ],
    },
  });
  const status = (ps: readonly V1Pod[]) => ps[0]?.status?.containerStatuses?.[0];

  beforeAll(async () => {
    ns = await tempNamespace('real-debug');
    env = { ...bedEnv(), ...scratchEnv(), TODO_RELEASE: 'none' };
    await k.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-secrets', namespace: ns },
      type: 'Opaque',
      stringData: { DB_PASSWORD: 'bed-only' },
    });
    await Promise.all([
      // A tag containerd does not have, never pulled.
      k.apply(pod('pull', { image: 'localhost/todo-chatbot-backend:no-such-tag' })),
      // Python holding 20 MiB under a 40Mi limit (what the metrics API observes), then filling 200 MiB once told
      // to by a file newer than its own start (the kernel's OOM killer); the next container only holds. It never
      // becomes ready (nothing listens on the probed port), so it stays a problem while it runs.
      k.apply(
        pod(
          'oom',
          {
            command: ['python', '-c', oomScript],
            resources: { limits: { memory: '40Mi' }, requests: { memory: '40Mi' } },
            readinessProbe: { tcpSocket: { port: 8000 }, periodSeconds: 10 },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
          { volumes: [{ name: 'tmp', emptyDir: {} }] },
        ),
      ),
      // A server that answers 404 on the path the readiness probe asks.
      k.apply(
        pod(
          'probe',
          {
            command: ['python', '-m', 'http.server', '8000', '--bind', '0.0.0.0', '--directory', '/tmp'],
            ports: [{ name: 'http', containerPort: 8000 }],
            readinessProbe: { httpGet: { path: '/nope', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
          },
          { volumes: [{ name: 'tmp', emptyDir: {} }] },
        ),
      ),
      // A Secret without the key the container refers to.
      k.apply(
        pod('needs-key', {
          command: ['python', '-c', 'import time; time.sleep(600)'],
          env: [
            { name: 'OPENAI_API_KEY', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'OPENAI_API_KEY' } } },
          ],
        }),
      ),
      // Prints a known line and exits 3, again and again.
      k.apply(
        pod('crashy', {
          command: [
            'python',
            '-c',
            'import sys\nprint("FATAL: the bed said no (real-node crash)", flush=True)\nsys.exit(3)',
          ],
        }),
      ),
    ]);
    const one = (name: string, done: (ps: readonly V1Pod[]) => boolean) =>
      k.waitFor<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        fieldSelector: `metadata.name=${name}`,
        timeoutSec: 120,
        done,
        describe: (ps) => JSON.stringify(ps[0]?.status ?? {}),
      });
    await Promise.all([
      one('pull', (ps) => status(ps)?.state?.waiting?.reason === 'ErrImageNeverPull'),
      (async () => {
        await one('oom', (ps) => !!status(ps)?.state?.running);
        await sh()`kubectl exec -n ${ns} oom -- python -c ${"open('/tmp/boom', 'w').close()"}`;
        await one(
          'oom',
          (ps) => status(ps)?.lastState?.terminated?.reason === 'OOMKilled' && !!status(ps)?.state?.running,
        );
        await untilMetrics(ns, 'pod oom', (items) => items.some((m) => m.metadata.name === 'oom'));
      })(),
      one('needs-key', (ps) => status(ps)?.state?.waiting?.reason === 'CreateContainerConfigError'),
      one(
        'crashy',
        (ps) => (status(ps)?.restartCount ?? 0) >= 1 && status(ps)?.state?.waiting?.reason === 'CrashLoopBackOff',
      ),
      one('probe', (ps) => !!status(ps)?.started),
    ]);
    // The kubelet's Unhealthy event for the probe (it records one per failure, then counts them).
    await k.waitFor({
      apiVersion: 'v1',
      kind: 'Event',
      namespace: ns,
      fieldSelector: 'involvedObject.name=probe,reason=Unhealthy',
      timeoutSec: 60,
      done: (es) => es.length > 0,
    });
    const r = await run('scripts/debug.ts', ['--profile', 'testbed', '-n', ns, '-o', 'json'], { env });
    assertFailure(r, 1);
    doc = r.json<Doc>();
  }, 240_000);
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it("a real image pull error: which image, which reason (ErrImageNeverPull), the kubelet's message", () => {
    const f = find('image pull error', 'pull');
    expect(f, JSON.stringify(doc.findings, null, 2)).toBeDefined();
    expect(f!.evidence).toMatchObject({
      reason: 'ErrImageNeverPull',
      image: 'localhost/todo-chatbot-backend:no-such-tag',
      container: 'app',
    });
    expect(f!.detail).toMatch(
      /^pull: cannot pull image localhost\/todo-chatbot-backend:no-such-tag \(ErrImageNeverPull\): .*not present with pull policy of Never/,
    );
  });

  it('a real OOMKilled: the limit, the usage the metrics API observed, exit code 137 and the restart', () => {
    const f = find('OOMKilled', 'oom');
    expect(f, JSON.stringify(doc.findings, null, 2)).toBeDefined();
    expect(f!.evidence).toMatchObject({
      reason: 'OOMKilled',
      container: 'app',
      limit: '40Mi',
      exitCode: 137,
      restarts: 1,
    });
    // The container holds 20 MiB on top of Python's own: between 20 and 40 MiB observed.
    expect(f!.evidence!.usageBytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(f!.evidence!.usageBytes).toBeLessThan(40 * 1024 * 1024);
    expect(f!.detail).toMatch(
      new RegExp(
        `^oom: container app was killed for using more memory than its limit \\(40Mi\\); using ${f!.evidence!.usage.replace('.', '\\.')} now, exit code 137, 1 restarts`,
      ),
    );
  });

  it("a real failing readiness probe: its path and the kubelet's answer (404)", () => {
    const f = find('probe failing', 'probe');
    expect(f, JSON.stringify(doc.findings, null, 2)).toBeDefined();
    expect(f!.evidence).toMatchObject({
      reason: 'Unhealthy',
      probe: 'readiness',
      container: 'app',
      path: '/nope',
      port: 'http',
      answer: 'HTTP probe failed with statuscode: 404',
    });
    expect(f!.evidence!.count).toBeGreaterThanOrEqual(1);
  });

  it('a real CreateContainerConfigError for a missing Secret key, with the reference named', () => {
    const f = find('missing config', 'needs-key');
    expect(f, JSON.stringify(doc.findings, null, 2)).toBeDefined();
    expect(f!.evidence).toMatchObject({
      reason: 'CreateContainerConfigError',
      missing: [
        { container: 'app', kind: 'Secret', name: 'app-secrets', key: 'OPENAI_API_KEY', via: 'env OPENAI_API_KEY' },
      ],
    });
    expect(f!.evidence!.message).toMatch(/couldn't find key OPENAI_API_KEY in Secret .*app-secrets/);
  });

  it("a real crash loop: exit code 3 and the previous container's last log line, quoted", () => {
    const f = find('crash loop', 'crashy');
    expect(f, JSON.stringify(doc.findings, null, 2)).toBeDefined();
    // Backing off (CrashLoopBackOff), or caught in the moment between the exit and the back-off (Error): both real.
    expect(['CrashLoopBackOff', 'Error']).toContain(f!.evidence!.reason);
    // Backing off, the line is the previous container's; just exited, it is the current (dead) one's, and the detail says which.
    expect(f!.evidence).toMatchObject({ lastReason: 'Error', exitCode: 3, container: 'app' });
    expect(f!.detail).toContain(f!.evidence!.logPrevious ? 'the previous container last printed' : 'it last printed');
    expect(f!.evidence!.restarts).toBeGreaterThanOrEqual(1);
    expect(f!.evidence!.logLines.at(-1)).toBe('FATAL: the bed said no (real-node crash)');
    expect(f!.detail).toContain('"FATAL: the bed said no (real-node crash)"');
    expect(f!.hint).toBe(`kubectl -n ${ns} logs crashy -c app --previous`);
  });
});
