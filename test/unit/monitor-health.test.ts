// monitor's judgement on plain snapshots: every rule that decides healthy,
// degraded or down, and the evidence it quotes.
import { describe, expect, it } from 'vitest';
import { assessRelease, clipAtWord } from '../../scripts/monitor/health.ts';
import { renderHealth } from '../../scripts/monitor/view.ts';
import { parseQuantity } from '../../scripts/lib/kube/quantity.ts';
import type { Snapshot } from '../../scripts/lib/kube/scan.ts';

const now = new Date('2026-11-27T12:00:00Z');
const dep = (name: string, desired: number, ready: number, updated = ready) => ({
  metadata: { name },
  spec: { replicas: desired },
  status: { readyReplicas: ready, availableReplicas: ready, updatedReplicas: updated },
});
const pod = (
  name: string,
  o: {
    ready?: boolean;
    waiting?: string;
    restarts?: number;
    exitCode?: number;
    phase?: string;
    memLimit?: string;
  } = {},
) => ({
  metadata: { name, creationTimestamp: new Date(now.getTime() - 90_000) },
  spec: {
    nodeName: 'n1',
    containers: [{ name: 'c', image: 'i', resources: o.memLimit ? { limits: { memory: o.memLimit } } : {} }],
  },
  status: {
    phase: o.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    containerStatuses: [
      {
        name: 'c',
        image: 'i',
        imageID: '',
        ready: o.ready !== false,
        restartCount: o.restarts ?? 0,
        state: o.waiting ? { waiting: { reason: o.waiting } } : { running: {} },
        ...(o.exitCode !== undefined
          ? {
              lastState: {
                terminated: { exitCode: o.exitCode, reason: 'Error', finishedAt: new Date(now.getTime() - 5000) },
              },
            }
          : {}),
      },
    ],
  },
});
const snap = (over: Partial<Snapshot>): Snapshot =>
  ({
    namespace: 'todo',
    release: 'r',
    takenAt: now,
    deployments: [],
    replicaSets: [],
    statefulSets: [],
    pods: [],
    services: [],
    endpointSlices: [],
    hpas: [],
    pvcs: [],
    events: [],
    metrics: [],
    requests: 0,
    ...over,
  }) as Snapshot;

