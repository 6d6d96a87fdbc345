// What a pod's status says: whether it is Ready, why not (podProblem: the one
// reading a failed rollout, debug, deploy's settle and self-heal all give), and
// the class of a failing reason. Callers ask here rather than keep their own
// lists, so a kubelet reason is classified once and the callers cannot drift.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';

/** The pod's Ready condition is True (what `kubectl get pods` counts as ready). */
export const isReady = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Init containers' statuses first, as the kubelet starts them. */
export const containerStatuses = (p: V1Pod) => [
  ...(p.status?.initContainerStatuses ?? []),
  ...(p.status?.containerStatuses ?? []),
];

/** Ready, Running and not going away: a pod that can take a connection now (a Terminating pod may still be Ready). */
export const isServing = (p: V1Pod): boolean =>
  !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && isReady(p);

/**
 * What a failing reason is about: the image (cannot be pulled or named), the
 * container's config (the kubelet cannot create or start it from its spec), a
 * crash (it ran and exited non-zero), oom (killed over its memory limit),
 * unschedulable (no node fits), or the pod as a whole (failed, evicted).
 */
export type ReasonClass = 'image' | 'config' | 'crash' | 'oom' | 'unschedulable' | 'pod';

const classes = new Map<string, ReasonClass>([
  ['ErrImagePull', 'image'],
  ['ImagePullBackOff', 'image'],
  ['ErrImageNeverPull', 'image'],
  ['InvalidImageName', 'image'],
  ['CreateContainerConfigError', 'config'],
  ['CreateContainerError', 'config'],
  ['RunContainerError', 'config'],
  ['CrashLoopBackOff', 'crash'],
  ['Error', 'crash'],
  ['OOMKilled', 'oom'],
  ['Unschedulable', 'unschedulable'],
  ['Failed', 'pod'],
  ['Evicted', 'pod'],
]);

/** The class of a container's or pod's reason; undefined for one that is not a failure (NotReady, Pending, ContainerCreating...). */
export const reasonClass = (reason: string | undefined): ReasonClass | undefined =>
  reason === undefined ? undefined : classes.get(reason);

/** A reason that is unlikely to go away on its own: ranked before a pod that is merely not ready yet. */
export const isFailing = (reason: string | undefined): boolean => reasonClass(reason) !== undefined;

/** A container of a scheduled pod is failing (image, config, crash or memory): not a pod waiting for a node. */
export const isContainerFailure = (reason: string | undefined): boolean => {
  const c = reasonClass(reason);
  return c === 'image' || c === 'config' || c === 'crash' || c === 'oom';
};

// The kubelet retries an image pull back-off or a crash loop, and either may recover (a registry blip, a
// dependency coming up); it never retries these: the node is told never to pull, or the name cannot parse.
const waitingCannotFixReasons = new Set(['ErrImageNeverPull', 'InvalidImageName']);

/** No wait can fix this while the pod runs the same spec: only a new spec can. */
export const waitingCannotFix = (reason: string | undefined): boolean =>
  reason !== undefined && waitingCannotFixReasons.has(reason);

export interface PodProblem {
  pod: string;
  /** ImagePullBackOff, CrashLoopBackOff, Unschedulable, NotReady, Error... */
  reason: string;
  message?: string;
  container?: string;
  /** the last termination's exit code (crash loops) */
  exitCode?: number;
  /** the last termination's reason (Error, OOMKilled, Completed...): why a crash-looping container died */
  lastReason?: string;
  restarts?: number;
}

/** Killed over its memory limit, now or the last time it died. */
export const oomKilled = (p: PodProblem): boolean =>
  reasonClass(p.lastReason) === 'oom' || reasonClass(p.reason) === 'oom';

/** Why a pod is not ready, from its status (and its events for a failing probe); undefined when it is ready or going away. */
export function podProblem(pod: V1Pod, events: readonly CoreV1Event[] = []): PodProblem | undefined {
  if (pod.metadata?.deletionTimestamp || isReady(pod) || pod.status?.phase === 'Succeeded') return undefined;
  const base = { pod: pod.metadata?.name ?? '?' };
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False')
    return { ...base, reason: scheduled.reason ?? 'Unschedulable', message: scheduled.message };
  const statuses = containerStatuses(pod);
  for (const cs of statuses) {
    const last = cs.lastState?.terminated;
    const extra = {
      container: cs.name,
      restarts: cs.restartCount,
      ...(last ? { exitCode: last.exitCode, ...(last.reason ? { lastReason: last.reason } : {}) } : {}),
    };
    const w = cs.state?.waiting;
    if (w?.reason && w.reason !== 'PodInitializing') return { ...base, ...extra, reason: w.reason, message: w.message };
    const t = cs.state?.terminated;
    // Caught the instant after a crash (kubectl shows "Error"): with restarts behind it and a policy that restarts it, that is a crash loop.
    const restarts = pod.spec?.restartPolicy !== 'Never' && (cs.restartCount ?? 0) > 0;
    if (t && t.exitCode !== 0 && restarts)
      return {
        ...base,
        ...extra,
        reason: 'CrashLoopBackOff',
        message: `exited with code ${t.exitCode} (${t.reason ?? 'Error'}), restarting`,
        exitCode: t.exitCode,
        lastReason: t.reason ?? 'Error',
      };
    if (t && t.exitCode !== 0)
      return {
        ...base,
        ...extra,
        reason: t.reason ?? 'Error',
        message: t.message,
        exitCode: t.exitCode,
        lastReason: t.reason ?? 'Error',
      };
  }
  if (pod.status?.phase === 'Failed')
    return { ...base, reason: pod.status.reason ?? 'Failed', message: pod.status.message };
  // Between two back-offs a crash-looping container runs for a moment (not ready): still a crash loop, with its last exit.
  const rerun = statuses.find(
    (cs) =>
      cs.state?.running && !cs.ready && (cs.restartCount ?? 0) > 0 && (cs.lastState?.terminated?.exitCode ?? 0) !== 0,
  );
  if (rerun) {
    const last = rerun.lastState!.terminated!;
    return {
      ...base,
      reason: 'CrashLoopBackOff',
      container: rerun.name,
      restarts: rerun.restartCount,
      exitCode: last.exitCode,
      lastReason: last.reason ?? 'Error',
      message: `running again after exiting with code ${last.exitCode} (${last.reason ?? 'Error'}), not ready`,
    };
  }
  const notReady = statuses.find((cs) => cs.state?.running && !cs.ready);
  const unhealthy = events.find((e) => e.reason === 'Unhealthy');
  if (notReady || unhealthy)
    return {
      ...base,
      reason: 'NotReady',
      container: notReady?.name,
      restarts: notReady?.restartCount,
      message: unhealthy?.message ?? `container ${notReady?.name} is running but not ready`,
    };
  const warning = events.find((e) => e.type === 'Warning');
  return { ...base, reason: warning?.reason ?? pod.status?.phase ?? 'Pending', message: warning?.message };
}
