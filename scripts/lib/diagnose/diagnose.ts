// What is wrong in a namespace and what to run next: debug's diagnosis. Pure:
// the scan (one List per kind), the Warning events and the log tails already
// fetched for failing containers go in, one finding per problem comes out,
// with its evidence and the next command. Pod problems start from
// kube-rollout's podProblem (the same reading a failed rollout gives).
import type {
  CoreV1Event,
  V1Container,
  V1Deployment,
  V1Ingress,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Probe,
  V1Service,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { blamePod, podProblem, selectorString, type PodProblem } from '../kube/rollout.ts';
import { formatBytes, parseQuantity } from '../kube/quantity.ts';
import type { Finding, ObjectRef } from '../kit/result.ts';
import type { PodMetricsLike } from '../kube/scan.ts';

/** A ConfigMap or Secret reduced to its name and keys: values never enter the diagnosis. */
export interface KeysOnly {
  name: string;
  keys: string[];
}

export interface LogTail {
  pod: string;
  container: string;
  previous: boolean;
  lines: string[];
  /** no text, and why (no previous container, the node serves no logs...) */
  unavailable?: string;
}

export interface DiagnoseInput {
  namespace: string;
  now: Date;
  /** Warning events older than this are left out (--since) */
  sinceSec: number;
  pods: V1Pod[];
  deployments: V1Deployment[];
  statefulSets: V1StatefulSet[];
  jobs: V1Job[];
  services: V1Service[];
  ingresses: V1Ingress[];
  hpas: V2HorizontalPodAutoscaler[];
  pvcs: V1PersistentVolumeClaim[];
  /** undefined: not readable (RBAC): references to that kind are not checked */
  configMaps: KeysOnly[] | undefined;
  secrets: KeysOnly[] | undefined;
  /** the namespace's Warning events */
  events: CoreV1Event[];
  /** undefined: the metrics API is not served */
  metrics?: PodMetricsLike[];
  /** fetched for failing containers only (logRequests), keyed `${pod}/${container}` */
  logs?: Map<string, LogTail>;
}

/** Pods younger than this that are only "not ready yet" are starting, not failing. */
const startingGraceSec = 120;
/** Log lines quoted in a finding's detail (the evidence holds all fetched). */
const quotedInDetail = 3;

const ref = (kind: string, name: string, namespace: string): ObjectRef => ({ kind, name, namespace });
const podName = (p: V1Pod) => p.metadata?.name ?? '?';
const logKey = (pod: string, container: string) => `${pod}/${container}`;
const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const allContainers = (p: V1Pod): V1Container[] => [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])];
const statuses = (p: V1Pod) => [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
const eventTime = (e: CoreV1Event) => new Date((e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0) as string | Date).getTime() || 0;
const oneLine = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();

/** True when every key=value of the selector is among the labels. */
export function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return Object.entries(selector).every(([k, v]) => l[k] === v);
}

/** Is the pod failing in a way its logs explain? Which container's log to read, and whether the previous one. */
function failingContainers(p: V1Pod): { container: string; previous: boolean; severity: number }[] {
  if (p.metadata?.deletionTimestamp) return [];
  const never = p.spec?.restartPolicy === 'Never';
  const out: { container: string; previous: boolean; severity: number }[] = [];
  for (const cs of statuses(p)) {
    const w = cs.state?.waiting?.reason;
    const t = cs.state?.terminated;
    const last = cs.lastState?.terminated;
    if (t && t.exitCode !== 0) out.push({ container: cs.name, previous: false, severity: never ? 2 : 1 });
    else if (last && (w === 'CrashLoopBackOff' || w === 'RunContainerError' || (last.exitCode !== 0 && !cs.ready)))
      out.push({ container: cs.name, previous: true, severity: last.reason === 'OOMKilled' ? 3 : 2 });
  }
  return out;
}

/**
 * The logs worth reading: failing containers only (crash loops: the previous
 * container; terminated ones: their own), most telling first, at most `max`.
 * Never a healthy pod's.
 */
export function logRequests(pods: readonly V1Pod[], max: number): { pod: string; container: string; previous: boolean }[] {
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

/** "cpu 64, memory 1Gi": the containers' summed requests. */
function requestsOf(p: V1Pod): Record<string, string> {
  const sum: Record<string, number> = {};
  for (const c of p.spec?.containers ?? []) for (const [k, v] of Object.entries(c.resources?.requests ?? {})) sum[k] = (sum[k] ?? 0) + (parseQuantity(v) ?? 0);
  return Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, k === 'memory' || k.endsWith('storage') ? formatBytes(v) : String(Number(v.toFixed(3)))]));
}

