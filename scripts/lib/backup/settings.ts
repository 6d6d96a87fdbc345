// Settings shared by backup and restore, apart from their run modules: the
// entry files and config's key check read them without loading the Kubernetes client.
import { defineSettings, durationSeconds, int, setting, str } from '../kit/settings.ts';

export const backupSettings = defineSettings({
  TODO_BACKUP_DIR: setting(
    str,
    '',
    'where archives are written and looked up (empty: backups/ in the state directory of the context and namespace)',
  ),
  TODO_BACKUP_KEEP: setting(
    int(0, 10000),
    7,
    'retention: keep the newest N archives of the release (0: no count limit)',
  ),
  TODO_BACKUP_MAX_AGE: setting(
    durationSeconds,
    0,
    'retention: delete archives older than this, e.g. 30d or 12h (0: no age limit)',
  ),
  TODO_BACKUP_PASSPHRASE: setting(
    str,
    '',
    'encrypts Secrets in archives made with --include-secrets; keep it in the secrets file (env/.env.local)',
    true,
  ),
  TODO_BACKUP_PG_IMAGE: setting(
    str,
    'docker.io/library/postgres:17.12-trixie',
    'image of the short-lived pod that runs pg_dump against an external DATABASE_URL',
  ),
});
