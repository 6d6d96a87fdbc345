// Drift: the release's live objects against what its latest revision sets.
// Like `kubectl diff`: each object of the manifest is sent as a server-side
// apply with dryRun=All (defaults filled in by the API server, fields another
// manager added kept), and the answer is compared with the live object. A
// difference is a field the chart sets that someone else changed. The
// comparison (compareObject) is pure; releaseDrift does the requests: a read
// and a dry-run apply per object of the manifest, none per pod.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Context } from '../kit/cli.ts';
import { Exit, OpsError } from '../kit/errors.ts';
import { addSecret } from '../kit/output.ts';
import { collectionPath } from '../kube/api.ts';
import { fetch } from '../kube/k8s.ts';
import type { Kube } from '../kube/client.ts';
import { parseManifest, type ManifestObject } from './manifests.ts';

export interface DriftItem {
  /** Kind/name */
  object: string;
  /** the field, e.g. spec.template.spec.containers[frontend].image ("" for the whole object) */
  path: string;
  /** shown values (never a Secret's: then both are "(hidden)") */
  live: string;
  desired: string;
  /** a Secret's value: say only that it differs */
  secret?: boolean;
}

export interface DriftResult {
  items: DriftItem[];
  /** objects that could not be checked, and why (e.g. a kind the cluster does not serve) */
  unchecked: { object: string; why: string }[];
  /** objects compared */
  checked: number;
  requests: number;
  ms: number;
}

type Obj = Record<string, unknown>;

/** Set by the API server or by controllers, never by the chart: not drift. */
const ignoredMetadata = new Set([
  'managedFields',
  'resourceVersion',
  'generation',
  'uid',
  'creationTimestamp',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
  'finalizers',
]);

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** A value as shown in a finding: JSON, cut at 80 characters. */
function showValue(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** An array element's label in a path: its name when it has one, else its index. */
const label = (v: unknown, i: number) =>
  isObj(v) && typeof v.name === 'string'
    ? v.name
    : isObj(v) && typeof v.containerPort === 'number'
      ? v.containerPort
      : i;

/** Arrays of named elements are compared by name (a reordering is no drift), others by index. */
function pairs(a: unknown[], b: unknown[]): [string, unknown, unknown][] {
  const named = (xs: unknown[]) =>
    xs.every((x) => isObj(x) && (typeof x.name === 'string' || typeof x.containerPort === 'number'));
  if (named(a) && named(b)) {
    const keys = [...new Set([...a.map(label), ...b.map(label)].map(String))];
    const find = (xs: unknown[], k: string) => xs.find((x, i) => String(label(x, i)) === k);
    return keys.map((k) => [k, find(a, k), find(b, k)]);
  }
  return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => [String(i), a[i], b[i]]);
}

function walk(live: unknown, want: unknown, path: string, out: { path: string; live: unknown; want: unknown }[]): void {
  if (isObj(live) && isObj(want)) {
    for (const k of [...new Set([...Object.keys(live), ...Object.keys(want)])].sort())
      walk(
        live[k],
        want[k],
        /^[A-Za-z_][\w-]*$/.test(k) ? (path ? `${path}.${k}` : k) : `${path}[${JSON.stringify(k)}]`,
        out,
      );
    return;
  }
  if (Array.isArray(live) && Array.isArray(want)) {
    for (const [k, a, b] of pairs(live, want)) walk(a, b, `${path}[${k}]`, out);
    return;
  }
  if (JSON.stringify(live) !== JSON.stringify(want)) out.push({ path, live, want });
}

export interface CompareOptions {
  /** spec.replicas belongs to someone else (an HPA of the release targets this workload) */
  replicasOwnedElsewhere?: boolean;
}

/**
 * The drift of one object: where the live object differs from the server's
 * dry-run apply of the rendered one. `applied` is that dry run's answer (the
 * live object with every field the chart sets put back); undefined `live`:
 * the object is gone. Status and server-set metadata are left out, and so is
 * spec.replicas when an HPA owns it. Pure.
 */
export function compareObject(
  rendered: ManifestObject,
  applied: KubernetesObject | undefined,
  live: KubernetesObject | undefined,
  o: CompareOptions = {},
): DriftItem[] {
  const object = `${rendered.kind}/${rendered.metadata.name}`;
  if (!live) return [{ object, path: '', live: '(missing)', desired: '(present)' }];
  if (!applied) return [];
  const strip = (x: KubernetesObject): Obj => {
    const { status: _status, ...rest } = x as Obj;
    const meta = Object.fromEntries(
      Object.entries((rest.metadata as Obj | undefined) ?? {}).filter(([k]) => !ignoredMetadata.has(k)),
    );
    return { ...rest, metadata: meta };
  };
  const diffs: { path: string; live: unknown; want: unknown }[] = [];
  walk(strip(live), strip(applied), '', diffs);
  const secret = rendered.kind === 'Secret';
  return diffs
    .filter((d) => !(o.replicasOwnedElsewhere && d.path === 'spec.replicas'))
    .map((d) => {
      const hidden = secret && /^(data|stringData)(\.|$)/.test(d.path);
      return hidden
        ? { object, path: d.path, live: '(hidden)', desired: '(hidden)', secret: true }
        : { object, path: d.path, live: showValue(d.live), desired: showValue(d.want) };
    });
}

