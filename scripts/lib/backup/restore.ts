// The restore engine, shared by restore and backup --verify: re-create the
// objects with the Deployments held at 0, load the dump with pg_restore in one
// transaction, start the app, and count objects and rows against the manifest.
// verifyArchive does the same into a scratch namespace it deletes afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { V1Deployment, V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { Context } from '../kit/cli.ts';
import { usageError } from '../kit/errors.ts';
import { decrypt, type Manifest } from './archive.ts';
import {
  countByKind,
  deploymentReplicas,
  heldAtZero,
  isHelmRecord,
  remap,
  selectObjects,
  type Obj,
} from './objects.ts';
import { countRows, inClusterDb, restoreFrom, waitInClusterDb } from './db.ts';
import { listObjects } from './store.ts';
import { waitForRollout } from '../kube/rollout.ts';
import { addSecret } from '../kit/output.ts';
import { applyPlan } from '../kit/plan.ts';
import { decodeSecretData } from '../release/secrets.ts';
import { compareCounts, planRestore, type RestoreStep } from './restore-plan.ts';

export interface RestoreOutcome {
  namespace: string;
  objects: Record<string, number>;
  tables: Record<string, number> | null;
  mismatches: string[];
  verified: boolean;
}

/** Restores into a scratch namespace, compares the counts with the manifest, deletes the namespace. */
export async function verifyArchive(
  ctx: Context,
  dir: string,
  m: Manifest,
  passphrase: string | undefined,
): Promise<RestoreOutcome> {
  const target = `${m.namespace.slice(0, 48)}-verify-${randomBytes(3).toString('hex')}`;
  try {
    return await restoreInto(ctx, dir, m, { target, verify: true, force: false, passphrase });
  } finally {
    if (!ctx.dryRun) await deleteNamespace(ctx, target);
  }
}

async function deleteNamespace(ctx: Context, name: string): Promise<void> {
  const kube = await ctx.kube();
  if (!(await kube.read('v1', 'Namespace', name))) return;
  // A scratch copy: its pods need no graceful shutdown (PostgreSQL's would hold the deletion for seconds).
  await kube.call(`delete pods -n ${name} (now)`, () =>
    kube.core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 }),
  );
  await kube.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await ctx.out.progress(`deleting namespace ${name}`, () =>
    kube.waitFor<V1Namespace>({
      apiVersion: 'v1',
      kind: 'Namespace',
      fieldSelector: `metadata.name=${name}`,
      timeoutSec: ctx.timeoutSec,
      done: (ns) => ns.length === 0,
      describe: ([n]) => `namespace ${name}: ${n?.status?.phase ?? 'gone'}`,
    }),
  );
}

const key = (o: Obj) => `${o.kind}/${o.metadata.name}`;

/** The archive's objects, Secrets included: decrypted, or (a verify of an archive without them) copied from the live source namespace. */
async function archiveObjects(
  ctx: Context,
  dir: string,
  m: Manifest,
  o: { verify: boolean; passphrase?: string },
): Promise<{ objs: Obj[]; secretsFrom: string }> {
  const plain = JSON.parse(fs.readFileSync(path.join(dir, 'objects.json'), 'utf8')) as Obj[];
  let secrets: Obj[] = [];
  let secretsFrom = 'the target namespace';
  if (m.secrets.mode === 'encrypted') {
    if (!o.passphrase)
      throw usageError(
        "the archive's Secrets are encrypted: set TODO_BACKUP_PASSPHRASE",
        'in the secrets file (env/.env.local), the passphrase the backup was made with',
      );
    secrets = JSON.parse(
      decrypt(fs.readFileSync(path.join(dir, 'secrets.enc')), o.passphrase).toString('utf8'),
    ) as Obj[];
    secretsFrom = 'the archive (decrypted)';
  } else if (o.verify && m.secrets.names.length) {
    const kube = await ctx.kube();
    const names = new Set(m.secrets.names.map((s) => s.name));
    const live = (await kube.list<V1Secret>('v1', 'Secret', m.namespace)).filter((s) =>
      names.has(s.metadata?.name ?? ''),
    );
    if (live.length !== names.size)
      throw usageError(
        `the archive has no Secrets (made without --include-secrets) and ${m.namespace} no longer has all of them (${[...names].filter((n) => !live.some((s) => s.metadata?.name === n)).join(', ')})`,
        'verify an archive made with --include-secrets',
      );
    secrets = selectObjects(live.map((s) => ({ ...s, apiVersion: 'v1', kind: 'Secret' }) as Obj));
    secretsFrom = `the live namespace ${m.namespace} (the archive has none)`;
  }
  for (const s of secrets) for (const v of Object.values(decodeSecretData((s as V1Secret).data))) addSecret(v);
  return { objs: selectObjects([...secrets, ...plain]), secretsFrom };
}

