// backup's options and settings, apart from its run module (--help stays fast).
// The settings are restore's too: they live with the shared backup code.
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { backupSettings } from '../../scripts/lib/backup/settings.ts';

export const options = {
  verify: {
    type: 'boolean',
    help: 'restore the new archive into a scratch namespace, compare counts, delete the namespace',
  },
  'include-secrets': {
    type: 'boolean',
    help: "keep Secrets and helm's release records, encrypted with TODO_BACKUP_PASSPHRASE",
  },
  dir: {
    type: 'string',
    arg: 'DIR',
    help: 'backup directory (default TODO_BACKUP_DIR, else backups/ in the state directory)',
  },
  keep: {
    type: 'int',
    min: 0,
    max: 10000,
    arg: 'N',
    help: 'keep the newest N archives (default TODO_BACKUP_KEEP; 0: no count limit)',
  },
  'max-age': {
    type: 'duration',
    help: 'delete archives older than this (default TODO_BACKUP_MAX_AGE; 0: no age limit)',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = backupSettings;

export type BackupContext = Context<typeof options, typeof settings>;
