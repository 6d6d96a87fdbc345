// restore (A7): find the archive, check every checksum first (a damaged
// archive is refused with nothing changed), then the restore engine
// (scripts/lib/backup/restore.ts) into its namespace, another one, or with --verify a
// scratch namespace that it deletes afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { Exit, usageError, type ExitCode } from '../../scripts/lib/kit/errors.ts';
import { listArchives, openArchive } from '../../scripts/lib/backup/archive.ts';
import { backupDir } from '../../scripts/lib/backup/store.ts';
import { restoreInto, verifyArchive } from '../../scripts/lib/backup/restore.ts';
import { acquireLock } from '../../scripts/lib/kit/lock.ts';
import type { RestoreContext } from './spec.ts';

/** An archive by path, by name in the backup directory, or "latest" (the release's newest there). */
export async function resolveArchive(ctx: RestoreContext, arg: string, dir?: string): Promise<string> {
  if (arg.includes('/') || fs.existsSync(arg)) return path.resolve(arg);
  const dest = await backupDir(ctx, dir ?? ctx.cfg.TODO_BACKUP_DIR);
  if (arg === 'latest') {
    const newest = listArchives(dest)
      .filter((a) => a.release === ctx.release)
      .at(-1);
    if (!newest) throw usageError(`no archive of release ${ctx.release} in ${dest}`, 'npx zx ops/backup.ts');
    return newest.dir;
  }
  return path.join(dest, arg);
}

export async function runRestore(ctx: RestoreContext): Promise<ExitCode | void> {
  const o = ctx.opts;
  const dir = await resolveArchive(ctx, ctx.positionals[0]!, o.dir);
  const m = await openArchive(dir);
  ctx.result.finding({
    name: 'archive',
    level: 'ok',
    detail: `${path.basename(dir)}: ${m.parts.length} parts, sizes and SHA-256 checksums match the manifest`,
    required: false,
  });
  ctx.result.data = { archive: dir, createdAt: m.createdAt, source: m.namespace, release: m.release };
  const passphrase = ctx.cfg.TODO_BACKUP_PASSPHRASE || undefined;
  if (o.verify) {
    const v = await verifyArchive(ctx, dir, m, passphrase);
    ctx.result.data.verify = v;
    return v.verified ? undefined : Exit.problem;
  }
  const target = o['to-namespace'] ?? ctx.namespace;
  // The run holds the release lock of its own namespace (main); another target's is taken here too.
  const unlock =
    target !== ctx.namespace && !ctx.dryRun
      ? await acquireLock(
          ctx.cfg.TODO_STATE_DIR,
          { context: (await ctx.kube()).contextName, namespace: target, release: m.release },
          'restore',
        )
      : undefined;
  try {
    ctx.result.data.restored = await restoreInto(ctx, dir, m, {
      target,
      verify: false,
      force: o.force,
      passphrase,
      dataOnly: o['data-only'],
    });
  } finally {
    unlock?.();
  }
}
