// One read of a release's state: a List per kind (paged, so memory stays flat
// however many pods there are), slimmed to what the views need, plus one
// metrics call. The request count depends on the kinds, never on the pods.
import type {
  KubernetesObject,
  V1Deployment,
  CoreV1Event,
  V1Pod,
  V1PersistentVolumeClaim,
  V1ReplicaSet,
  V1Service,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { Kube } from './client.ts';

interface EndpointSliceLike {
  metadata?: { name?: string; labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name?: string } }[];
}
export interface PodMetricsLike {
  metadata: { name: string };
  containers: { name: string; usage: { cpu: string; memory: string } }[];
}

export interface Snapshot {
  namespace: string;
  release: string;
  takenAt: Date;
  deployments: V1Deployment[];
  /** the Deployments' ReplicaSets: the newest one's pod-template-hash names the pods of the current template */
  replicaSets: V1ReplicaSet[];
  statefulSets: V1StatefulSet[];
  pods: V1Pod[];
  services: V1Service[];
  endpointSlices: EndpointSliceLike[];
  hpas: V2HorizontalPodAutoscaler[];
  pvcs: V1PersistentVolumeClaim[];
  /** Warning events of the namespace */
  events: CoreV1Event[];
  /** undefined: the metrics API is not served */
  metrics?: PodMetricsLike[];
  /** API requests this scan made */
  requests: number;
}

export const releaseSelector = (release: string) => `app.kubernetes.io/instance=${release}`;

export const revisionAnnotation = 'deployment.kubernetes.io/revision';

/** A ReplicaSet reduced to what tells the newest from the old: its owner, revision and pod-template-hash. */
function slimReplicaSet(r: V1ReplicaSet): V1ReplicaSet {
  const m = r.metadata ?? {};
  const revision = m.annotations?.[revisionAnnotation];
  return {
    metadata: {
      name: m.name,
      labels: m.labels,
      ...(revision ? { annotations: { [revisionAnnotation]: revision } } : {}),
      ownerReferences: m.ownerReferences,
    },
  };
}

/** Drops what no view reads (managedFields, annotations of last-applied config) so big lists stay small. */
function slim<T extends KubernetesObject>(o: T): T {
  if (o.metadata) {
    delete o.metadata.managedFields;
    if (o.metadata.annotations) delete o.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
  }
  return o;
}

/**
 * A pod reduced to the fields scripts/monitor/health.ts reads, as it arrives from each page:
 * memory then grows by a few hundred bytes per pod, not by the whole object.
 */
export function slimPod(p: V1Pod): V1Pod {
  const m = p.metadata ?? {};
  const s = p.status ?? {};
  const container = (
    c: NonNullable<V1Pod['status']>['containerStatuses'] extends (infer C)[] | undefined ? C : never,
  ) => ({
    name: c.name,
    ready: c.ready,
    restartCount: c.restartCount,
    image: '',
    imageID: '',
    state: c.state,
    lastState: c.lastState,
  });
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      labels: m.labels,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
      ownerReferences: m.ownerReferences,
    },
    spec: {
      nodeName: p.spec?.nodeName,
      restartPolicy: p.spec?.restartPolicy,
      containers: (p.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image, resources: c.resources })),
    },
    status: {
      phase: s.phase,
      reason: s.reason,
      message: s.message,
      conditions: s.conditions?.map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastTransitionTime: c.lastTransitionTime,
      })),
      containerStatuses: s.containerStatuses?.map(container),
      initContainerStatuses: s.initContainerStatuses?.map(container),
    },
  } as V1Pod;
}

export class Scanner {
  requests = 0;
  private readonly kube: Kube;
  private readonly pageSize: number;
  constructor(kube: Kube, pageSize = 500) {
    this.kube = kube;
    this.pageSize = pageSize;
  }

  /** Every object of a kind, a page at a time, each slimmed as it arrives. */
  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    o: { labelSelector?: string; fieldSelector?: string; project?: (x: T) => T } = {},
  ): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      this.requests++;
      const page = await this.kube.listPage<T>(apiVersion, kind, namespace, {
        ...o,
        limit: this.pageSize,
        continue: cont,
      });
      for (const item of page.items) out.push(o.project ? o.project(item) : slim(item));
      cont = page.continue;
    } while (cont);
    return out;
  }

  async snapshot(namespace: string, release: string): Promise<Snapshot> {
    const sel = { labelSelector: releaseSelector(release) };
    const [deployments, replicaSets, statefulSets, pods, services, endpointSlices, hpas, pvcs, events, metrics] =
      await Promise.all([
        this.list<V1Deployment>('apps/v1', 'Deployment', namespace, sel),
        // Carries the release's labels from the pod template; only the few fields that name the current template are kept.
        this.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', namespace, {
          ...sel,
          project: slimReplicaSet,
        }),
        this.list<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, sel),
        this.list<V1Pod>('v1', 'Pod', namespace, { ...sel, project: slimPod }),
        this.list<V1Service>('v1', 'Service', namespace, sel),
        // Slices carry the Service's name, not the release's labels: all of the namespace's, matched later.
        this.list<EndpointSliceLike & KubernetesObject>('discovery.k8s.io/v1', 'EndpointSlice', namespace),
        this.list<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', namespace, sel),
        this.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', namespace),
        this.list<CoreV1Event>('v1', 'Event', namespace, { fieldSelector: 'type=Warning' }),
        (this.requests++,
        this.kube.podMetrics(namespace).then(
          (m) => m?.items as PodMetricsLike[] | undefined,
          () => undefined,
        )),
      ]);
    return {
      namespace,
      release,
      takenAt: new Date(),
      deployments,
      replicaSets,
      statefulSets,
      pods,
      services,
      endpointSlices,
      hpas,
      pvcs,
      events,
      metrics,
      requests: this.requests,
    };
  }
}
