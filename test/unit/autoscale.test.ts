// autoscale's decisions on plain data: the checks (and why an HPA gets no
// metrics), a manual scale the HPA will undo, and recommendations with reasons.
import { describe, expect, it } from 'vitest';
import {
  checkHpas,
  deploymentUsage,
  flaps,
  recommend,
  valueChanges,
  type ComponentObserved,
} from '../../ops/autoscale/plan.ts';
import type { Sample } from '../../scripts/lib/samples/store.ts';

const t0 = 1_700_000_000;
const policy = { minSamples: 10, minSpanSeconds: 3600, maxCap: 10 };
const comp = (o: Partial<ComponentObserved> = {}): ComponentObserved => ({
  component: 'backend',
  deployment: 'rel-backend',
  replicas: 2,
  enabled: true,
  pods: ['a', 'b'],
  podsWithoutRequest: [],
  podsWithoutMetrics: [],
  hpa: { name: 'rel-backend', minReplicas: 1, maxReplicas: 5, targetCpu: 70, desiredReplicas: 2, currentCpu: 30 },
  ...o,
});

/** 48 samples, 5 minutes apart: 2 pods, CPU per pod from `cpu(i)` cores, request 100m. */
function samples(cpu: (i: number) => number, pods: (i: number) => number = () => 2): Sample[] {
  return Array.from({ length: 48 }, (_, i) => {
    const t = t0 + i * 300;
    return {
      t,
      metrics: true,
      volumes: [],
      pods: Array.from({ length: pods(i) }, (_, k) => ({
        pod: `rel-backend-x-${k}`,
        workload: { kind: 'Deployment', name: 'rel-backend' },
        t,
        containers: [{ name: 'backend', cpu: cpu(i), memory: 1, requests: { cpu: 0.1 }, limits: {}, restarts: 0 }],
      })),
    };
  });
}

describe('autoscale checks', () => {
  it('an HPA fed with metrics is ok', () => {
    expect(checkHpas({ metricsApi: true, components: [comp()] }, 'ns')).toEqual([
      expect.objectContaining({
        name: 'hpa metrics',
        level: 'ok',
        detail: 'HPA rel-backend: CPU 30% of requests (target 70%), 2 replicas (1-5)',
      }),
    ]);
  });
  it('says why an HPA gets no metrics: no metrics API, no requests, pods not reporting', () => {
    const noApi = checkHpas(
      {
        metricsApi: false,
        components: [
          comp({
            hpa: {
              ...comp().hpa!,
              currentCpu: undefined,
              failing: ['FailedGetResourceMetric', 'unable to get metrics'],
            },
          }),
        ],
      },
      'ns',
    );
    expect(noApi[0]).toMatchObject({ level: 'fail' });
    expect(noApi[0]!.detail).toBe(
      'HPA rel-backend gets no CPU metrics (HPA says FailedGetResourceMetric: unable to get metrics): the metrics API (metrics.k8s.io) is not served: install metrics-server',
    );
    const noReq = checkHpas(
      {
        metricsApi: true,
        components: [
          comp({
            podsWithoutRequest: ['a'],
            podsWithoutMetrics: ['b'],
            hpa: { ...comp().hpa!, currentCpu: undefined },
          }),
        ],
      },
      'ns',
    );
    expect(noReq[0]!.detail).toMatch(
      /no CPU request set on a: utilisation is a percentage of the request; pods not reporting usage: b$/,
    );
  });
  it('pods that just started and do not report yet are a wait (warn), not a broken HPA; older silent pods fail', () => {
    const hpa = {
      ...comp().hpa!,
      currentCpu: undefined,
      failing: ['FailedGetResourceMetric', 'no metrics returned from resource metrics API'] as [string, string],
    };
    const young = checkHpas(
      { metricsApi: true, components: [comp({ hpa, podsWithoutMetrics: ['a', 'b'], podsStarting: ['a', 'b'] })] },
      'ns',
    );
    expect(young[0]).toMatchObject({
      level: 'warn',
      detail: 'HPA rel-backend has no CPU metrics yet: pods just started, not reporting usage yet: a, b',
    });
    const oneOld = checkHpas(
      { metricsApi: true, components: [comp({ hpa, podsWithoutMetrics: ['a', 'b'], podsStarting: ['a'] })] },
      'ns',
    );
    expect(oneOld[0]).toMatchObject({ level: 'fail' });
    expect(oneOld[0]!.detail).toMatch(/pods not reporting usage: a, b$/);
  });
  it('a missing HPA fails; a component not autoscaled is said, with how to', () => {
    expect(checkHpas({ metricsApi: true, components: [comp({ hpa: undefined })] }, 'ns')[0]).toMatchObject({
      level: 'fail',
      detail: 'backend.autoscaling.enabled is true but there is no HorizontalPodAutoscaler for deployment/rel-backend',
    });
    expect(
      checkHpas({ metricsApi: true, components: [comp({ hpa: undefined, enabled: false })] }, 'ns')[0],
    ).toMatchObject({ level: 'info', hint: 'npx zx ops/autoscale.ts -n ns --apply --components backend' });
  });
  it('a manual scale the HPA will undo is reported', () => {
    const f = checkHpas({ metricsApi: true, components: [comp({ replicas: 4 })] }, 'ns');
    expect(f[1]).toMatchObject({
      name: 'manual scale',
      level: 'warn',
      detail: 'deployment/rel-backend has 4 replicas but HPA rel-backend wants 2: a manual scale the HPA will undo',
    });
  });
});

