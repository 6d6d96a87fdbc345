// autoscale's decisions (pure): is each HPA there and fed with metrics (and if
// not, why), what should its min/max replicas, target utilisation and
// scale-down stabilisation be given the recorded usage, each with a one-line
// reason, and has someone scaled by hand what the HPA will undo.
import type { Level } from '../../scripts/lib/kit/result.ts';
import type { Sample } from '../../scripts/lib/samples/store.ts';
import { formatCpu } from '../../scripts/lib/kube/quantity.ts';
import { humanDuration, percentile } from '../../scripts/lib/samples/fit.ts';

export interface HpaState {
  name: string;
  minReplicas: number;
  maxReplicas: number;
  /** % of the CPU request, undefined when CPU is not a metric */
  targetCpu?: number;
  scaleDownWindow?: number;
  desiredReplicas?: number;
  /** current average CPU utilisation it reports, undefined when it gets none */
  currentCpu?: number;
  /** ScalingActive=False and friends: [reason, message] */
  failing?: [string, string];
}

export interface ComponentObserved {
  component: string;
  deployment: string;
  /** the Deployment's spec.replicas */
  replicas: number;
  /** the chart's autoscaling values for it */
  enabled: boolean;
  hpa?: HpaState;
  /** pods of the Deployment, and which have no CPU request / no metrics */
  pods: string[];
  podsWithoutRequest: string[];
  podsWithoutMetrics: string[];
  /** of those without metrics, the ones whose containers started within the grace (TODO_AUTOSCALE_METRICS_GRACE) */
  podsStarting?: string[];
}

export interface AutoscaleObserved {
  metricsApi: boolean;
  components: ComponentObserved[];
}

export interface AutoscalePolicy {
  minSamples: number;
  minSpanSeconds: number;
  maxCap: number;
}

export interface Check {
  component: string;
  name: string;
  level: Level;
  detail: string;
  hint?: string;
}

export interface Recommendation {
  component: string;
  /** chart values key under <component>.autoscaling */
  key:
    | 'enabled'
    | 'minReplicas'
    | 'maxReplicas'
    | 'targetCPUUtilizationPercentage'
    | 'behavior.scaleDown.stabilizationWindowSeconds';
  current: number | boolean | null;
  recommended: number | boolean | null;
  change: boolean;
  reason: string;
}