/** What a probe checks, in words: "GET :http/readyz", "TCP :5432", "exec pg_isready". */
export function probeTarget(probe: V1Probe | undefined): string | undefined {
  if (!probe) return undefined;
  if (probe.httpGet) return `${probe.httpGet.scheme === 'HTTPS' ? 'HTTPS ' : ''}GET :${probe.httpGet.port}${probe.httpGet.path ?? '/'}`;
  if (probe.tcpSocket) return `TCP :${probe.tcpSocket.port}`;
  if (probe.grpc) return `gRPC :${probe.grpc.port}${probe.grpc.service ? ` ${probe.grpc.service}` : ''}`;
  if (probe.exec) return `exec ${(probe.exec.command ?? []).join(' ')}`;
  return undefined;
}

/** The container a pod event is about, from its fieldPath "spec.containers{app}". */
const eventContainer = (e: CoreV1Event) => /\{([^}]+)\}/.exec(e.involvedObject.fieldPath ?? '')?.[1];

/** A missing ConfigMap, Secret or key a container refers to (without optional: true). */
export interface MissingRef {
  container: string;
  kind: 'ConfigMap' | 'Secret';
  name: string;
  key?: string;
  /** env FOO, envFrom, volume NAME */
  via: string;
}

/** References the pod makes to ConfigMaps, Secrets or keys that do not exist. */
export function missingRefs(p: V1Pod, configMaps: readonly KeysOnly[] | undefined, secrets: readonly KeysOnly[] | undefined): MissingRef[] {
  const known = (kind: 'ConfigMap' | 'Secret') => (kind === 'ConfigMap' ? configMaps : secrets);
  const find = (kind: 'ConfigMap' | 'Secret', name: string) => known(kind)?.find((x) => x.name === name);
  const out: MissingRef[] = [];
  const check = (container: string, kind: 'ConfigMap' | 'Secret', name: string | undefined, key: string | undefined, optional: boolean | undefined, via: string) => {
    if (!name || optional || !known(kind)) return;
    const obj = find(kind, name);
    if (!obj) out.push({ container, kind, name, via });
    else if (key !== undefined && !obj.keys.includes(key)) out.push({ container, kind, name, key, via });
  };
  for (const c of allContainers(p)) {
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sk = e.valueFrom?.secretKeyRef;
      if (cm) check(c.name, 'ConfigMap', cm.name, cm.key, cm.optional, `env ${e.name}`);
      if (sk) check(c.name, 'Secret', sk.name, sk.key, sk.optional, `env ${e.name}`);
    }
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef) check(c.name, 'ConfigMap', f.configMapRef.name, undefined, f.configMapRef.optional, 'envFrom');
      if (f.secretRef) check(c.name, 'Secret', f.secretRef.name, undefined, f.secretRef.optional, 'envFrom');
    }
  }
  const mounts = (vol: string) => allContainers(p).filter((c) => c.volumeMounts?.some((m) => m.name === vol)).map((c) => c.name);
  for (const v of p.spec?.volumes ?? []) {
    for (const container of mounts(v.name).slice(0, 1)) {
      if (v.configMap) {
        check(container, 'ConfigMap', v.configMap.name, undefined, v.configMap.optional, `volume ${v.name}`);
        for (const it of v.configMap.items ?? []) check(container, 'ConfigMap', v.configMap.name, it.key, v.configMap.optional || !find('ConfigMap', v.configMap.name ?? ''), `volume ${v.name}`);
      }
      if (v.secret) {
        check(container, 'Secret', v.secret.secretName, undefined, v.secret.optional, `volume ${v.name}`);
        for (const it of v.secret.items ?? []) check(container, 'Secret', v.secret.secretName, it.key, v.secret.optional || !find('Secret', v.secret.secretName ?? ''), `volume ${v.name}`);
      }
    }
  }
  return out;
}

const describeRef = (m: MissingRef) => (m.key ? `key ${m.key} of ${m.kind} ${m.name}` : `${m.kind} ${m.name}`);

/** At most two edits apart (Levenshtein), for short label values. */
export function nearlyEqual(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 2) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]! <= 2;
}

