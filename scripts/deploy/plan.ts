// deploy's decisions (pure): what the observed cluster and the desired release
// mean as actions. Nothing changes when the rendered manifest, the values and
// the Secret all equal the deployed ones: no new revision, no restart.
import type { PlannedAction } from '../lib/kit/plan.ts';
import { requiredSecretKeys, secretChanges } from '../lib/release/secrets.ts';
import { changedPaths, sameData, type Values } from '../lib/release/values.ts';
import { diffManifests, manifestUnchanged, type ManifestDiff } from '../lib/release/manifests.ts';
import type { DriftItem } from '../lib/release/drift.ts';

interface HistoryLike {
  revision: number;
  status: string;
}

export interface DeployObserved {
  namespaceExists: boolean;
  /** Pod Security labels the namespace has (when it exists) */
  namespaceLabels?: Record<string, string>;
  /** the app Secret's data, decoded; undefined when it does not exist */
  liveSecret?: Record<string, string>;
  history: readonly HistoryLike[];
  /** the latest revision's manifest and user values; undefined when not installed */
  deployed?: { manifest: string; values: Values };
  /** where the live objects differ from the latest revision (fields the chart sets) */
  drift?: readonly DriftItem[];
}

export interface DeployDesired {
  release: string;
  namespace: string;
  secretName: string;
  secretData: Record<string, string>;
  /** the user values helm will store (profile file, extra files, deploy's own) */
  values: Values;
  /** the chart rendered with those values, lookups answered by the cluster */
  manifest: string;
  /** Pod Security labels for a namespace deploy creates */
  namespaceLabels: Record<string, string>;
}

export type DeployParams =
  | { kind: 'namespace'; labels: Record<string, string> }
  | { kind: 'secret'; changes: ReturnType<typeof secretChanges> }
  | { kind: 'upgrade'; install: boolean; previousRevision?: number };

export interface DeployPlan {
  actions: PlannedAction<DeployParams>[];
  unchanged: boolean;
  diff: ManifestDiff;
  valuesChanged: string[];
  /** the revision to go back to when the rollout fails: the last one that was deployed */
  previousRevision?: number;
}

export const podSecurityLabels = (level = 'restricted'): Record<string, string> => ({
  'pod-security.kubernetes.io/enforce': level,
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': level,
  'pod-security.kubernetes.io/audit': level,
});

/**
 * The app Secret lost a key the chart requires (BETTER_AUTH_SECRET,
 * DEMO_PASSWORD): the chart refuses to render until it is back, so it is put
 * back first, from the env files (or generated, as on a first run). `origin`
 * says where each value comes from. Undefined when nothing is missing.
 */
export function planSecretRepair(
  live: Record<string, string> | undefined,
  desired: Record<string, string>,
  secretName: string,
  origin: Record<string, string>,
): PlannedAction<DeployParams> | undefined {
  if (!live) return undefined;
  const missing = requiredSecretKeys.filter((k) => !live[k] && desired[k]);
  if (!missing.length) return undefined;
  return {
    what: 'restore secret keys',
    target: `secret/${secretName}`,
    reason: `missing from the live Secret (the chart needs them to render): ${missing.map((k) => `${k} ${origin[k] ?? 'from the env files'}`).join(', ')}`,
    params: {
      kind: 'secret',
      changes: secretChanges(live, desired).filter((c) => (missing as readonly string[]).includes(c.key)),
    },
  };
}

/** The objects a drift list names, once each. */
export const driftedObjects = (drift: readonly DriftItem[] = []) => [...new Set(drift.map((d) => d.object))];

export function planDeploy(o: DeployObserved, d: DeployDesired): DeployPlan {
  const actions: PlannedAction<DeployParams>[] = [];
  if (!o.namespaceExists)
    actions.push({
      what: 'create namespace',
      target: `namespace/${d.namespace}`,
      reason: 'it does not exist; Pod Security "restricted" enforced',
      params: { kind: 'namespace', labels: d.namespaceLabels },
    });
  const changes = secretChanges(o.liveSecret, d.secretData);
  if (changes.length)
    actions.push({
      what: o.liveSecret ? 'update secret' : 'create secret',
      target: `secret/${d.secretName}`,
      reason: changes
        .map(
          (c) =>
            `${c.key} ${c.change}${c.change === 'changed' ? ` ${c.from} -> ${c.to}` : c.change === 'added' ? ` ${c.to}` : ''}`,
        )
        .join(', '),
      params: { kind: 'secret', changes },
    });
  const latest = o.history[o.history.length - 1];
  const lastDeployed = [...o.history].reverse().find((h) => h.status === 'deployed' || h.status === 'superseded');
  const diff = o.deployed
    ? diffManifests(o.deployed.manifest, d.manifest)
    : { added: [...diffManifests('', d.manifest).added], removed: [], changed: [] };
  const valuesChanged = o.deployed ? changedPaths(o.deployed.values, d.values) : [];
  const reasons: string[] = [];
  if (!latest || !o.deployed) reasons.push('not installed');
  else {
    if (latest.status !== 'deployed') reasons.push(`the latest revision ${latest.revision} is ${latest.status}`);
    if (!manifestUnchanged(diff))
      reasons.push(
        `manifest differs: ${[...diff.changed.map((c) => c.object), ...diff.added.map((a) => `+${a}`), ...diff.removed.map((r) => `-${r}`)].join(', ')}`,
      );
    if (valuesChanged.length && !sameData(o.deployed.values, d.values))
      reasons.push(`values differ: ${valuesChanged.slice(0, 8).join(', ')}${valuesChanged.length > 8 ? ', ...' : ''}`);
    if (changes.length) reasons.push('the Secret changed (pods reading it roll)');
    const drifted = driftedObjects(o.drift);
    if (drifted.length) reasons.push(`live objects drifted (repaired by the upgrade): ${drifted.join(', ')}`);
  }
  if (reasons.length)
    actions.push({
      what: latest ? 'helm upgrade' : 'helm install',
      target: `release/${d.release}`,
      reason: reasons.join('; '),
      params: { kind: 'upgrade', install: !latest, previousRevision: lastDeployed?.revision },
    });
  return { actions, unchanged: actions.length === 0, diff, valuesChanged, previousRevision: lastDeployed?.revision };
}
