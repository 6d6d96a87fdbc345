// Proves the test bed is a real Kubernetes control plane: the controllers,
// scheduler, metrics API and helm all do their real work. No containers run:
// kwok marks scheduled pods Running/Ready, and its stages inject failures.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace, fixture, kube, sh, tempNamespace, untilMetrics } from '../helpers/cluster.ts';

const ready = (p: V1Pod) =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata?.deletionTimestamp;

describe('test bed', () => {
  let ns: string;
  const k = kube();
  const deployment = (replicas: number): V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: {
          labels: { app: 'web' },
          annotations: { 'kwok.x-k8s.io/usage-cpu': '120m', 'kwok.x-k8s.io/usage-memory': '48Mi' },
        },
        spec: { containers: [{ name: 'web', image: 'registry.example/web:1.0' }] },
      },
    },
  });
  const waitReady = (n: number) =>
    k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'app=web',
      timeoutSec: 60,
      done: (pods) =>
        pods.filter(ready).length === n && pods.filter((p) => !p.metadata?.deletionTimestamp).length === n,
      describe: (pods) => `${pods.filter(ready).length}/${pods.length} ready`,
    });

  beforeAll(async () => {
    ns = await tempNamespace('bed');
  });
  afterAll(async () => deleteNamespace(ns));

  it('a Deployment of 3 replicas gives 3 Ready pods, scheduled onto the fake nodes', async () => {
    await k.apply(deployment(3));
    const pods = await waitReady(3);
    // Every pod on a fake node (never the tainted real node, never unscheduled).
    for (const p of pods) expect(p.spec?.nodeName).toMatch(/^bed-node-/);
  });

  it('scaling to 5 gives 5 Ready pods', async () => {
    await k.scale('Deployment', 'web', ns, 5);
    await waitReady(5);
  });

  it('a deleted pod is replaced by the ReplicaSet controller', async () => {
    const before = (await k.list<V1Pod>('v1', 'Pod', ns, 'app=web')).filter(ready);
    const victim = before[0]!.metadata!.name!;
    await k.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name: victim, namespace: ns } });
    const after = await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'app=web',
      timeoutSec: 60,
      done: (pods) => pods.filter(ready).length === 5 && !pods.some((p) => p.metadata?.name === victim),
    });
    expect(after.map((p) => p.metadata?.name)).not.toContain(victim);
  });

  it('the metrics API returns usage for the pods (from kwok usage annotations)', async () => {
    // metrics-server needs two scrapes of a pod for a CPU rate.
    const items = await untilMetrics(ns, '5 pods', (m) => m.length >= 5);
    const usage = items[0]!.containers[0]!.usage;
    expect(usage.memory).toMatch(/^(48Mi|49152Ki|50331648)$/);
    expect(Number.parseInt(usage.cpu, 10)).toBeGreaterThan(0);
  });

  it('helm install of a fixture chart succeeds and helm uninstall removes it', async () => {
    await sh()`helm install tiny ${fixture('tiny-chart')} -n ${ns} --set greeting=hi --wait --timeout 60s`;
    const cm = await k.core.readNamespacedConfigMap({ name: 'tiny-settings', namespace: ns });
    expect(cm.data?.greeting).toBe('hi');
    const status = JSON.parse((await sh()`helm status tiny -n ${ns} -o json`).stdout) as { info: { status: string } };
    expect(status.info.status).toBe('deployed');
    await sh()`helm uninstall tiny -n ${ns} --wait`;
    expect(await k.read('v1', 'ConfigMap', 'tiny-settings', ns)).toBeUndefined();
    expect(await k.read('apps/v1', 'Deployment', 'tiny-web', ns)).toBeUndefined();
  });

  it('a pod made to fail shows the failure in its status (kwok chaos stage)', async () => {
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'doomed',
        namespace: ns,
        labels: { 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' },
        annotations: {
          'pod-container-running-failed.stage.kwok.x-k8s.io/exit-code': '3',
          'pod-container-running-failed.stage.kwok.x-k8s.io/reason': 'Error',
        },
      },
      spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
    };
    await k.apply(pod);
    const [failed] = await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'pod-container-running-failed.stage.kwok.x-k8s.io=true',
      timeoutSec: 60,
      done: (pods) => pods[0]?.status?.phase === 'Failed',
    });
    expect(failed!.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  });

  it("a pod put in a crash loop accumulates restarts (the bed's own restart stage)", async () => {
    const pods = (await k.list<V1Pod>('v1', 'Pod', ns, 'app=web')).filter(ready);
    const name = pods[0]!.metadata!.name!;
    await k.mergePatch({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: ns,
        labels: { 'todo-ops.test/crashloop': 'true' },
        annotations: { 'todo-ops.test/crashloop-delay-ms': '500' },
      },
    });
    const [looping] = await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'todo-ops.test/crashloop=true',
      timeoutSec: 60,
      done: (ps) => (ps[0]?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 3,
    });
    const cs = looping!.status!.containerStatuses![0]!;
    expect(cs.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(cs.lastState?.terminated?.exitCode).toBe(1);
    expect(looping!.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  });
});
