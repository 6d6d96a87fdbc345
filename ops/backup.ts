#!/usr/bin/env -S npx zx
// Backs up a release: its values and history, the namespace's objects, a
// consistent pg_dump, as one checksummed archive; --verify proves it by a
// restore into a scratch namespace. Cron-ready; every run is recorded in the
// state stream "backup" (read by the alert rule on backup age).
import { main } from '../scripts/lib/main.ts';
import { options, settings } from './backup/spec.ts';

await main({
  name: 'backup',
  summary: 'back up the release (objects, values, history, database) into one checksummed archive',
  description: `The archive is a directory <release>-<UTC time> in the backup directory, written under a
temporary name and renamed when complete. Secrets are left out unless --include-secrets, which
encrypts them (with helm's release records) with TODO_BACKUP_PASSPHRASE. The database is dumped
with pg_dump -Fc in the snapshot its row counts are taken in, through the PostgreSQL pod (or a
short-lived pod for an external DATABASE_URL). Retention then deletes the release's archives
beyond --keep or older than --max-age (never the newest).
Exit 4 when the backup failed or --verify could not prove it; 5 while another backup runs.`,
  touches: 'changes',
  lock: 'script',
  options,
  settings,
  examples: [
    'npx zx ops/backup.ts',
    'npx zx ops/backup.ts --verify --include-secrets',
    'npx zx ops/backup.ts --keep 14 --max-age 30d -o json',
  ],
  run: async (ctx) => (await import('./backup/run.ts')).runBackup(ctx),
});