/** The pods whose labels come closest to a selector no pod matches, and how they differ. */
export function nearestPods(selector: Record<string, string>, pods: readonly V1Pod[], max = 3): { pod: string; labels: Record<string, string>; differs: Record<string, string | null> }[] {
  const keys = Object.keys(selector);
  return pods
    .map((p) => {
      const labels = p.metadata?.labels ?? {};
      const same = keys.filter((k) => labels[k] === selector[k]).length;
      const shared = keys.filter((k) => k in labels).length;
      // A key with another value, or a value under another key: either way the pod looks like the target.
      const valueSeen = Object.values(labels).some((v) => Object.values(selector).includes(v));
      // A typo: the value under the selector's key differs by a character or two ("apii" for "api").
      const typos = keys.filter((k) => k in labels && labels[k] !== selector[k] && nearlyEqual(labels[k]!, selector[k]!)).length;
      return { p, labels, score: same * 4 + shared * 2 + typos * 2 + Number(valueSeen) };
    })
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score || podName(a.p).localeCompare(podName(b.p)))
    .slice(0, max)
    .map(({ p, labels }) => ({
      pod: podName(p),
      labels,
      differs: Object.fromEntries(keys.filter((k) => labels[k] !== selector[k]).map((k) => [k, labels[k] ?? null])),
    }));
}

interface PodContext {
  input: DiagnoseInput;
  ns: string;
  events: CoreV1Event[];
}

function podEvents(input: DiagnoseInput, p: V1Pod, cutoff: number): CoreV1Event[] {
  const uid = p.metadata?.uid;
  return input.events
    .filter((e) => e.involvedObject.kind === 'Pod' && e.involvedObject.name === p.metadata?.name && (!uid || !e.involvedObject.uid || e.involvedObject.uid === uid) && eventTime(e) >= cutoff)
    .sort((a, b) => eventTime(b) - eventTime(a));
}

function owner(p: V1Pod): { kind: string; name: string } | undefined {
  const o = p.metadata?.ownerReferences?.find((r) => r.controller) ?? p.metadata?.ownerReferences?.[0];
  return o ? { kind: o.kind, name: o.name } : undefined;
}

function quoteLog(tail: LogTail | undefined): { text: string; evidence: Record<string, unknown> } {
  if (!tail) return { text: '', evidence: {} };
  if (tail.unavailable || !tail.lines.length)
    return { text: `; no log lines (${tail.unavailable ?? 'the log is empty'})`, evidence: { logLines: [], logUnavailable: tail.unavailable ?? 'empty' } };
  const q = tail.lines.slice(-quotedInDetail).map((l) => JSON.stringify(l)).join(', ');
  return { text: `; ${tail.previous ? 'the previous container' : 'it'} last printed: ${q}`, evidence: { logLines: tail.lines, logPrevious: tail.previous } };
}

function usageOf(input: DiagnoseInput, pod: string, container: string): number | undefined {
  const c = input.metrics?.find((m) => m.metadata.name === pod)?.containers.find((x) => x.name === container);
  return c ? parseQuantity(c.usage.memory) : undefined;
}

