// cron's decisions (pure): the job table (one place), schedule validation, the
// crontab block for one profile and namespace, and merging it into a user's
// crontab without touching their other lines. cron runs jobs with no PATH of
// ours and no nvm: every line carries absolute paths and its environment.
import { CronPattern } from 'croner';
import { defineSettings, int, setting, type Parser } from '../lib/kit/settings.ts';

export interface CronJob {
  name: string;
  /** repo-relative entry file */
  script: string;
  /** the setting that holds its schedule */
  setting: string;
  schedule: string;
  args: string[];
  why: string;
}

/** The jobs: schedules come from the settings below (env profile), defaults here. */
export const cronJobs = [
  {
    name: 'self-heal',
    script: 'ops/self-heal.ts',
    setting: 'TODO_CRON_SELF_HEAL',
    schedule: '* * * * *',
    args: ['-o', 'json'],
    why: 'heal crash loops and stuck pods',
  },
  {
    name: 'alert',
    script: 'ops/alert.ts',
    setting: 'TODO_CRON_ALERT',
    schedule: '* * * * *',
    args: ['-o', 'json'],
    why: 'evaluate the alert rules',
  },
  {
    name: 'backup',
    script: 'ops/backup.ts',
    setting: 'TODO_CRON_BACKUP',
    schedule: '30 2 * * *',
    // An archive nobody restored is a hope: the nightly one is restored into a scratch namespace and compared.
    args: ['--verify', '-o', 'json'],
    why: 'nightly database backup, verified by a restore',
  },
  {
    name: 'predict',
    script: 'ops/predict.ts',
    setting: 'TODO_CRON_PREDICT',
    schedule: '*/5 * * * *',
    args: ['-o', 'json'],
    why: 'sample usage for the forecasts',
  },
] as const satisfies readonly CronJob[];

const fields = [
  { name: 'minute', hint: '0-59' },
  { name: 'hour', hint: '0-23' },
  { name: 'day of month', hint: '1-31' },
  { name: 'month', hint: '1-12 or JAN-DEC' },
  { name: 'day of week', hint: '0-7 or SUN-SAT' },
];