/** Whether each HPA exists and gets metrics, and why not; a manual scale it will undo. */
export function checkHpas(o: AutoscaleObserved, namespace: string): Check[] {
  const out: Check[] = [];
  for (const c of o.components) {
    const fix = `npx zx ops/autoscale.ts -n ${namespace} --apply --components ${c.component}`;
    if (!c.enabled && !c.hpa) {
      out.push({
        component: c.component,
        name: 'hpa',
        level: 'info',
        detail: `deployment/${c.deployment} is not autoscaled (${c.component}.autoscaling.enabled is false): ${c.replicas} fixed replicas`,
        hint: fix,
      });
      continue;
    }
    if (!c.hpa) {
      out.push({
        component: c.component,
        name: 'hpa',
        level: 'fail',
        detail: `${c.component}.autoscaling.enabled is true but there is no HorizontalPodAutoscaler for deployment/${c.deployment}`,
        hint: 'npx zx scripts/deploy.ts',
      });
      continue;
    }
    const h = c.hpa;
    const why: string[] = [];
    if (!o.metricsApi) why.push('the metrics API (metrics.k8s.io) is not served: install metrics-server');
    if (h.targetCpu !== undefined && c.podsWithoutRequest.length)
      why.push(`no CPU request set on ${c.podsWithoutRequest.join(', ')}: utilisation is a percentage of the request`);
    if (o.metricsApi && c.podsWithoutMetrics.length)
      why.push(`pods not reporting usage: ${c.podsWithoutMetrics.join(', ')}`);
    // Right after a rollout the metrics API has no usage for the new pods until its second scrape:
    // the HPA holds its replica count meanwhile, so that is a wait, not a broken HPA.
    const starting =
      o.metricsApi &&
      c.podsWithoutMetrics.length > 0 &&
      !c.podsWithoutRequest.length &&
      c.podsWithoutMetrics.every((p) => c.podsStarting?.includes(p));
    if (h.currentCpu === undefined && h.targetCpu !== undefined && starting) {
      out.push({
        component: c.component,
        name: 'hpa metrics',
        level: 'warn',
        detail: `HPA ${h.name} has no CPU metrics yet: pods just started, not reporting usage yet: ${c.podsWithoutMetrics.join(', ')}`,
        hint: 'the metrics API reports a pod after its second scrape: run again in a minute',
      });
    } else if (h.currentCpu === undefined && h.targetCpu !== undefined) {
      const cond = h.failing ? ` (HPA says ${h.failing[0]}: ${h.failing[1]})` : '';
      out.push({
        component: c.component,
        name: 'hpa metrics',
        level: 'fail',
        detail: `HPA ${h.name} gets no CPU metrics${cond}${why.length ? `: ${why.join('; ')}` : ': not yet computed (new HPA or pods just started)'}`,
        hint: `kubectl -n ${namespace} describe hpa ${h.name}`,
      });
    } else if (h.failing) {
      out.push({
        component: c.component,
        name: 'hpa metrics',
        level: 'warn',
        detail: `HPA ${h.name}: ${h.failing[0]}: ${h.failing[1]}${why.length ? `; ${why.join('; ')}` : ''}`,
      });
    } else {
      out.push({
        component: c.component,
        name: 'hpa metrics',
        level: 'ok',
        detail: `HPA ${h.name}: CPU ${h.currentCpu ?? '-'}% of requests (target ${h.targetCpu ?? '-'}%), ${c.replicas} replicas (${h.minReplicas}-${h.maxReplicas})`,
      });
    }
    // A replica count the HPA did not choose: it sets its own on the next sync (15s).
    const desired = h.desiredReplicas;
    if (
      (desired !== undefined && desired > 0 && c.replicas !== desired) ||
      c.replicas < h.minReplicas ||
      c.replicas > h.maxReplicas
    )
      out.push({
        component: c.component,
        name: 'manual scale',
        level: 'warn',
        detail: `deployment/${c.deployment} has ${c.replicas} replicas but HPA ${h.name} wants ${desired ?? `${h.minReplicas}-${h.maxReplicas}`}: a manual scale the HPA will undo`,
        hint: `set the HPA's range instead: npx zx scripts/scale.ts ${c.component} N`,
      });
  }
  return out;
}

interface Usage {
  t: number;
  pods: number;
  cpu: number;
  request?: number;
}

/** Per sample: the Deployment's pod count, its summed CPU use and the per-pod CPU request. */
export function deploymentUsage(samples: readonly Sample[], deployment: string, container: string): Usage[] {
  const out: Usage[] = [];
  for (const s of samples) {
    const pods = s.pods.filter((p) => p.workload.kind === 'Deployment' && p.workload.name === deployment);
    if (!pods.length) continue;
    const cs = pods.map((p) => p.containers.find((c) => c.name === container)).filter((c) => c !== undefined);
    const measured = cs.filter((c) => c.cpu !== undefined);
    if (!measured.length) continue;
    out.push({
      t: s.t,
      pods: pods.length,
      cpu: measured.reduce((a, c) => a + c.cpu!, 0) * (pods.length / measured.length),
      request: cs[0]?.requests.cpu,
    });
  }
  return out;
}

/** How often a series changes direction (up then down or back). */
export function flaps(counts: readonly number[]): number {
  let last = 0,
    n = 0;
  for (let i = 1; i < counts.length; i++) {
    const d = Math.sign(counts[i]! - counts[i - 1]!);
    if (d === 0) continue;
    if (last !== 0 && d !== last) n++;
    last = d;
  }
  return n;
}

