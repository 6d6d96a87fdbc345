#!/usr/bin/env -S npx zx
// Crontab entries for the ops scripts (self-heal, alert, backup, predict) with
// schedules from the env profile (TODO_CRON_*), absolute paths, and logs with
// rotation in the state directory. The table and the merging are in
// cron/table.ts (pure); reading and writing the crontab in cron/run.ts.
import { main } from './lib/main.ts';
import { options, settings } from './cron/spec.ts';

await main({
  name: 'cron',
  summary: 'install, list or remove the crontab entries of the ops scripts for this profile and namespace',
  description: `install is idempotent (twice = one set of entries) and replaces only its own block, marked
"# BEGIN/END todo-chatbot-ops PROFILE/NAMESPACE"; the crontab's other lines are left as they are.
Jobs whose script is not in this checkout, or whose schedule is "off", are left out (an info finding).
Each job's output goes to <TODO_STATE_DIR>/logs/<profile>-<namespace>/<job>.log, rotated past TODO_CRON_LOG_MAX.`,
  touches: 'changes',
  positionals: 'install|list|remove',
  options,
  settings,
  examples: [
    'npx zx scripts/cron.ts install --dry-run',
    'npx zx scripts/cron.ts install -o json',
    'npx zx scripts/cron.ts list',
    'npx zx scripts/cron.ts remove',
  ],
  run: async (ctx) => (await import('./cron/run.ts')).runCron(ctx),
});