/** One finding for a pod's problem, or none when it is fine. */
function podFinding(p: V1Pod, c: PodContext): Finding | undefined {
  const { input, ns, events } = c;
  const name = podName(p);
  const object = ref('Pod', name, ns);
  const describe = `kubectl -n ${ns} describe pod ${name}`;
  const missing = missingRefs(p, input.configMaps, input.secrets);
  const problem = podProblem(p, events);
  const own = owner(p);
  const ownerEv = own ? { owner: `${own.kind.toLowerCase()}/${own.name}` } : {};

  // A missing ConfigMap/Secret/key: the kubelet's CreateContainerConfigError, or (before the kubelet tries) the spec itself.
  if (problem?.reason === 'CreateContainerConfigError' || missing.length) {
    const what = missing.length ? missing.map((m) => `${describeRef(m)} (${m.via} of container ${m.container})`).join('; ') : oneLine(problem?.message);
    const first = missing[0];
    const hint = first
      ? first.key
        ? `kubectl -n ${ns} get ${first.kind.toLowerCase()} ${first.name} -o jsonpath='{.data}' | jq keys   # then add ${first.key}, or fix the reference`
        : `kubectl -n ${ns} get ${first.kind.toLowerCase()}s   # create ${first.kind} ${first.name}, or fix the reference`
      : describe;
    return {
      name: 'missing config', level: 'fail', object,
      detail: `${name}: ${problem?.reason === 'CreateContainerConfigError' ? `CreateContainerConfigError: ${oneLine(problem.message)}; ` : ''}refers to a missing ${what}`,
      hint,
      evidence: { reason: problem?.reason ?? 'missing reference', ...(problem?.message ? { message: problem.message } : {}), missing, ...ownerEv },
    };
  }
  if (!problem) return undefined;
  const container = problem.container;
  const spec = allContainers(p).find((x) => x.name === container);

  if (problem.reason === 'Unschedulable' || (p.status?.phase === 'Pending' && !p.spec?.nodeName && events.some((e) => e.reason === 'FailedScheduling'))) {
    const scheduler = problem.message ?? events.find((e) => e.reason === 'FailedScheduling')?.message ?? 'no node fits';
    const requests = requestsOf(p);
    const pvc = /unbound .*PersistentVolumeClaims/.test(scheduler);
    return {
      name: 'unschedulable', level: 'fail', object,
      detail: `${name}: the scheduler says: ${oneLine(scheduler)}${Object.keys(requests).length ? ` (requests ${Object.entries(requests).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
      hint: pvc ? `kubectl -n ${ns} get pvc   # a claim of this pod is not bound` : `kubectl describe nodes | grep -A8 'Allocated resources'   # then lower the requests or add a node`,
      evidence: { reason: 'Unschedulable', message: scheduler, requests, ...ownerEv },
    };
  }

  if (['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'].includes(problem.reason)) {
    const image = spec?.image ?? '?';
    // The kubelet pairs its explanation with a bare "Error: ErrImagePull" (reason Failed, which also matches /image/i): skip that one.
    const pull = events.find((e) => e.reason === 'Failed' && /image/i.test(e.message ?? '') && !/^Error: \w+$/.test(e.message ?? '') && (!eventContainer(e) || eventContainer(e) === container));
    const why = oneLine(pull?.message ?? problem.message);
    return {
      name: 'image pull error', level: 'fail', object,
      detail: `${name}: cannot pull image ${image} (${problem.reason})${why ? `: ${why}` : ''}`,
      hint: `check that ${image} exists and the node can pull it (registry, tag, imagePullSecrets): ${describe}`,
      evidence: { reason: problem.reason, image, container, ...(why ? { message: why } : {}), ...ownerEv },
    };
  }

  const tail = container ? input.logs?.get(logKey(name, container)) : undefined;
  const log = quoteLog(tail);

  if (problem.lastReason === 'OOMKilled' || problem.reason === 'OOMKilled') {
    const limit = spec?.resources?.limits?.memory;
    const used = container ? usageOf(input, name, container) : undefined;
    return {
      name: 'OOMKilled', level: 'fail', object,
      detail: `${name}: container ${container} was killed for using more memory than its limit (${limit ?? 'no limit set'})${used !== undefined ? `; using ${formatBytes(used)} now` : ''}, exit code ${problem.exitCode ?? 137}, ${problem.restarts ?? 0} restarts${log.text}`,
      hint: `raise the memory limit of ${container} (now ${limit ?? 'none'}) or find the leak: kubectl -n ${ns} logs ${name} -c ${container} --previous`,
      evidence: { reason: 'OOMKilled', container, limit: limit ?? null, usage: used !== undefined ? formatBytes(used) : null, usageBytes: used ?? null, exitCode: problem.exitCode ?? 137, restarts: problem.restarts ?? 0, ...log.evidence, ...ownerEv },
    };
  }

  const terminated = problem.exitCode !== undefined && statuses(p).some((s) => s.name === container && s.state?.terminated);
  if (p.spec?.restartPolicy === 'Never' && (p.status?.phase === 'Failed' || terminated)) {
    const job = own?.kind === 'Job' ? input.jobs.find((j) => j.metadata?.name === own.name) : undefined;
    const jobFailed = job?.status?.conditions?.find((x) => x.type === 'Failed' && x.status === 'True');
    const hook = p.metadata?.annotations?.['helm.sh/hook'];
    return {
      name: 'pod failed', level: 'fail', object,
      detail: `${name}${own ? ` (${own.kind.toLowerCase()}/${own.name})` : hook ? ` (helm ${hook} hook)` : ''}: ${problem.lastReason ?? problem.reason}, exit code ${problem.exitCode ?? '?'}, restartPolicy Never: it will not be retried${jobFailed ? `; the Job failed: ${jobFailed.reason}` : ''}${log.text}`,
      hint: container ? `kubectl -n ${ns} logs ${name} -c ${container}` : describe,
      evidence: { reason: problem.lastReason ?? problem.reason, exitCode: problem.exitCode ?? null, container: container ?? null, restartPolicy: 'Never', ...(jobFailed ? { jobCondition: jobFailed.reason } : {}), ...(hook ? { hook } : {}), ...log.evidence, ...ownerEv },
    };
  }

  if (problem.reason === 'CrashLoopBackOff' || problem.reason === 'Error' || problem.reason === 'RunContainerError' || problem.reason === 'CreateContainerError' || terminated) {
    const liveness = events.find((e) => e.reason === 'Unhealthy' && /^Liveness probe failed/.test(e.message ?? ''));
    return {
      name: 'crash loop', level: 'fail', object,
      detail: `${name}: container ${container} ${problem.reason === 'CrashLoopBackOff' ? 'is crash-looping' : `failed (${problem.reason})`}: last exit code ${problem.exitCode ?? '?'} (${problem.lastReason ?? problem.reason}), ${problem.restarts ?? 0} restarts${liveness ? `; killed by its liveness probe: ${oneLine(liveness.message)}` : ''}${log.text}`,
      hint: `kubectl -n ${ns} logs ${name} -c ${container} --previous`,
      evidence: { reason: problem.reason, lastReason: problem.lastReason ?? null, exitCode: problem.exitCode ?? null, restarts: problem.restarts ?? 0, container: container ?? null, ...(problem.message ? { message: problem.message } : {}), ...(liveness ? { livenessProbe: liveness.message } : {}), ...log.evidence, ...ownerEv },
    };
  }

  const unhealthy = events.filter((e) => e.reason === 'Unhealthy');
  if (unhealthy.length) {
    const newest = unhealthy[0]!;
    const m = /^(Readiness|Liveness|Startup) probe failed: ?([\s\S]*)$/.exec(newest.message ?? '');
    const kind = (m?.[1] ?? 'Readiness').toLowerCase();
    const probeContainer = eventContainer(newest) ?? container ?? p.spec?.containers?.[0]?.name;
    const cspec = allContainers(p).find((x) => x.name === probeContainer);
    const probe = (cspec as Record<string, unknown> | undefined)?.[`${kind}Probe`] as V1Probe | undefined;
    const target = probeTarget(probe);
    const answer = oneLine(m?.[2] ?? newest.message);
    const count = unhealthy.filter((e) => (e.message ?? '').startsWith(m?.[1] ?? '')).reduce((n, e) => n + (e.count ?? 1), 0);
    return {
      name: 'probe failing', level: 'fail', object,
      detail: `${name}: ${kind} probe${target ? ` ${target}` : ''} of container ${probeContainer} fails: ${answer} (${count} times)`,
      hint: probe?.httpGet ? `kubectl -n ${ns} port-forward pod/${name} 8080:${probe.httpGet.port} & curl -i localhost:8080${probe.httpGet.path ?? '/'}` : describe,
      evidence: { reason: 'Unhealthy', probe: kind, container: probeContainer ?? null, ...(probe?.httpGet ? { path: probe.httpGet.path ?? '/', port: probe.httpGet.port } : {}), ...(target ? { target } : {}), answer, count, ...ownerEv },
    };
  }

  const created = p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0;
  const ageSec = (input.now.getTime() - created) / 1000;
  const starting = ageSec < startingGraceSec;
  return {
    name: 'pod not ready', level: starting ? 'warn' : 'fail', ...(starting ? { required: false } : {}), object,
    detail: `${name}: ${problem.reason}${problem.message ? `: ${oneLine(problem.message)}` : ''}${starting ? ` (started ${Math.round(ageSec)}s ago)` : ''}`,
    hint: describe,
    evidence: { reason: problem.reason, ...(problem.message ? { message: problem.message } : {}), ...(container ? { container } : {}), ageSec: Math.round(ageSec), ...ownerEv },
  };
}

function serviceFindings(input: DiagnoseInput, live: V1Pod[]): Finding[] {
  const ns = input.namespace;
  const out: Finding[] = [];
  for (const svc of input.services) {
    const selector = svc.spec?.selector;
    const name = svc.metadata?.name ?? '?';
    if (!selector || !Object.keys(selector).length || svc.spec?.type === 'ExternalName') continue;
    if (live.some((p) => selects(selector, p.metadata?.labels))) continue;
    const sel = selectorString({ matchLabels: selector });
    const near = nearestPods(selector, live);
    const differs = near[0] ? Object.entries(near[0].differs).map(([k, v]) => (v === null ? `no ${k} label` : `${k}=${v}`)).join(', ') : '';
    out.push({
      name: 'service selects no pods', level: 'fail', object: ref('Service', name, ns),
      detail: `service/${name} selects ${sel}: no pod has these labels${near[0] ? `; closest: pod ${near[0].pod} has ${differs}` : ` (${live.length} pods in the namespace)`}`,
      hint: near[0] ? `fix the selector or the pod labels: kubectl -n ${ns} get pods --show-labels; kubectl -n ${ns} get service ${name} -o jsonpath='{.spec.selector}'` : `kubectl -n ${ns} get pods --show-labels`,
      evidence: { selector, nearest: near },
    });
  }
  return out;
}

function ingressFindings(input: DiagnoseInput): Finding[] {
  const ns = input.namespace;
  const out: Finding[] = [];
  for (const ing of input.ingresses) {
    const name = ing.metadata?.name ?? '?';
    const backends = [
      ...(ing.spec?.defaultBackend?.service ? [{ host: '*', path: '(default)', svc: ing.spec.defaultBackend.service }] : []),
      ...(ing.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).filter((p) => p.backend.service).map((p) => ({ host: r.host ?? '*', path: p.path ?? '/', svc: p.backend.service! }))),
    ];
    for (const b of backends) {
      const port = b.svc.port?.number ?? b.svc.port?.name;
      const svc = input.services.find((s) => s.metadata?.name === b.svc.name);
      const where = `${b.host}${b.path}`;
      if (!svc) {
        out.push({
          name: 'ingress to a missing service', level: 'fail', object: ref('Ingress', name, ns),
          detail: `ingress/${name}: ${where} goes to service ${b.svc.name}, which does not exist (services: ${input.services.map((s) => s.metadata?.name).join(', ') || 'none'})`,
          hint: `kubectl -n ${ns} get services   # then fix the backend of ingress ${name}`,
          evidence: { host: b.host, path: b.path, service: b.svc.name, port: port ?? null, services: input.services.map((s) => s.metadata?.name) },
        });
        continue;
      }
      const ports = svc.spec?.ports ?? [];
      if (port !== undefined && !ports.some((p) => (typeof port === 'number' ? p.port === port : p.name === port))) {
        out.push({
          name: 'ingress to a missing port', level: 'fail', object: ref('Ingress', name, ns),
          detail: `ingress/${name}: ${where} goes to port ${port} of service ${b.svc.name}, which has ${ports.map((p) => `${p.port}${p.name ? ` (${p.name})` : ''}`).join(', ') || 'no ports'}`,
          hint: `kubectl -n ${ns} get service ${b.svc.name} -o jsonpath='{.spec.ports}'   # then fix the backend port of ingress ${name}`,
          evidence: { host: b.host, path: b.path, service: b.svc.name, port, servicePorts: ports.map((p) => ({ port: p.port, name: p.name ?? null })) },
        });
      }
    }
  }
  return out;
}

function hpaFindings(input: DiagnoseInput): Finding[] {
  const ns = input.namespace;
  const out: Finding[] = [];
  for (const h of input.hpas) {
    const name = h.metadata?.name ?? '?';
    const target = h.spec?.scaleTargetRef;
    const conds = h.status?.conditions ?? [];
    const bad = conds.find((c) => (c.type === 'ScalingActive' || c.type === 'AbleToScale') && c.status === 'False');
    const created = h.metadata?.creationTimestamp ? new Date(h.metadata.creationTimestamp).getTime() : 0;
    const young = (input.now.getTime() - created) / 1000 < 60;
    if (!bad && (h.status?.currentMetrics?.length || young || !h.spec?.metrics?.length)) continue;
    const why = bad ? `${bad.reason}: ${oneLine(bad.message)}` : 'no current metrics';
    const missingRequest = /missing request for (\w+)/.exec(bad?.message ?? '')?.[1];
    out.push({
      name: 'HPA without metrics', level: 'fail', object: ref('HorizontalPodAutoscaler', name, ns),
      detail: `hpa/${name} (${target?.kind?.toLowerCase()}/${target?.name}) cannot scale: ${why}`,
      hint: missingRequest
        ? `set resources.requests.${missingRequest} on every container of ${target?.kind?.toLowerCase()}/${target?.name}`
        : `kubectl -n ${ns} describe hpa ${name}; kubectl top pods -n ${ns}   # is the metrics API served?`,
      evidence: { reason: bad?.reason ?? 'NoMetrics', message: bad?.message ?? null, target: `${target?.kind}/${target?.name}`, ...(missingRequest ? { missingRequest } : {}) },
    });
  }
  return out;
}

function pvcFindings(input: DiagnoseInput, cutoff: number): Finding[] {
  const ns = input.namespace;
  return input.pvcs
    .filter((c) => c.status?.phase === 'Pending' || c.status?.phase === 'Lost')
    .map((c) => {
      const name = c.metadata?.name ?? '?';
      const ev = input.events
        .filter((e) => e.involvedObject.kind === 'PersistentVolumeClaim' && e.involvedObject.name === name && eventTime(e) >= cutoff)
        .sort((a, b) => eventTime(b) - eventTime(a))[0];
      const sc = c.spec?.storageClassName;
      return {
        name: 'volume claim pending', level: 'fail' as const, object: ref('PersistentVolumeClaim', name, ns),
        detail: `pvc/${name}: ${c.status?.phase} (storage class ${sc ?? 'default'}, ${c.spec?.resources?.requests?.storage ?? '?'})${ev ? `: ${ev.reason}: ${oneLine(ev.message)}` : ''}`,
        hint: `kubectl get storageclass   # is ${sc ? `"${sc}"` : 'a default class'} there, with a provisioner?; kubectl -n ${ns} describe pvc ${name}`,
        evidence: { phase: c.status?.phase, storageClass: sc ?? null, ...(ev ? { reason: ev.reason, message: ev.message } : {}) },
      };
    });
}

function rolloutFindings(input: DiagnoseInput, live: V1Pod[]): Finding[] {
  const ns = input.namespace;
  const out: Finding[] = [];
  for (const d of input.deployments) {
    const name = d.metadata?.name ?? '?';
    const conds = d.status?.conditions ?? [];
    const progressing = conds.find((c) => c.type === 'Progressing');
    const failure = conds.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    const sel = d.spec?.selector?.matchLabels ?? {};
    const pods = live.filter((p) => selects(sel, p.metadata?.labels));
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      const blamed = blamePod(pods);
      out.push({
        name: 'rollout stuck', level: 'fail', object: ref('Deployment', name, ns),
        detail: `deployment/${name}: progress deadline exceeded (${oneLine(progressing.message)}); ${d.status?.updatedReplicas ?? 0}/${d.spec?.replicas ?? 1} updated, ${d.status?.availableReplicas ?? 0} available${blamed ? `; pod ${blamed.problem.pod}: ${blamed.problem.reason}` : ''}`,
        hint: blamed ? `npx zx scripts/debug.ts -n ${ns} ${blamed.problem.pod}; or roll back: kubectl -n ${ns} rollout undo deployment/${name}` : `kubectl -n ${ns} rollout undo deployment/${name}`,
        evidence: { reason: 'ProgressDeadlineExceeded', message: progressing.message, updated: d.status?.updatedReplicas ?? 0, desired: d.spec?.replicas ?? 1, ...(blamed ? { pod: blamed.problem.pod, podReason: blamed.problem.reason } : {}) },
      });
    } else if (failure) {
      out.push({
        name: 'pods cannot be created', level: 'fail', object: ref('Deployment', name, ns),
        detail: `deployment/${name}: ${failure.reason}: ${oneLine(failure.message)}`,
        hint: `kubectl -n ${ns} describe deployment ${name}`,
        evidence: { reason: failure.reason, message: failure.message },
      });
    }
  }
  return out;
}

