// monitor and debug against what is live on the bed's real node (containerd +
// runc: a real image pull that fails), for changes made by hand: a release
// Service whose selector was mistyped (no endpoints) and an image set to one
// that cannot be pulled (1 of 3 replicas updated while the old pods serve).
// Both are problems (exit 1) with the object and the reason named; debug NAME
// looks at every kind of that name, and kind/NAME narrows.
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, run, scratchEnv } from '../helpers/run.ts';

const release = 'stuck';
const name = `${release}-web`;
const missingImage = 'localhost/todo-ops-missing:1';
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
  evidence?: Record<string, unknown>;
}
interface Doc {
  exitCode: number;
  findings: F[];
  data: Record<string, any>;
}

describe('monitor and debug on changes made by hand (real node)', () => {
  let ns = '';
  let env: NodeJS.ProcessEnv;
  const k = kube();
  const monitor = (...args: string[]) => run('scripts/monitor.ts', ['-n', ns, ...args], { env });
  const debug = (...args: string[]) => run('scripts/debug.ts', ['-n', ns, ...args], { env });
  const labels = { app: name, 'app.kubernetes.io/instance': release };
  const endpoints = (what: string, done: (n: number) => boolean) =>
    k.waitFor<{ endpoints?: { conditions?: { ready?: boolean } }[] } & { kind?: string }>({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      namespace: ns,
      labelSelector: `kubernetes.io/service-name=${name}`,
      timeoutSec: 60,
      done: (slices) =>
        done(slices.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length),
      describe: (slices) => `${what}: ${JSON.stringify(slices.map((s) => s.endpoints))}`,
    });

  beforeAll(async () => {
    ns = await tempNamespace('mon-rollout');
    env = { ...bedEnv(), ...scratchEnv({ TODO_RELEASE: release }) };
    await k.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: name } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { type: 'real' },
            tolerations: [{ key: 'todo-ops.test/real-node', operator: 'Exists', effect: 'NoSchedule' }],
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'web',
                image: 'localhost/todo-chatbot-backend:images-test',
                imagePullPolicy: 'IfNotPresent',
                securityContext: restricted,
                command: ['python', '-c', 'import time; time.sleep(3600)'],
                resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
              },
            ],
          },
        },
      },
    });
    await k.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8000 }] },
    });
    await endpoints('3 ready endpoints', (n) => n === 3);
  }, 150_000);
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('as deployed: healthy, exit 0', async () => {
    const r = await monitor('-o', 'json');
    assertSuccess(r);
    expect(r.json<Doc>().data.state).toBe('healthy');
  });

  it('a Service selector mistyped by hand: debug NAME names the Service (exit 1), kind/NAME narrows; monitor fails on it', async () => {
    await k.mergePatch({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { selector: { app: `${name}x` } },
    });
    await endpoints('no endpoints', (n) => n === 0);

    // The Deployment of that name is fine; the Service of that name is not: both are looked at.
    const all = await debug(name, '-o', 'json');
    assertFailure(all, 1);
    const doc = all.json<Doc>();
    expect(doc.data.targets).toEqual([`deployment/${name}`, `service/${name}`]);
    const broken = doc.findings.find((f) => f.name === 'service selects no pods')!;
    expect(broken.object).toMatchObject({ kind: 'Service', name });
    expect(broken.detail).toMatch(new RegExp(`^service/${name} selects app=${name}x: no pod has these labels`));
    expect(doc.findings.find((f) => f.level === 'ok')?.detail).toMatch(
      new RegExp(`^nothing wrong with deployment/${name} `),
    );
    const text = await debug(name);
    assertFailure(text, 1);
    expect(text.stdout).toMatch(new RegExp(`^deployment/${name}, service/${name}: 1 problem found$`, 'm'));

    const svc = await debug(`svc/${name}`, '-o', 'json');
    assertFailure(svc, 1);
    expect(svc.json<Doc>().data.targets).toEqual([`service/${name}`]);
    expect(svc.json<Doc>().findings.map((f) => f.object)).toEqual([expect.objectContaining({ kind: 'Service', name })]);
    const deploy = await debug(`deploy/${name}`);
    assertSuccess(deploy);
    expect(deploy.stdout).toMatch(new RegExp(`^deployment/${name}: nothing wrong$`, 'm'));

    const m = await monitor('-o', 'json');
    assertFailure(m, 1);
    expect(m.json<Doc>().findings.find((f) => f.name === 'service without endpoints')).toMatchObject({
      level: 'fail',
      object: { kind: 'Service', name },
      detail: `${name}: no ready endpoints`,
    });

    await k.mergePatch({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { selector: { app: name } },
    });
    await endpoints('3 ready endpoints again', (n) => n === 3);
  }, 120_000);

  it('an image set by hand that cannot be pulled: 1 of 3 updated, old pods serving; monitor says degraded (exit 1), naming the pod and reason', async () => {
    await sh()`kubectl -n ${ns} set image deployment/${name} web=${missingImage}`;
    const pods = await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: `app=${name}`,
      timeoutSec: 90,
      done: (ps) =>
        ps.some((p) =>
          /^(ErrImagePull|ImagePullBackOff)$/.test(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''),
        ),
      describe: (ps) => JSON.stringify(ps.map((p) => [p.metadata?.name, p.status?.containerStatuses?.[0]?.state])),
    });
    const newPod = pods.find((p) => p.spec?.containers[0]?.image === missingImage)!.metadata!.name!;

    const r = await monitor('-o', 'json');
    assertFailure(r, 1);
    const doc = r.json<Doc>();
    expect(doc.data.state).toBe('degraded');
    // The old pods still serve: by the replica counts alone this looked healthy.
    expect(doc.data.workloads).toEqual([expect.objectContaining({ name, desired: 3, ready: 3, updated: 1 })]);
    const stuck = doc.findings.find((f) => f.name === 'rollout stuck')!;
    expect(stuck).toMatchObject({ level: 'fail', object: { kind: 'Deployment', name } });
    expect(stuck.detail).toMatch(
      new RegExp(
        `^deployment/${name}: rollout stuck at 1/3 updated: pod ${newPod} (ErrImagePull|ImagePullBackOff) \\(image ${missingImage}\\)$`,
      ),
    );
    expect(stuck.hint).toContain(`scripts/debug.ts -n ${ns} ${newPod}`);
    expect(stuck.hint).toContain(`kubectl -n ${ns} rollout undo deployment/${name}`);
    const text = await monitor();
    assertFailure(text, 1);
    expect(text.stdout).toMatch(/: DEGRADED$/m);
    expect(text.stdout).toContain(`rollout stuck at 1/3 updated: pod ${newPod}`);
  }, 150_000);
});
