// What a release's snapshot means: the rows monitor shows and the findings it
// reports, and one verdict (healthy, degraded, down). Pure: snapshot in, view
// out, so every rule is unit-tested on plain objects.
import type { V1ContainerStatus, V1Deployment, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import type { Finding } from '../lib/kit/result.ts';
import { formatBytes, formatCpu, parseQuantity } from '../lib/kube/quantity.ts';
import { containerStatuses, isReady, podProblem, reasonClass, type PodProblem } from '../lib/kube/pod-status.ts';
import { revisionAnnotation, type Snapshot } from '../lib/kube/scan.ts';

export type HealthState = 'healthy' | 'degraded' | 'down';

interface WorkloadRow {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  desired: number;
  ready: number;
  available: number;
  updated: number;
}
interface PodRow {
  name: string;
  phase: string;
  ready: string;
  /** the reason a container is waiting or terminated, e.g. CrashLoopBackOff */
  status: string;
  restarts: number;
  lastRestart?: { reason: string; exitCode?: number; at?: string };
  ageSec: number;
  node: string;
  cpu?: string;
  memory?: string;
  /** usage against the limits, when both are known (0-1) */
  memoryOfLimit?: number;
}
interface ServiceRow {
  name: string;
  ready: number;
  notReady: number;
}
interface HpaRow {
  name: string;
  target: string;
  replicas: string;
  metrics: string;
}
export interface Health {
  state: HealthState;
  findings: Finding[];
  workloads: WorkloadRow[];
  pods: PodRow[];
  services: ServiceRow[];
  hpas: HpaRow[];
  pvcs: { name: string; phase: string; capacity: string }[];
  events: { at: string; object: string; reason: string; message: string; count: number }[];
}

const containerReason = (c: V1ContainerStatus) => c.state?.waiting?.reason ?? c.state?.terminated?.reason;

function lastRestart(statuses: V1ContainerStatus[]): PodRow['lastRestart'] {
  let best: PodRow['lastRestart'];
  for (const c of statuses) {
    const t = c.lastState?.terminated;
    if (!t) continue;
    const at = t.finishedAt ? new Date(t.finishedAt).toISOString() : undefined;
    if (!best || (at && (!best.at || at > best.at))) best = { reason: t.reason ?? 'Unknown', exitCode: t.exitCode, at };
  }
  return best;
}

function podRow(p: V1Pod, now: Date, usage?: { cpu: number; memory: number }): PodRow {
  const statuses = containerStatuses(p);
  const main = p.status?.containerStatuses ?? [];
  const reason =
    statuses.map(containerReason).find((r) => r && r !== 'Completed') ??
    (p.metadata?.deletionTimestamp ? 'Terminating' : p.status?.reason);
  const memLimit = (p.spec?.containers ?? []).reduce<number | undefined>((sum, c) => {
    const l = parseQuantity(c.resources?.limits?.memory);
    return l === undefined || sum === undefined ? undefined : sum + l;
  }, 0);
  const created = p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : now.getTime();
  return {
    name: p.metadata?.name ?? '',
    phase: p.status?.phase ?? 'Unknown',
    ready: `${main.filter((c) => c.ready).length}/${p.spec?.containers.length ?? main.length}`,
    status: reason ?? p.status?.phase ?? 'Unknown',
    restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    lastRestart: lastRestart(statuses),
    ageSec: Math.max(0, Math.round((now.getTime() - created) / 1000)),
    node: p.spec?.nodeName ?? '',
    ...(usage ? { cpu: formatCpu(usage.cpu), memory: formatBytes(usage.memory) } : {}),
    ...(usage && memLimit ? { memoryOfLimit: usage.memory / memLimit } : {}),
  };
}

const ref = (kind: string, name: string, namespace: string) => ({ kind, name, namespace });

/**
 * At most `max` characters, cut at a word boundary with an ellipsis: a cut
 * word ("ImagePullBa") reads as a different word. A single word longer than
 * `max` is the one case cut inside.
 */
export function clipAtWord(text: string, max: number): string {
  const s = text.replace(/\s+/g, ' ').trim();
  if (s.length <= max) return s;
  const room = s.slice(0, max - 1);
  // The room ends a word when a space follows it; else back to the last space in it.
  const end = s[max - 1] === ' ' ? room.length : room.lastIndexOf(' ');
  return `${(end > 0 ? room.slice(0, end) : room).replace(/[\s,;:]+$/, '')}…`;
}

/** A rollout under way: the controller has new replicas to make or old ones to remove. */
function rolloutInProgress(kind: 'Deployment' | 'StatefulSet', w: V1Deployment | V1StatefulSet): boolean {
  const desired = w.spec?.replicas ?? 1;
  const st = w.status ?? {};
  if ((st.observedGeneration ?? 0) < (w.metadata?.generation ?? 0)) return false; // not seen yet: no current template to judge
  if ((st.updatedReplicas ?? 0) < desired) return true;
  if (kind === 'Deployment') return (st.replicas ?? 0) > (st.updatedReplicas ?? 0);
  const s = (w as V1StatefulSet).status;
  return Boolean(s?.updateRevision && s.currentRevision && s.updateRevision !== s.currentRevision);
}

const owns = (
  owner: { metadata?: { name?: string; uid?: string } },
  kind: string,
  o: { metadata?: { ownerReferences?: { kind: string; name: string; uid: string }[] } },
) =>
  o.metadata?.ownerReferences?.some(
    (r) =>
      r.kind === kind &&
      r.name === owner.metadata?.name &&
      (!owner.metadata?.uid || !r.uid || r.uid === owner.metadata.uid),
  ) ?? false;

/**
 * The pods of the workload's current template: for a Deployment those of its
 * newest ReplicaSet (the highest revision: a rollback re-numbers the old one),
 * by the pod-template-hash they carry; for a StatefulSet those labelled with
 * its updateRevision.
 */
function currentTemplatePods(
  kind: 'Deployment' | 'StatefulSet',
  w: V1Deployment | V1StatefulSet,
  replicaSets: readonly V1ReplicaSet[],
  pods: readonly V1Pod[],
): V1Pod[] {
  if (kind === 'StatefulSet') {
    const rev = (w as V1StatefulSet).status?.updateRevision;
    return rev
      ? pods.filter((p) => p.metadata?.labels?.['controller-revision-hash'] === rev && owns(w, 'StatefulSet', p))
      : [];
  }
  const revision = (rs: V1ReplicaSet) => Number(rs.metadata?.annotations?.[revisionAnnotation] ?? 0);
  const newest = replicaSets.filter((rs) => owns(w, 'Deployment', rs)).sort((a, b) => revision(b) - revision(a))[0];
  const hash = newest?.metadata?.labels?.['pod-template-hash'];
  if (!newest || !hash) return [];
  return pods.filter((p) => p.metadata?.labels?.['pod-template-hash'] === hash && owns(newest, 'ReplicaSet', p));
}

/** How long a pod of a new template may wait for a node before the rollout counts as stuck. */
const unschedulableGraceSec = 120;

/** Why a pod is failing in a way that holds a rollout back; undefined when it is fine or only starting. */
function failingPod(p: V1Pod, now: Date, graceSec = unschedulableGraceSec): PodProblem | undefined {
  const problem = podProblem(p);
  const cls = reasonClass(problem?.reason);
  if (!problem || !cls) return undefined;
  if (cls !== 'unschedulable') return problem;
  const cond = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const since = new Date(cond?.lastTransitionTime ?? p.metadata?.creationTimestamp ?? now).getTime();
  return now.getTime() - since >= graceSec * 1000 ? problem : undefined;
}

/** The verdict and every finding for one snapshot; `sinceSec` bounds the warning events shown. */
export function assessRelease(s: Snapshot, o: { now?: Date; sinceSec?: number } = {}): Health {
  const now = o.now ?? s.takenAt;
  const sinceSec = o.sinceSec ?? 600;
  const ns = s.namespace;
  const findings: Finding[] = [];
  let state: HealthState = 'healthy';
  const degrade = () => void (state = state === 'down' ? 'down' : 'degraded');

  const workloads: WorkloadRow[] = [
    ...s.deployments.map((d) => ({
      kind: 'Deployment' as const,
      name: d.metadata!.name!,
      desired: d.spec?.replicas ?? 1,
      ready: d.status?.readyReplicas ?? 0,
      available: d.status?.availableReplicas ?? 0,
      updated: d.status?.updatedReplicas ?? 0,
    })),
    ...s.statefulSets.map((d) => ({
      kind: 'StatefulSet' as const,
      name: d.metadata!.name!,
      desired: d.spec?.replicas ?? 1,
      ready: d.status?.readyReplicas ?? 0,
      available: d.status?.availableReplicas ?? 0,
      updated: d.status?.updatedReplicas ?? 0,
    })),
  ];
  if (!workloads.length) {
    state = 'down';
    findings.push({
      name: 'release',
      level: 'fail',
      detail: `no workloads of release ${s.release} in namespace ${ns}`,
      hint: `helm list -n ${ns}; or deploy: npx zx scripts/deploy.ts -n ${ns}`,
    });
  }
  for (const w of workloads) {
    const object = ref(w.kind, w.name, ns);
    if (w.ready === 0) {
      state = 'down';
      findings.push({
        name: 'workload down',
        level: 'fail',
        object,
        detail: `${w.kind.toLowerCase()}/${w.name}: 0/${w.desired} ready${w.desired === 0 ? ' (scaled to zero)' : ''}`,
        hint: w.desired === 0 ? `npx zx scripts/scale.ts ${w.name} 1` : `npx zx scripts/debug.ts -n ${ns} ${w.name}`,
        evidence: { ...w },
      });
    } else if (w.ready < w.desired) {
      degrade();
      findings.push({
        name: 'workload degraded',
        level: 'fail',
        object,
        detail: `${w.kind.toLowerCase()}/${w.name}: ${w.ready}/${w.desired} ready`,
        hint: `npx zx scripts/debug.ts -n ${ns} ${w.name}`,
        evidence: { ...w },
      });
    } else if (w.updated < w.desired) {
      findings.push({
        name: 'rollout in progress',
        level: 'warn',
        object,
        required: false,
        detail: `${w.kind.toLowerCase()}/${w.name}: ${w.updated}/${w.desired} updated`,
        evidence: { ...w },
      });
    }
  }

  // A rollout whose new pods fail is stuck even while the old pods serve: the new template is what is wrong.
  const blamed = new Set<string>();
  const kinds = [
    ...s.deployments.map((w) => ['Deployment', w] as const),
    ...s.statefulSets.map((w) => ['StatefulSet', w] as const),
  ];
  for (const [kind, w] of kinds) {
    if (!rolloutInProgress(kind, w)) continue;
    const failing = currentTemplatePods(kind, w, s.replicaSets, s.pods)
      .map((p) => ({ p, problem: failingPod(p, now) }))
      .filter((x): x is { p: V1Pod; problem: PodProblem } => x.problem !== undefined);
    if (!failing.length) continue;
    degrade();
    const name = w.metadata?.name ?? '?';
    const { p, problem } = failing[0]!;
    for (const f of failing) blamed.add(f.problem.pod);
    const image = p.spec?.containers.find((c) => c.name === problem.container)?.image;
    const why =
      reasonClass(problem.reason) === 'image' && image
        ? `image ${image}`
        : problem.exitCode !== undefined
          ? `last exit ${problem.exitCode}${problem.lastReason ? ` (${problem.lastReason})` : ''}`
          : problem.message
            ? clipAtWord(problem.message, 120)
            : '';
    const updated = w.status?.updatedReplicas ?? 0;
    const desired = w.spec?.replicas ?? 1;
    findings.push({
      name: 'rollout stuck',
      level: 'fail',
      object: ref(kind, name, ns),
      detail: `${kind.toLowerCase()}/${name}: rollout stuck at ${updated}/${desired} updated: pod ${problem.pod} ${problem.reason}${why ? ` (${why})` : ''}${failing.length > 1 ? `, and ${failing.length - 1} more new pod${failing.length > 2 ? 's' : ''}` : ''}`,
      hint: `npx zx scripts/debug.ts -n ${ns} ${problem.pod}; or roll back: kubectl -n ${ns} rollout undo ${kind.toLowerCase()}/${name}`,
      evidence: {
        pod: problem.pod,
        reason: problem.reason,
        ...(problem.container ? { container: problem.container } : {}),
        ...(problem.message ? { message: problem.message } : {}),
        ...(image ? { image } : {}),
        updated,
        desired,
        failingPods: failing.map((f) => f.problem.pod),
      },
    });
  }

  // A stuck rollout is said once: its "in progress" warning would only repeat the counts.
  for (let i = findings.length - 1; i >= 0; i--) {
    const f = findings[i]!;
    if (
      f.name === 'rollout in progress' &&
      findings.some(
        (x) => x.name === 'rollout stuck' && x.object?.name === f.object?.name && x.object?.kind === f.object?.kind,
      )
    )
      findings.splice(i, 1);
  }

  const usage = new Map<string, { cpu: number; memory: number }>();
  for (const m of s.metrics ?? [])
    usage.set(
      m.metadata.name,
      m.containers.reduce(
        (t, c) => ({
          cpu: t.cpu + (parseQuantity(c.usage.cpu) ?? 0),
          memory: t.memory + (parseQuantity(c.usage.memory) ?? 0),
        }),
        { cpu: 0, memory: 0 },
      ),
    );
  const pods = s.pods.map((p) => podRow(p, now, usage.get(p.metadata?.name ?? '')));
  for (const [i, p] of s.pods.entries()) {
    const row = pods[i]!;
    const object = ref('Pod', row.name, ns);
    const completed = p.status?.phase === 'Succeeded';
    if (reasonClass(row.status) === 'crash' || p.status?.phase === 'Failed') {
      degrade();
      const last = row.lastRestart;
      findings.push({
        name: 'pod failing',
        level: 'fail',
        object,
        detail: `${row.name}: ${row.status}${last ? `, last exit ${last.exitCode ?? '?'} (${last.reason})` : ''}, ${row.restarts} restarts`,
        hint: `npx zx scripts/debug.ts -n ${ns} ${row.name}`,
        evidence: { status: row.status, restarts: row.restarts, lastRestart: last },
      });
    } else if (!completed && !isReady(p) && !p.metadata?.deletionTimestamp && !blamed.has(row.name)) {
      findings.push({
        name: 'pod not ready',
        level: 'warn',
        object,
        required: false,
        detail: `${row.name}: ${row.phase}, ${row.status}, ready ${row.ready}`,
        hint: `npx zx scripts/debug.ts -n ${ns} ${row.name}`,
      });
    }
    if (row.memoryOfLimit !== undefined && row.memoryOfLimit >= 0.9)
      findings.push({
        name: 'memory near limit',
        level: 'warn',
        object,
        required: false,
        detail: `${row.name}: ${row.memory} is ${Math.round(row.memoryOfLimit * 100)}% of its limit`,
        hint: 'npx zx ops/rightsize.ts',
      });
  }
  if (!s.metrics)
    findings.push({
      name: 'metrics API',
      level: 'info',
      required: false,
      detail: 'not served: no CPU or memory usage',
      hint: 'minikube addons enable metrics-server',
    });

  const services: ServiceRow[] = s.services.map((svc) => {
    const slices = s.endpointSlices.filter(
      (e) => e.metadata?.labels?.['kubernetes.io/service-name'] === svc.metadata?.name,
    );
    const eps = slices.flatMap((e) => e.endpoints ?? []);
    const ready = eps.filter((e) => e.conditions?.ready !== false).length;
    return { name: svc.metadata!.name!, ready, notReady: eps.length - ready };
  });
  for (const svc of services) {
    if (svc.ready === 0 && s.services.find((x) => x.metadata?.name === svc.name)?.spec?.selector) {
      degrade();
      findings.push({
        name: 'service without endpoints',
        level: 'fail',
        object: ref('Service', svc.name, ns),
        detail: `${svc.name}: no ready endpoints${svc.notReady ? ` (${svc.notReady} not ready)` : ''}`,
        hint: `npx zx scripts/debug.ts -n ${ns} ${svc.name}`,
      });
    }
  }

  const hpas: HpaRow[] = s.hpas.map((h) => {
    const cur = h.status?.currentMetrics ?? [];
    const metrics = (h.spec?.metrics ?? []).map((m) => {
      const name = m.resource?.name ?? m.type;
      const target = m.resource?.target?.averageUtilization;
      const now = cur.find((c) => c.resource?.name === name)?.resource?.current?.averageUtilization;
      return `${name} ${now ?? '<unknown>'}%/${target ?? '?'}%`;
    });
    return {
      name: h.metadata!.name!,
      target: `${h.spec?.scaleTargetRef.kind}/${h.spec?.scaleTargetRef.name}`,
      replicas: `${h.status?.currentReplicas ?? 0} (${h.spec?.minReplicas ?? 1}-${h.spec?.maxReplicas})`,
      metrics: metrics.join(', '),
    };
  });
  for (const h of s.hpas) {
    const active = h.status?.conditions?.find((c) => c.type === 'ScalingActive');
    if (!h.status?.currentMetrics?.length || active?.status === 'False')
      findings.push({
        name: 'HPA without metrics',
        level: 'warn',
        required: false,
        object: ref('HorizontalPodAutoscaler', h.metadata!.name!, ns),
        detail: `${h.metadata!.name}: ${active?.message ?? 'no current metrics yet'}`,
        hint: 'npx zx ops/autoscale.ts',
      });
  }

  const pvcs = s.pvcs.map((p) => ({
    name: p.metadata!.name!,
    phase: p.status?.phase ?? 'Unknown',
    capacity: p.status?.capacity?.storage ?? p.spec?.resources?.requests?.storage ?? '',
  }));
  for (const p of pvcs.filter((p) => p.phase !== 'Bound')) {
    degrade();
    findings.push({
      name: 'volume not bound',
      level: 'fail',
      object: ref('PersistentVolumeClaim', p.name, ns),
      detail: `${p.name}: ${p.phase}`,
      hint: `kubectl describe pvc ${p.name} -n ${ns}`,
    });
  }

  const cutoff = now.getTime() - sinceSec * 1000;
  const events = s.events
    .map((e) => ({
      at: new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).toISOString(),
      object: `${e.involvedObject.kind?.toLowerCase()}/${e.involvedObject.name}`,
      reason: e.reason ?? '',
      message: (e.message ?? '').trim(),
      count: e.count ?? 1,
    }))
    .filter((e) => new Date(e.at).getTime() >= cutoff)
    .sort((a, b) => (a.at < b.at ? 1 : -1));

  return { state, findings, workloads, pods, services, hpas, pvcs, events };
}
