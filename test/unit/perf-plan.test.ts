import { describe, expect, it } from 'vitest';
import { endpointsFor, judge, percentile, suggest, summarize, type EndpointRun } from '../../ops/perf/plan.ts';

const slo = { p95Ms: 100, p99Ms: 300, errorRate: 0.01 };
const run = (o: Partial<EndpointRun> = {}): EndpointRun => ({
  name: 'tasks',
  method: 'GET',
  path: '/api/u/tasks',
  requests: 1000,
  errors: 0,
  non2xx: 0,
  p50: 10,
  p95: 40,
  p99: 80,
  max: 120,
  rps: 500,
  durationSec: 2,
  ...o,
});
const cap = { replicas: 2, readyReplicas: 2, cpuLimit: 0.5, cpuUsage: 0.1 };

describe('perf: percentiles', () => {
  it('nearest rank over ascending values', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(v, 50), percentile(v, 95), percentile(v, 99), percentile(v, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 95)).toBe(0);
  });
  it('summarize counts errors as requests and rates answers per second', () => {
    const r = summarize('health', 'GET', '/healthz', [30, 10, 20, 40], { non2xx: 1, errors: 2 }, 2);
    expect(r).toMatchObject({ requests: 6, errors: 2, non2xx: 1, p50: 20, p95: 40, p99: 40, max: 40, rps: 2 });
  });
});

describe('perf: endpoints', () => {
  it('the real paths, the user in them, chat read-only, create last among the defaults', () => {
    const e = endpointsFor(['health', 'tasks', 'chat', 'create'], 'ops perf');
    expect(e.map((x) => `${x.method} ${x.path}`)).toEqual([
      'GET /healthz',
      'GET /api/ops%20perf/tasks',
      'POST /api/ops%20perf/chat',
      'POST /api/ops%20perf/tasks',
    ]);
    expect(JSON.parse(e[2]!.body!)).toEqual({ message: 'list tasks' });
    expect(e.map((x) => x.auth)).toEqual([false, true, true, true]);
  });
});

describe('perf: judging against the SLOs', () => {
  it('a healthy run: one ok finding per endpoint, required, no suggestion', () => {
    const j = judge([run(), run({ name: 'health', path: '/healthz' })], slo, undefined, cap);
    expect(j.missed).toEqual([]);
    expect(j.suggestions).toEqual([]);
    expect(j.findings.map((f) => [f.name, f.level, f.required])).toEqual([
      ['perf tasks', 'ok', true],
      ['perf health', 'ok', true],
    ]);
    expect(j.findings[0]!.detail).toBe(
      'GET /api/u/tasks: p50 10 ms, p95 40 ms, p99 80 ms, 500 req/s, 0 errors (0.0%) in 1000 requests',
    );
  });
  it('each objective is its own reason', () => {
    const j = judge([run({ p95: 150, p99: 400, errors: 15, non2xx: 5 })], slo, undefined, cap);
    expect(j.missed).toEqual(['tasks']);
    expect(j.findings[0]!.detail).toContain(
      'SLO missed (errors 2.0% > 1.0%, p95 150 ms > 100 ms, p99 400 ms > 300 ms)',
    );
  });
  it('compares with the previous run, and notes a large rise that still meets the SLO', () => {
    const j = judge([run({ p95: 90 })], slo, [run({ p95: 40 })], cap);
    expect(j.findings[0]!.detail).toMatch(/p95 \+125% vs the previous run \(40 ms\)$/);
    expect(j.findings[1]).toMatchObject({ name: 'perf tasks regression', level: 'warn', required: false });
    expect(judge([run({ p95: 41 })], slo, [run({ p95: 40 })], cap).findings).toHaveLength(1);
  });
  it('nothing answered (no ready backend): missed, and the suggestion is to scale up and debug', () => {
    const j = judge([run({ requests: 0, p95: 0, p99: 0 })], slo, undefined, { replicas: 0, readyReplicas: 0 });
    expect(j.missed).toEqual(['tasks']);
    expect(j.findings[0]!.detail).toContain('no request completed');
    expect(j.suggestions).toEqual([
      'no backend pod is ready: scale it up (npx zx scripts/scale.ts backend 1) and see why (npx zx scripts/debug.ts)',
    ]);
  });
  it('errors with ready pods: read the errors before adding capacity', () => {
    expect(judge([run({ non2xx: 500 })], slo, undefined, cap).suggestions[0]).toMatch(
      /^requests failed while pods were ready/,
    );
  });
});

describe('perf: what would meet a missed latency SLO', () => {
  it('CPU near its limit: raise the limit, and add replicas in proportion', () => {
    expect(suggest({ replicas: 2, readyReplicas: 2, cpuLimit: 0.5, cpuUsage: 0.48 }, false, 2.4, 10)).toEqual([
      'the busiest backend pod used 480m of its 500m CPU limit (96%): raise backend.resources.limits.cpu to 1.2',
      'latency is 2.4x the SLO at 2 ready replicas: run 5 (npx zx scripts/scale.ts backend 5)',
    ]);
  });
  it('with an HPA whose max is too low: raise its max; within its max: check its target', () => {
    expect(suggest({ replicas: 2, readyReplicas: 2, hpa: { min: 2, max: 3 } }, false, 2, 10)).toEqual([
      'latency is 2.0x the SLO at 2 ready replicas: let the HPA go to 4 (npx zx scripts/scale.ts backend 2 --max 4)',
    ]);
    expect(suggest({ replicas: 2, readyReplicas: 2, hpa: { min: 1, max: 8 } }, false, 1.2, 10)[0]).toMatch(
      /the HPA may already add replicas \(max 8\)/,
    );
  });
  it('starts from the pods that were ready, not from spec.replicas (a rollout or a pending pod in between)', () => {
    expect(suggest({ replicas: 4, readyReplicas: 1 }, false, 2, 10)).toEqual([
      'latency is 2.0x the SLO at 1 ready replica: run 2 (npx zx scripts/scale.ts backend 2)',
    ]);
  });
  it('at the replica ceiling: says so instead of asking for more', () => {
    expect(suggest({ replicas: 10, readyReplicas: 10 }, false, 3, 10)[0]).toMatch(
      /^already at the replica ceiling \(10\)/,
    );
  });
});
