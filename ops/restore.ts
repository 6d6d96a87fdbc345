#!/usr/bin/env -S npx zx
// Restores a backup archive: every checksum checked first (a damaged archive
// changes nothing), objects re-created, the dump loaded, the app started, and
// object and row counts reported against the manifest. --verify restores into
// a scratch namespace and deletes it.
import { main } from '../scripts/lib/kit/cli.ts';
import { backupSettings } from '../scripts/lib/backup/settings.ts';

await main({
  name: 'restore',
  summary: 'restore a backup archive into its namespace or another one, or --verify it in a scratch namespace',
  description: `ARCHIVE is a path, a name in the backup directory, or "latest". Into the namespace it came
from needs --yes; a database that holds rows is never overwritten without --force. Deployments
stay at 0 replicas until the data is loaded. Exit 1 when the archive is damaged (nothing changed)
or the restored counts differ from the manifest; 4 when a step failed.`,
  touches: 'changes',
  destructive: true,
  lock: 'release',
  positionals: 'ARCHIVE',
  options: {
    'to-namespace': { type: 'string', arg: 'NS', help: 'restore into this namespace instead (created when missing)' },
    force: { type: 'boolean', help: 'replace the contents of a database that holds rows' },
    verify: { type: 'boolean', help: 'restore into a scratch namespace, compare counts with the manifest, delete it' },
    dir: { type: 'string', arg: 'DIR', help: 'backup directory to find ARCHIVE in (default TODO_BACKUP_DIR, else backups/ in the state directory)' },
  },
  settings: backupSettings,
  examples: ['npx zx ops/restore.ts latest --verify', 'npx zx ops/restore.ts latest --to-namespace todo-copy', 'npx zx ops/restore.ts todo-chatbot-20261127T141533.123Z --yes --force'],
  run: async (ctx) => (await import('./restore/run.ts')).runRestore(ctx),
});