describe('assessRelease', () => {
  it('all replicas ready and no failing pod: healthy, no failed finding', () => {
    const h = assessRelease(
      snap({
        deployments: [dep('r-backend', 2, 2), dep('r-frontend', 1, 1)] as never,
        pods: [pod('b1'), pod('b2'), pod('f1')] as never,
      }),
    );
    expect(h.state).toBe('healthy');
    expect(h.findings.filter((f) => f.level === 'fail')).toEqual([]);
    expect(h.pods[0]).toMatchObject({
      name: 'b1',
      ready: '1/1',
      status: 'Running',
      restarts: 0,
      ageSec: 90,
      node: 'n1',
    });
  });
  it('one of two backend replicas crash-looping: degraded, with the exit code and restart count', () => {
    const h = assessRelease(
      snap({
        deployments: [dep('r-backend', 2, 1)] as never,
        pods: [pod('b1'), pod('b2', { ready: false, waiting: 'CrashLoopBackOff', restarts: 4, exitCode: 3 })] as never,
      }),
    );
    expect(h.state).toBe('degraded');
    expect(h.findings.map((f) => [f.name, f.detail])).toEqual([
      ['workload degraded', 'deployment/r-backend: 1/2 ready'],
      ['pod failing', 'b2: CrashLoopBackOff, last exit 3 (Error), 4 restarts'],
    ]);
    expect(h.pods[1]!.lastRestart).toMatchObject({ reason: 'Error', exitCode: 3 });
  });
  it('a workload with no ready replica, or no workload at all: down', () => {
    expect(assessRelease(snap({ deployments: [dep('r-backend', 2, 0), dep('r-frontend', 1, 1)] as never })).state).toBe(
      'down',
    );
    const none = assessRelease(snap({}));
    expect(none.state).toBe('down');
    expect(none.findings[0]!.detail).toBe('no workloads of release r in namespace todo');
    const zero = assessRelease(snap({ deployments: [dep('r-backend', 0, 0)] as never }));
    expect(zero.findings[0]!.detail).toBe('deployment/r-backend: 0/0 ready (scaled to zero)');
  });
  it('a Service without ready endpoints degrades; one with endpoints does not', () => {
    const svc = (name: string) => ({ metadata: { name }, spec: { selector: { app: name } } });
    const slice = (svcName: string, ready: boolean[]) => ({
      metadata: { labels: { 'kubernetes.io/service-name': svcName } },
      endpoints: ready.map((r) => ({ conditions: { ready: r } })),
    });
    const h = assessRelease(
      snap({
        deployments: [dep('r-backend', 1, 1)] as never,
        services: [svc('r-backend'), svc('r-frontend')] as never,
        endpointSlices: [slice('r-backend', [true]), slice('r-frontend', [false])],
      }),
    );
    expect(h.services).toEqual([
      { name: 'r-backend', ready: 1, notReady: 0 },
      { name: 'r-frontend', ready: 0, notReady: 1 },
    ]);
    expect(h.state).toBe('degraded');
    expect(h.findings.find((f) => f.name === 'service without endpoints')?.detail).toBe(
      'r-frontend: no ready endpoints (1 not ready)',
    );
  });
  it('usage against limits from the metrics API; near the limit is a warning, not a failure', () => {
    const h = assessRelease(
      snap({
        deployments: [dep('r-backend', 1, 1)] as never,
        pods: [pod('b1', { memLimit: '100Mi' })] as never,
        metrics: [
          {
            metadata: { name: 'b1' },
            containers: [{ name: 'c', usage: { cpu: '250000000n', memory: `${95 * 1024}Ki` } }],
          },
        ],
      }),
    );
    expect(h.pods[0]).toMatchObject({ cpu: '250m', memory: '95Mi' });
    expect(h.pods[0]!.memoryOfLimit).toBeCloseTo(0.95);
    expect(h.state).toBe('healthy');
    expect(h.findings.find((f) => f.name === 'memory near limit')).toMatchObject({
      level: 'warn',
      required: false,
      detail: 'b1: 95Mi is 95% of its limit',
    });
  });
  it('only warning events within --since are shown, newest first', () => {
    const ev = (reason: string, agoSec: number) => ({
      reason,
      message: `${reason} happened`,
      involvedObject: { kind: 'Pod', name: 'b1' },
      lastTimestamp: new Date(now.getTime() - agoSec * 1000),
      count: 2,
    });
    const h = assessRelease(
      snap({
        deployments: [dep('r-backend', 1, 1)] as never,
        events: [ev('Old', 3600), ev('BackOff', 30), ev('Unhealthy', 10)] as never,
      }),
      { sinceSec: 600 },
    );
    expect(h.events.map((e) => e.reason)).toEqual(['Unhealthy', 'BackOff']);
    expect(h.events[0]).toMatchObject({ object: 'pod/b1', count: 2 });
  });
  it("an HPA without current metrics is reported with the controller's own message", () => {
    const hpa = {
      metadata: { name: 'r-backend' },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'r-backend' },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
      status: {
        currentReplicas: 1,
        conditions: [
          {
            type: 'ScalingActive',
            status: 'False',
            message: 'the HPA was unable to compute the replica count: missing request for cpu',
          },
        ],
      },
    };
    const h = assessRelease(snap({ deployments: [dep('r-backend', 1, 1)] as never, hpas: [hpa] as never }));
    expect(h.hpas[0]).toEqual({
      name: 'r-backend',
      target: 'Deployment/r-backend',
      replicas: '1 (1-3)',
      metrics: 'cpu <unknown>%/70%',
    });
    expect(h.findings.find((f) => f.name === 'HPA without metrics')?.detail).toBe(
      'r-backend: the HPA was unable to compute the replica count: missing request for cpu',
    );
  });
  it('parses quantities', () => {
    expect(parseQuantity('250m')).toBe(0.25);
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('1.5')).toBe(1.5);
    expect(parseQuantity('3n')).toBeCloseTo(3e-9);
    expect(() => parseQuantity('lots')).toThrow('not a quantity');
  });
});