export function recommend(c: ComponentObserved, usage: readonly Usage[], p: AutoscalePolicy): Recommendation[] {
  const span = usage.length ? usage[usage.length - 1]!.t - usage[0]!.t : 0;
  const cur = {
    enabled: c.enabled,
    minReplicas: c.hpa?.minReplicas ?? null,
    maxReplicas: c.hpa?.maxReplicas ?? null,
    targetCPUUtilizationPercentage: c.hpa?.targetCpu ?? null,
    'behavior.scaleDown.stabilizationWindowSeconds': c.hpa?.scaleDownWindow ?? null,
  };
  const keep = (reason: string): Recommendation[] =>
    (Object.keys(cur) as Recommendation['key'][]).map((key) => ({
      component: c.component,
      key,
      current: cur[key],
      recommended: cur[key],
      change: false,
      reason,
    }));
  if (usage.length < p.minSamples || span < p.minSpanSeconds)
    return keep(
      `not enough data: ${usage.length} samples over ${humanDuration(span)} (needs ${p.minSamples} over ${humanDuration(p.minSpanSeconds)})`,
    );
  const request = usage[usage.length - 1]!.request;
  if (!request)
    return keep(
      `no CPU request on ${c.component}: an HPA on CPU utilisation cannot work; set ${c.component}.resources.requests.cpu (ops/rightsize.ts)`,
    );
  const cpu = usage.map((u) => u.cpu);
  const median = percentile(cpu, 50),
    p95 = percentile(cpu, 95),
    low = percentile(cpu, 5),
    peak = Math.max(...cpu);
  const burst = median > 0 ? p95 / median : 1;
  const target = burst > 2 ? 60 : burst < 1.3 ? 80 : 70;
  const targetWhy =
    burst > 2
      ? `bursty (p95 ${formatCpu(p95)} is ${burst.toFixed(1)}x the median ${formatCpu(median)}): a lower target leaves room while new pods start`
      : burst < 1.3
        ? `steady (p95 ${formatCpu(p95)} within 1.3x the median ${formatCpu(median)}): a higher target wastes less`
        : `moderate bursts (p95 ${burst.toFixed(1)}x the median)`;
  const perPod = request * (target / 100);
  const min = Math.max(1, Math.ceil(low / perPod - 1e-9));
  const wanted = Math.ceil((peak * 1.5) / perPod - 1e-9);
  const max = Math.min(p.maxCap, Math.max(min + 1, wanted));
  const f = flaps(usage.map((u) => u.pods));
  const window = f >= 3 ? 600 : 300;
  const rec: Record<Recommendation['key'], [number | boolean, string]> = {
    enabled: [
      true,
      c.enabled
        ? 'autoscaled already'
        : `usage ranges ${formatCpu(low)}-${formatCpu(peak)} over ${humanDuration(span)}: let an HPA follow it`,
    ],
    minReplicas: [
      min,
      `the quietest 5% of the time needs ${formatCpu(low)} = ${min} pod(s) at ${target}% of ${formatCpu(request)}`,
    ],
    maxReplicas: [
      max,
      `the peak ${formatCpu(peak)} + 50% needs ${wanted} pod(s) at ${target}% of ${formatCpu(request)}${wanted > p.maxCap ? ` (capped at ${p.maxCap}, TODO_AUTOSCALE_MAX_CAP)` : ''}`,
    ],
    targetCPUUtilizationPercentage: [target, targetWhy],
    'behavior.scaleDown.stabilizationWindowSeconds': [
      window,
      f >= 3
        ? `the replica count changed direction ${f} times in ${humanDuration(span)}: a longer window stops the flapping`
        : `replicas steady (${f} reversals in ${humanDuration(span)}): 5 minutes, Kubernetes' default`,
    ],
  };
  return (Object.keys(cur) as Recommendation['key'][]).map((key) => {
    const [value, reason] = rec[key];
    return { component: c.component, key, current: cur[key], recommended: value, change: cur[key] !== value, reason };
  });
}

/** The chart values for the changed recommendations, as dotted paths. */
export function valueChanges(recs: readonly Recommendation[]): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const r of recs)
    if (r.change && r.recommended !== null) out[`${r.component}.autoscaling.${r.key}`] = r.recommended;
  return out;
}
