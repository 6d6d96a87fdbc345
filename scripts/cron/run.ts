// cron: install, list or remove this profile's and namespace's crontab
// entries (table.ts decides the lines), through the real `crontab`.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../lib/kit/env.ts';
import { cronBlock, cronJobs, mergeCrontab, ourLines, type CronEnvironment } from './table.ts';
import type { CronContext } from './spec.ts';
import { usageError } from '../lib/kit/errors.ts';
import { applyPlan } from '../lib/kit/plan.ts';
import { run, shell } from '../lib/kit/shell.ts';
import { tsNodeFlags } from '../lib/kit/node-flags.ts';

const userArgs = (user?: string) => (user ? ['-u', user] : []);

async function readCrontab(user?: string): Promise<string> {
  const res = await shell()`crontab ${userArgs(user)} -l`;
  if (res.exitCode === 0) return res.stdout;
  if (/no crontab for/i.test(res.stderr)) return '';
  throw usageError(
    `crontab -l failed: ${res.stderr.trim().split('\n').pop()}`,
    'is cron installed (Debian: apt-get install cron)?',
  );
}

/** Where the tools are: cron's PATH is /usr/bin:/bin, without nvm, helm or kubectl from a cache. */
function searchPath(): string {
  const dirs = new Set<string>([path.dirname(process.execPath)]);
  for (const tool of ['helm', 'kubectl', 'kagent']) {
    for (const d of (process.env.PATH ?? '').split(':')) {
      if (d && path.isAbsolute(d) && fs.existsSync(path.join(d, tool))) {
        dirs.add(d);
        break;
      }
    }
  }
  return [...dirs, '/usr/local/bin', '/usr/bin', '/bin'].join(':');
}

export function cronEnvironment(ctx: CronContext): CronEnvironment {
  const cfg = ctx.cfg;
  const stateDir = path.resolve(cfg.TODO_STATE_DIR);
  const env: Record<string, string> = {
    PATH: searchPath(),
    TODO_PROFILE: cfg.profile,
    TODO_NAMESPACE: ctx.namespace,
    TODO_STATE_DIR: stateDir,
  };
  if (ctx.context) env.TODO_CONTEXT = ctx.context;
  const kubeconfig = ctx.kubeconfig ?? process.env.KUBECONFIG;
  if (kubeconfig)
    env.KUBECONFIG = kubeconfig
      .split(':')
      .map((p) => path.resolve(p))
      .join(':');
  if (process.env.TODO_ENV_DIR) env.TODO_ENV_DIR = path.resolve(process.env.TODO_ENV_DIR);
  const nodeFlags = tsNodeFlags();
  return {
    node: process.execPath,
    nodeFlags,
    repo: repoRoot,
    logDir: path.join(stateDir, 'logs', `${cfg.profile}-${ctx.namespace}`),
    logMax: cfg.TODO_CRON_LOG_MAX,
    logKeep: cfg.TODO_CRON_LOG_KEEP,
    env,
    id: `${cfg.profile}/${ctx.namespace}`,
  };
}

export async function runCron(ctx: CronContext): Promise<void> {
  const [cmd, ...rest] = ctx.positionals;
  if (!cmd || !['install', 'list', 'remove'].includes(cmd))
    throw usageError(
      cmd ? `unknown command "${cmd}": use install, list or remove` : 'expected a command: install, list or remove',
    );
  if (rest.length) throw usageError(`too many arguments: ${rest.join(' ')}`);
  const user = ctx.opts.user;
  const e = cronEnvironment(ctx);
  const current = await readCrontab(user);
  const who = user ? `user ${user}'s crontab` : 'the crontab';
  if (cmd === 'list') {
    const lines = ourLines(current, e.id);
    ctx.result.data = { id: e.id, lines };
    ctx.result.finding({
      name: 'cron',
      level: 'info',
      detail: lines.length
        ? `${lines.length} entr${lines.length === 1 ? 'y' : 'ies'} for ${e.id} in ${who}`
        : `no entries for ${e.id} in ${who}`,
    });
    for (const l of lines) ctx.out.say(l);
    return;
  }
  const schedules = Object.fromEntries(cronJobs.map((j) => [j.setting, ctx.cfg[j.setting]]));
  const block =
    cmd === 'install'
      ? cronBlock(e, schedules, (s) => fs.existsSync(path.join(repoRoot, s)))
      : { lines: [], jobs: [], skipped: [] };
  for (const s of block.skipped)
    ctx.result.finding({ name: `cron ${s.job}`, level: 'info', detail: `not scheduled: ${s.why}` });
  const next = mergeCrontab(current, e.id, block.lines);
  ctx.result.data = {
    id: e.id,
    jobs: block.jobs.map((j) => ({ job: j.job, schedule: j.schedule, log: j.log })),
    skipped: block.skipped,
    ...(ctx.dryRun ? { crontab: next } : {}),
  };
  if (next === current) {
    ctx.result.finding({
      name: 'cron',
      level: 'ok',
      detail: cmd === 'install' ? `${who} already has these entries for ${e.id}` : `${who} has no entries for ${e.id}`,
    });
    return;
  }
  if (ctx.dryRun) for (const l of block.lines) ctx.out.say(l);
  await applyPlan(
    ctx,
    [
      {
        what: cmd === 'install' ? 'install crontab entries' : 'remove crontab entries',
        target: who,
        reason:
          cmd === 'install'
            ? `${block.jobs.map((j) => `${j.job} (${j.schedule})`).join(', ')} for ${e.id}`
            : `the entries for ${e.id}`,
      },
    ],
    async () => {
      if (cmd === 'install') {
        fs.mkdirSync(e.logDir, { recursive: true });
        // Another user's jobs write their own logs.
        if (user) await run('chown', [user, e.logDir]);
      }
      await run('crontab', [...userArgs(user), '-'], { input: next, what: 'crontab -' });
      return cmd === 'install' ? `${block.jobs.length} job(s); logs in ${e.logDir}` : 'removed; other lines untouched';
    },
  );
}
