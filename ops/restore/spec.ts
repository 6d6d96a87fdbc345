// restore's options and settings, apart from its run module (--help stays fast).
// The settings are backup's too: they live with the shared backup code.
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { backupSettings } from '../../scripts/lib/backup/settings.ts';

export const options = {
  'to-namespace': { type: 'string', arg: 'NS', help: 'restore into this namespace instead (created when missing)' },
  force: { type: 'boolean', help: 'replace the contents of a database that holds rows' },
  verify: { type: 'boolean', help: 'restore into a scratch namespace, compare counts with the manifest, delete it' },
  dir: {
    type: 'string',
    arg: 'DIR',
    help: 'backup directory to find ARCHIVE in (default TODO_BACKUP_DIR, else backups/ in the state directory)',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = backupSettings;

export type RestoreContext = Context<typeof options, typeof settings>;
