// cron: the job table, schedule validation and crontab merging on plain text;
// then scripts/cron.ts against Debian's real `crontab`, for a throwaway system
// user this test creates and removes (the invoking user's crontab is never
// read or written), and one installed line run the way cron runs it: as that
// user, with an empty environment.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cronBlock,
  cronJobs,
  mergeCrontab,
  ourLines,
  schedule,
  withoutBlock,
  type CronEnvironment,
} from '../../scripts/cron/table.ts';
import { rotate } from '../../scripts/cron/job.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv } from '../helpers/run.ts';

const e: CronEnvironment = {
  node: '/usr/bin/node',
  nodeFlags: ['--import', '/srv/ops/scripts/lib/ts-loader/register.mjs'],
  repo: '/srv/ops',
  logDir: '/var/state/logs/testbed-todo',
  logMax: 1000,
  logKeep: 2,
  env: { PATH: '/usr/bin:/bin', TODO_PROFILE: 'testbed' },
  id: 'testbed/todo',
};

describe('cron table', () => {
  it('schedules: five fields with ranges, steps and lists, or off; anything else names the field', () => {
    expect(schedule('*/5  * * * 1-5', 'K')).toBe('*/5 * * * 1-5');
    expect(schedule('30 2 * * *', 'K')).toBe('30 2 * * *');
    expect(schedule('off', 'K')).toBe('off');
    expect(() => schedule('61 * * * *', 'K')).toThrow('K: bad minute "61"');
    expect(() => schedule('* 5-2 * * *', 'K')).toThrow('K: bad hour "5-2"');
    expect(() => schedule('@every 5m', 'K')).toThrow('K must be a five-field cron schedule');
  });

  it('schedules: whatever crontab takes, names, nicknames and @reboot included', () => {
    for (const s of [
      '@daily',
      '@reboot',
      '@hourly',
      '@midnight',
      '@annually',
      '0 3 * * MON',
      '0 9 * * mon-fri/2',
      '0 0 1 JAN,Jul *',
      '0 0 * * 7',
      '*/15 0-6,22-23 1-31/2 * SUN',
    ])
      expect(schedule(s, 'K')).toBe(s);
  });

  it('schedules: refused where crontab refuses them, seconds fields and Quartz syntax included', () => {
    expect(() => schedule('61 * * * *', 'K')).toThrow('K: bad minute "61" in "61 * * * *" (0-59, *, a-b, */n, lists)');
    expect(() => schedule('0 0 3 * * *', 'K')).toThrow('K must be a five-field cron schedule');
    expect(() => schedule('@DAILY', 'K')).toThrow('K must be a five-field cron schedule');
    expect(() => schedule('0 3 * * MONDAY', 'K')).toThrow('K: bad day of week "MONDAY"');
    expect(() => schedule('JAN * * * *', 'K')).toThrow('K: bad minute "JAN"');
    expect(() => schedule('0 0 L * *', 'K')).toThrow('K: bad day of month "L"');
    expect(() => schedule('0 0 ? * 5#2', 'K')).toThrow('K: bad day of month "?"');
    expect(() => schedule('0 0 * * FRIL', 'K')).toThrow('K: bad day of week "FRIL"');
    expect(() => schedule('*/0 * * * *', 'K')).toThrow('K: bad minute "*/0"');
    expect(() => schedule('5,1-70 * * * *', 'K')).toThrow('K: bad minute "1-70"');
  });

  it('the block: absolute paths, the environment on the line, a log per job; missing scripts and off jobs left out', () => {
    const b = cronBlock(e, { TODO_CRON_PREDICT: 'off' }, (s) => s !== 'ops/backup.ts');
    expect(b.jobs.map((j) => [j.job, j.schedule])).toEqual([
      ['self-heal', '* * * * *'],
      ['alert', '* * * * *'],
    ]);
    expect(b.skipped).toEqual([
      { job: 'backup', why: 'ops/backup.ts is not in this checkout' },
      { job: 'predict', why: 'TODO_CRON_PREDICT=off' },
    ]);
    expect(b.lines[0]).toMatch(/^# BEGIN todo-chatbot-ops testbed\/todo /);
    expect(b.lines[1]).toBe(
      "* * * * * cd '/srv/ops' && PATH='/usr/bin:/bin' TODO_PROFILE='testbed' '/usr/bin/node' '--import' '/srv/ops/scripts/lib/ts-loader/register.mjs' '/srv/ops/scripts/cron/job.ts' '/var/state/logs/testbed-todo/self-heal.log' '1000' '2' '--' '/usr/bin/node' '--import' '/srv/ops/scripts/lib/ts-loader/register.mjs' '/srv/ops/node_modules/zx/build/cli.js' '/srv/ops/ops/self-heal.ts' '-o' 'json'",
    );
    expect(b.lines.at(-1)).toBe('# END todo-chatbot-ops testbed/todo');
  });

  it("the README's table of cron jobs is the table cron.ts installs (schedule and arguments)", () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    for (const j of cronJobs)
      expect(readme).toContain(`| ${j.name} | \`${j.schedule}\` | \`${[j.script, ...j.args].join(' ')}\` |`);
    expect(cronJobs.find((j) => j.name === 'backup')!.args).toContain('--verify');
  });

  it('merging: replaces its own block only, keeps every other line, twice is the same as once; removing leaves the rest', () => {
    const mine = cronBlock(e, {}, () => true).lines;
    const user = 'MAILTO=me@example.org\n# my backup\n0 3 * * * /home/me/backup.sh\n';
    const once = mergeCrontab(user, e.id, mine);
    expect(mergeCrontab(once, e.id, mine)).toBe(once);
    expect(once.startsWith(user)).toBe(true);
    expect(ourLines(once, e.id)).toHaveLength(4);
    const other = mergeCrontab(once, 'cloud/todo', [
      '# BEGIN todo-chatbot-ops cloud/todo (x)',
      '* * * * * true',
      '# END todo-chatbot-ops cloud/todo',
    ]);
    expect(withoutBlock(other, e.id).join('\n')).toBe(
      `${user}\n\n# BEGIN todo-chatbot-ops cloud/todo (x)\n* * * * * true\n# END todo-chatbot-ops cloud/todo`,
    );
    expect(mergeCrontab(once, e.id, [])).toBe(user);
  });

  it('log rotation: past the size, log -> log.1 -> log.2, the oldest dropped', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-rotate-'));
    const log = path.join(dir, 'job.log');
    for (const n of [1, 2, 3]) {
      fs.writeFileSync(log, `run ${n} `.repeat(20));
      expect(rotate(log, 100, 2)).toBe(true);
    }
    fs.writeFileSync(log, 'small');
    expect(rotate(log, 100, 2)).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['job.log', 'job.log.1', 'job.log.2']);
    expect(fs.readFileSync(`${log}.1`, 'utf8')).toMatch(/^run 3/);
    expect(fs.readFileSync(`${log}.2`, 'utf8')).toMatch(/^run 2/);
  });
});