/** The nicknames crontab knows, spelled as it wants them (lower case); croner cannot parse @reboot, and takes other spellings crontab refuses. */
const nicknames = new Set(['@reboot', '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/**
 * One list item as crontab reads it: *, a number or name, or a range, each with an optional step.
 * croner also takes Quartz syntax (L, W, #, ?) that crontab refuses, so items are held to this shape first.
 */
const crontabItem = /^(?:\*|(?:\d+|[a-z]{3})(?:-(?:\d+|[a-z]{3}))?)(?:\/\d+)?$/i;

/**
 * Whether croner takes the item in its field: each item alone, the other fields *, so an error can
 * name the item. 5-part mode reads the fields as crontab does (no seconds field). Only the syntax is
 * judged here: crontab computes the run times, so croner's day-of-month/day-of-week logic never applies.
 */
const validItem = (item: string, field: number) => {
  if (!crontabItem.test(item)) return false;
  try {
    new CronPattern(fields.map((_, i) => (i === field ? item : '*')).join(' '), undefined, { mode: '5-part' });
    return true;
  } catch {
    return false;
  }
};

/** What crontab accepts (five fields with names, ranges, steps and lists, or a nickname) or "off"; anything else is an error naming the field. */
export const schedule: Parser<string> = (v, key) => {
  const s = v.trim().replace(/\s+/g, ' ');
  if (s === 'off' || nicknames.has(s)) return s;
  const parts = s.split(' ');
  if (parts.length !== 5)
    throw new Error(
      `${key} must be a five-field cron schedule (minute hour day month weekday), a nickname (${[...nicknames].join(' ')}) or off, got "${v}"`,
    );
  parts.forEach((p, i) => {
    const f = fields[i]!;
    for (const item of p.split(',')) {
      if (!validItem(item, i))
        throw new Error(`${key}: bad ${f.name} "${item}" in "${s}" (${f.hint}, *, a-b, */n, lists)`);
    }
  });
  return s;
};

export const cronSettings = defineSettings({
  TODO_CRON_SELF_HEAL: setting(schedule, '* * * * *', 'self-heal schedule (cron syntax, or off)'),
  TODO_CRON_ALERT: setting(schedule, '* * * * *', 'alert schedule (cron syntax, or off)'),
  TODO_CRON_BACKUP: setting(schedule, '30 2 * * *', 'backup schedule (cron syntax, or off)'),
  TODO_CRON_PREDICT: setting(schedule, '*/5 * * * *', 'predict sampling schedule (cron syntax, or off)'),
  TODO_CRON_LOG_MAX: setting(
    int(1024, 1024 ** 3),
    5 * 1024 * 1024,
    'a job log is rotated when it is larger than this many bytes',
  ),
  TODO_CRON_LOG_KEEP: setting(int(1, 50), 3, 'rotated logs kept per job'),
});

export interface CronEnvironment {
  /** absolute path of node */
  node: string;
  /** node flags to run .ts with (the suite's loader) */
  nodeFlags: string[];
  repo: string;
  logDir: string;
  logMax: number;
  logKeep: number;
  /** what every job sees: TODO_PROFILE, TODO_NAMESPACE, TODO_STATE_DIR, KUBECONFIG, PATH... */
  env: Record<string, string>;
  /** identifies this set of entries: profile and namespace */
  id: string;
}

/** Single-quoted for /bin/sh; cron's "%" (a newline to it) escaped. */
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`.replace(/%/g, '\\%');

const beginMark = (id: string) =>
  `# BEGIN todo-chatbot-ops ${id} (scripts/cron.ts manages these lines; edit the env profile, then install again)`;
const endMark = (id: string) => `# END todo-chatbot-ops ${id}`;

export interface PlannedJob {
  job: string;
  schedule: string;
  line: string;
  log: string;
}

/** The crontab lines for the jobs that are on and present; the others with the reason they are left out. */
export function cronBlock(
  e: CronEnvironment,
  schedules: Record<string, string>,
  present: (script: string) => boolean,
): { lines: string[]; jobs: PlannedJob[]; skipped: { job: string; why: string }[] } {
  const jobs: PlannedJob[] = [];
  const skipped: { job: string; why: string }[] = [];
  for (const j of cronJobs) {
    const when = schedules[j.setting] ?? j.schedule;
    if (when === 'off') {
      skipped.push({ job: j.name, why: `${j.setting}=off` });
      continue;
    }
    if (!present(j.script)) {
      skipped.push({ job: j.name, why: `${j.script} is not in this checkout` });
      continue;
    }
    const log = `${e.logDir}/${j.name}.log`;
    const env = Object.entries(e.env)
      .map(([k, v]) => `${k}=${shq(v)}`)
      .join(' ');
    const cmd = [
      e.node,
      ...e.nodeFlags,
      `${e.repo}/scripts/cron/job.ts`,
      log,
      String(e.logMax),
      String(e.logKeep),
      '--',
      e.node,
      ...e.nodeFlags,
      `${e.repo}/node_modules/zx/build/cli.js`,
      `${e.repo}/${j.script}`,
      ...j.args,
    ]
      .map(shq)
      .join(' ');
    jobs.push({ job: j.name, schedule: when, log, line: `${when} cd ${shq(e.repo)} && ${env} ${cmd}` });
  }
  return { lines: jobs.length ? [beginMark(e.id), ...jobs.map((j) => j.line), endMark(e.id)] : [], jobs, skipped };
}

/** The crontab without this id's block (every copy of it), the user's other lines as they were. */
export function withoutBlock(crontab: string, id: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const line of crontab.split('\n')) {
    if (line === beginMark(id) || line.startsWith(`# BEGIN todo-chatbot-ops ${id} `)) inside = true;
    else if (line === endMark(id)) inside = false;
    else if (!inside) out.push(line);
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

/** This id's lines in a crontab (between its marks). */
export function ourLines(crontab: string, id: string): string[] {
  const lines = crontab.split('\n');
  const b = lines.findIndex((l) => l.startsWith(`# BEGIN todo-chatbot-ops ${id} `));
  if (b < 0) return [];
  const e = lines.indexOf(endMark(id), b);
  return lines.slice(b + 1, e < 0 ? undefined : e);
}

/** The new crontab text: the user's lines, then this id's block (replacing any earlier one). */
export function mergeCrontab(crontab: string, id: string, block: string[]): string {
  const rest = withoutBlock(crontab, id);
  const all = [...rest, ...(rest.length && block.length ? [''] : []), ...block];
  return all.length ? `${all.join('\n')}\n` : '';
}
