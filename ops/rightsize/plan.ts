// rightsize's decisions (pure): per workload and container, requests and
// limits from the recorded usage, each with its reason and a severity, as a
// diff against today's values and as a values overlay for the chart.
//   CPU request    the p95 of usage (bursts above it borrow from the limit)
//   memory request the peak with headroom (memory cannot be borrowed back)
//   memory limit   the peak with more headroom, never below the request
// CPU limits are left alone; a resource an HPA scales on is left alone and
// said so (its request is the HPA's 100%: changing it changes when it scales).
import type { Level } from '../../scripts/lib/kit/result.ts';
import type { Sample } from '../../scripts/lib/samples/store.ts';
import { formatBytes, formatCpu } from '../../scripts/lib/kube/quantity.ts';
import { humanDuration, percentile } from '../../scripts/lib/samples/fit.ts';

type Resource = 'requests.cpu' | 'requests.memory' | 'limits.memory';

export interface RightsizePolicy {
  minSamples: number;
  minSpanSeconds: number;
  /** memory request = peak × (1 + this/100) */
  memoryHeadroomPct: number;
  /** memory limit = peak × (1 + this/100) */
  limitHeadroomPct: number;
  cpuFloor: number;
  memoryFloor: number;
  /** changes smaller than this (in %) are not worth a rollout */
  minChangePct: number;
}

export const defaultRightsizePolicy: RightsizePolicy = {
  minSamples: 12,
  minSpanSeconds: 86_400,
  memoryHeadroomPct: 15,
  limitHeadroomPct: 50,
  cpuFloor: 0.01,
  memoryFloor: 32 * 2 ** 20,
  minChangePct: 20,
};

export interface Row {
  workload: string;
  container: string;
  /** the chart's values key of the container's component ("backend") */
  component?: string;
  resource: Resource;
  current?: number;
  recommended?: number;
  /** (recommended - current) / current, in % */
  changePct?: number;
  severity: Level;
  /** whether the overlay sets it */
  change: boolean;
  reason: string;
}

export interface HpaInfo {
  /** the Deployment or StatefulSet it scales */
  target: string;
  name: string;
  /** resources it scales on by utilisation: "cpu", "memory" */
  resources: string[];
}

export interface RightsizeInput {
  release: string;
  samples: readonly Sample[];
  hpas: readonly HpaInfo[];
  policy: RightsizePolicy;
  /** leave the HPA's resources alone (default) */
  keepHpaResources: boolean;
}

const roundUp = (v: number, step: number) => Math.ceil(v / step - 1e-9) * step;
const Mi = 2 ** 20;
const fmt = (r: Resource, v: number | undefined) =>
  v === undefined ? 'unset' : r === 'requests.cpu' ? formatCpu(v) : formatBytes(v);
/** As the chart's values take them: "15m", "40Mi". */
const quantity = (r: Resource, v: number) =>
  r === 'requests.cpu' ? `${Math.round(v * 1000)}m` : `${Math.round(v / Mi)}Mi`;

interface Agg {
  workload: string;
  container: string;
  cpu: number[];
  memory: number[];
  times: number[];
  requests: { cpu?: number; memory?: number };
  limits: { cpu?: number; memory?: number };
}

function aggregate(samples: readonly Sample[]): Agg[] {
  const map = new Map<string, Agg>();
  const seen = new Set<string>();
  for (const s of samples)
    for (const p of s.pods) {
      if (p.workload.kind === 'Pod') continue;
      for (const c of p.containers) {
        const key = `${p.workload.kind}/${p.workload.name}/${c.name}`;
        let a = map.get(key);
        if (!a)
          map.set(
            key,
            (a = {
              workload: `${p.workload.kind.toLowerCase()}/${p.workload.name}`,
              container: c.name,
              cpu: [],
              memory: [],
              times: [],
              requests: {},
              limits: {},
            }),
          );
        a.requests = c.requests;
        a.limits = c.limits;
        // The metrics API repeats a scrape until the next: one measurement, one point.
        const point = `${key}/${p.pod}/${p.t}`;
        if (seen.has(point)) continue;
        seen.add(point);
        if (c.cpu !== undefined) a.cpu.push(c.cpu);
        if (c.memory !== undefined) a.memory.push(c.memory);
        if (c.cpu !== undefined || c.memory !== undefined) a.times.push(p.t);
      }
    }
  return [...map.values()].sort(
    (a, b) => a.workload.localeCompare(b.workload) || a.container.localeCompare(b.container),
  );
}

function severityOf(
  r: Resource,
  current: number | undefined,
  recommended: number,
  usage: number,
  p: RightsizePolicy,
): { severity: Level; changePct?: number } {
  if (current === undefined || current === 0) return { severity: 'warn' };
  const changePct = Math.round(((recommended - current) / current) * 1000) / 10;
  // Under-provisioned memory is an OOM kill waiting: the peak is at the limit already.
  if (r === 'limits.memory' && usage >= 0.9 * current) return { severity: 'fail', changePct };
  if (r === 'requests.cpu' && usage > current) return { severity: 'warn', changePct };
  if (Math.abs(changePct) >= 50) return { severity: 'warn', changePct };
  if (Math.abs(changePct) >= p.minChangePct) return { severity: 'info', changePct };
  return { severity: 'ok', changePct };
}

