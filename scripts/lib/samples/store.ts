// The sample store predict, rightsize and autoscale share: one record per run
// in the 'samples' state stream (usage per container from the metrics API,
// requests and limits and restart counts from the pod List, volume use where
// the cluster reports it), kept bounded by age and bytes. Building a sample
// from listed objects is pure; reading and pruning go through scripts/lib/kit/state.ts.
import type { V1Pod } from '@kubernetes/client-node';
import type { PodMetricsLike } from '../kube/scan.ts';
import { parseQuantity } from '../kube/quantity.ts';
import type { State, Stored } from '../kit/state.ts';

const samplesStream = 'samples';

interface ContainerSample {
  name: string;
  /** bytes / cores, from the metrics API; absent when it did not report the pod */
  memory?: number;
  cpu?: number;
  requests: { memory?: number; cpu?: number };
  limits: { memory?: number; cpu?: number };
  restarts: number;
}

interface PodSample {
  pod: string;
  /** the owning workload: Deployment (through its ReplicaSet) or StatefulSet, else the pod itself */
  workload: { kind: string; name: string };
  /** epoch seconds the usage was measured at (the metrics API's timestamp), else the sample's */
  t: number;
  containers: ContainerSample[];
}

export interface VolumeSample {
  pvc: string;
  usedBytes: number;
  capacityBytes: number;
  t: number;
}

export interface Sample {
  /** epoch seconds */
  t: number;
  /** false when the metrics API was not served */
  metrics: boolean;
  pods: PodSample[];
  volumes: VolumeSample[];
}

