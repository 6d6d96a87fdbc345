// monitor's judgement on plain snapshots: every rule that decides healthy,
// degraded or down, and the evidence it quotes.
import { describe, expect, it } from 'vitest';
import { assessRelease } from '../../scripts/monitor/health.ts';
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
