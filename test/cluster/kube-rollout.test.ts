// Rollout wait, events and server-side apply ownership on the real control
// plane: the deployment, replicaset and statefulset controllers and the
// scheduler do their real work; kwok plays the kubelet (pods Ready, or a crash
// loop on demand through the bed's crashloop stage).
import type { V1ConfigMap, V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Exit, OpsError } from '../../scripts/lib/kit/errors.ts';
import { RolloutError, waitForRollout, type RolloutState } from '../../scripts/lib/kube/rollout.ts';
import { Kube } from '../../scripts/lib/kube/client.ts';
import { deleteNamespace, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { inject } from 'vitest';

const deployment = (
  ns: string,
  name: string,
  over: {
    image?: string;
    replicas?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    cpu?: string;
    minReadySeconds?: number;
    progressDeadlineSeconds?: number;
  } = {},
): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas: over.replicas ?? 2,
    ...(over.minReadySeconds ? { minReadySeconds: over.minReadySeconds } : {}),
    ...(over.progressDeadlineSeconds ? { progressDeadlineSeconds: over.progressDeadlineSeconds } : {}),
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, ...over.labels }, annotations: over.annotations },
      spec: {
        containers: [
          {
            name: 'app',
            image: over.image ?? 'registry.example/app:1.0',
            ...(over.cpu ? { resources: { requests: { cpu: over.cpu } } } : {}),
          },
        ],
      },
    },
  },
});