/** Every problem in the namespace, one finding each; an ok finding when there is none. */
export function diagnose(input: DiagnoseInput): Finding[] {
  const ns = input.namespace;
  const cutoff = input.now.getTime() - input.sinceSec * 1000;
  const live = input.pods.filter((p) => !p.metadata?.deletionTimestamp);
  const findings: Finding[] = [];
  for (const p of live) {
    const f = podFinding(p, { input, ns, events: podEvents(input, p, cutoff) });
    if (f) findings.push(f);
  }
  findings.push(...rolloutFindings(input, live), ...serviceFindings(input, live), ...ingressFindings(input), ...hpaFindings(input), ...pvcFindings(input, cutoff));
  if (!findings.length)
    findings.push({ name: 'no problems', level: 'ok', detail: `nothing wrong in namespace ${ns}: ${live.length} pods, ${input.deployments.length + input.statefulSets.length} workloads, ${input.services.length} services checked` });
  return findings;
}

/** The failing pods a problem is about: what narrowing to one object and the bundle's logs look at. */
export const failingPods = (pods: readonly V1Pod[]): V1Pod[] => pods.filter((p) => !p.metadata?.deletionTimestamp && (failingContainers(p).length > 0 || (!isReady(p) && p.status?.phase !== 'Succeeded')));

