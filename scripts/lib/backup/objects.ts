// Which objects of a namespace a backup keeps, cleaned of what the cluster
// wrote (uids, resourceVersions, status, allocated IPs and ports, managed
// fields), and how a restore puts them back: in dependency order, remapped to
// another namespace when asked. Pure: tested on plain objects.
import { decodeHelmRecord } from '../release/history.ts';
import zlib from 'node:zlib';

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** Listed once each, in restore order: what others refer to comes first. */
export const kinds: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
];

const kindOrder = new Map(kinds.map((k, i) => [k.kind, i]));

/** Helm's own release records: Secrets of type helm.sh/release.v1. */
export const isHelmRecord = (o: Obj) => o.kind === 'Secret' && (o as { type?: string }).type === 'helm.sh/release.v1';

/** Objects the cluster makes by itself in every namespace, or that belong to another object: not ours to back up. */
function skipped(o: Obj): boolean {
  const m = o.metadata as { ownerReferences?: unknown[] };
  if (m.ownerReferences?.length) return true;
  if (o.kind === 'ServiceAccount' && o.metadata.name === 'default') return true;
  if (
    o.kind === 'ConfigMap' &&
    (o.metadata.name === 'kube-root-ca.crt' || o.metadata.name === 'openshift-service-ca.crt')
  )
    return true;
  if (o.kind === 'Secret' && (o as { type?: string }).type === 'kubernetes.io/service-account-token') return true;
  return false;
}

const runtimeAnnotations = [
  /^kubectl\.kubernetes\.io\/last-applied-configuration$/,
  /^deployment\.kubernetes\.io\/revision$/,
  /^pv\.kubernetes\.io\//,
  /^volume\.(beta\.)?kubernetes\.io\//,
  /^autoscaling\.alpha\.kubernetes\.io\//,
];

/** A copy without the fields the API server, controllers and the scheduler wrote. */
export function clean(o: Obj): Obj {
  const c = structuredClone(o);
  const { name, namespace, labels, annotations } = c.metadata;
  const ann = Object.fromEntries(
    Object.entries(annotations ?? {}).filter(([k]) => !runtimeAnnotations.some((r) => r.test(k))),
  );
  c.metadata = {
    name,
    ...(namespace ? { namespace } : {}),
    ...(labels ? { labels } : {}),
    ...(Object.keys(ann).length ? { annotations: ann } : {}),
  };
  delete c.status;
  const spec = c.spec as
    | {
        clusterIP?: string;
        clusterIPs?: string[];
        healthCheckNodePort?: number;
        ports?: { nodePort?: number }[];
        volumeName?: string;
      }
    | undefined;
  if (c.kind === 'Service' && spec) {
    // Allocated by the cluster: a restore elsewhere gets its own (a headless Service stays headless).
    if (spec.clusterIP !== 'None') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    delete spec.healthCheckNodePort;
    for (const p of spec.ports ?? []) delete p.nodePort;
  }
  if (c.kind === 'PersistentVolumeClaim' && spec) delete spec.volumeName; // a new claim binds a new volume
  if (c.kind === 'ServiceAccount') delete c.secrets;
  return c;
}

/** Namespaced objects of the kinds above, skipped ones left out, cleaned, in restore order. */
export function selectObjects(listed: readonly Obj[]): Obj[] {
  return listed
    .filter((o) => !skipped(o))
    .map(clean)
    .sort(
      (a, b) =>
        (kindOrder.get(a.kind) ?? 99) - (kindOrder.get(b.kind) ?? 99) || a.metadata.name.localeCompare(b.metadata.name),
    );
}

export const countByKind = (objs: readonly Obj[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const o of objs) out[o.kind] = (out[o.kind] ?? 0) + 1;
  return out;
};

function encodeHelmRecord(rec: unknown): string {
  return Buffer.from(zlib.gzipSync(Buffer.from(JSON.stringify(rec))).toString('base64')).toString('base64');
}

/**
 * The objects as they belong in another namespace: metadata.namespace, helm's
 * release-namespace annotation (so helm adopts them there), and helm's release
 * records (their namespace field and the namespace lines of the stored manifest).
 */
export function remap(objs: readonly Obj[], from: string, to: string): Obj[] {
  if (from === to) return objs.map((o) => structuredClone(o));
  const nsLine = new RegExp(`^(\\s*namespace:\\s*)["']?${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*$`, 'gm');
  return objs.map((o) => {
    const c = structuredClone(o) as Obj & { data?: Record<string, string> };
    c.metadata.namespace = to;
    if (c.metadata.annotations?.['meta.helm.sh/release-namespace'] === from)
      c.metadata.annotations['meta.helm.sh/release-namespace'] = to;
    if (isHelmRecord(c) && c.data?.release) {
      const rec = decodeHelmRecord(c.data.release) as ReturnType<typeof decodeHelmRecord> & { namespace?: string };
      rec.namespace = to;
      if (rec.manifest) rec.manifest = rec.manifest.replace(nsLine, `$1${to}`);
      c.data.release = encodeHelmRecord(rec);
    }
    return c;
  });
}

/** The Deployments' replicas, so a restore can hold the app at 0 while the database loads and give them back after. */
export function deploymentReplicas(objs: readonly Obj[]): Record<string, number> {
  return Object.fromEntries(
    objs
      .filter((o) => o.kind === 'Deployment')
      .map((o) => [o.metadata.name, (o.spec as { replicas?: number })?.replicas ?? 1]),
  );
}

/** A copy with every Deployment at 0 replicas. */
export function heldAtZero(objs: readonly Obj[]): Obj[] {
  return objs.map((o) =>
    o.kind === 'Deployment' ? { ...structuredClone(o), spec: { ...(o.spec as object), replicas: 0 } } : o,
  );
}
