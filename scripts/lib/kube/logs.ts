// Container logs through the API (what `kubectl logs` reads): the current or
// the previous container, the last N lines, as text. "There is no previous
// container" is an answer a debug script prints, not an exception.
import type { V1Pod } from '@kubernetes/client-node';
import { ApiException } from './k8s.ts';
import { Exit, OpsError } from '../kit/errors.ts';
import { apiMessage } from './api.ts';
import type { Kube } from './client.ts';
import { containerStatuses } from './pod-status.ts';

export interface LogsOptions {
  namespace: string;
  pod: string;
  /** default: the pod's kubectl.kubernetes.io/default-container, else its first container */
  container?: string;
  /** the previous (terminated) container: what a crash loop printed before it died */
  previous?: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** the pod, when the caller already has it from a List: spares the GET */
  podObject?: V1Pod;
}

export interface LogsResult {
  container: string;
  text: string;
  /** set when there is no text to show and why, e.g. no previous container */
  unavailable?: string;
}

/** kubectl's choice when no container is named. */
export function defaultContainer(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] ?? pod.spec?.containers?.[0]?.name;
}

/**
 * The API server's 400 answers that mean "no such log (yet)" rather than a
 * failure: no previous terminated container, a container still waiting to
 * start. Returns the server's sentence for them, undefined for anything else.
 */
export function logsUnavailable(e: unknown): string | undefined {
  if (!(e instanceof ApiException) || e.code !== 400) return undefined;
  const msg = apiMessage(e).replace(/^400 /, '');
  return /previous terminated container .* not found|is waiting to start|ContainerCreating|PodInitializing/.test(msg)
    ? msg
    : undefined;
}

/**
 * Why there can be no previous log, from the pod's status: a container that
 * never terminated has none. Undefined when there may be one.
 */
export function noPreviousContainer(pod: V1Pod, container: string): string | undefined {
  const cs = containerStatuses(pod).find((c) => c.name === container);
  if (cs?.lastState?.terminated || cs?.state?.terminated) return undefined;
  return `container ${container} of pod ${pod.metadata?.name} has not restarted: there is no previous container`;
}

/**
 * Reads a container's log. Asks the pod first (one GET) when it has to: to
 * pick the default container, and for `previous`, to answer "there is none"
 * from the pod's status instead of from a kubelet error.
 */
export async function podLogs(kube: Kube, opts: LogsOptions): Promise<LogsResult> {
  let container = opts.container;
  if (!container || opts.previous) {
    const pod = opts.podObject ?? (await kube.read<V1Pod>('v1', 'Pod', opts.pod, opts.namespace));
    if (!pod)
      throw new OpsError(
        `pod ${opts.pod} not found in namespace ${opts.namespace}`,
        Exit.actionFailed,
        `kubectl -n ${opts.namespace} get pods`,
      );
    container ??= defaultContainer(pod);
    if (!container) throw new OpsError(`pod ${opts.pod} has no containers`, Exit.actionFailed);
    const none = opts.previous ? noPreviousContainer(pod, container) : undefined;
    if (none) return { container, text: '', unavailable: none };
  }
  let previous = opts.previous;
  const read = () =>
    kube.core.readNamespacedPodLog({
      name: opts.pod,
      namespace: opts.namespace,
      container: container!,
      previous,
      tailLines: opts.tailLines,
      limitBytes: opts.limitBytes,
    });
  // A real kubelet, just after a crash-looping container restarted and before its status says so, answers
  // "previous terminated container not found" for a container the pod's status still reports: ask again, briefly.
  // And when the container it names is removed while it reads (a crash loop's older dead container, collected when
  // the next one dies), it answers 200 with its own error as the body: not the container's log. Asking again reads
  // the container that is now the previous one.
  for (let attempt = 1; ; attempt++) {
    try {
      const text = (await read()) ?? '';
      const lost = kubeletLogError(text);
      if (!lost) return { container, text };
      if (attempt >= previousLogAttempts) return { container, text: '', unavailable: lost };
      // A container the pod (as read) showed exited has been replaced since: its log is now the previous one's.
      if (!previous && exitedIn(opts.podObject, container!)) previous = true;
      await new Promise((r) => setTimeout(r, 1000));
    } catch (e) {
      const why = logsUnavailable(e);
      if (why && opts.previous && /previous terminated container/.test(why) && attempt < previousLogAttempts) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      return unavailableOrThrow(e, opts, container!);
    }
  }
}

const previousLogAttempts = 4;

const exitedIn = (pod: V1Pod | undefined, container: string) =>
  !!pod && !!containerStatuses(pod).find((c) => c.name === container)?.state?.terminated;

/** The kubelet's in-band answer for a log it could not read (sent as the body of a 200), else undefined. */
export function kubeletLogError(text: string): string | undefined {
  const t = text.trim();
  return /^unable to retrieve container logs for \S+$/.test(t) ? t : undefined;
}

function unavailableOrThrow(e: unknown, opts: LogsOptions, container: string): LogsResult {
  const why = logsUnavailable(e);
  if (why) return { container, text: '', unavailable: why };
  if (e instanceof ApiException && e.code === 404)
    throw new OpsError(
      `pod ${opts.pod} not found in namespace ${opts.namespace}`,
      Exit.actionFailed,
      `kubectl -n ${opts.namespace} get pods`,
    );
  if (e instanceof ApiException)
    throw new OpsError(`logs of ${opts.pod}/${container}: ${apiMessage(e)}`, Exit.actionFailed);
  throw e;
}