export type TargetKind = 'Pod' | 'Deployment' | 'StatefulSet' | 'Job' | 'Service';
const aliases: Record<string, TargetKind> = {
  pod: 'Pod', pods: 'Pod', po: 'Pod', deployment: 'Deployment', deployments: 'Deployment', deploy: 'Deployment',
  statefulset: 'StatefulSet', statefulsets: 'StatefulSet', sts: 'StatefulSet', job: 'Job', jobs: 'Job',
  service: 'Service', services: 'Service', svc: 'Service',
};

/**
 * The object `debug NAME` (or `debug kind/NAME`) means: a pod, deployment,
 * statefulset, job or service of that name, in that order. Undefined when
 * there is none; a string when the kind itself is unknown.
 */
export function resolveTarget(input: Pick<DiagnoseInput, 'pods' | 'deployments' | 'statefulSets' | 'jobs' | 'services'>, arg: string): { kind: TargetKind; name: string } | undefined | string {
  const slash = arg.indexOf('/');
  const kind = slash > 0 ? aliases[arg.slice(0, slash).toLowerCase()] : undefined;
  if (slash > 0 && !kind) return `unknown kind "${arg.slice(0, slash)}": use pod, deployment, statefulset, job or service`;
  const name = slash > 0 ? arg.slice(slash + 1) : arg;
  const lists: [TargetKind, { metadata?: { name?: string } }[]][] = [['Pod', input.pods], ['Deployment', input.deployments], ['StatefulSet', input.statefulSets], ['Job', input.jobs], ['Service', input.services]];
  for (const [k, list] of lists) if ((!kind || kind === k) && list.some((o) => o.metadata?.name === name)) return { kind: k, name };
  return undefined;
}