describe('a rollout whose new pods fail (the current template: newest ReplicaSet, StatefulSet updateRevision)', () => {
  const owner = (kind: string, name: string) => [{ apiVersion: 'apps/v1', kind, name, uid: `uid-${name}` }];
  const web = (o: { desired?: number; ready?: number; updated?: number; replicas?: number } = {}) => ({
    metadata: { name: 'r-web', uid: 'uid-r-web', generation: 2 },
    spec: { replicas: o.desired ?? 3 },
    status: {
      observedGeneration: 2,
      replicas: o.replicas ?? 4,
      readyReplicas: o.ready ?? 3,
      availableReplicas: o.ready ?? 3,
      updatedReplicas: o.updated ?? 1,
    },
  });
  const rs = (hash: string, revision: number) => ({
    metadata: {
      name: `r-web-${hash}`,
      uid: `uid-r-web-${hash}`,
      labels: { 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: owner('Deployment', 'r-web'),
    },
  });
  const podOf = (
    name: string,
    labels: Record<string, string>,
    owners: ReturnType<typeof owner>,
    state: { waiting?: string; message?: string; unscheduledSec?: number; image?: string } = {},
  ) => ({
    metadata: { name, labels, ownerReferences: owners, creationTimestamp: new Date(now.getTime() - 600_000) },
    spec: { containers: [{ name: 'web', image: state.image ?? 'web:1' }] },
    status: state.unscheduledSec
      ? {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: state.message,
              lastTransitionTime: new Date(now.getTime() - state.unscheduledSec * 1000),
            },
          ],
        }
      : {
          phase: state.waiting ? 'Pending' : 'Running',
          conditions: [{ type: 'Ready', status: state.waiting ? 'False' : 'True' }],
          containerStatuses: [
            {
              name: 'web',
              ready: !state.waiting,
              restartCount: 0,
              state: state.waiting ? { waiting: { reason: state.waiting, message: state.message } } : { running: {} },
            },
          ],
        },
  });
  const oldPods = ['a', 'b', 'c'].map((x) =>
    podOf(`r-web-old-${x}`, { 'pod-template-hash': 'old' }, owner('ReplicaSet', 'r-web-old')),
  );
  const newPod = (state: Parameters<typeof podOf>[3]) =>
    podOf('r-web-new-x', { 'pod-template-hash': 'new' }, owner('ReplicaSet', 'r-web-new'), state);

  it('1 of 3 updated, its pod in ImagePullBackOff, 3 old pods serving: degraded, naming the pod, reason and image', () => {
    const h = assessRelease(
      snap({
        deployments: [web()] as never,
        replicaSets: [rs('old', 1), rs('new', 2)] as never,
        pods: [
          ...oldPods,
          newPod({ waiting: 'ImagePullBackOff', message: 'Back-off pulling image', image: 'localhost/nope:1' }),
        ] as never,
      }),
    );
    expect(h.state).toBe('degraded');
    expect(h.findings.filter((f) => f.level === 'fail').map((f) => [f.name, f.detail])).toEqual([
      [
        'rollout stuck',
        'deployment/r-web: rollout stuck at 1/3 updated: pod r-web-new-x ImagePullBackOff (image localhost/nope:1)',
      ],
    ]);
    expect(h.findings.find((f) => f.name === 'rollout stuck')).toMatchObject({
      object: { kind: 'Deployment', name: 'r-web' },
      evidence: { pod: 'r-web-new-x', reason: 'ImagePullBackOff', updated: 1, desired: 3 },
    });
    // The pod is named once, by the rollout; not again as a pod that is merely not ready, nor as a rollout in progress.
    expect(h.findings.filter((f) => f.name === 'pod not ready' || f.name === 'rollout in progress')).toEqual([]);
  });
  it('a new pod that is only starting: a rollout in progress (warning), still healthy', () => {
    const h = assessRelease(
      snap({
        deployments: [web()] as never,
        replicaSets: [rs('old', 1), rs('new', 2)] as never,
        pods: [...oldPods, newPod({ waiting: 'ContainerCreating' })] as never,
      }),
    );
    expect(h.state).toBe('healthy');
    expect(h.findings.find((f) => f.name === 'rollout in progress')?.detail).toBe('deployment/r-web: 1/3 updated');
  });
  it('an old pod failing is not the rollout: only pods of the newest ReplicaSet count (a rollback re-numbers an old one)', () => {
    const failingOld = podOf('r-web-old-z', { 'pod-template-hash': 'old' }, owner('ReplicaSet', 'r-web-old'), {
      waiting: 'ErrImagePull',
    });
    const base = { deployments: [web()] as never, pods: [...oldPods, newPod({}), failingOld] as never };
    expect(assessRelease(snap({ ...base, replicaSets: [rs('old', 1), rs('new', 2)] as never })).state).toBe('healthy');
    // After `rollout undo`, the old ReplicaSet has the highest revision: its pods are the current template.
    const undone = assessRelease(snap({ ...base, replicaSets: [rs('old', 3), rs('new', 2)] as never }));
    expect(undone.state).toBe('degraded');
    expect(undone.findings.find((f) => f.name === 'rollout stuck')?.detail).toMatch(
      /^deployment\/r-web: rollout stuck at 1\/3 updated: pod r-web-old-z ErrImagePull /,
    );
  });
  it('unschedulable is a failure only past the grace period, with the scheduler message cut at a word', () => {
    const message =
      '0/5 nodes are available: 1 node(s) had untolerated taint {todo-ops.test/real-node: }, 4 Insufficient memory. preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod.';
    const at = (sec: number) =>
      assessRelease(
        snap({
          deployments: [web()] as never,
          replicaSets: [rs('old', 1), rs('new', 2)] as never,
          pods: [...oldPods, newPod({ unscheduledSec: sec, message })] as never,
        }),
      );
    expect(at(30).state).toBe('healthy');
    const late = at(300);
    expect(late.state).toBe('degraded');
    const detail = late.findings.find((f) => f.name === 'rollout stuck')!.detail;
    expect(detail).toMatch(/pod r-web-new-x Unschedulable \(0\/5 nodes are available: .*…\)$/);
    const quoted = /\((.*)…\)$/.exec(detail)![1]!;
    expect(message.startsWith(quoted)).toBe(true);
    expect(message[quoted.length]).toMatch(/[\s,;:]/); // cut between words, not inside one
  });
  it('a StatefulSet rolling to a new revision whose pod crash-loops: degraded, with its last exit', () => {
    const sts = {
      metadata: { name: 'r-db', uid: 'uid-r-db', generation: 3 },
      spec: { replicas: 2 },
      status: {
        observedGeneration: 3,
        replicas: 2,
        readyReplicas: 1,
        availableReplicas: 1,
        updatedReplicas: 1,
        currentRevision: 'r-db-1',
        updateRevision: 'r-db-2',
      },
    };
    const crashing = {
      ...podOf('r-db-1', { 'controller-revision-hash': 'r-db-2' }, owner('StatefulSet', 'r-db')),
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          {
            name: 'web',
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 2, reason: 'Error' } },
          },
        ],
      },
    };
    const serving = podOf('r-db-0', { 'controller-revision-hash': 'r-db-1' }, owner('StatefulSet', 'r-db'));
    const h = assessRelease(snap({ statefulSets: [sts] as never, pods: [serving, crashing] as never }));
    expect(h.state).toBe('degraded');
    expect(h.findings.find((f) => f.name === 'rollout stuck')?.detail).toBe(
      'statefulset/r-db: rollout stuck at 1/2 updated: pod r-db-1 CrashLoopBackOff (last exit 2 (Error))',
    );
  });
});