/** A ReplicaSet's Deployment: its name without the pod-template hash. */
function workloadOf(pod: V1Pod): { kind: string; name: string } {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return { kind: 'Pod', name: pod.metadata?.name ?? '' };
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`))
    return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
  return { kind: owner.kind, name: owner.name };
}

const num = (q: unknown) => {
  try {
    return parseQuantity(q as string | undefined);
  } catch {
    return undefined;
  }
};

/** One sample from one pod List and one metrics List. Pods not running are left out: their usage is not theirs to forecast. */
export function buildSample(
  pods: readonly V1Pod[],
  metrics: readonly PodMetricsLike[] | undefined,
  now: Date,
  volumes: VolumeSample[] = [],
): Sample {
  const t = Math.round(now.getTime() / 1000);
  const byPod = new Map((metrics ?? []).map((m) => [m.metadata.name, m]));
  const out: PodSample[] = [];
  for (const p of pods) {
    if (p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) continue;
    const m = byPod.get(p.metadata?.name ?? '') as (PodMetricsLike & { timestamp?: string | Date }) | undefined;
    const mt = m?.timestamp ? Math.round(new Date(m.timestamp).getTime() / 1000) : NaN;
    const restarts = new Map((p.status?.containerStatuses ?? []).map((c) => [c.name, c.restartCount ?? 0]));
    out.push({
      pod: p.metadata!.name!,
      workload: workloadOf(p),
      t: Number.isFinite(mt) ? mt : t,
      containers: (p.spec?.containers ?? []).map((c) => {
        const u = m?.containers.find((x) => x.name === c.name)?.usage;
        const r = (c.resources?.requests ?? {}) as Record<string, string>;
        const l = (c.resources?.limits ?? {}) as Record<string, string>;
        return {
          name: c.name,
          ...(u ? { memory: num(u.memory), cpu: num(u.cpu) } : {}),
          requests: { memory: num(r.memory), cpu: num(r.cpu) },
          limits: { memory: num(l.memory), cpu: num(l.cpu) },
          restarts: restarts.get(c.name) ?? 0,
        };
      }),
    });
  }
  return { t, metrics: metrics !== undefined, pods: out, volumes };
}

export interface StorePolicy {
  maxBytes: number;
  maxAgeDays: number;
}

/** Appends a sample and keeps the stream bounded (called under the writer's lock). */
export function recordSample(state: State, sample: Sample, policy: StorePolicy): Stored<Sample> {
  const stored = state.append(samplesStream, { ...sample, at: new Date(sample.t * 1000).toISOString() });
  state.prune({ maxBytes: policy.maxBytes, maxAgeDays: policy.maxAgeDays, streams: [samplesStream] });
  return stored;
}

/** Samples within the window, oldest first. */
export function readSamples(state: State, windowSeconds: number, now = new Date()): Sample[] {
  return state
    .history<Sample>(samplesStream, { limit: 100_000, since: new Date(now.getTime() - windowSeconds * 1000) })
    .reverse();
}

export interface ContainerSeries {
  workload: { kind: string; name: string };
  container: string;
  /** the pods whose samples it holds, oldest first (a rollout adds the new ones) */
  pods: string[];
  /** per time, the highest of its pods: the replica nearest its limit decides */
  memory: { t: number; v: number }[];
  cpu: { t: number; v: number }[];
  /** the workload's restarts since the window began: each pod's counter added, so replacing a pod does not reset it */
  restarts: { t: number; v: number }[];
  /** the latest sample's */
  requests: ContainerSample['requests'];
  limits: ContainerSample['limits'];
}

/**
 * Per workload and container: its points over the samples. A forecast follows
 * the Deployment, not a pod name: a rollout or a replaced pod continues the
 * series instead of starting a new one with "not enough data".
 */
export function containerSeries(samples: readonly Sample[]): ContainerSeries[] {
  type Entry = ContainerSeries & { counts: Map<string, number>; scrapes: Set<string> };
  const map = new Map<string, Entry>();
  for (const s of samples) {
    // This sample's containers by workload: the highest usage of its pods, and whether any scrape is new.
    const now = new Map<string, { t: number; memory?: number; cpu?: number; fresh: boolean }>();
    for (const p of s.pods)
      for (const c of p.containers) {
        const key = `${p.workload.kind}/${p.workload.name}/${c.name}`;
        let e = map.get(key);
        if (!e)
          map.set(
            key,
            (e = {
              workload: p.workload,
              container: c.name,
              pods: [],
              memory: [],
              cpu: [],
              restarts: [],
              requests: c.requests,
              limits: c.limits,
              counts: new Map(),
              scrapes: new Set(),
            }),
          );
        e.requests = c.requests;
        e.limits = c.limits;
        if (!e.counts.has(p.pod)) e.pods.push(p.pod);
        e.counts.set(p.pod, Math.max(e.counts.get(p.pod) ?? 0, c.restarts));
        const n = now.get(key) ?? { t: 0, fresh: false };
        now.set(key, n);
        // The metrics API repeats its last scrape until the next one: a repeat is not a new point.
        const scrape = `${p.pod}@${p.t}`;
        if (!e.scrapes.has(scrape)) {
          e.scrapes.add(scrape);
          n.fresh = true;
        }
        n.t = Math.max(n.t, p.t);
        if (c.memory !== undefined) n.memory = Math.max(n.memory ?? 0, c.memory);
        if (c.cpu !== undefined) n.cpu = Math.max(n.cpu ?? 0, c.cpu);
      }
    for (const [key, n] of now) {
      const e = map.get(key)!;
      e.restarts.push({ t: s.t, v: [...e.counts.values()].reduce((a, b) => a + b, 0) });
      if (!n.fresh) continue;
      if (n.memory !== undefined) e.memory.push({ t: n.t, v: n.memory });
      if (n.cpu !== undefined) e.cpu.push({ t: n.t, v: n.cpu });
    }
  }
  return [...map.values()].map(({ counts: _c, scrapes: _s, ...e }) => e);
}

/** Per PVC: its used bytes over the samples, and the latest capacity. */
export function volumeSeries(
  samples: readonly Sample[],
): { pvc: string; used: { t: number; v: number }[]; capacity: number }[] {
  const map = new Map<string, { pvc: string; used: { t: number; v: number }[]; capacity: number }>();
  for (const s of samples)
    for (const v of s.volumes ?? []) {
      let e = map.get(v.pvc);
      if (!e) map.set(v.pvc, (e = { pvc: v.pvc, used: [], capacity: v.capacityBytes }));
      e.capacity = v.capacityBytes;
      if (!e.used.some((p) => p.t === v.t)) e.used.push({ t: v.t, v: v.usedBytes });
    }
  return [...map.values()];
}