describe('autoscale recommendations', () => {
  it('steady use: min, max and a high target from the recorded usage, each with its reason', () => {
    // 2 pods at 40-44m each: total 80-88m.
    const usage = deploymentUsage(
      samples((i) => 0.04 + (i % 5) / 1000),
      'rel-backend',
      'backend',
    );
    expect(usage).toHaveLength(48);
    const recs = recommend(comp(), usage, policy);
    const by = Object.fromEntries(recs.map((r) => [r.key, r]));
    expect(by.targetCPUUtilizationPercentage).toMatchObject({ current: 70, recommended: 80, change: true });
    expect(by.targetCPUUtilizationPercentage!.reason).toMatch(/^steady/);
    // 80m at 80% of 100m = 1 pod; peak 88m × 1.5 = 132m / 80m = 2 pods.
    expect(by.minReplicas).toMatchObject({ current: 1, recommended: 1, change: false });
    expect(by.maxReplicas).toMatchObject({ current: 5, recommended: 2, change: true });
    expect(by.maxReplicas!.reason).toBe('the peak 88m + 50% needs 2 pod(s) at 80% of 100m');
    expect(by['behavior.scaleDown.stabilizationWindowSeconds']).toMatchObject({ recommended: 300 });
  });
  it('bursty use lowers the target; a flapping replica count lengthens the scale-down window', () => {
    const usage = deploymentUsage(
      samples(
        (i) => (i % 12 === 0 ? 0.3 : 0.03),
        (i) => (i % 4 < 2 ? 2 : 3),
      ),
      'rel-backend',
      'backend',
    );
    expect(flaps(usage.map((u) => u.pods))).toBeGreaterThanOrEqual(3);
    const by = Object.fromEntries(recommend(comp(), usage, policy).map((r) => [r.key, r]));
    expect(by.targetCPUUtilizationPercentage!.recommended).toBe(60);
    expect(by['behavior.scaleDown.stabilizationWindowSeconds']).toMatchObject({ recommended: 600, change: true });
    expect(by['behavior.scaleDown.stabilizationWindowSeconds']!.reason).toMatch(
      /^the replica count changed direction \d+ times in 3\.9h/,
    );
    expect(by.maxReplicas!.recommended).toBe(10); // 0.9 cores × 1.5 at 60m per pod is 23: capped
  });
  it('not autoscaled yet: enabling it is recommended, and the values to set follow', () => {
    const recs = recommend(
      comp({ enabled: false, hpa: undefined }),
      deploymentUsage(
        samples(() => 0.04),
        'rel-backend',
        'backend',
      ),
      policy,
    );
    expect(valueChanges(recs)).toEqual({
      'backend.autoscaling.enabled': true,
      'backend.autoscaling.minReplicas': 1,
      'backend.autoscaling.maxReplicas': 2,
      'backend.autoscaling.targetCPUUtilizationPercentage': 80,
      'backend.autoscaling.behavior.scaleDown.stabilizationWindowSeconds': 300,
    });
  });
  it('too few samples: nothing recommended', () => {
    const recs = recommend(comp(), deploymentUsage(samples(() => 0.04).slice(0, 5), 'rel-backend', 'backend'), policy);
    expect(recs.every((r) => !r.change)).toBe(true);
    expect(recs[0]!.reason).toBe('not enough data: 5 samples over 20m (needs 10 over 60m)');
  });
});
