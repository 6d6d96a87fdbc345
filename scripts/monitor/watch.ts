// monitor --watch: one informer per kind (one List, then a watch each), the
// snapshot rebuilt from their caches on every change, never re-listed. Only
// pod metrics are re-read (the metrics API cannot be watched), at most once
// per metricsEverySec. No snapshot before every kind has been listed: an
// empty cache would read as "no workloads".
import type { KubernetesObject } from '@kubernetes/client-node';
import { ListWatch, Watch } from '../lib/kube/k8s.ts';
import type { Kube } from '../lib/kube/client.ts';
import { collectionPath } from '../lib/kube/api.ts';
import { releaseSelector, type PodMetricsLike, type Snapshot } from '../lib/kube/scan.ts';

type Kind = {
  key: keyof Omit<Snapshot, 'namespace' | 'release' | 'takenAt' | 'metrics' | 'requests'>;
  apiVersion: string;
  kind: string;
  byRelease: boolean;
  fieldSelector?: string;
};
const kinds: Kind[] = [
  { key: 'deployments', apiVersion: 'apps/v1', kind: 'Deployment', byRelease: true },
  { key: 'replicaSets', apiVersion: 'apps/v1', kind: 'ReplicaSet', byRelease: true },
  { key: 'statefulSets', apiVersion: 'apps/v1', kind: 'StatefulSet', byRelease: true },
  { key: 'pods', apiVersion: 'v1', kind: 'Pod', byRelease: true },
  { key: 'services', apiVersion: 'v1', kind: 'Service', byRelease: true },
  { key: 'endpointSlices', apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', byRelease: false },
  { key: 'hpas', apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', byRelease: true },
  { key: 'pvcs', apiVersion: 'v1', kind: 'PersistentVolumeClaim', byRelease: false },
  { key: 'events', apiVersion: 'v1', kind: 'Event', byRelease: false, fieldSelector: 'type=Warning' },
];

export interface ReleaseWatch {
  /** a snapshot from the caches now (after the cluster came back: the view is redrawn even if nothing changed) */
  refresh(): void;
  stop(): Promise<void>;
}

/** Calls onSnapshot after the first sync and after every change (debounced). */
export async function watchRelease(
  kube: Kube,
  namespace: string,
  release: string,
  onSnapshot: (s: Snapshot) => void,
  o: { debounceMs?: number; metricsEverySec?: number; onError?: (e: unknown) => void } = {},
): Promise<ReleaseWatch> {
  const selector = releaseSelector(release);
  let metrics: PodMetricsLike[] | undefined;
  let metricsAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const listed = new Set<string>();
  const informers = kinds.map((k) => {
    const labelSelector = k.byRelease ? selector : undefined;
    const list = () =>
      kube
        .call(`list ${k.kind} -n ${namespace} (watch)`, () =>
          kube.objects.list<KubernetesObject>(
            k.apiVersion,
            k.kind,
            namespace,
            undefined,
            undefined,
            undefined,
            k.fieldSelector,
            labelSelector,
          ),
        )
        .then((l) => (listed.add(k.kind), l)) as never;
    return {
      k,
      lw: new ListWatch<KubernetesObject>(
        collectionPath(k.apiVersion, k.kind, namespace),
        new Watch(kube.kc),
        list,
        false,
        labelSelector,
        k.fieldSelector,
      ),
    };
  });
  const emit = async () => {
    if (stopped || listed.size < kinds.length) return;
    if (Date.now() - metricsAt >= (o.metricsEverySec ?? 15) * 1000) {
      metricsAt = Date.now();
      metrics = (await kube.podMetrics(namespace).catch(() => undefined))?.items as PodMetricsLike[] | undefined;
    }
    const snap = { namespace, release, takenAt: new Date(), metrics, requests: 0 } as Snapshot;
    for (const { k, lw } of informers) (snap as unknown as Record<string, unknown>)[k.key] = lw.list();
    onSnapshot(snap);
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void emit().catch(o.onError), o.debounceMs ?? 200);
  };
  for (const { lw } of informers) {
    for (const ev of ['add', 'update', 'delete'] as const) lw.on(ev, schedule);
    lw.on('error', (e: unknown) => {
      o.onError?.(e);
      // A dropped watch (API restart, timeout) reconnects, for as long as the watch runs; the cache resyncs with one List.
      setTimeout(() => !stopped && lw.start().catch(o.onError), 1000);
    });
  }
  await Promise.all(informers.map(({ lw }) => lw.start()));
  await emit();
  return {
    refresh: schedule,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all(informers.map(({ lw }) => lw.stop()));
    },
  };
}
