// restore's options and settings, apart from its run module (--help stays fast).
// The settings are backup's too: they live with the shared backup code.
import fs from 'node:fs';
import path from 'node:path';
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { usageError } from '../../scripts/lib/kit/errors.ts';
import { backupSettings } from '../../scripts/lib/backup/settings.ts';

export const options = {
  'to-namespace': { type: 'string', arg: 'NS', help: 'restore into this namespace instead (created when missing)' },
  force: { type: 'boolean', help: 'replace the contents of a database that holds rows' },
  'data-only': {
    type: 'boolean',
    help: "load only the archive's database into the release as deployed now, its objects kept (moving to a new PostgreSQL major)",
  },
  verify: { type: 'boolean', help: 'restore into a scratch namespace, compare counts with the manifest, delete it' },
  dir: {
    type: 'string',
    arg: 'DIR',
    help: 'backup directory to find ARCHIVE in (default TODO_BACKUP_DIR, else backups/ in the state directory)',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = backupSettings;

export type RestoreContext = Context<typeof options, typeof settings>;

/** Bad input is exit 2 before any cluster access; a name in the backup directory is looked up in the run (the directory depends on the context). */
export function checkRestoreArgs(ctx: RestoreContext): void {
  const o = ctx.opts;
  if (ctx.positionals.length !== 1)
    throw usageError(
      'restore takes one archive: a path, a name in the backup directory, or "latest"',
      'npx zx ops/restore.ts --help',
    );
  if (o['data-only'] && o.verify)
    throw usageError(
      '--data-only loads into a deployed release: --verify restores everything into a scratch namespace',
    );
  if (o.verify && o['to-namespace'])
    throw usageError('--verify restores into a scratch namespace of its own: leave out --to-namespace');
  if (o['to-namespace'] !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o['to-namespace']))
    throw usageError(`--to-namespace must be a namespace name, got "${o['to-namespace']}"`);
  const arg = ctx.positionals[0]!;
  if (arg.includes('/') && !fs.existsSync(arg))
    throw usageError(`no archive at ${path.resolve(arg)}`, 'npx zx ops/restore.ts latest (the newest backup)');
  const dir = o.dir ?? ctx.cfg.TODO_BACKUP_DIR;
  if (o.dir !== undefined && !fs.existsSync(o.dir)) throw usageError(`--dir ${o.dir}: no such directory`);
  if (dir && arg !== 'latest' && !arg.includes('/') && !fs.existsSync(arg) && !fs.existsSync(path.join(dir, arg)))
    throw usageError(`no archive ${arg} in ${path.resolve(dir)}`, `npx zx ops/restore.ts latest --dir ${dir}`);
}
