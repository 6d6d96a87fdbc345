// Rendered manifests: the objects by "Kind/name", what differs between the
// deployed and the rendered one (object by object, with the changed lines), and
// the workloads to wait for. Pure.
import { diffArrays } from 'diff';
import YAML from 'yaml';
import type { WorkloadKind } from '../kube/rollout.ts';
import { sameData } from './values.ts';

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** The objects of a rendered manifest by "Kind/name", hooks (helm test pods) left out: helm get manifest omits them. */
export function parseManifest(text: string): Map<string, ManifestObject> {
  const out = new Map<string, ManifestObject>();
  for (const doc of YAML.parseAllDocuments(text)) {
    const o = doc.toJS() as ManifestObject | null;
    if (!o?.kind || !o.metadata?.name) continue;
    if (o.metadata.annotations?.['helm.sh/hook']) continue;
    out.set(`${o.kind}/${o.metadata.name}`, o);
  }
  return out;
}

export interface ManifestDiff {
  added: string[];
  removed: string[];
  changed: { object: string; lines: string[] }[];
}

/** What differs between the deployed and the rendered manifest, object by object, with the changed lines. */
export function diffManifests(deployed: string, rendered: string): ManifestDiff {
  const a = parseManifest(deployed);
  const b = parseManifest(rendered);
  const diff: ManifestDiff = { added: [], removed: [], changed: [] };
  for (const k of b.keys()) if (!a.has(k)) diff.added.push(k);
  for (const k of a.keys()) if (!b.has(k)) diff.removed.push(k);
  for (const [k, obj] of b) {
    const old = a.get(k);
    if (!old || sameData(old, obj)) continue;
    diff.changed.push({ object: k, lines: lineDiff(YAML.stringify(old).split('\n'), YAML.stringify(obj).split('\n')) });
  }
  return diff;
}

export const manifestUnchanged = (d: ManifestDiff) => !d.added.length && !d.removed.length && !d.changed.length;

/**
 * The lines that differ ("- old", "+ new") with `context` unchanged lines
 * around them and "  ..." where lines are left out: the shape deploy's dry run
 * prints under each changed object.
 */
function lineDiff(a: string[], b: string[], context = 1): string[] {
  const ops = diffArrays(a, b).flatMap((c) =>
    c.value.map((line) => ({ op: c.added ? '+' : c.removed ? '-' : ' ', line })),
  );
  const keep = new Set<number>();
  ops.forEach((o, k) => {
    if (o.op !== ' ') for (let c = k - context; c <= k + context; c++) keep.add(c);
  });
  const out: string[] = [];
  let last = -2;
  ops.forEach((o, k) => {
    if (!keep.has(k)) return;
    if (k !== last + 1 && out.length) out.push('  ...');
    out.push(`${o.op} ${o.line}`);
    last = k;
  });
  return out;
}

/** The Deployments and StatefulSets of a manifest. */
export function workloadsOf(
  manifest: string,
): { kind: WorkloadKind; name: string; selector?: Record<string, string> }[] {
  return [...parseManifest(manifest).values()]
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .map((o) => ({
      kind: o.kind as WorkloadKind,
      name: o.metadata.name,
      selector: (o.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels,
    }));
}
