// What is wrong in a namespace and what to run next: debug's diagnosis. Pure:
// the scan (one List per kind), the Warning events and the log tails already
// fetched for failing containers go in, one finding per problem comes out,
// with its evidence and the next command. The findings come from tables of
// analyzers (analyzers/pod.ts, analyzers/objects.ts); this entry runs them,
// picks the logs worth fetching, and narrows a diagnosis to one object.
import type { V1Pod } from '@kubernetes/client-node';
import type { Finding } from '../kit/result.ts';
import { containerStatuses, reasonClass } from '../kube/pod-status.ts';
import { objectAnalyzers } from './analyzers/objects.ts';
import { podFinding } from './analyzers/pod.ts';
import type { DiagnoseInput, Scope } from './input.ts';
import { podName } from './read.ts';
import { selects } from './refs.ts';

/** Is the pod failing in a way its logs explain? Which container's log to read, and whether the previous one. */
function failingContainers(p: V1Pod): { container: string; previous: boolean; severity: number }[] {
  if (p.metadata?.deletionTimestamp) return [];
  const never = p.spec?.restartPolicy === 'Never';
  const out: { container: string; previous: boolean; severity: number }[] = [];
  for (const cs of containerStatuses(p)) {
    const w = cs.state?.waiting?.reason;
    const t = cs.state?.terminated;
    const last = cs.lastState?.terminated;
    if (t && t.exitCode !== 0) out.push({ container: cs.name, previous: false, severity: never ? 2 : 1 });
    else if (last && (w === 'CrashLoopBackOff' || w === 'RunContainerError' || (last.exitCode !== 0 && !cs.ready)))
      out.push({ container: cs.name, previous: true, severity: reasonClass(last.reason) === 'oom' ? 3 : 2 });
  }
  return out;
}

/**
 * The logs worth reading: failing containers only (crash loops: the previous
 * container; terminated ones: their own), most telling first, at most `max`.
 * Never a healthy pod's.
 */
export function logRequests(
  pods: readonly V1Pod[],
  max: number,
): { pod: string; container: string; previous: boolean }[] {
  return pods
    .flatMap((p) => failingContainers(p).map((c) => ({ pod: podName(p), ...c })))
    .sort((a, b) => b.severity - a.severity || a.pod.localeCompare(b.pod))
    .slice(0, Math.max(0, max))
    .map(({ pod, container, previous }) => ({ pod, container, previous }));
}

/** The last non-empty lines of a log text. */
export function tailLines(text: string, n: number): string[] {
  const lines = text.replace(/\r/g, '').split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n);
}

/** Every problem in the namespace, one finding each; an ok finding when there is none. */
export function diagnose(input: DiagnoseInput): Finding[] {
  const ns = input.namespace;
  const live = input.pods.filter((p) => !p.metadata?.deletionTimestamp);
  const scope: Scope = { input, ns, live, cutoff: input.now.getTime() - input.sinceSec * 1000 };
  const findings: Finding[] = [];
  for (const p of live) {
    const f = podFinding(p, scope);
    if (f) findings.push(f);
  }
  for (const analyze of objectAnalyzers) findings.push(...analyze(scope));
  if (!findings.length)
    findings.push({
      name: 'no problems',
      level: 'ok',
      detail: `nothing wrong in namespace ${ns}: ${live.length} pods, ${input.deployments.length + input.statefulSets.length} workloads, ${input.services.length} services checked`,
    });
  return findings;
}

type TargetKind =
  'Pod' | 'Deployment' | 'StatefulSet' | 'Job' | 'Service' | 'HorizontalPodAutoscaler' | 'PersistentVolumeClaim';
export interface Target {
  kind: TargetKind;
  name: string;
}
const aliases: Record<string, TargetKind> = {
  pod: 'Pod',
  pods: 'Pod',
  po: 'Pod',
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  statefulset: 'StatefulSet',
  statefulsets: 'StatefulSet',
  sts: 'StatefulSet',
  job: 'Job',
  jobs: 'Job',
  service: 'Service',
  services: 'Service',
  svc: 'Service',
  horizontalpodautoscaler: 'HorizontalPodAutoscaler',
  horizontalpodautoscalers: 'HorizontalPodAutoscaler',
  hpa: 'HorizontalPodAutoscaler',
  persistentvolumeclaim: 'PersistentVolumeClaim',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  pvc: 'PersistentVolumeClaim',
};

/** What `debug NAME` says it looks for, when nothing has that name. */
export const targetKindsText = 'pod, deployment, statefulset, job, service, hpa or volume claim';

/**
 * Every object `debug NAME` means: whatever kinds have that name (a
 * Deployment and its Service usually share one, and either may be what is
 * wrong), or the one kind `kind/NAME` says. Empty when there is none; a
 * string when the kind itself is unknown.
 */