describe('rollout wait', () => {
  let ns: string;
  const k = kube();
  beforeAll(async () => {
    ns = await tempNamespace('kube-rollout');
  });
  afterAll(async () => deleteNamespace(ns));

  it('a Deployment rolls out, then an update to it rolls out, with progress reported', async () => {
    await k.apply(deployment(ns, 'web'));
    const first = await waitForRollout(k, { kind: 'Deployment', name: 'web', namespace: ns, timeoutSec: 60 });
    expect(first).toMatchObject({ done: true, desired: 2, updated: 2, ready: 2, available: 2 });

    const seen: RolloutState[] = [];
    await k.apply(deployment(ns, 'web', { image: 'registry.example/app:1.1' }));
    const done = await waitForRollout(k, {
      kind: 'Deployment',
      name: 'web',
      namespace: ns,
      timeoutSec: 60,
      onProgress: (s) => seen.push(s),
    });
    expect(done.message).toBe('deployment "web" successfully rolled out');
    expect(seen.at(-1)?.done).toBe(true);
    // The update really went through: only new pods are left, all on the new image.
    const pods = (await k.list<V1Pod>('v1', 'Pod', ns, 'app=web')).filter((p) => !p.metadata?.deletionTimestamp);
    expect(pods.map((p) => p.spec?.containers[0]?.image)).toEqual([
      'registry.example/app:1.1',
      'registry.example/app:1.1',
    ]);
  });

  it('a StatefulSet rolls out and rolls an update through its pods', async () => {
    const sts = (image: string): V1StatefulSet => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: ns },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image }] } },
      },
    });
    await k.apply(sts('registry.example/db:16'));
    await waitForRollout(k, { kind: 'StatefulSet', name: 'db', namespace: ns, timeoutSec: 60 });
    await k.apply(sts('registry.example/db:16.1'));
    const done = await waitForRollout(k, { kind: 'StatefulSet', name: 'db', namespace: ns, timeoutSec: 60 });
    expect(done).toMatchObject({ done: true, ready: 2, updated: 2 });
    const live = await k.apps.readNamespacedStatefulSet({ name: 'db', namespace: ns });
    expect(live.status?.currentRevision).toBe(live.status?.updateRevision);
  });

  it("a pod no node can take: progress deadline exceeded, naming the pod and the scheduler's message", async () => {
    await k.apply(deployment(ns, 'huge', { replicas: 1, cpu: '64', progressDeadlineSeconds: 2 }));
    const t0 = Date.now();
    const err = await waitForRollout(k, { kind: 'Deployment', name: 'huge', namespace: ns, timeoutSec: 90 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RolloutError);
    const e = err as RolloutError;
    expect(e.code).toBe(Exit.actionFailed);
    // Ended by the Deployment's own deadline, not by our timeout.
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(e.message).toMatch(/^deployment\/huge rollout failed: progress deadline exceeded/);
    expect(e.message).toMatch(
      /pod huge-[a-z0-9]+-[a-z0-9]+: Unschedulable: 0\/\d+ nodes are available: .*Insufficient cpu/,
    );
    expect(e.problem).toMatchObject({ reason: 'Unschedulable' });
    expect(e.hint).toMatch(/resource requests/);
  });

  it('a crash-looping pod: the timeout error names the pod, CrashLoopBackOff and the last exit code', async () => {
    // minReadySeconds keeps the briefly-Ready pod from counting as available before kwok's crash loop starts.
    await k.apply(
      deployment(ns, 'crashy', {
        replicas: 1,
        minReadySeconds: 30,
        labels: { 'todo-ops.test/crashloop': 'true' },
        annotations: { 'todo-ops.test/crashloop-delay-ms': '300', 'todo-ops.test/exit-code': '7' },
      }),
    );
    const err = await waitForRollout(k, { kind: 'Deployment', name: 'crashy', namespace: ns, timeoutSec: 6 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RolloutError);
    const e = err as RolloutError;
    expect(e.message).toMatch(
      /^deployment\/crashy rollout failed: timed out after 6s: 0 of 1 updated replicas are available; pod crashy-[a-z0-9-]+: CrashLoopBackOff: back-off restarting failed container app \(container app, last exit code 7, \d+ restarts\)$/,
    );
    expect(e.hint).toMatch(new RegExp(`kubectl -n ${ns} logs crashy-[a-z0-9-]+ -c app --previous`));
  });

  it('a pod running but not ready: the error gives the newest Unhealthy event (the failing probe)', async () => {
    await k.apply(deployment(ns, 'unready', { replicas: 1, minReadySeconds: 30 }));
    const [pod] = await k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'app=unready',
      timeoutSec: 60,
      done: (ps) => ps.length === 1 && ps[0]!.status?.phase === 'Running',
    });
    const name = pod!.metadata!.name!;
    // What a kubelet reports for a failing readiness probe: Ready=False on a running container, and Unhealthy events.
    const now = new Date().toISOString();
    const status = {
      status: {
        conditions: [
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'False', lastTransitionTime: now },
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        ],
        containerStatuses: [
          {
            name: 'app',
            image: 'registry.example/app:1.0',
            imageID: '',
            ready: false,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: now } },
          },
        ],
      },
    };
    await sh()`kubectl patch pod ${name} -n ${ns} --subresource=status --type=merge -p ${JSON.stringify(status)}`;
    const event = (n: number, message: string, at: string) => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${name}.probe${n}`, namespace: ns },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name, namespace: ns, uid: pod!.metadata!.uid },
      reason: 'Unhealthy',
      type: 'Warning',
      message,
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: 'kubelet' },
    });
    await k.apply(
      event(
        1,
        'Readiness probe failed: connection refused',
        new Date(Date.now() - 5000).toISOString().replace(/\.\d+Z$/, 'Z'),
      ),
    );
    await k.apply(
      event(
        2,
        'Readiness probe failed: HTTP probe failed with statuscode: 503',
        new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ),
    );
    const err = await waitForRollout(k, { kind: 'Deployment', name: 'unready', namespace: ns, timeoutSec: 3 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RolloutError);
    expect((err as RolloutError).message).toBe(
      `deployment/unready rollout failed: timed out after 3s: 0 of 1 updated replicas are available; pod ${name}: NotReady: Readiness probe failed: HTTP probe failed with statuscode: 503 (container app)`,
    );
    expect((err as RolloutError).hint).toBe(`kubectl -n ${ns} describe pod ${name}`);
  });

  it('a workload that does not exist is said so at once', async () => {
    const err = await waitForRollout(k, { kind: 'Deployment', name: 'nope', namespace: ns, timeoutSec: 30 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).message).toBe(`deployment/nope not found in namespace ${ns}`);
  });

  it("events of an object: only that object's, newest first", async () => {
    const [pod] = await k.list<V1Pod>('v1', 'Pod', ns, 'app=huge');
    const events = await k.events({ ...pod!, kind: 'Pod' });
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.involvedObject.name === pod!.metadata!.name && e.involvedObject.kind === 'Pod')).toBe(
      true,
    );
    expect(events.map((e) => e.reason)).toContain('FailedScheduling');
    const deployEvents = await k.events({ kind: 'Deployment', metadata: { name: 'web', namespace: ns } });
    expect(deployEvents.map((e) => e.reason)).toContain('ScalingReplicaSet');
    const times = deployEvents.map((e) => new Date((e.lastTimestamp ?? e.eventTime)!).getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });
});

describe('rollout wait when no pod can be created', () => {
  let ns: string;
  const k = kube();
  beforeAll(async () => {
    ns = await tempNamespace('kube-rollout-psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  });
  afterAll(async () => deleteNamespace(ns));

  it("a pod Pod Security refuses: no pod to blame, so the error gives the controller's FailedCreate reason", async () => {
    await k.apply(deployment(ns, 'loose', { replicas: 1 })); // no securityContext: not "restricted"
    const err = await waitForRollout(k, { kind: 'Deployment', name: 'loose', namespace: ns, timeoutSec: 4 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RolloutError);
    expect((err as RolloutError).problem).toBeUndefined();
    expect((err as RolloutError).message).toMatch(
      /^deployment\/loose rollout failed: timed out after 4s: .*; FailedCreate: pods "loose-[a-z0-9]+-[a-z0-9]+" is forbidden: violates PodSecurity "restricted:latest"/,
    );
    expect((err as RolloutError).hint).toBe(`kubectl -n ${ns} describe deployment loose`);
  });
});

describe('server-side apply ownership', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await tempNamespace('kube-apply');
  });
  afterAll(async () => deleteNamespace(ns));
  const cm = (data: Record<string, string>): V1ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: ns },
    data,
  });

  it('a field helm owns is not taken over: refused with the manager and field named; taken with force', async () => {
    await sh()({
      input: JSON.stringify(cm({ greeting: 'hi' })),
    })`kubectl apply --server-side --field-manager=helm -f -`;
    const k = new Kube({ kubeconfig: inject('kubeconfig'), fieldManager: 'todo-chatbot-ops/test' });
    const err = await k.apply(cm({ greeting: 'bye' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(Exit.actionFailed);
    expect((err as OpsError).message).toBe(
      `apply ConfigMap/settings -n ${ns} as todo-chatbot-ops/test conflicts with "helm": .data.greeting (owned by helm)`,
    );
    expect((err as OpsError).hint).toMatch(/helm values.*force: true/);
    expect((await k.core.readNamespacedConfigMap({ name: 'settings', namespace: ns })).data).toEqual({
      greeting: 'hi',
    });

    // A field nobody else owns is fine without force; the same value as helm's is shared, not a conflict.
    await k.apply(cm({ greeting: 'hi', color: 'blue' }));
    expect((await k.core.readNamespacedConfigMap({ name: 'settings', namespace: ns })).data).toEqual({
      greeting: 'hi',
      color: 'blue',
    });

    const forced = await k.apply(cm({ greeting: 'bye', color: 'blue' }), { force: true });
    expect((forced as V1ConfigMap).data?.greeting).toBe('bye');
    const managers = (forced.metadata?.managedFields ?? []).map((m) => m.manager);
    expect(managers).toContain('todo-chatbot-ops/test');
  });

  it('a dry run with a conflict is refused the same way and changes nothing', async () => {
    const k = new Kube({ kubeconfig: inject('kubeconfig'), fieldManager: 'todo-chatbot-ops/other' });
    await expect(k.apply(cm({ greeting: 'again' }), { dryRun: true })).rejects.toThrow(
      /conflicts with "todo-chatbot-ops\/test": \.data\.greeting/,
    );
  });
});
