// debug's pod analyzers, as k8sgpt has them: one small function per class of
// problem, each given the pod's facts and returning its finding or nothing.
// The table is tried in order and the first finding wins, so the order is the
// precedence: a missing reference explains a config error, a memory kill is
// read before the crash loop it causes, and "not ready" is the last word.
import type { CoreV1Event, V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import type { Finding, ObjectRef } from '../../kit/result.ts';
import { containerStatuses, oomKilled, podProblem, reasonClass, type PodProblem } from '../../kube/pod-status.ts';
import { formatBytes, parseQuantity } from '../../kube/quantity.ts';
import { logKey, type DiagnoseInput, type LogTail, type Scope } from '../input.ts';
import { eventTime, oneLine, podName, ref } from '../read.ts';
import { allContainers, describeRef, missingRefs, type MissingRef } from '../refs.ts';

/** Pods younger than this that are only "not ready yet" are starting, not failing. */
const startingGraceSec = 120;
/** Log lines quoted in a finding's detail (the evidence holds all fetched). */
const quotedInDetail = 3;

/** What the analyzers know of one pod, read once. */
interface PodFacts {
  p: V1Pod;
  input: DiagnoseInput;
  ns: string;
  name: string;
  object: ObjectRef;
  /** the pod's Warning events since the cutoff, newest first */
  events: CoreV1Event[];
  /** the next command when nothing more telling fits */
  describe: string;
  missing: MissingRef[];
  /** undefined: podProblem sees nothing wrong */
  problem?: PodProblem;
  own?: { kind: string; name: string };
  ownerEv: { owner?: string };
}

/** The facts of a pod podProblem finds something wrong with. */
interface Troubled extends PodFacts {
  problem: PodProblem;
  container?: string;
  spec?: V1Container;
}

type PodAnalyzer = (f: Troubled) => Finding | undefined;

/** The container a pod event is about, from its fieldPath "spec.containers{app}". */
const eventContainer = (e: CoreV1Event) => /\{([^}]+)\}/.exec(e.involvedObject.fieldPath ?? '')?.[1];

/** What a probe checks, in words: "GET :http/readyz", "TCP :5432", "exec pg_isready". */
export function probeTarget(probe: V1Probe | undefined): string | undefined {
  if (!probe) return undefined;
  if (probe.httpGet)
    return `${probe.httpGet.scheme === 'HTTPS' ? 'HTTPS ' : ''}GET :${probe.httpGet.port}${probe.httpGet.path ?? '/'}`;
  if (probe.tcpSocket) return `TCP :${probe.tcpSocket.port}`;
  if (probe.grpc) return `gRPC :${probe.grpc.port}${probe.grpc.service ? ` ${probe.grpc.service}` : ''}`;
  if (probe.exec) return `exec ${(probe.exec.command ?? []).join(' ')}`;
  return undefined;
}

/** "cpu 64, memory 1Gi": the containers' summed requests. */
function requestsOf(p: V1Pod): Record<string, string> {
  const sum: Record<string, number> = {};
  for (const c of p.spec?.containers ?? [])
    for (const [k, v] of Object.entries(c.resources?.requests ?? {})) sum[k] = (sum[k] ?? 0) + (parseQuantity(v) ?? 0);
  return Object.fromEntries(
    Object.entries(sum).map(([k, v]) => [
      k,
      k === 'memory' || k.endsWith('storage') ? formatBytes(v) : String(Number(v.toFixed(3))),
    ]),
  );
}

function podEvents(input: DiagnoseInput, p: V1Pod, cutoff: number): CoreV1Event[] {
  const uid = p.metadata?.uid;
  return input.events
    .filter(
      (e) =>
        e.involvedObject.kind === 'Pod' &&
        e.involvedObject.name === p.metadata?.name &&
        (!uid || !e.involvedObject.uid || e.involvedObject.uid === uid) &&
        eventTime(e) >= cutoff,
    )
    .sort((a, b) => eventTime(b) - eventTime(a));
}

function owner(p: V1Pod): { kind: string; name: string } | undefined {
  const o = p.metadata?.ownerReferences?.find((r) => r.controller) ?? p.metadata?.ownerReferences?.[0];
  return o ? { kind: o.kind, name: o.name } : undefined;
}