describe('clipAtWord: event messages and details never end in a cut word', () => {
  it('short text is kept; long text ends at a word boundary with an ellipsis, within the bound', () => {
    expect(clipAtWord('Back-off restarting failed container', 100)).toBe('Back-off restarting failed container');
    const msg =
      'Failed to pull image "localhost/todo-ops-missing:1": failed to pull and unpack image: failed to resolve reference';
    const cut = clipAtWord(msg, 60);
    expect(cut.length).toBeLessThanOrEqual(60);
    expect(cut).toBe('Failed to pull image "localhost/todo-ops-missing:1": failed…');
    expect(msg.startsWith(cut.slice(0, -1))).toBe(true);
    // The word before the ellipsis is whole: the next character of the original is a space.
    expect(msg[cut.length - 1]).toBe(' ');
    expect(clipAtWord(msg, 58)).toBe('Failed to pull image "localhost/todo-ops-missing:1"…');
  });
  it('whitespace and newlines fold to one space; a single over-long word is the only one cut', () => {
    expect(clipAtWord('a\n  b', 10)).toBe('a b');
    expect(clipAtWord('x'.repeat(30), 10)).toBe(`${'x'.repeat(9)}…`);
  });
  it("monitor's warning events table shows whole words", () => {
    const message = `Readiness probe failed: Get "http://10.244.1.17:8000/readyz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`;
    const h = assessRelease(
      snap({
        deployments: [dep('r-backend', 1, 1)] as never,
        events: [
          {
            reason: 'Unhealthy',
            message,
            involvedObject: { kind: 'Pod', name: 'b1' },
            lastTimestamp: new Date(now.getTime() - 10_000),
            count: 1,
          },
        ] as never,
      }),
    );
    const text = renderHealth(h, { release: 'r', namespace: 'todo', sinceSec: 600 });
    const row = text.split('\n').find((l) => l.includes('Unhealthy'))!;
    const shown = row.slice(row.indexOf('Readiness')).trimEnd();
    expect(shown.endsWith('…')).toBe(true);
    const words = shown.slice(0, -1).split(' ');
    expect(message.split(' ').slice(0, words.length)).toEqual(words);
  });
});
