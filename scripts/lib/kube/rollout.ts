// Rollout wait for Deployments and StatefulSets, the way `kubectl rollout
// status` decides, but on informers (one List of the workload and one of its
// pods, then watches) and with an answer when it fails: the pod that is
// holding the rollout back and why (image pull, crash loop with exit code,
// unschedulable with the scheduler's message, not ready with the probe's).
// The decisions are pure functions of plain objects, unit-tested on their own.
import type { V1Deployment, V1LabelSelector, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { Exit, OpsError } from '../kit/errors.ts';
import type { Informed, Kube } from './client.ts';
import { isFailing, podProblem, reasonClass, waitingCannotFix, type PodProblem } from './pod-status.ts';
import { watchUntil } from './watch.ts';

export type WorkloadKind = 'Deployment' | 'StatefulSet';
type Workload = V1Deployment | V1StatefulSet;

export interface RolloutState {
  done: boolean;
  /** kubectl-like: 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available' */
  message: string;
  desired: number;
  updated: number;
  ready: number;
  available: number;
  /** the Deployment's Progressing condition says ProgressDeadlineExceeded: waiting longer will not help */
  deadlineExceeded?: string;
}

/** Where a workload's rollout stands; mirrors kubectl's rollout status viewers. */
export function rolloutState(kind: WorkloadKind, obj: Workload): RolloutState {
  const name = obj.metadata?.name ?? '?';
  const s = obj.status ?? {};
  const desired = obj.spec?.replicas ?? 1;
  const counts = {
    desired,
    updated:
      (kind === 'Deployment'
        ? (s as V1Deployment['status'] & object).updatedReplicas
        : (s as V1StatefulSet['status'] & object).updatedReplicas) ?? 0,
    ready: s.readyReplicas ?? 0,
    available: s.availableReplicas ?? 0,
  };
  const current = s.replicas ?? 0;
  const waiting = (what: string): RolloutState => ({
    done: false,
    message: `Waiting for ${kind.toLowerCase()} "${name}" rollout to finish: ${what}`,
    ...counts,
  });
  const observed = s.observedGeneration ?? 0;
  if (!observed || (obj.metadata?.generation ?? 0) > observed)
    return waiting(`waiting for the ${kind.toLowerCase()} spec update to be observed`);

  if (kind === 'Deployment') {
    const d = obj as V1Deployment;
    const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded')
      return {
        ...waiting(`deployment "${name}" exceeded its progress deadline`),
        deadlineExceeded: progressing.message ?? 'progress deadline exceeded',
      };
    if (d.spec?.paused) return waiting('the deployment is paused (kubectl rollout resume)');
    if (counts.updated < desired) return waiting(`${counts.updated} out of ${desired} new replicas have been updated`);
    if (current > counts.updated) return waiting(`${current - counts.updated} old replicas are pending termination`);
    if (counts.available < counts.updated || counts.ready < desired)
      return waiting(`${counts.available} of ${counts.updated} updated replicas are available`);
    return { done: true, message: `deployment "${name}" successfully rolled out`, ...counts };
  }

  const st = obj as V1StatefulSet;
  if (counts.ready < desired) return waiting(`${counts.ready} of ${desired} pods are ready`);
  if (counts.available < desired) return waiting(`${counts.available} of ${desired} pods are available`);
  if (current > desired) return waiting(`${current - desired} pods are pending termination`);
  if (st.spec?.updateStrategy?.type !== 'OnDelete') {
    const partition = st.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    if (partition > 0) {
      if (counts.updated < desired - partition)
        return waiting(
          `partitioned roll out: ${counts.updated} out of ${desired - partition} new pods have been updated`,
        );
    } else if (st.status?.updateRevision !== st.status?.currentRevision) {
      return waiting(`${counts.updated} pods at revision ${st.status?.updateRevision}`);
    }
  }
  return {
    done: true,
    message: `statefulset "${name}" rolling update complete: ${counts.ready} pods ready`,
    ...counts,
  };
}

/** A label selector as the API's query syntax. */
export function selectorString(sel: V1LabelSelector | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/**
 * A pod of the workload's current template that waiting cannot fix (an image the node is told never to
 * pull and does not have, a malformed image name); undefined otherwise. A pod of an older template does
 * not count: the rollout may be replacing it.
 */
export function hopelessPod(pods: readonly V1Pod[], obj: Workload): PodProblem | undefined {
  const tpl = obj.spec?.template.spec;
  const images = new Map([...(tpl?.initContainers ?? []), ...(tpl?.containers ?? [])].map((c) => [c.name, c.image]));
  for (const pod of pods) {
    const p = podProblem(pod);
    if (!p?.container || !waitingCannotFix(p.reason)) continue;
    const image = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
      (c) => c.name === p.container,
    )?.image;
    if (image !== undefined && images.get(p.container) === image) return p;
  }
  return undefined;
}

/** The pod to blame for a stuck rollout: a failing one first, then the newest not-ready pod. */
export function blamePod(pods: readonly V1Pod[]): { pod: V1Pod; problem: PodProblem } | undefined {
  const created = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
  const candidates = pods
    .map((pod) => ({ pod, problem: podProblem(pod) }))
    .filter((c): c is { pod: V1Pod; problem: PodProblem } => c.problem !== undefined)
    .sort(
      (a, b) =>
        Number(isFailing(b.problem.reason)) - Number(isFailing(a.problem.reason)) || created(b.pod) - created(a.pod),
    );
  return candidates[0];
}

export function describeProblem(p: PodProblem): string {
  const facts = [
    p.container ? `container ${p.container}` : '',
    p.exitCode !== undefined ? `last exit code ${p.exitCode}` : '',
    p.restarts ? `${p.restarts} restarts` : '',
  ].filter(Boolean);
  return `pod ${p.pod}: ${p.reason}${p.message ? `: ${p.message}` : ''}${facts.length ? ` (${facts.join(', ')})` : ''}`;
}

/** What to run next for a problem. */
function hintFor(p: PodProblem | undefined, kind: WorkloadKind, name: string, ns: string): string {
  if (!p) return `kubectl -n ${ns} describe ${kind.toLowerCase()} ${name}`;
  if (reasonClass(p.reason) === 'crash' || p.exitCode !== undefined)
    return `kubectl -n ${ns} logs ${p.pod}${p.container ? ` -c ${p.container}` : ''} --previous`;
  if (reasonClass(p.reason) === 'unschedulable')
    return 'lower the resource requests or add capacity: kubectl describe nodes';
  return `kubectl -n ${ns} describe pod ${p.pod}`;
}

/** A failed rollout: the message names the pod and reason; the fields are there for findings. */
export class RolloutError extends OpsError {
  readonly state: RolloutState;
  readonly problem?: PodProblem;
  constructor(message: string, state: RolloutState, problem: PodProblem | undefined, hint: string) {
    super(message, Exit.actionFailed, hint);
    this.name = 'RolloutError';
    this.state = state;
    this.problem = problem;
  }
}

export interface RolloutOptions {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  /** seconds; scripts pass ctx.timeoutSec (TODO_TIMEOUT) */
  timeoutSec: number;
  /** each new state, for a spinner or plain progress lines */
  onProgress?: (state: RolloutState) => void;
}

/**
 * Waits until a Deployment or StatefulSet has rolled out: the spec observed,
 * every replica updated, ready and available, no old replica left. Rejects with
 * a RolloutError naming the failing pod and its reason on timeout or when the
 * Deployment's progress deadline is exceeded.
 */
export async function waitForRollout(kube: Kube, opts: RolloutOptions): Promise<RolloutState> {
  const { kind, name, namespace } = opts;
  let pods: Informed<V1Pod> | undefined;
  let last: RolloutState | undefined;
  const fail = (why: string, obj: Workload | undefined) =>
    diagnose(kube, opts, why, last ?? rolloutState(kind, { metadata: { name } }), pods?.list() ?? [], obj);
  return watchUntil<Workload, RolloutState>(kube, {
    apiVersion: 'apps/v1',
    kind,
    namespace,
    fieldSelector: `metadata.name=${name}`,
    timeoutSec: opts.timeoutSec,
    until: ([obj]) => {
      if (!obj) return undefined;
      const state = rolloutState(kind, obj);
      if (state.message !== last?.message) opts.onProgress?.(state);
      last = state;
      if (state.done) return state;
      return state.deadlineExceeded ? fail(`progress deadline exceeded (${state.deadlineExceeded})`, obj) : undefined;
    },
    onTimeout: ([obj]) => fail(`timed out after ${opts.timeoutSec}s`, obj),
    started: async (w) => {
      const obj = w.list()[0];
      if (!obj)
        return w.end(
          new OpsError(
            `${kind.toLowerCase()}/${name} not found in namespace ${namespace}`,
            Exit.actionFailed,
            `kubectl -n ${namespace} get ${kind.toLowerCase()}`,
          ),
        );
      // The pods are only needed to say what is wrong; their cache is kept warm so the answer is immediate.
      // A pod no wait can fix fails the rollout now rather than at the timeout.
      const podCache = w.open<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace,
        labelSelector: selectorString(obj.spec?.selector),
        onChange: () => {
          if (!w.ended && hopelessPod(podCache.list(), w.list()[0] ?? obj))
            w.end(fail('waiting cannot fix it', w.list()[0]));
        },
        onError: () => undefined,
      });
      pods = podCache;
      await podCache.start();
    },
  });
}