function quoteLog(tail: LogTail | undefined): { text: string; evidence: Record<string, unknown> } {
  if (!tail) return { text: '', evidence: {} };
  if (tail.unavailable || !tail.lines.length)
    return {
      text: `; no log lines (${tail.unavailable ?? 'the log is empty'})`,
      evidence: { logLines: [], logUnavailable: tail.unavailable ?? 'empty' },
    };
  const q = tail.lines
    .slice(-quotedInDetail)
    .map((l) => JSON.stringify(l))
    .join(', ');
  return {
    text: `; ${tail.previous ? 'the previous container' : 'it'} last printed: ${q}`,
    evidence: { logLines: tail.lines, logPrevious: tail.previous },
  };
}

/** The failing container's fetched log tail, quoted. */
const lastLog = (f: Troubled) => quoteLog(f.container ? f.input.logs?.get(logKey(f.name, f.container)) : undefined);

/** The container has stopped with an exit code (not waiting to restart). */
const terminatedNow = (f: Troubled) =>
  f.problem.exitCode !== undefined && containerStatuses(f.p).some((s) => s.name === f.container && s.state?.terminated);

function usageOf(input: DiagnoseInput, pod: string, container: string): number | undefined {
  const c = input.metrics?.find((m) => m.metadata.name === pod)?.containers.find((x) => x.name === container);
  return c ? parseQuantity(c.usage.memory) : undefined;
}

/**
 * A missing ConfigMap/Secret/key: the kubelet's CreateContainerConfigError, or (before the kubelet tries) the
 * spec itself. The one analyzer that also runs on a pod podProblem finds nothing wrong with.
 */
function missingConfig(f: PodFacts): Finding | undefined {
  const { problem, missing, name, ns } = f;
  if (!(problem?.reason === 'CreateContainerConfigError' || missing.length)) return undefined;
  const what = missing.length
    ? missing.map((m) => `${describeRef(m)} (${m.via} of container ${m.container})`).join('; ')
    : oneLine(problem?.message);
  const first = missing[0];
  const hint = first
    ? first.key
      ? `kubectl -n ${ns} get ${first.kind.toLowerCase()} ${first.name} -o jsonpath='{.data}' | jq keys   # then add ${first.key}, or fix the reference`
      : `kubectl -n ${ns} get ${first.kind.toLowerCase()}s   # create ${first.kind} ${first.name}, or fix the reference`
    : f.describe;
  return {
    name: 'missing config',
    level: 'fail',
    object: f.object,
    detail: `${name}: ${problem?.reason === 'CreateContainerConfigError' ? `CreateContainerConfigError: ${oneLine(problem.message)}; ` : ''}refers to a missing ${what}`,
    hint,
    evidence: {
      reason: problem?.reason ?? 'missing reference',
      ...(problem?.message ? { message: problem.message } : {}),
      missing,
      ...f.ownerEv,
    },
  };
}