export async function restoreInto(
  ctx: Context,
  dir: string,
  m: Manifest,
  o: { target: string; verify: boolean; force: boolean; passphrase?: string; dataOnly?: boolean },
): Promise<RestoreOutcome> {
  const kube = await ctx.kube();
  const { target } = o;
  const { objs: archived, secretsFrom } = await archiveObjects(ctx, dir, m, o);
  const objs = remap(archived, m.namespace, target);
  const hasDump = m.database !== null;
  if (
    hasDump &&
    !objs.some((x) => x.kind === 'StatefulSet' && x.metadata.labels?.['app.kubernetes.io/component'] === 'postgresql')
  )
    throw usageError(
      `the archive's database is external (${m.database!.via}): restore loads dumps into the release's in-cluster PostgreSQL only`,
      'load db.dump into the external database with pg_restore --single-transaction',
    );

  // Observe the target: one List per kind, and its database when it runs one.
  const ns = await kube.read<V1Namespace>('v1', 'Namespace', target);
  const present = ns ? await listObjects(ctx, target) : [];
  const presentKeys = new Set(present.map(key));
  const existing = objs.filter((x) => presentKeys.has(key(x))).map(key);
  if (m.secrets.mode === 'excluded' && !o.verify && !o.dataOnly) {
    const missing = m.secrets.names.filter((s) => !presentKeys.has(`Secret/${s.name}`)).map((s) => s.name);
    if (missing.length)
      throw usageError(
        `the archive has no Secrets (made without --include-secrets) and ${target} lacks ${missing.join(', ')}`,
        'create them first, or restore an archive made with --include-secrets',
      );
  }
  let db: { rows: number; tables: number } | undefined;
  const liveDb = ns && hasDump ? await inClusterDb(kube, target, m.release) : undefined;
  if (liveDb) {
    const counts = await countRows(kube, liveDb, ctx.timeoutSec);
    db = { rows: Object.values(counts).reduce((a, b) => a + b, 0), tables: Object.keys(counts).length };
  }
  // --data-only: the release's Deployments as they are in the target, not the archive's.
  const release = (x: Obj) => x.metadata.labels?.['app.kubernetes.io/instance'] === m.release;
  const workloadObjs = o.dataOnly ? present.filter(release) : objs;
  const replicas = deploymentReplicas(workloadObjs);
  const plan = planRestore({
    source: m.namespace,
    target,
    release: m.release,
    namespaceExists: !!ns,
    existing,
    objects: objs.length,
    db,
    hasDump,
    deployments: replicas,
    verify: o.verify,
    force: o.force,
    dataOnly: o.dataOnly,
  });
  // Into the namespace the backup came from: the live release is replaced, so ask.
  if (!o.verify && target === m.namespace) for (const a of plan) if (a.what === 'apply objects') a.destructive = true;

  const outcome: RestoreOutcome = { namespace: target, objects: {}, tables: null, mismatches: [], verified: false };
  const expectedObjects = { ...m.objects };
  const sourceNs = await kube.read<V1Namespace>('v1', 'Namespace', m.namespace);
  await applyPlan<RestoreStep>(ctx, plan, async (a) => {
    const step = a.params!;
    switch (step.kind) {
      case 'namespace': {
        // Same Pod Security level as the source namespace.
        const ps = Object.fromEntries(
          Object.entries(sourceNs?.metadata?.labels ?? {}).filter(([k]) => k.startsWith('pod-security.kubernetes.io/')),
        );
        await kube.apply({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: target,
            labels: {
              ...ps,
              'app.kubernetes.io/managed-by': 'todo-chatbot-ops',
              ...(o.verify ? { 'todo-ops/scratch': 'backup-verify' } : {}),
            },
          },
        });
        await kube.waitFor({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          namespace: target,
          fieldSelector: 'metadata.name=default',
          timeoutSec: ctx.timeoutSec,
          done: (sa) => sa.length > 0,
        });
        return undefined;
      }
      case 'objects': {
        for (const x of heldAtZero(objs)) await kube.apply(x, { force: true });
        // Secrets the archive does not hold count when the target has them (checked above).
        const names = new Set([
          ...objs.filter((x) => !isHelmRecord(x)).map(key),
          ...m.secrets.names.map((s) => `Secret/${s.name}`),
        ]);
        outcome.objects = countByKind((await listObjects(ctx, target)).filter((x) => names.has(key(x))));
        const diff = compareCounts(expectedObjects, outcome.objects, 'objects');
        outcome.mismatches.push(...diff);
        ctx.result.finding(
          diff.length
            ? { name: 'objects', level: 'fail', detail: diff.join('; '), object: { kind: 'Namespace', name: target } }
            : {
                name: 'objects',
                level: 'ok',
                detail: `${Object.values(outcome.objects).reduce((n, x) => n + x, 0)} objects in ${target} match the manifest (${Object.entries(
                  outcome.objects,
                )
                  .map(([k, n]) => `${k} ${n}`)
                  .join(', ')}); Secrets from ${secretsFrom}`,
                required: false,
              },
        );
        return `${objs.length} applied (Deployments at 0 replicas)`;
      }
      case 'stop': {
        for (const name of step.deployments) await kube.scale('Deployment', name, target, 0);
        return `${step.deployments.length} Deployments at 0 replicas`;
      }
      case 'database': {
        // No app pod may hold a connection while the tables are replaced.
        await kube.waitFor<V1Deployment>({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: target,
          labelSelector: `app.kubernetes.io/instance=${m.release}`,
          timeoutSec: ctx.timeoutSec,
          done: (ds) => ds.every((d) => (d.status?.replicas ?? 0) === 0),
          describe: (ds) => ds.map((d) => `${d.metadata?.name}: ${d.status?.replicas ?? 0} pods`).join(', '),
        });
        const target_ = await ctx.out.progress(`waiting for PostgreSQL in ${target}`, () =>
          waitInClusterDb(kube, target, m.release, ctx.timeoutSec),
        );
        const before = await countRows(kube, target_, ctx.timeoutSec);
        await ctx.out.progress(`pg_restore into ${target_.pod}`, () =>
          restoreFrom(kube, target_, path.join(dir, 'db.dump'), {
            clean: Object.keys(before).length > 0,
            timeoutSec: Math.max(ctx.timeoutSec, 3600),
          }),
        );
        outcome.tables = await countRows(kube, target_, ctx.timeoutSec);
        const diff = compareCounts(m.database!.tables, outcome.tables, 'rows in');
        outcome.mismatches.push(...diff);
        const rows = Object.values(outcome.tables).reduce((n, x) => n + x, 0);
        ctx.result.finding(
          diff.length
            ? {
                name: 'rows',
                level: 'fail',
                detail: diff.join('; '),
                object: { kind: 'Pod', name: target_.pod, namespace: target },
              }
            : {
                name: 'rows',
                level: 'ok',
                detail: `${rows} rows in ${Object.keys(outcome.tables).length} tables match the manifest`,
                required: false,
              },
        );
        return `${rows} rows in ${Object.keys(outcome.tables).length} tables`;
      }
      case 'start': {
        for (const [name, n] of Object.entries(step.replicas)) await kube.scale('Deployment', name, target, n);
        const workloads = workloadObjs.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet');
        await ctx.out.progress(
          `waiting for ${workloads.map((w) => `${w.kind.toLowerCase()}/${w.metadata.name}`).join(', ')}`,
          () =>
            Promise.all(
              workloads.map((w) =>
                waitForRollout(kube, {
                  kind: w.kind as 'Deployment' | 'StatefulSet',
                  name: w.metadata.name,
                  namespace: target,
                  timeoutSec: ctx.timeoutSec,
                }),
              ),
            ),
        );
        return `${workloads.length} workloads ready`;
      }
      case 'cleanup':
        await deleteNamespace(ctx, target);
        return undefined;
    }
  });
  outcome.verified =
    !ctx.dryRun && outcome.mismatches.length === 0 && ctx.result.actions.every((x) => x.status !== 'failed');
  return outcome;
}