/** The error for a stuck rollout: the pod to blame (with its events), else the workload's own failure. */
async function diagnose(
  kube: Kube,
  opts: RolloutOptions,
  why: string,
  state: RolloutState,
  pods: readonly V1Pod[],
  obj: Workload | undefined,
): Promise<RolloutError> {
  const { kind, name, namespace } = opts;
  const prefix = `${kind.toLowerCase()}/${name} rollout failed: ${why}: ${state.message.replace(/^Waiting for .*? rollout to finish: /, '')}`;
  const blamed = blamePod(pods);
  if (blamed) {
    const problem = podProblem(blamed.pod, await kube.events({ ...blamed.pod, kind: 'Pod' }).catch(() => []));
    return new RolloutError(
      `${prefix}; ${describeProblem(problem!)}`,
      state,
      problem,
      hintFor(problem, kind, name, namespace),
    );
  }
  // No pod to blame: the controller could not create them (quota, Pod Security...), which it reports on the workload.
  const failure = (obj as V1Deployment | undefined)?.status?.conditions?.find(
    (c) => c.type === 'ReplicaFailure' && c.status === 'True',
  );
  const warning = failure
    ? undefined
    : obj
      ? (await kube.events({ ...obj, kind }).catch(() => [])).find((e) => e.type === 'Warning')
      : undefined;
  const detail = failure
    ? `${failure.reason}: ${failure.message}`
    : warning
      ? `${warning.reason}: ${warning.message}`
      : '';
  return new RolloutError(
    `${prefix}${detail ? `; ${detail}` : ''}`,
    state,
    undefined,
    hintFor(undefined, kind, name, namespace),
  );
}