const unschedulable: PodAnalyzer = (f) => {
  const { p, problem, events, name, ns } = f;
  // A pod whose condition names another reason (or none) still tells by the scheduler's events.
  const waitingForNode =
    p.status?.phase === 'Pending' && !p.spec?.nodeName && events.some((e) => e.reason === 'FailedScheduling');
  if (reasonClass(problem.reason) !== 'unschedulable' && !waitingForNode) return undefined;
  const scheduler = problem.message ?? events.find((e) => e.reason === 'FailedScheduling')?.message ?? 'no node fits';
  const requests = requestsOf(p);
  const pvc = /unbound .*PersistentVolumeClaims/.test(scheduler);
  return {
    name: 'unschedulable',
    level: 'fail',
    object: f.object,
    detail: `${name}: the scheduler says: ${oneLine(scheduler)}${
      Object.keys(requests).length
        ? ` (requests ${Object.entries(requests)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`
        : ''
    }`,
    hint: pvc
      ? `kubectl -n ${ns} get pvc   # a claim of this pod is not bound`
      : `kubectl describe nodes | grep -A8 'Allocated resources'   # then lower the requests or add a node`,
    evidence: { reason: 'Unschedulable', message: scheduler, requests, ...f.ownerEv },
  };
};

const imagePull: PodAnalyzer = (f) => {
  const { problem, events, name, container } = f;
  if (reasonClass(problem.reason) !== 'image') return undefined;
  const image = f.spec?.image ?? '?';
  // The kubelet pairs its explanation with a bare "Error: ErrImagePull" (reason Failed, which also matches /image/i): skip that one.
  const pull = events.find(
    (e) =>
      e.reason === 'Failed' &&
      /image/i.test(e.message ?? '') &&
      !/^Error: \w+$/.test(e.message ?? '') &&
      (!eventContainer(e) || eventContainer(e) === container),
  );
  const why = oneLine(pull?.message ?? problem.message);
  return {
    name: 'image pull error',
    level: 'fail',
    object: f.object,
    detail: `${name}: cannot pull image ${image} (${problem.reason})${why ? `: ${why}` : ''}`,
    hint: `check that ${image} exists and the node can pull it (registry, tag, imagePullSecrets): ${f.describe}`,
    evidence: { reason: problem.reason, image, container, ...(why ? { message: why } : {}), ...f.ownerEv },
  };
};

const outOfMemory: PodAnalyzer = (f) => {
  const { problem, name, ns, container } = f;
  if (!oomKilled(problem)) return undefined;
  const log = lastLog(f);
  const limit = f.spec?.resources?.limits?.memory;
  const used = container ? usageOf(f.input, name, container) : undefined;
  return {
    name: 'OOMKilled',
    level: 'fail',
    object: f.object,
    detail: `${name}: container ${container} was killed for using more memory than its limit (${limit ?? 'no limit set'})${used !== undefined ? `; using ${formatBytes(used)} now` : ''}, exit code ${problem.exitCode ?? 137}, ${problem.restarts ?? 0} restarts${log.text}`,
    hint: `raise the memory limit of ${container} (now ${limit ?? 'none'}) or find the leak: kubectl -n ${ns} logs ${name} -c ${container} --previous`,
    evidence: {
      reason: 'OOMKilled',
      container,
      limit: limit ?? null,
      usage: used !== undefined ? formatBytes(used) : null,
      usageBytes: used ?? null,
      exitCode: problem.exitCode ?? 137,
      restarts: problem.restarts ?? 0,
      ...log.evidence,
      ...f.ownerEv,
    },
  };
};

/** restartPolicy Never: the pod will not be retried, so it is a failure, not a loop. */
const failedPod: PodAnalyzer = (f) => {
  const { p, problem, name, ns, container, own } = f;
  if (!(p.spec?.restartPolicy === 'Never' && (p.status?.phase === 'Failed' || terminatedNow(f)))) return undefined;
  const log = lastLog(f);
  const job = own?.kind === 'Job' ? f.input.jobs.find((j) => j.metadata?.name === own.name) : undefined;
  const jobFailed = job?.status?.conditions?.find((x) => x.type === 'Failed' && x.status === 'True');
  const hook = p.metadata?.annotations?.['helm.sh/hook'];
  return {
    name: 'pod failed',
    level: 'fail',
    object: f.object,
    detail: `${name}${own ? ` (${own.kind.toLowerCase()}/${own.name})` : hook ? ` (helm ${hook} hook)` : ''}: ${problem.lastReason ?? problem.reason}, exit code ${problem.exitCode ?? '?'}, restartPolicy Never: it will not be retried${jobFailed ? `; the Job failed: ${jobFailed.reason}` : ''}${log.text}`,
    hint: container ? `kubectl -n ${ns} logs ${name} -c ${container}` : f.describe,
    evidence: {
      reason: problem.lastReason ?? problem.reason,
      exitCode: problem.exitCode ?? null,
      container: container ?? null,
      restartPolicy: 'Never',
      ...(jobFailed ? { jobCondition: jobFailed.reason } : {}),
      ...(hook ? { hook } : {}),
      ...log.evidence,
      ...f.ownerEv,
    },
  };
};

const crashLoop: PodAnalyzer = (f) => {
  const { problem, events, name, ns, container } = f;
  // Of the config class only the runtime's own failures get here (missingConfig took CreateContainerConfigError):
  // a command that cannot start fails like a crash, and its logs say why.
  const cls = reasonClass(problem.reason);
  if (!(cls === 'crash' || cls === 'config' || terminatedNow(f))) return undefined;
  const log = lastLog(f);
  const liveness = events.find((e) => e.reason === 'Unhealthy' && /^Liveness probe failed/.test(e.message ?? ''));
  return {
    name: 'crash loop',
    level: 'fail',
    object: f.object,
    detail: `${name}: container ${container} ${problem.reason === 'CrashLoopBackOff' ? 'is crash-looping' : `failed (${problem.reason})`}: last exit code ${problem.exitCode ?? '?'} (${problem.lastReason ?? problem.reason}), ${problem.restarts ?? 0} restarts${liveness ? `; killed by its liveness probe: ${oneLine(liveness.message)}` : ''}${log.text}`,
    hint: `kubectl -n ${ns} logs ${name} -c ${container} --previous`,
    evidence: {
      reason: problem.reason,
      lastReason: problem.lastReason ?? null,
      exitCode: problem.exitCode ?? null,
      restarts: problem.restarts ?? 0,
      container: container ?? null,
      ...(problem.message ? { message: problem.message } : {}),
      ...(liveness ? { livenessProbe: liveness.message } : {}),
      ...log.evidence,
      ...f.ownerEv,
    },
  };
};

const failingProbe: PodAnalyzer = (f) => {
  const { p, events, name, ns, container } = f;
  const unhealthy = events.filter((e) => e.reason === 'Unhealthy');
  const newest = unhealthy[0];
  if (!newest) return undefined;
  const m = /^(Readiness|Liveness|Startup) probe failed: ?([\s\S]*)$/.exec(newest.message ?? '');
  const kind = (m?.[1] ?? 'Readiness').toLowerCase();
  const probeContainer = eventContainer(newest) ?? container ?? p.spec?.containers?.[0]?.name;
  const cspec = allContainers(p).find((x) => x.name === probeContainer);
  const probe = (cspec as Record<string, unknown> | undefined)?.[`${kind}Probe`] as V1Probe | undefined;
  const target = probeTarget(probe);
  const answer = oneLine(m?.[2] ?? newest.message);
  const count = unhealthy
    .filter((e) => (e.message ?? '').startsWith(m?.[1] ?? ''))
    .reduce((n, e) => n + (e.count ?? 1), 0);
  return {
    name: 'probe failing',
    level: 'fail',
    object: f.object,
    detail: `${name}: ${kind} probe${target ? ` ${target}` : ''} of container ${probeContainer} fails: ${answer} (${count} times)`,
    hint: probe?.httpGet
      ? `kubectl -n ${ns} port-forward pod/${name} 8080:${probe.httpGet.port} & curl -i localhost:8080${probe.httpGet.path ?? '/'}`
      : f.describe,
    evidence: {
      reason: 'Unhealthy',
      probe: kind,
      container: probeContainer ?? null,
      ...(probe?.httpGet ? { path: probe.httpGet.path ?? '/', port: probe.httpGet.port } : {}),
      ...(target ? { target } : {}),
      answer,
      count,
      ...f.ownerEv,
    },
  };
};

/** The last word: not ready for a reason none of the above knows; a warning while the pod is young. */
const notReady: PodAnalyzer = (f) => {
  const { p, problem, name, container } = f;
  const created = p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0;
  const ageSec = (f.input.now.getTime() - created) / 1000;
  const starting = ageSec < startingGraceSec;
  return {
    name: 'pod not ready',
    level: starting ? 'warn' : 'fail',
    ...(starting ? { required: false } : {}),
    object: f.object,
    detail: `${name}: ${problem.reason}${problem.message ? `: ${oneLine(problem.message)}` : ''}${starting ? ` (started ${Math.round(ageSec)}s ago)` : ''}`,
    hint: f.describe,
    evidence: {
      reason: problem.reason,
      ...(problem.message ? { message: problem.message } : {}),
      ...(container ? { container } : {}),
      ageSec: Math.round(ageSec),
      ...f.ownerEv,
    },
  };
};

/** In precedence order: the first finding wins. */
const podAnalyzers: readonly PodAnalyzer[] = [
  missingConfig,
  unschedulable,
  imagePull,
  outOfMemory,
  failedPod,
  crashLoop,
  failingProbe,
  notReady,
];

/** One finding for a pod's problem, or none when it is fine. */
export function podFinding(p: V1Pod, s: Scope): Finding | undefined {
  const name = podName(p);
  const events = podEvents(s.input, p, s.cutoff);
  const own = owner(p);
  const facts: PodFacts = {
    p,
    input: s.input,
    ns: s.ns,
    name,
    events,
    object: ref('Pod', name, s.ns),
    describe: `kubectl -n ${s.ns} describe pod ${name}`,
    missing: missingRefs(p, s.input.configMaps, s.input.secrets),
    problem: podProblem(p, events),
    own,
    ownerEv: own ? { owner: `${own.kind.toLowerCase()}/${own.name}` } : {},
  };
  const { problem } = facts;
  if (!problem) return missingConfig(facts);
  const troubled: Troubled = {
    ...facts,
    problem,
    container: problem.container,
    spec: allContainers(p).find((x) => x.name === problem.container),
  };
  for (const analyze of podAnalyzers) {
    const found = analyze(troubled);
    if (found) return found;
  }
  return undefined;
}
