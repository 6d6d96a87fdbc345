// deploy's decisions (pure): what the observed cluster and the desired release
// mean as actions. Nothing changes when the rendered manifest, the values and
// the Secret all equal the deployed ones: no new revision, no restart.
import type { PlannedAction } from '../lib/kit/plan.ts';
import { requiredSecretKeys, secretChanges } from '../lib/release/secrets.ts';
import { changedPaths, sameData, type Values } from '../lib/release/values.ts';
import {
  diffManifests,
  manifestUnchanged,
  parseManifest,
  type ManifestDiff,
  type ManifestObject,
} from '../lib/release/manifests.ts';
import { usageError, type OpsError } from '../lib/kit/errors.ts';
import { quote } from '../lib/kit/hints.ts';
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

type PodOwnerSpec = {
  selector?: { matchLabels?: Record<string, string> };
  template?: {
    metadata?: { labels?: Record<string, string> };
    spec?: { containers?: { name: string; image?: string }[] };
  };
  volumeClaimTemplates?: { metadata?: { name?: string } }[];
};

/**
 * The chart's PostgreSQL StatefulSet in a rendered manifest: its name and server
 * image, and the label selector of the backend's pods (the database's client,
 * which creates the schema when it starts).
 */
export function postgresOf(manifest: string): { statefulSet: string; image: string; clients?: string } | undefined {
  const objs = [...parseManifest(manifest).values()];
  const component = (o: ManifestObject) =>
    (o.spec as PodOwnerSpec | undefined)?.template?.metadata?.labels?.['app.kubernetes.io/component'];
  const backend = objs.find((o) => o.kind === 'Deployment' && component(o) === 'backend');
  const match = (backend?.spec as PodOwnerSpec | undefined)?.selector?.matchLabels;
  const clients =
    match && Object.keys(match).length
      ? Object.entries(match)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
      : undefined;
  for (const o of objs) {
    if (o.kind !== 'StatefulSet' || component(o) !== 'postgresql') continue;
    const image = (o.spec as PodOwnerSpec).template?.spec?.containers?.find((c) => c.name === 'postgresql')?.image;
    if (image) return { statefulSet: o.metadata.name, image, ...(clients ? { clients } : {}) };
  }
  return undefined;
}

/** The live StatefulSet's server image and its first pod's data claim (none: the data is in an emptyDir). */
export function livePostgres(
  sts: { metadata?: { name?: string }; spec?: PodOwnerSpec } | undefined,
): { image: string; claim?: string } | undefined {
  const image = sts?.spec?.template?.spec?.containers?.find((c) => c.name === 'postgresql')?.image;
  if (!image) return undefined;
  const template = sts?.spec?.volumeClaimTemplates?.[0]?.metadata?.name;
  return { image, ...(template ? { claim: `${template}-${sts?.metadata?.name}-0` } : {}) };
}

/**
 * The PostgreSQL major an image's tag starts with (the official tags all do:
 * 17, 17.12, 17.12-trixie, 15-bookworm); undefined when it says none (latest, a
 * digest only, a build of one's own), and then no comparison is made.
 */
export function postgresMajor(image: string): string | undefined {
  const tag = /:([\w][\w.-]*)(?:@sha256:[0-9a-f]+)?$/.exec(image.slice(image.lastIndexOf('/') + 1))?.[1];
  return tag ? /^(\d+)(?:[.-]|$)/.exec(tag)?.[1] : undefined;
}

export interface PostgresMajorChange {
  statefulSet: string;
  claim: string;
  clients?: string;
  liveImage: string;
  image: string;
  from: string;
  to: string;
}

/**
 * A deploy that would run another PostgreSQL major on the live StatefulSet's data.
 * The live image's major is the data's: PostgreSQL refuses to start on a data
 * directory of another major (and no chart step runs pg_upgrade), so a release
 * that serves has data of its image's major. Reading the tag costs one GET of
 * the StatefulSet; PG_VERSION in the volume would need an exec into a running
 * pod (and says nothing when the pod is down). Undefined: same major, no
 * in-cluster PostgreSQL on either side, a tag that names no major, or data in an
 * emptyDir (it does not outlive the pod: the new major starts on an empty one).
 */
export function postgresMajorChange(
  live: { image: string; claim?: string } | undefined,
  planned: { statefulSet: string; image: string; clients?: string } | undefined,
): PostgresMajorChange | undefined {
  if (!live?.claim || !planned) return undefined;
  const from = postgresMajor(live.image);
  const to = postgresMajor(planned.image);
  if (!from || !to || from === to) return undefined;
  return { ...planned, claim: live.claim, liveImage: live.image, from, to };
}

/**
 * deploy's refusal of a major change (exit 2, nothing changed) and the way out,
 * one line of commands that runs as printed: a backup made by the old major's
 * pg_dump, the StatefulSet and its claim deleted (the data is in the archive),
 * the backend's pods restarted (a running one created its schema on the old
 * volume and would stay unready on the empty one, failing the deploy's wait),
 * this same deploy (the new major initialises a fresh volume), then the
 * archive's data loaded into it (restore --data-only keeps the release's
 * objects, the new image among them).
 */
export function postgresMajorRefusal(
  c: PostgresMajorChange,
  o: { namespace: string; kubectlFlags: string[]; deployArgs: string[] },
): OpsError {
  const kubectl = ['kubectl', ...o.kubectlFlags, '-n', o.namespace].map(quote).join(' ');
  const deploy = ['npx', 'zx', 'scripts/deploy.ts', ...o.deployArgs].map(quote).join(' ');
  return usageError(
    `statefulset/${c.statefulSet} runs PostgreSQL ${c.from} (${c.liveImage}) and its volume holds data of that major: this deploy would start PostgreSQL ${c.to} (${c.image}) on it, which refuses to start on it; nothing changed`,
    [
      `back up with ${c.from}, deploy ${c.to} on a fresh volume, load the backup: npx zx ops/backup.ts`,
      `${kubectl} delete statefulset/${c.statefulSet} pvc/${c.claim}`,
      ...(c.clients ? [`${kubectl} delete pod -l ${quote(c.clients)}`] : []),
      deploy,
      'npx zx ops/restore.ts latest --data-only --yes',
    ].join(' && '),
  );
}
