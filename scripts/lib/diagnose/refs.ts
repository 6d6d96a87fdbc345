// What objects refer to and whether it is there: a container's ConfigMaps,
// Secrets and keys, and the pods a label selector matches. Shared by debug's
// analyzers and self-heal, which must not act on a pod that only a fixed
// reference can help.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** A ConfigMap or Secret reduced to its name and keys: values never enter the diagnosis. */
export interface KeysOnly {
  name: string;
  keys: string[];
}

/** True when every key=value of the selector is among the labels. */
export function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return Object.entries(selector).every(([k, v]) => l[k] === v);
}

/** Init containers first, as the kubelet starts them. */
export const allContainers = (p: V1Pod): V1Container[] => [
  ...(p.spec?.initContainers ?? []),
  ...(p.spec?.containers ?? []),
];

/** A missing ConfigMap, Secret or key a container refers to (without optional: true). */
export interface MissingRef {
  container: string;
  kind: 'ConfigMap' | 'Secret';
  name: string;
  key?: string;
  /** env FOO, envFrom, volume NAME */
  via: string;
}

/** References the pod makes to ConfigMaps, Secrets or keys that do not exist. */
export function missingRefs(
  p: V1Pod,
  configMaps: readonly KeysOnly[] | undefined,
  secrets: readonly KeysOnly[] | undefined,
): MissingRef[] {
  const known = (kind: 'ConfigMap' | 'Secret') => (kind === 'ConfigMap' ? configMaps : secrets);
  const find = (kind: 'ConfigMap' | 'Secret', name: string) => known(kind)?.find((x) => x.name === name);
  const out: MissingRef[] = [];
  const check = (
    container: string,
    kind: 'ConfigMap' | 'Secret',
    name: string | undefined,
    key: string | undefined,
    optional: boolean | undefined,
    via: string,
  ) => {
    if (!name || optional || !known(kind)) return;
    const obj = find(kind, name);
    if (!obj) out.push({ container, kind, name, via });
    else if (key !== undefined && !obj.keys.includes(key)) out.push({ container, kind, name, key, via });
  };
  for (const c of allContainers(p)) {
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sk = e.valueFrom?.secretKeyRef;
      if (cm) check(c.name, 'ConfigMap', cm.name, cm.key, cm.optional, `env ${e.name}`);
      if (sk) check(c.name, 'Secret', sk.name, sk.key, sk.optional, `env ${e.name}`);
    }
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef)
        check(c.name, 'ConfigMap', f.configMapRef.name, undefined, f.configMapRef.optional, 'envFrom');
      if (f.secretRef) check(c.name, 'Secret', f.secretRef.name, undefined, f.secretRef.optional, 'envFrom');
    }
  }
  const mounts = (vol: string) =>
    allContainers(p)
      .filter((c) => c.volumeMounts?.some((m) => m.name === vol))
      .map((c) => c.name);
  for (const v of p.spec?.volumes ?? []) {
    for (const container of mounts(v.name).slice(0, 1)) {
      if (v.configMap) {
        check(container, 'ConfigMap', v.configMap.name, undefined, v.configMap.optional, `volume ${v.name}`);
        for (const it of v.configMap.items ?? [])
          check(
            container,
            'ConfigMap',
            v.configMap.name,
            it.key,
            v.configMap.optional || !find('ConfigMap', v.configMap.name ?? ''),
            `volume ${v.name}`,
          );
      }
      if (v.secret) {
        check(container, 'Secret', v.secret.secretName, undefined, v.secret.optional, `volume ${v.name}`);
        for (const it of v.secret.items ?? [])
          check(
            container,
            'Secret',
            v.secret.secretName,
            it.key,
            v.secret.optional || !find('Secret', v.secret.secretName ?? ''),
            `volume ${v.name}`,
          );
      }
    }
  }
  return out;
}

export const describeRef = (m: MissingRef) => (m.key ? `key ${m.key} of ${m.kind} ${m.name}` : `${m.kind} ${m.name}`);
