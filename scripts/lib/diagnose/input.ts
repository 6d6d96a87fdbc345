// What debug's diagnosis reads: the namespace as scanned (one List per kind),
// its Warning events, and the log tails already fetched for failing containers.
// Types only, so the entry and every analyzer can share them without a cycle.
import type {
  CoreV1Event,
  V1Deployment,
  V1Ingress,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Service,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { PodMetricsLike } from '../kube/scan.ts';
import type { KeysOnly } from './refs.ts';

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
  /** fetched for failing containers only (logRequests), keyed by logKey */
  logs?: Map<string, LogTail>;
}

/** The key of a container's tail in DiagnoseInput.logs. */
export const logKey = (pod: string, container: string) => `${pod}/${container}`;

/** What every analyzer is given besides its object: the input, the live pods and the event cutoff (--since). */
export interface Scope {
  input: DiagnoseInput;
  ns: string;
  /** the pods not being deleted */
  live: V1Pod[];
  /** epoch ms: Warning events before this are left out */
  cutoff: number;
}
