// rightsize's decisions on plain data: a known usage distribution gives the
// expected requests and limits, with the reasons and severities it shows.
import { describe, expect, it } from 'vitest';
import {
  defaultRightsizePolicy,
  overlayOf,
  overlayPaths,
  planRightsize,
  type HpaInfo,
} from '../../ops/rightsize/plan.ts';
import { percentile } from '../../scripts/lib/samples/fit.ts';
import type { Sample } from '../../scripts/lib/samples/store.ts';

const Mi = 2 ** 20;
const t0 = 1_700_000_000;
const policy = { ...defaultRightsizePolicy, minSamples: 10, minSpanSeconds: 3600 };

/** 100 samples 5 minutes apart: backend CPU i/1000 cores for i = 1..100 (p95 95m), memory 100-199Mi; frontend flat. */
function samples(n = 100, step = 300): Sample[] {
  return Array.from({ length: n }, (_, i) => {
    const t = t0 + i * step;
    return {
      t,
      metrics: true,
      volumes: [],
      pods: [
        {
          pod: 'rel-backend-x-1',
          workload: { kind: 'Deployment', name: 'rel-backend' },
          t,
          containers: [
            {
              name: 'backend',
              cpu: (i + 1) / 1000,
              memory: (100 + i) * Mi,
              requests: { cpu: 0.5, memory: 512 * Mi },
              limits: { cpu: 1, memory: 1024 * Mi },
              restarts: 0,
            },
          ],
        },
        {
          pod: 'rel-frontend-x-1',
          workload: { kind: 'Deployment', name: 'rel-frontend' },
          t,
          containers: [
            {
              name: 'frontend',
              cpu: 0.045,
              memory: 120 * Mi,
              requests: { cpu: 0.05, memory: 128 * Mi },
              limits: { cpu: 1, memory: 128 * Mi },
              restarts: 0,
            },
          ],
        },
      ],
    };
  });
}
const row = (rows: ReturnType<typeof planRightsize>, c: string, r: string) =>
  rows.find((x) => x.container === c && x.resource === r)!;

describe('rightsize', () => {
  it('percentile: nearest rank', () => {
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95);
    expect(percentile([3, 1, 2], 50)).toBe(2);
  });

  it('a known usage distribution gives the expected requests and limits', () => {
    const rows = planRightsize({ release: 'rel', samples: samples(), hpas: [], policy, keepHpaResources: true });
    expect(row(rows, 'backend', 'requests.cpu')).toMatchObject({
      current: 0.5,
      recommended: 0.095,
      severity: 'warn',
      change: true,
      component: 'backend',
    });
    expect(row(rows, 'backend', 'requests.cpu').reason).toMatch(
      /^p95 of CPU use is 95m over 100 samples in 8\.3h: 500m -> 95m$/,
    );
    // peak 199Mi: +15% = 228.85 -> 229Mi; +50% = 298.5 -> 299Mi
    expect(row(rows, 'backend', 'requests.memory')).toMatchObject({
      recommended: 229 * Mi,
      changePct: -55.3,
      severity: 'warn',
      change: true,
    });
    expect(row(rows, 'backend', 'limits.memory')).toMatchObject({ recommended: 299 * Mi, change: true });
    // The frontend is at its memory limit: under-provisioned, a failure.
    expect(row(rows, 'frontend', 'limits.memory')).toMatchObject({
      current: 128 * Mi,
      recommended: 180 * Mi,
      severity: 'fail',
      change: true,
    });
    // 45m used of 50m: within 20%, kept.
    expect(row(rows, 'frontend', 'requests.cpu')).toMatchObject({ severity: 'ok', change: false });
    expect(overlayOf(rows)).toEqual({
      backend: { resources: { requests: { cpu: '95m', memory: '229Mi' }, limits: { memory: '299Mi' } } },
      frontend: { resources: { limits: { memory: '180Mi' } } }, // its request (128Mi for 138Mi) is within 20%
    });
  });

  it('a request an HPA scales on is kept, and the reason says so', () => {
    const hpas: HpaInfo[] = [{ name: 'rel-backend', target: 'deployment/rel-backend', resources: ['cpu'] }];
    const rows = planRightsize({ release: 'rel', samples: samples(), hpas, policy, keepHpaResources: true });
    expect(row(rows, 'backend', 'requests.cpu')).toMatchObject({ change: false });
    expect(row(rows, 'backend', 'requests.cpu').reason).toMatch(
      /NOT changed: HPA rel-backend scales on cpu utilisation of this request/,
    );
    expect(overlayPaths(rows)).not.toContain('backend.resources.requests.cpu');
    const forced = planRightsize({ release: 'rel', samples: samples(), hpas, policy, keepHpaResources: false });
    expect(row(forced, 'backend', 'requests.cpu')).toMatchObject({ change: true });
    expect(row(forced, 'backend', 'requests.cpu').reason).toMatch(/its target utilisation now means 95m, not 500m/);
  });

  it('below the minimum samples or span: "not enough data", nothing changed', () => {
    const rows = planRightsize({ release: 'rel', samples: samples(20, 60), hpas: [], policy, keepHpaResources: true });
    expect(rows.every((r) => !r.change && r.severity === 'info')).toBe(true);
    expect(row(rows, 'backend', 'requests.cpu').reason).toBe(
      'not enough data: 20 samples over 19m (needs 10 over 60m)',
    );
    expect(overlayOf(rows)).toEqual({});
  });

  it('floors: an idle container keeps at least 10m and 32Mi', () => {
    const idle = samples().map((s) => ({
      ...s,
      pods: s.pods.map((p) => ({ ...p, containers: p.containers.map((c) => ({ ...c, cpu: 0.0001, memory: 2 * Mi })) })),
    }));
    const rows = planRightsize({ release: 'rel', samples: idle, hpas: [], policy, keepHpaResources: true });
    expect(row(rows, 'backend', 'requests.cpu').recommended).toBe(0.01);
    expect(row(rows, 'backend', 'requests.memory').recommended).toBe(32 * Mi);
  });
});