/** The objects a target's problems can be about: itself, its pods, their owners, Services, Ingresses, HPAs and claims. */
export function relatedObjects(input: DiagnoseInput, target: { kind: TargetKind; name: string }): Set<string> {
  const key = (kind: string, name: string | undefined) => `${kind}/${name}`;
  const set = new Set<string>([key(target.kind, target.name)]);
  const live = input.pods.filter((p) => !p.metadata?.deletionTimestamp);
  const workloads: { kind: string; name?: string; labels: Record<string, string>; template: Record<string, string> }[] = [
    ...input.deployments.map((d) => ({ kind: 'Deployment', name: d.metadata?.name, labels: d.spec?.selector?.matchLabels ?? {}, template: d.spec?.template?.metadata?.labels ?? {} })),
    ...input.statefulSets.map((d) => ({ kind: 'StatefulSet', name: d.metadata?.name, labels: d.spec?.selector?.matchLabels ?? {}, template: d.spec?.template?.metadata?.labels ?? {} })),
    ...input.jobs.map((d) => ({ kind: 'Job', name: d.metadata?.name, labels: d.spec?.selector?.matchLabels ?? {}, template: d.spec?.template?.metadata?.labels ?? {} })),
  ];
  let pods: V1Pod[] = [];
  const services = new Set<string>();
  if (target.kind === 'Pod') {
    const pod = live.find((p) => p.metadata?.name === target.name);
    pods = pod ? [pod] : [];
    for (const w of workloads) if (pod && Object.keys(w.labels).length && selects(w.labels, pod.metadata?.labels)) set.add(key(w.kind, w.name));
  } else if (target.kind === 'Service') {
    const sel = input.services.find((s) => s.metadata?.name === target.name)?.spec?.selector;
    pods = sel && Object.keys(sel).length ? live.filter((p) => selects(sel, p.metadata?.labels)) : [];
    services.add(target.name);
  } else {
    const w = workloads.find((x) => x.kind === target.kind && x.name === target.name)!;
    pods = Object.keys(w.labels).length ? live.filter((p) => selects(w.labels, p.metadata?.labels) || p.metadata?.ownerReferences?.some((o) => o.kind === target.kind && o.name === target.name)) : [];
    for (const s of input.services) if (s.spec?.selector && Object.keys(s.spec.selector).length && selects(s.spec.selector, w.template)) services.add(s.metadata!.name!);
  }
  for (const p of pods) {
    set.add(key('Pod', p.metadata?.name));
    for (const v of p.spec?.volumes ?? []) if (v.persistentVolumeClaim) set.add(key('PersistentVolumeClaim', v.persistentVolumeClaim.claimName));
    for (const s of input.services) if (s.spec?.selector && Object.keys(s.spec.selector).length && selects(s.spec.selector, p.metadata?.labels)) services.add(s.metadata!.name!);
  }
  for (const s of services) set.add(key('Service', s));
  for (const ing of input.ingresses) {
    const names = [ing.spec?.defaultBackend?.service?.name, ...(ing.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((x) => x.backend.service?.name))];
    if (names.some((n) => n && services.has(n))) set.add(key('Ingress', ing.metadata?.name));
  }
  for (const h of input.hpas) if (set.has(key(h.spec?.scaleTargetRef.kind ?? '', h.spec?.scaleTargetRef.name))) set.add(key('HorizontalPodAutoscaler', h.metadata?.name));
  return set;
}
