// A4 perf, the deciding half (pure): which endpoints a run loads, percentiles
// from the recorded latencies, each endpoint judged against the profile's SLOs
// and the previous run, and — for a missed SLO — the change that would meet
// it, said with the numbers it comes from.
import type { Finding } from '../../scripts/lib/kit/result.ts';
import { formatCpu } from '../../scripts/lib/kube/quantity.ts';

export type EndpointName = 'health' | 'tasks' | 'create' | 'chat';
export const endpointNames: readonly EndpointName[] = ['health', 'tasks', 'chat', 'create'];

export interface Endpoint {
  name: EndpointName;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** needs the user's bearer token */
  auth: boolean;
}

/** The backend's real endpoints, as the frontend calls them. Chat's message is read-only ("list tasks"). */
export function endpointsFor(names: readonly EndpointName[], user: string): Endpoint[] {
  const u = encodeURIComponent(user);
  const all: Record<EndpointName, Endpoint> = {
    health: { name: 'health', method: 'GET', path: '/healthz', auth: false },
    tasks: { name: 'tasks', method: 'GET', path: `/api/${u}/tasks`, auth: true },
    create: {
      name: 'create',
      method: 'POST',
      path: `/api/${u}/tasks`,
      body: JSON.stringify({
        title: 'perf probe task',
        description: 'created by ops/perf.ts; deleted at the end of the run',
      }),
      auth: true,
    },
    chat: {
      name: 'chat',
      method: 'POST',
      path: `/api/${u}/chat`,
      body: JSON.stringify({ message: 'list tasks' }),
      auth: true,
    },
  };
  return names.map((n) => all[n]);
}

export interface Slo {
  p95Ms: number;
  p99Ms: number;
  /** fraction, 0.01 = 1 % */
  errorRate: number;
}

/** What one endpoint's load produced. Latencies are of answered requests. */
export interface EndpointRun {
  name: EndpointName;
  method: string;
  path: string;
  requests: number;
  /** connection errors and timeouts */
  errors: number;
  /** answers outside 2xx */
  non2xx: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  rps: number;
  durationSec: number;
}

/** Nearest-rank percentile of ascending values; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(
  name: EndpointName,
  method: string,
  path: string,
  latenciesMs: number[],
  statuses: { non2xx: number; errors: number },
  durationSec: number,
): EndpointRun {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  const requests = sorted.length + statuses.errors;
  return {
    name,
    method,
    path,
    requests,
    errors: statuses.errors,
    non2xx: statuses.non2xx,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? 0),
    rps: durationSec > 0 ? round(sorted.length / durationSec) : 0,
    durationSec: round(durationSec),
  };
}

/** The backend's capacity as observed around the run (one scan). */
export interface Capacity {
  replicas: number;
  readyReplicas: number;
  hpa?: { min: number; max: number };
  /** per pod, cores */
  cpuRequest?: number;
  cpuLimit?: number;
  /** the busiest backend pod's usage, cores (metrics API, after the load) */
  cpuUsage?: number;
}

export interface Judgement {
  findings: Finding[];
  suggestions: string[];
  missed: EndpointName[];
}

const pct = (n: number) => `${(n * 100).toFixed(n && n < 0.001 ? 3 : 1)}%`;
export const errorRate = (r: EndpointRun) => (r.requests ? (r.errors + r.non2xx) / r.requests : 1);

