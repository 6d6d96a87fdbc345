// debug's reads: one List per kind of the whole namespace (paged, through
// scripts/lib/kube/scan.ts's Scanner), one metrics call, then the logs of failing containers
// only, at most a bounded number. Secret values are registered with the
// output scrubber as they arrive and dropped: only names and keys are kept.
import type {
  CoreV1Event,
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { ApiException } from '../kube/k8s.ts';
import { logRequests, tailLines } from './diagnose.ts';
import { logKey, type DiagnoseInput, type LogTail } from './input.ts';
import { OpsError } from '../kit/errors.ts';
import { podLogs } from '../kube/logs.ts';
import type { Kube } from '../kube/client.ts';
import { addSecret } from '../kit/output.ts';
import { plainKey } from '../kit/redact.ts';
import { Scanner, type PodMetricsLike } from '../kube/scan.ts';

/** What a Secret or ConfigMap key holds is a secret unless its name says it is a plain identifier. */

/** Registers every value of a Secret with the scrubber (decoded, and as stored), then forgets them. */
export function registerSecretValues(s: V1Secret): void {
  if (s.type === 'helm.sh/release.v1') return; // the release record: its values are registered from helm's own
  for (const [k, v] of Object.entries(s.data ?? {})) {
    if (plainKey.test(k)) continue;
    addSecret(Buffer.from(v, 'base64').toString('utf8'));
    addSecret(v);
  }
  for (const [k, v] of Object.entries(s.stringData ?? {})) if (!plainKey.test(k)) addSecret(v);
}

/** A Secret as the bundle shows it: metadata, type and keys; every value replaced by its size. */
export function redactSecret(s: V1Secret): V1Secret {
  const data = Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, `<redacted: ${Buffer.from(v, 'base64').length} bytes>`]),
  );
  const m = s.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      labels: m.labels,
      creationTimestamp: m.creationTimestamp,
      ownerReferences: m.ownerReferences,
    },
    type: s.type,
    data,
  };
}

/** A pod reduced to what the diagnosis reads (probes, references, resources, status). */
export function debugPod(p: V1Pod): V1Pod {
  const m = p.metadata ?? {};
  const container = (c: NonNullable<V1Pod['spec']>['containers'][number]) => ({
    name: c.name,
    image: c.image,
    resources: c.resources,
    ports: c.ports,
    readinessProbe: c.readinessProbe,
    livenessProbe: c.livenessProbe,
    startupProbe: c.startupProbe,
    env: c.env?.filter((e) => e.valueFrom).map((e) => ({ name: e.name, valueFrom: e.valueFrom })),
    envFrom: c.envFrom,
    volumeMounts: c.volumeMounts?.map((v) => ({ name: v.name, mountPath: v.mountPath })),
  });
  const hook = m.annotations?.['helm.sh/hook'];
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      labels: m.labels,
      ...(hook ? { annotations: { 'helm.sh/hook': hook } } : {}),
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
      ownerReferences: m.ownerReferences,
    },
    spec: {
      nodeName: p.spec?.nodeName,
      restartPolicy: p.spec?.restartPolicy,
      containers: (p.spec?.containers ?? []).map(container),
      initContainers: p.spec?.initContainers?.map(container),
      volumes: p.spec?.volumes?.map((v) => ({
        name: v.name,
        configMap: v.configMap,
        secret: v.secret,
        persistentVolumeClaim: v.persistentVolumeClaim,
      })),
    },
    status: p.status,
  } as V1Pod;
}

/**
 * A List the user may not make (RBAC often denies Secrets): undefined, so the
 * diagnosis skips what depends on it instead of the run failing.
 */
async function forbiddenIsUnknown<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiException && e.code === 403) return undefined;
    throw e;
  }
}

/** The namespace as read, for the diagnosis; `objects` (whole objects, secrets redacted) only when a bundle is asked for. */
export interface NamespaceScan {
  input: Omit<DiagnoseInput, 'now' | 'sinceSec' | 'logs'>;
  /** every event (the diagnosis reads the Warning ones) */
  allEvents: CoreV1Event[];
  objects?: Record<string, KubernetesObject[]>;
  /** kinds the user may not list (RBAC): ConfigMap, Secret */
  unreadable: string[];
  requests: number;
}