export function resolveTargets(
  input: Pick<DiagnoseInput, 'pods' | 'deployments' | 'statefulSets' | 'jobs' | 'services' | 'hpas' | 'pvcs'>,
  arg: string,
): Target[] | string {
  const slash = arg.indexOf('/');
  const kind = slash > 0 ? aliases[arg.slice(0, slash).toLowerCase()] : undefined;
  if (slash > 0 && !kind)
    return `unknown kind "${arg.slice(0, slash)}": use pod, deployment, statefulset, job, service, hpa or pvc`;
  const name = slash > 0 ? arg.slice(slash + 1) : arg;
  const lists: [TargetKind, { metadata?: { name?: string } }[]][] = [
    ['Pod', input.pods],
    ['Deployment', input.deployments],
    ['StatefulSet', input.statefulSets],
    ['Job', input.jobs],
    ['Service', input.services],
    ['HorizontalPodAutoscaler', input.hpas],
    ['PersistentVolumeClaim', input.pvcs],
  ];
  return lists
    .filter(([k, list]) => (!kind || kind === k) && list.some((o) => o.metadata?.name === name))
    .map(([k]) => ({ kind: k, name }));
}

/** The objects a target's problems can be about: itself, its pods, their owners, Services, Ingresses, HPAs and claims. */
export function relatedObjects(input: DiagnoseInput, target: Target): Set<string> {
  const key = (kind: string, name: string | undefined) => `${kind}/${name}`;
  const set = new Set<string>([key(target.kind, target.name)]);
  const live = input.pods.filter((p) => !p.metadata?.deletionTimestamp);
  if (target.kind === 'HorizontalPodAutoscaler') {
    // An HPA's problem is often its target's (no requests, no ready pods): what its target relates to, too.
    const ref = input.hpas.find((h) => h.metadata?.name === target.name)?.spec?.scaleTargetRef;
    const scaled = ref && (['Deployment', 'StatefulSet'] as const).find((k) => k === ref.kind);
    const exists = [...input.deployments, ...input.statefulSets].some((w) => w.metadata?.name === ref?.name);
    if (scaled && exists) for (const k of relatedObjects(input, { kind: scaled, name: ref.name })) set.add(k);
    return set;
  }
  if (target.kind === 'PersistentVolumeClaim') {
    for (const p of live)
      if (p.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === target.name))
        set.add(key('Pod', p.metadata?.name));
    return set;
  }
  const workloads: { kind: string; name?: string; labels: Record<string, string>; template: Record<string, string> }[] =
    [
      ...input.deployments.map((d) => ({
        kind: 'Deployment',
        name: d.metadata?.name,
        labels: d.spec?.selector?.matchLabels ?? {},
        template: d.spec?.template?.metadata?.labels ?? {},
      })),
      ...input.statefulSets.map((d) => ({
        kind: 'StatefulSet',
        name: d.metadata?.name,
        labels: d.spec?.selector?.matchLabels ?? {},
        template: d.spec?.template?.metadata?.labels ?? {},
      })),
      ...input.jobs.map((d) => ({
        kind: 'Job',
        name: d.metadata?.name,
        labels: d.spec?.selector?.matchLabels ?? {},
        template: d.spec?.template?.metadata?.labels ?? {},
      })),
    ];
  let pods: V1Pod[];
  const services = new Set<string>();
  if (target.kind === 'Pod') {
    const pod = live.find((p) => p.metadata?.name === target.name);
    pods = pod ? [pod] : [];
    for (const w of workloads)
      if (pod && Object.keys(w.labels).length && selects(w.labels, pod.metadata?.labels)) set.add(key(w.kind, w.name));
  } else if (target.kind === 'Service') {
    const sel = input.services.find((s) => s.metadata?.name === target.name)?.spec?.selector;
    pods = sel && Object.keys(sel).length ? live.filter((p) => selects(sel, p.metadata?.labels)) : [];
    services.add(target.name);
  } else {
    const w = workloads.find((x) => x.kind === target.kind && x.name === target.name) ?? {
      labels: {},
      template: {},
    };
    pods = Object.keys(w.labels).length
      ? live.filter(
          (p) =>
            selects(w.labels, p.metadata?.labels) ||
            p.metadata?.ownerReferences?.some((o) => o.kind === target.kind && o.name === target.name),
        )
      : [];
    for (const s of input.services)
      if (s.spec?.selector && Object.keys(s.spec.selector).length && selects(s.spec.selector, w.template))
        services.add(s.metadata!.name!);
  }
  for (const p of pods) {
    set.add(key('Pod', p.metadata?.name));
    for (const v of p.spec?.volumes ?? [])
      if (v.persistentVolumeClaim) set.add(key('PersistentVolumeClaim', v.persistentVolumeClaim.claimName));
    for (const s of input.services)
      if (s.spec?.selector && Object.keys(s.spec.selector).length && selects(s.spec.selector, p.metadata?.labels))
        services.add(s.metadata!.name!);
  }
  for (const s of services) set.add(key('Service', s));
  for (const ing of input.ingresses) {
    const names = [
      ing.spec?.defaultBackend?.service?.name,
      ...(ing.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((x) => x.backend.service?.name)),
    ];
    if (names.some((n) => n && services.has(n))) set.add(key('Ingress', ing.metadata?.name));
  }
  for (const h of input.hpas)
    if (set.has(key(h.spec?.scaleTargetRef.kind ?? '', h.spec?.scaleTargetRef.name)))
      set.add(key('HorizontalPodAutoscaler', h.metadata?.name));
  return set;
}
