// The pure parts of the Kubernetes client: which failures are transient, the
// API server's message for an error, REST paths, and reading its answers
// (apply conflicts, events order). No client here: client.ts uses these, tests
// import them directly.
import type { CoreV1Event } from '@kubernetes/client-node';
import { ApiException } from './k8s.ts';

const transientCodes = new Set([429, 500, 502, 503, 504]);
// ERR_STREAM_PREMATURE_CLOSE: a proxy or load balancer hung up mid-response.
const netCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export function netCode(e: unknown): string | undefined {
  let cur = e as { code?: string; cause?: unknown; errno?: string } | undefined;
  for (let i = 0; cur && i < 4; i++, cur = cur.cause as typeof cur) {
    if (cur.code && netCodes.has(cur.code)) return cur.code;
    if (cur.errno && netCodes.has(cur.errno)) return cur.errno;
  }
  const msg = String((e as Error)?.message);
  if (/Premature close/.test(msg)) return 'ERR_STREAM_PREMATURE_CLOSE';
  const m = /\b(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH)\b/.exec(msg);
  return m?.[1];
}

export const isNotFound = (e: unknown) => e instanceof ApiException && e.code === 404;
export const isTransient = (e: unknown) =>
  (e instanceof ApiException && transientCodes.has(e.code)) ||
  netCode(e) !== undefined ||
  (e as Error)?.name === 'TimeoutError';

/** The API server's message for a failed call, without the client's noise. */
export function apiMessage(e: unknown): string {
  if (e instanceof ApiException) {
    const body = typeof e.body === 'string' ? safeJson(e.body) : e.body;
    return `${e.code} ${(body as { message?: string })?.message ?? String(e.body).slice(0, 200)}`;
  }
  return (e as Error)?.message?.split('\n')[0] ?? String(e);
}
const safeJson = (s: string) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return { message: s };
  }
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `${group}/${version}` + kind -> REST collection path; covers the kinds the suite works with. */
const plurals: Record<string, string> = {
  Pod: 'pods',
  Service: 'services',
  Endpoints: 'endpoints',
  Event: 'events',
  Node: 'nodes',
  Namespace: 'namespaces',
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  ServiceAccount: 'serviceaccounts',
  Deployment: 'deployments',
  ReplicaSet: 'replicasets',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  Job: 'jobs',
  CronJob: 'cronjobs',
  HorizontalPodAutoscaler: 'horizontalpodautoscalers',
  PodDisruptionBudget: 'poddisruptionbudgets',
  Ingress: 'ingresses',
  NetworkPolicy: 'networkpolicies',
  EndpointSlice: 'endpointslices',
  // kagent.dev (ops/agents.ts)
  Agent: 'agents',
  ModelConfig: 'modelconfigs',
  RemoteMCPServer: 'remotemcpservers',
  CustomResourceDefinition: 'customresourcedefinitions',
};
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const plural = plurals[kind];
  if (!plural) throw new Error(`no REST path known for kind ${kind}`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
}

export interface ApplyConflict {
  manager: string;
  field: string;
}

/**
 * The conflicts of a refused server-side apply (409 with FieldManagerConflict
 * causes), or undefined for any other error. The server says, per field:
 * cause.field ".data.greeting", cause.message 'conflict with "helm" using v1'.
 */
export function applyConflicts(e: unknown): ApplyConflict[] | undefined {
  if (!(e instanceof ApiException) || e.code !== 409) return undefined;
  const body = (typeof e.body === 'string' ? safeJson(e.body) : e.body) as
    { details?: { causes?: { reason?: string; message?: string; field?: string }[] } } | undefined;
  const causes = body?.details?.causes?.filter((c) => c.reason === 'FieldManagerConflict') ?? [];
  if (!causes.length) return undefined;
  return causes.map((c) => ({
    manager: /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1] ?? c.message ?? 'another manager',
    field: c.field ?? '?',
  }));
}

/** Newest first: by lastTimestamp, else eventTime, else creation (events.k8s.io-style events have only eventTime). */
export function sortEvents(events: CoreV1Event[]): CoreV1Event[] {
  const when = (e: CoreV1Event) =>
    new Date((e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0) as string | Date).getTime() || 0;
  return [...events].sort((a, b) => when(b) - when(a));
}

/** " ns/name" from a typed API call's request object, for --verbose lines. */
export function describeArgs(arg: unknown): string {
  const a = arg as { name?: unknown; namespace?: unknown } | undefined;
  if (!a || typeof a !== 'object') return '';
  const name = typeof a.name === 'string' ? a.name : '';
  const ns = typeof a.namespace === 'string' ? a.namespace : '';
  return name || ns ? ` ${ns ? `${ns}/` : ''}${name}` : '';
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`${what} timed out after ${ms}ms`);
      e.name = 'TimeoutError';
      reject(e);
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