export async function scanNamespace(kube: Kube, namespace: string, o: { full: boolean }): Promise<NamespaceScan> {
  const scanner = new Scanner(kube);
  const [pods, deployments, statefulSets, jobs, services, ingresses, hpas, pvcs, configMaps, secrets, events, metrics] =
    await Promise.all([
      scanner.list<V1Pod>('v1', 'Pod', namespace, o.full ? {} : { project: debugPod }),
      scanner.list<V1Deployment>('apps/v1', 'Deployment', namespace),
      scanner.list<V1StatefulSet>('apps/v1', 'StatefulSet', namespace),
      scanner.list<V1Job>('batch/v1', 'Job', namespace),
      scanner.list<V1Service>('v1', 'Service', namespace),
      scanner.list<V1Ingress>('networking.k8s.io/v1', 'Ingress', namespace),
      scanner.list<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', namespace),
      scanner.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', namespace),
      forbiddenIsUnknown(
        scanner.list<V1ConfigMap>(
          'v1',
          'ConfigMap',
          namespace,
          o.full
            ? {}
            : {
                project: (c) => ({
                  metadata: { name: c.metadata?.name },
                  data: Object.fromEntries(Object.keys({ ...c.data, ...c.binaryData }).map((k) => [k, ''])),
                }),
              },
        ),
      ),
      forbiddenIsUnknown(
        scanner.list<V1Secret>('v1', 'Secret', namespace, {
          project: (s) => (registerSecretValues(s), redactSecret(s)),
        }),
      ),
      scanner.list<CoreV1Event>('v1', 'Event', namespace, o.full ? {} : { fieldSelector: 'type=Warning' }),
      (scanner.requests++,
      kube.podMetrics(namespace).then(
        (m) => m?.items as PodMetricsLike[] | undefined,
        (e: unknown) => (e instanceof OpsError ? Promise.reject(e) : undefined),
      )),
    ]);
  const keysOnly = (x: { metadata?: { name?: string }; data?: Record<string, string> }) => ({
    name: x.metadata?.name ?? '',
    keys: Object.keys(x.data ?? {}),
  });
  const kinds = {
    Pod: pods,
    Deployment: deployments,
    StatefulSet: statefulSets,
    Job: jobs,
    Service: services,
    Ingress: ingresses,
    HorizontalPodAutoscaler: hpas,
    PersistentVolumeClaim: pvcs,
    ConfigMap: configMaps ?? [],
    Secret: secrets ?? [],
  };
  return {
    input: {
      namespace,
      pods,
      deployments,
      statefulSets,
      jobs,
      services,
      ingresses,
      hpas,
      pvcs,
      configMaps: configMaps?.map((c) => ({
        name: c.metadata?.name ?? '',
        keys: Object.keys({ ...c.data, ...c.binaryData }),
      })),
      secrets: secrets?.map(keysOnly),
      events: events.filter((e) => e.type === 'Warning'),
      metrics,
    },
    allEvents: events,
    unreadable: [...(configMaps ? [] : ['ConfigMap']), ...(secrets ? [] : ['Secret'])],
    ...(o.full ? { objects: kinds as unknown as Record<string, KubernetesObject[]> } : {}),
    requests: scanner.requests,
  };
}

/**
 * The last lines of each failing container's log (the previous container for
 * crash loops), at most `max` containers, read in parallel. A log that cannot
 * be read is an answer (unavailable: why), not a failure of the run.
 */
export async function fetchLogTails(
  kube: Kube,
  namespace: string,
  pods: readonly V1Pod[],
  o: { max: number; lines: number },
): Promise<{ tails: Map<string, LogTail>; requests: number; skipped: number }> {
  const wanted = logRequests(pods, Number.MAX_SAFE_INTEGER);
  const chosen = wanted.slice(0, o.max);
  const tails = new Map<string, LogTail>();
  await Promise.all(
    chosen.map(async (w) => {
      const podObject = pods.find((p) => p.metadata?.name === w.pod);
      try {
        const r = await podLogs(kube, {
          namespace,
          pod: w.pod,
          container: w.container,
          previous: w.previous,
          tailLines: o.lines,
          limitBytes: 64 * 1024,
          podObject,
        });
        tails.set(logKey(w.pod, w.container), {
          pod: w.pod,
          container: w.container,
          previous: w.previous,
          lines: tailLines(r.text, o.lines),
          ...(r.unavailable ? { unavailable: r.unavailable } : {}),
        });
      } catch (e) {
        if (e instanceof OpsError && e.code === 3) throw e;
        tails.set(logKey(w.pod, w.container), {
          pod: w.pod,
          container: w.container,
          previous: w.previous,
          lines: [],
          unavailable: (e as Error).message.split('\n')[0]!,
        });
      }
    }),
  );
  return { tails, requests: chosen.length, skipped: wanted.length - chosen.length };
}
