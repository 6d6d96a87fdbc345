// backup (A7): one List per kind of the namespace's objects, helm's records of
// the release, a consistent pg_dump streamed to a file, all written as one
// checksummed archive (scripts/lib/backup/archive.ts); then, when asked, a verified restore
// into a scratch namespace (scripts/lib/backup/restore.ts), then retention. Every run appends
// its outcome to the state stream "backup" (the alert rule reads it).
import fs from 'node:fs';
import path from 'node:path';
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import { usageError } from '../../scripts/lib/kit/errors.ts';
import {
  ArchiveWriter,
  archiveName,
  expired,
  listArchives,
  encrypt,
  removeStalePartials,
  type Manifest,
} from '../../scripts/lib/backup/archive.ts';
import { countByKind, isHelmRecord, selectObjects, type Obj } from '../../scripts/lib/backup/objects.ts';
import { backupDir, listObjects } from '../../scripts/lib/backup/store.ts';
import { dbSelector, dumpTo, externalDb, inClusterDb, type DbTarget } from '../../scripts/lib/backup/db.ts';
import { applyPlan, type PlannedAction } from '../../scripts/lib/kit/plan.ts';
import { decodeHelmRecord, historyOf } from '../../scripts/lib/release/history.ts';
import { addSecret } from '../../scripts/lib/kit/output.ts';
import { appSecretName, decodeSecretData } from '../../scripts/lib/release/secrets.ts';
import type { BackupContext } from './spec.ts';

export interface BackupRecord {
  ok: boolean;
  verified: boolean | null;
  archive: string;
  bytes: number;
  durationMs: number;
}

const secretish = /password|passphrase|token|apikey|api_key|secret$|betterauthsecret|^url$/i;
/** Values as stored by helm, with anything that looks like a credential replaced (the full record is in secrets.enc, encrypted). */
export function redactValues(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => redactValues(x, key));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactValues(x, k)]));
  return typeof v === 'string' && v !== '' && secretish.test(key) && !/^existingSecret/i.test(key) ? '<redacted>' : v;
}

/** How to reach the release's database: its PostgreSQL pod, else the external DATABASE_URL in the app Secret. */
async function findDb(ctx: BackupContext, secrets: readonly Obj[]): Promise<DbTarget | undefined> {
  const kube = await ctx.kube();
  const inCluster = await inClusterDb(kube, ctx.namespace, ctx.release);
  if (inCluster) return inCluster;
  const app = secrets.find((s) => s.metadata.name === appSecretName(ctx.release)) as V1Secret | undefined;
  const url = decodeSecretData(app?.data).DATABASE_URL;
  if (!url) return undefined;
  addSecret(url);
  const backend = (
    await kube.list<V1Deployment>(
      'apps/v1',
      'Deployment',
      ctx.namespace,
      `app.kubernetes.io/instance=${ctx.release},app.kubernetes.io/component=backend`,
    )
  )[0];
  const ps = backend?.spec?.template.spec;
  const scheduling = {
    ...(ps?.nodeSelector ? { nodeSelector: ps.nodeSelector } : {}),
    ...(ps?.tolerations ? { tolerations: ps.tolerations } : {}),
    ...(ps?.affinity ? { affinity: ps.affinity } : {}),
  };
  return externalDb(kube, {
    namespace: ctx.namespace,
    release: ctx.release,
    url,
    image: ctx.cfg.TODO_BACKUP_PG_IMAGE,
    scheduling,
    timeoutSec: ctx.timeoutSec,
  });
}

interface Step {
  kind: 'backup' | 'verify' | 'expire';
  dir?: string;
}