const root = process.getuid?.() === 0;
describe.runIf(root)('scripts/cron.ts with the real crontab, as a throwaway user', () => {
  const user = `todoops${process.pid}`.slice(0, 30);
  let env: NodeJS.ProcessEnv;
  const cron = (...args: string[]) => run('scripts/cron.ts', [...args, '--user', user, '-n', 'heal-cron'], { env });
  /** The user's crontab; only "no crontab for" is empty: any other failure fails the test. */
  const crontab = () => {
    try {
      return execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      if (/no crontab for/.test(String((e as { stderr?: string }).stderr))) return '';
      throw e;
    }
  };

  beforeAll(() => {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    env = scratchEnv({ KUBECONFIG: '/nonexistent/kubeconfig' });
    fs.chmodSync(env.TODO_STATE_DIR!, 0o777); // the jobs run as the throwaway user and write their logs there
    execFileSync('crontab', ['-u', user, '-'], { input: 'MAILTO=""\n# the user\'s own job\n15 4 * * * /bin/true\n' });
  });
  afterAll(() => {
    execFileSync('crontab', ['-u', user, '-r'], { stdio: 'ignore' });
    execFileSync('userdel', [user], { stdio: 'ignore' });
  });

  it('install --dry-run changes nothing; install twice gives one set; list shows it; jobs without a script are said to be skipped', async () => {
    const dry = await cron('install', '--dry-run', '-o', 'json');
    assertSuccess(dry);
    expect(crontab()).not.toContain('todo-chatbot-ops');
    expect(dry.json<{ actions: { status: string }[] }>().actions).toEqual([
      expect.objectContaining({ what: 'install crontab entries', status: 'planned' }),
    ]);
    for (let i = 0; i < 2; i++) assertSuccess(await cron('install', '-o', 'json'));
    const text = crontab();
    expect(text.split('\n').filter((l) => l.startsWith('# BEGIN todo-chatbot-ops testbed/heal-cron'))).toHaveLength(1);
    expect(text).toContain("# the user's own job\n15 4 * * * /bin/true\n");
    const second = await cron('install', '-o', 'json');
    const doc = second.json<{ actions: unknown[]; findings: { name: string; detail: string }[] }>();
    expect(doc.actions).toEqual([]);
    // Every job's script is in this checkout: all four scheduled, none said to be skipped (a missing one: the cronBlock test above).
    expect(doc.findings.filter((f) => f.detail.startsWith('not scheduled'))).toEqual([]);
    const list = await cron('list', '-o', 'json');
    expect(list.json<{ data: { lines: string[] } }>().data.lines.filter((l) => / ops\/|\/ops\//.test(l))).toHaveLength(
      cronJobs.length,
    );
  }, 60_000);

  it('remove takes only its own lines; a bad command is a usage error', async () => {
    assertSuccess(await cron('remove'));
    expect(crontab()).toBe('MAILTO=""\n# the user\'s own job\n15 4 * * * /bin/true\n');
    assertFailure(await cron('reinstall'), 2);
    const bad = await run('scripts/cron.ts', ['install', '--user', user], {
      env: { ...env, TODO_CRON_ALERT: '*/0 * * * *' },
    });
    assertFailure(bad, 2);
    expect(bad.stderr).toContain('TODO_CRON_ALERT: bad minute "*/0"');
  }, 60_000);
});
