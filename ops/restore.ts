#!/usr/bin/env -S npx zx
// Restores a backup archive: every checksum checked first (a damaged archive
// changes nothing), objects re-created, the dump loaded, the app started, and
// object and row counts reported against the manifest. --verify restores into
// a scratch namespace and deletes it.
import { main } from '../scripts/lib/main.ts';
import { checkRestoreArgs, options, settings } from './restore/spec.ts';

await main({
  name: 'restore',
  summary: 'restore a backup archive into its namespace or another one, or --verify it in a scratch namespace',
  description: `ARCHIVE is a path, a name in the backup directory, or "latest". Into the namespace it came
from needs --yes; a database that holds rows is never overwritten without --force. Deployments
stay at 0 replicas until the data is loaded. --data-only loads just the database into the release as
deployed now (its objects, the PostgreSQL image among them, kept): how a backup made with an older
PostgreSQL major reaches a new one (deploy refuses the major change and prints the steps). Exit 1 when the archive is damaged (nothing changed)
or the restored counts differ from the manifest; 4 when a step failed.`,
  touches: 'changes',
  destructive: true,
  lock: 'release',
  positionals: 'ARCHIVE',
  options,
  settings,
  examples: [
    'npx zx ops/restore.ts latest --verify',
    'npx zx ops/restore.ts latest --to-namespace todo-copy',
    'npx zx ops/restore.ts todo-chatbot-20261127T141533.123Z --yes --force',
    'npx zx ops/restore.ts latest --data-only --yes',
  ],
  check: checkRestoreArgs,
  run: async (ctx) => (await import('./restore/run.ts')).runRestore(ctx),
});