export async function runBackup(ctx: BackupContext): Promise<void> {
  const t0 = Date.now();
  const o = ctx.opts;
  const passphrase = ctx.cfg.TODO_BACKUP_PASSPHRASE;
  if (o['include-secrets'] && !passphrase)
    throw usageError(
      '--include-secrets needs TODO_BACKUP_PASSPHRASE (Secrets are never written in plain text)',
      'set it in the secrets file: env/.env.local',
    );
  const dest = await backupDir(ctx, o.dir ?? ctx.cfg.TODO_BACKUP_DIR);
  const kube = await ctx.kube();
  if (!(await kube.read('v1', 'Namespace', ctx.namespace)))
    throw usageError(`namespace ${ctx.namespace} does not exist: nothing to back up`);

  // A verify loads the dump into the release's own PostgreSQL in a scratch copy: refuse before backing up when there is none.
  if (o.verify && !(await kube.list('v1', 'Pod', ctx.namespace, dbSelector(ctx.release))).length)
    throw usageError(
      `--verify restores into the release's in-cluster PostgreSQL, and ${ctx.release} in ${ctx.namespace} runs none (external database)`,
      'back up without --verify; test a restore of the dump into a database of your own',
    );

  const now = new Date();
  const name = archiveName(ctx.release, now);
  const existing = listArchives(dest);
  const retention = {
    keep: o.keep ?? ctx.cfg.TODO_BACKUP_KEEP,
    maxAgeSec: o['max-age'] ?? ctx.cfg.TODO_BACKUP_MAX_AGE,
  };
  const toExpire = expired(
    [...existing, { name, dir: path.join(dest, name), createdAt: now.toISOString(), release: ctx.release }],
    ctx.release,
    retention,
    now,
  );
  const plan: PlannedAction<Step>[] = [
    {
      what: 'back up',
      target: path.join(dest, name),
      reason: `release ${ctx.release} in ${ctx.namespace}: objects, values and history, database${o['include-secrets'] ? ', Secrets encrypted' : ' (Secrets excluded)'}`,
      params: { kind: 'backup' },
    },
    ...(o.verify
      ? [
          {
            what: 'verify',
            target: name,
            reason: 'restore into a scratch namespace and compare counts with the manifest',
            params: { kind: 'verify' as const },
          },
        ]
      : []),
    ...toExpire.map((a) => ({
      what: 'delete expired archive',
      target: a.name,
      reason: `retention: keep ${retention.keep || 'any number'}, max age ${retention.maxAgeSec ? `${retention.maxAgeSec}s` : 'none'}`,
      destructive: true,
      unattended: true,
      params: { kind: 'expire' as const, dir: a.dir },
    })),
  ];

  const record: BackupRecord = {
    ok: false,
    verified: o.verify ? false : null,
    archive: path.join(dest, name),
    bytes: 0,
    durationMs: 0,
  };
  let manifest: Manifest | undefined;
  ctx.result.data = { archive: record.archive, dir: dest, expired: toExpire.map((a) => a.name) };
  try {
    await applyPlan<Step>(ctx, plan, async (a) => {
      const step = a.params!;
      if (step.kind === 'backup') {
        const r = await writeBackup(ctx, dest, name, now, o['include-secrets'] ? passphrase : undefined);
        manifest = r.manifest;
        record.ok = true;
        record.bytes = r.bytes;
        const rows = Object.values(r.manifest.database?.tables ?? {}).reduce((n, x) => n + x, 0);
        Object.assign(ctx.result.data, {
          bytes: r.bytes,
          objects: r.manifest.objects,
          tables: r.manifest.database?.tables ?? null,
          database: r.manifest.database && { source: r.manifest.database.source, via: r.manifest.database.via },
          secrets: r.manifest.secrets.mode,
        });
        return `${Object.values(r.manifest.objects).reduce((n, x) => n + x, 0)} objects, ${Object.keys(r.manifest.database?.tables ?? {}).length} tables (${rows} rows), ${r.bytes} bytes`;
      }
      if (step.kind === 'verify') {
        const { verifyArchive } = await import('../../scripts/lib/backup/restore.ts');
        const v = await verifyArchive(ctx, record.archive, manifest!, passphrase || undefined);
        record.verified = v.verified;
        ctx.result.data.verify = v;
        if (!v.verified) throw new Error(`not verified: ${v.mismatches.join('; ')}`);
        return `verified in scratch namespace ${v.namespace} (deleted)`;
      }
      fs.rmSync(step.dir!, { recursive: true, force: true });
      return undefined;
    });
  } finally {
    record.durationMs = Date.now() - t0;
    ctx.result.data.verified = record.verified;
    if (!ctx.dryRun) (await ctx.state()).append('backup', record);
  }
}

/** Writes the archive: nothing named like an archive exists until every part is written and checksummed. */
async function writeBackup(ctx: BackupContext, dest: string, name: string, now: Date, passphrase: string | undefined) {
  const kube = await ctx.kube();
  fs.mkdirSync(dest, { recursive: true, mode: 0o700 });
  for (const f of removeStalePartials(dest)) ctx.out.debug(`removed ${f}, left by a backup that was killed`);
  const all = selectObjects(await listObjects(ctx, ctx.namespace));
  const secrets = all.filter((x) => x.kind === 'Secret');
  for (const s of secrets) for (const v of Object.values(decodeSecretData((s as V1Secret).data))) addSecret(v);
  const plain = all.filter((x) => x.kind !== 'Secret');
  const records = secrets
    .filter((s) => isHelmRecord(s) && s.metadata.labels?.name === ctx.release)
    .map((s) => decodeHelmRecord((s as V1Secret).data?.release ?? ''))
    .sort((a, b) => a.version - b.version);
  const latest = records.at(-1);
  const w = new ArchiveWriter(dest, name);
  let db: DbTarget | undefined;
  try {
    w.write(
      'release.json',
      JSON.stringify(
        {
          release: ctx.release,
          revision: latest?.version ?? null,
          values: redactValues(latest?.config ?? {}),
          history: historyOf(records),
        },
        null,
        2,
      ) + '\n',
    );
    w.write('objects.json', JSON.stringify(plain, null, 1) + '\n');
    if (passphrase) w.write('secrets.enc', encrypt(Buffer.from(JSON.stringify(secrets)), passphrase));
    db = await findDb(ctx, secrets);
    let database: Manifest['database'] = null;
    if (db) {
      const target = db;
      const dump = await ctx.out.progress(`pg_dump through ${db.via}`, () =>
        dumpTo(kube, target, w.file('db.dump'), Math.max(ctx.timeoutSec, 3600)),
      );
      database = { source: db.source, via: db.via, tables: dump.tables, serverVersion: dump.serverVersion };
    } else
      ctx.result.finding({
        name: 'database',
        level: 'warn',
        detail: `release ${ctx.release} has no PostgreSQL pod and no DATABASE_URL: the archive holds no database`,
        required: false,
      });
    return await w.finish({
      createdAt: now.toISOString(),
      context: kube.contextName,
      namespace: ctx.namespace,
      release: ctx.release,
      revision: latest?.version ?? null,
      chart: latest?.chart?.metadata ? `${latest.chart.metadata.name}-${latest.chart.metadata.version}` : null,
      objects: countByKind(all.filter((x) => !isHelmRecord(x))),
      releaseRecords: records.length,
      secrets: {
        mode: passphrase ? 'encrypted' : 'excluded',
        names: secrets
          .filter((s) => !isHelmRecord(s))
          .map((s) => ({ name: s.metadata.name, keys: Object.keys((s as V1Secret).data ?? {}).sort() })),
      },
      database,
    });
  } catch (e) {
    w.discard();
    throw e;
  } finally {
    await db?.cleanup();
  }
}