/** One line for a drift item: object, field, live and desired (a Secret's: "value differs"). */
export function driftLine(d: DriftItem): string {
  if (!d.path) return `${d.object}: ${d.live === '(missing)' ? 'deleted from the cluster' : `${d.live}`}`;
  return d.secret
    ? `${d.object} ${d.path}: value differs`
    : `${d.object} ${d.path}: live ${d.live}, desired ${d.desired}`;
}

/** The workloads an HPA of the manifest scales: their replicas are the HPA's. */
export function hpaTargets(objects: Iterable<ManifestObject>): Set<string> {
  const out = new Set<string>();
  for (const o of objects)
    if (o.kind === 'HorizontalPodAutoscaler') {
      const ref = (o.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef;
      if (ref?.kind && ref.name) out.add(`${ref.kind}/${ref.name}`);
    }
  return out;
}

/** Never applied for real: owns no field, so the dry run neither removes nor conflicts with anything. */
const driftFieldManager = 'todo-chatbot-ops/drift';
const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'PersistentVolume']);

/**
 * One request as plain JSON (the client's model classes rename fields, e.g. a
 * NetworkPolicy's "from", so typed answers do not compare): undefined on 404.
 */
async function rawRequest(
  kube: Kube,
  what: string,
  url: string,
  init: { method: 'GET' | 'PATCH'; body?: string },
): Promise<KubernetesObject | undefined> {
  return kube.call(what, async () => {
    const opts = await kube.kc.applyToFetchOptions({ method: init.method });
    const res = await fetch(url, {
      ...opts,
      ...(init.body
        ? {
            body: init.body,
            headers: { ...(opts.headers as Record<string, string>), 'content-type': 'application/apply-patch+yaml' },
          }
        : {}),
    });
    const text = await res.text();
    if (res.status === 404) return undefined;
    if (!res.ok) {
      const msg = (JSON.parse(text || '{}') as { message?: string }).message ?? `HTTP ${res.status}`;
      throw Object.assign(new Error(`${what}: ${msg}`), { code: res.status });
    }
    return JSON.parse(text) as KubernetesObject;
  });
}

/**
 * The drift of the release's objects (the manifest of its latest revision):
 * per object a read and a server-side dry-run apply, `concurrency` at a time.
 * `only` limits the check to those Kind/name objects (deploy's check after a repair).
 */
export async function releaseDrift(
  ctx: Context,
  manifest: string,
  o: { only?: ReadonlySet<string>; concurrency?: number } = {},
): Promise<DriftResult> {
  const t0 = Date.now();
  const kube = await ctx.kube();
  const objects = [...parseManifest(manifest).values()];
  const owned = hpaTargets(objects);
  const todo = objects.filter((x) => !o.only || o.only.has(`${x.kind}/${x.metadata.name}`));
  const items: DriftItem[] = [];
  const unchecked: DriftResult['unchecked'] = [];
  let requests = 0;
  const one = async (r: ManifestObject) => {
    const name = `${r.kind}/${r.metadata.name}`;
    const obj = {
      ...r,
      metadata: { ...r.metadata, ...(clusterScoped.has(r.kind) ? {} : { namespace: ctx.namespace }) },
    } as KubernetesObject;
    requests += 2;
    try {
      const url = `${kube.server.replace(/\/+$/, '')}${collectionPath(r.apiVersion, r.kind, obj.metadata!.namespace)}/${encodeURIComponent(r.metadata.name)}`;
      const q = new URLSearchParams({ dryRun: 'All', fieldManager: driftFieldManager, force: 'true' });
      // A deleted object: the dry run would create it; the read (404) says it is missing.
      const [live, applied] = await Promise.all([
        rawRequest(kube, `get ${name}`, url, { method: 'GET' }),
        rawRequest(kube, `apply ${name} (dry run, drift)`, `${url}?${q}`, {
          method: 'PATCH',
          body: JSON.stringify(obj),
        }),
      ]);
      if (r.kind === 'Secret')
        for (const x of [live, applied] as (Obj | undefined)[])
          for (const v of Object.values((x?.data as Record<string, string> | undefined) ?? {}))
            addSecret(Buffer.from(v, 'base64').toString('utf8'));
      items.push(...compareObject(r, applied, live, { replicasOwnedElsewhere: owned.has(name) }));
    } catch (e) {
      if (e instanceof OpsError && e.code === Exit.unreachable) throw e; // the run ends with exit 3
      unchecked.push({ object: name, why: (e as Error).message.split('\n')[0]! });
    }
  };
  const queue = [...todo];
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency ?? 8, queue.length) }, async () => {
      for (let r = queue.shift(); r; r = queue.shift()) await one(r);
    }),
  );
  items.sort((a, b) => a.object.localeCompare(b.object) || a.path.localeCompare(b.path));
  return { items, unchecked, checked: todo.length, requests, ms: Date.now() - t0 };
}