export function planRightsize(input: RightsizeInput): Row[] {
  const p = input.policy;
  const rows: Row[] = [];
  for (const a of aggregate(input.samples)) {
    const name = a.workload.split('/')[1]!;
    const component = name.startsWith(`${input.release}-`) ? name.slice(input.release.length + 1) : undefined;
    const chartKey = component && component === a.container ? component : undefined;
    const span = a.times.length ? Math.max(...a.times) - Math.min(...a.times) : 0;
    const base = { workload: a.workload, container: a.container, ...(chartKey ? { component: chartKey } : {}) };
    if (a.cpu.length < p.minSamples || span < p.minSpanSeconds) {
      for (const r of ['requests.cpu', 'requests.memory', 'limits.memory'] as Resource[])
        rows.push({
          ...base,
          resource: r,
          current:
            r === 'requests.cpu' ? a.requests.cpu : r === 'requests.memory' ? a.requests.memory : a.limits.memory,
          severity: 'info',
          change: false,
          reason: `not enough data: ${a.cpu.length} samples over ${humanDuration(span)} (needs ${p.minSamples} over ${humanDuration(p.minSpanSeconds)})`,
        });
      continue;
    }
    const p95 = percentile(a.cpu, 95);
    const peak = Math.max(...a.memory);
    const hpa = input.hpas.find((h) => h.target === a.workload);
    const recs: [Resource, number | undefined, number, number, string][] = [
      [
        'requests.cpu',
        a.requests.cpu,
        Math.max(p.cpuFloor, roundUp(p95, 0.005)),
        p95,
        `p95 of CPU use is ${formatCpu(p95)} over ${a.cpu.length} samples in ${humanDuration(span)}`,
      ],
      [
        'requests.memory',
        a.requests.memory,
        Math.max(p.memoryFloor, roundUp(peak * (1 + p.memoryHeadroomPct / 100), Mi)),
        peak,
        `peak memory ${formatBytes(peak)} + ${p.memoryHeadroomPct}% headroom`,
      ],
      ['limits.memory', a.limits.memory, 0, peak, `peak memory ${formatBytes(peak)} + ${p.limitHeadroomPct}% headroom`],
    ];
    recs[2]![2] = Math.max(recs[1]![2], p.memoryFloor, roundUp(peak * (1 + p.limitHeadroomPct / 100), Mi));
    for (const [r, current, recommended, usage, why] of recs) {
      const { severity, changePct } = severityOf(r, current, recommended, usage, p);
      const scaledOn = hpa?.resources.find((x) => r === `requests.${x}`);
      let change = severity !== 'ok' && !!chartKey;
      let reason = `${why}: ${fmt(r, current)} -> ${fmt(r, recommended)}`;
      if (severity === 'ok')
        reason = `${why}: ${fmt(r, current)} is within ${p.minChangePct}% of ${fmt(r, recommended)}, kept`;
      if (scaledOn && input.keepHpaResources && change) {
        change = false;
        reason = `${reason}; NOT changed: HPA ${hpa!.name} scales on ${scaledOn} utilisation of this request (changing it moves when it scales; --hpa-resources changes it anyway)`;
      } else if (scaledOn && change)
        reason = `${reason}; HPA ${hpa!.name} scales on this request: its target utilisation now means ${fmt(r, recommended)}, not ${fmt(r, current)}`;
      if (!chartKey && severity !== 'ok')
        reason = `${reason}; not in the chart's values (no "${component ?? name}" component with a container of that name): not changed`;
      rows.push({
        ...base,
        resource: r,
        current,
        recommended,
        ...(changePct !== undefined ? { changePct } : {}),
        severity,
        change,
        reason,
      });
    }
  }
  return rows;
}

/** The chart values that apply the changed rows: { backend: { resources: { requests: { cpu: "15m" } } } }. */
export function overlayOf(
  rows: readonly Row[],
): Record<string, { resources: { requests?: Record<string, string>; limits?: Record<string, string> } }> {
  const out: Record<string, { resources: { requests?: Record<string, string>; limits?: Record<string, string> } }> = {};
  for (const r of rows) {
    if (!r.change || !r.component || r.recommended === undefined) continue;
    const [group, res] = r.resource.split('.') as ['requests' | 'limits', string];
    const c = (out[r.component] ??= { resources: {} });
    (c.resources[group] ??= {})[res] = quantity(r.resource, r.recommended);
  }
  return out;
}

/** The chart's values paths an overlay sets, e.g. "backend.resources.requests.cpu". */
export const overlayPaths = (rows: readonly Row[]) =>
  rows
    .filter((r) => r.change && r.component)
    .map((r) => `${r.component}.resources.${r.resource}`)
    .sort();