/** One finding per endpoint (required: a missed SLO fails the run), a note on regressions, and what to change. */
export function judge(
  runs: readonly EndpointRun[],
  slo: Slo,
  previous: readonly EndpointRun[] | undefined,
  cap: Capacity,
  scale = { maxReplicas: 10 },
): Judgement {
  const findings: Finding[] = [];
  const missed: EndpointName[] = [];
  let worstRatio = 0;
  let erroring = false;
  for (const r of runs) {
    const rate = errorRate(r);
    const reasons = [
      r.requests === 0 ? 'no request completed' : '',
      rate > slo.errorRate ? `errors ${pct(rate)} > ${pct(slo.errorRate)}` : '',
      r.requests && r.p95 > slo.p95Ms ? `p95 ${r.p95} ms > ${slo.p95Ms} ms` : '',
      r.requests && r.p99 > slo.p99Ms ? `p99 ${r.p99} ms > ${slo.p99Ms} ms` : '',
    ].filter(Boolean);
    if (reasons.length) missed.push(r.name);
    if (rate > slo.errorRate || r.requests === 0) erroring = true;
    else worstRatio = Math.max(worstRatio, r.p95 / slo.p95Ms, r.p99 / slo.p99Ms);
    const before = previous?.find((p) => p.name === r.name);
    const delta = before && before.p95 > 0 ? (r.p95 - before.p95) / before.p95 : undefined;
    const trend =
      delta === undefined
        ? ''
        : `; p95 ${delta >= 0 ? '+' : ''}${Math.round(delta * 100)}% vs the previous run (${before!.p95} ms)`;
    findings.push({
      name: `perf ${r.name}`,
      level: reasons.length ? 'fail' : 'ok',
      required: true,
      detail: `${r.method} ${r.path}: p50 ${r.p50} ms, p95 ${r.p95} ms, p99 ${r.p99} ms, ${r.rps} req/s, ${r.errors + r.non2xx} errors (${pct(rate)}) in ${r.requests} requests${reasons.length ? `: SLO missed (${reasons.join(', ')})` : ''}${trend}`,
      evidence: { ...r, errorRate: rate, slo, ...(before ? { previousP95: before.p95 } : {}) },
    });
    if (!reasons.length && delta !== undefined && delta > 0.5 && r.p95 - before!.p95 > 5)
      findings.push({
        name: `perf ${r.name} regression`,
        level: 'warn',
        required: false,
        detail: `p95 rose from ${before!.p95} ms to ${r.p95} ms (+${Math.round(delta * 100)}%) since the previous run; still within the SLO`,
      });
  }
  return { findings, missed, suggestions: missed.length ? suggest(cap, erroring, worstRatio, scale.maxReplicas) : [] };
}

/** The change that would meet a missed SLO, from what the run and the scan saw. */
export function suggest(cap: Capacity, erroring: boolean, latencyRatio: number, maxReplicas: number): string[] {
  // The pods that were ready are what served the load: the advice starts from them, not from spec.replicas.
  const live = cap.readyReplicas;
  const served = `${live} ready ${live === 1 ? 'replica' : 'replicas'}`;
  if (cap.readyReplicas === 0)
    return [
      `no backend pod is ready: scale it up (npx zx scripts/scale.ts backend ${Math.max(1, cap.hpa?.min ?? 1)}) and see why (npx zx scripts/debug.ts)`,
    ];
  if (erroring)
    return [
      "requests failed while pods were ready: read the backend's errors (npx zx scripts/debug.ts, kubectl logs) before adding capacity",
    ];
  const out: string[] = [];
  const busy = cap.cpuUsage !== undefined && cap.cpuLimit ? cap.cpuUsage / cap.cpuLimit : undefined;
  if (busy !== undefined && busy >= 0.8) {
    const limit = cap.cpuLimit!;
    out.push(
      `the busiest backend pod used ${formatCpu(cap.cpuUsage!)} of its ${formatCpu(limit)} CPU limit (${Math.round(busy * 100)}%): raise backend.resources.limits.cpu to ${formatCpu(Math.ceil(limit * Math.max(1.5, latencyRatio) * 10) / 10)}`,
    );
  }
  const want = Math.min(maxReplicas, Math.max(live + 1, Math.ceil(live * Math.max(1, latencyRatio))));
  if (want > live) {
    if (cap.hpa && cap.hpa.max < want)
      out.push(
        `latency is ${latencyRatio.toFixed(1)}x the SLO at ${served}: let the HPA go to ${want} (npx zx scripts/scale.ts backend ${Math.max(cap.hpa.min, live)} --max ${want})`,
      );
    else if (!cap.hpa)
      out.push(
        `latency is ${latencyRatio.toFixed(1)}x the SLO at ${served}: run ${want} (npx zx scripts/scale.ts backend ${want})`,
      );
    else
      out.push(
        `latency is ${latencyRatio.toFixed(1)}x the SLO; the HPA may already add replicas (max ${cap.hpa.max}): check its target (npx zx ops/autoscale.ts)`,
      );
  } else
    out.push(
      `already at the replica ceiling (${maxReplicas}): the limit is per pod; profile the backend (CPU ${cap.cpuUsage !== undefined ? formatCpu(cap.cpuUsage) : 'unknown'})`,
    );
  return out;
}
