// The real cron daemon runs what `scripts/cron.ts install` wrote: a private
// cron (its own mount namespace: an empty spool, /etc/crontab and /etc/cron.d,
// and /run, so the host's crontabs and daemon are untouched) fires the
// installed lines for a throwaway user at the next minute, with cron's own
// environment. The jobs are real (alert and self-heal against a kubeconfig
// whose server never answers: exit 3 with their JSON result), and self-heal,
// fired while another run holds the release lock, exits 5.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/run.ts';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';

const root = process.getuid?.() === 0;
const cronBin = ['/usr/sbin/cron', '/usr/bin/cron'].find((p) => fs.existsSync(p));
// CI installs cron: there a missing daemon is a failure, not a skip.
if (root && !cronBin && process.env.CI) throw new Error('cron is not installed (apt-get install cron)');

describe.runIf(root && cronBin)('cron.ts install under the real cron daemon', () => {
  const user = `todocron${process.pid}`.slice(0, 30);
  const ns = 'cron-daemon';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-crond-'));
  const stateDir = path.join(tmp, 'state');
  const kubeconfig = path.join(tmp, 'kubeconfig');
  const logs = path.join(stateDir, 'logs', `testbed-${ns}`);
  let daemon: ChildProcess;
  let locker: ChildProcess | undefined;
  /** the user can run this node (the Node 22/24 matrix runs one under /root, which no other user may execute) */
  let runnable = true;

  /** A command in the daemon's mount namespace (its spool), as root. */
  const inside = (cmd: string[], input?: string) =>
    execFileSync('nsenter', ['-t', String(daemon.pid), '-m', `--wd=${repoRoot}`, '--', ...cmd], {
      encoding: 'utf8',
      input,
      env: { ...process.env, KUBECONFIG: kubeconfig, TODO_STATE_DIR: stateDir, TODO_PROFILE: 'testbed' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  /** The user's crontab in the daemon's spool; only "no crontab" is empty, any other failure throws. */
  const crontab = () => {
    try {
      return inside(['crontab', '-u', user, '-l']);
    } catch (e) {
      if (/no crontab for/.test(String((e as { stderr?: string }).stderr))) return '';
      throw e;
    }
  };

  beforeAll(async () => {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    try {
      execFileSync('su', ['-s', '/bin/sh', user, '-c', `test -x '${process.execPath}'`], { env: {}, stdio: 'ignore' });
    } catch {
      runnable = false;
    }
    fs.chmodSync(tmp, 0o755);
    fs.mkdirSync(stateDir, { mode: 0o777 });
    fs.chmodSync(stateDir, 0o777);
    fs.copyFileSync(path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml'), kubeconfig);
    fs.chmodSync(kubeconfig, 0o644);
    const etc = path.join(tmp, 'etc');
    fs.mkdirSync(path.join(etc, 'cron.d'), { recursive: true });
    fs.writeFileSync(path.join(etc, 'crontab'), 'SHELL=/bin/sh\n');
    // The mounts are made inside the new namespace, then bash becomes cron: the daemon's pid is the namespace's.
    const setup = [
      'set -e',
      'mount --make-rprivate /',
      'mount -t tmpfs -o mode=0755 tmpfs /run',
      'mount -t tmpfs -o mode=1730 tmpfs /var/spool/cron/crontabs',
      'chgrp crontab /var/spool/cron/crontabs',
      `mount --bind ${etc}/crontab /etc/crontab`,
      `mount --bind ${etc}/cron.d /etc/cron.d`,
      // cron starts once the test has installed the crontab (its stdin says when).
      'read -r _',
      `exec ${cronBin} -f -L 15`,
    ].join('\n');
    daemon = spawn('unshare', ['--mount', 'bash', '-c', setup], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    daemon.stderr!.on('data', (d) => (err += d));
    // Ready when its namespace has the private spool (cron waits for the test to start it).
    await until(10_000, () => {
      if (daemon.exitCode !== null) throw new Error(`the private cron exited ${daemon.exitCode}: ${err}`);
      try {
        return inside(['findmnt', '-n', '/var/spool/cron/crontabs']).includes('tmpfs');
      } catch {
        return false;
      }
    });
  });

  afterAll(async () => {
    // The locker lets go when its stdin ends; cron's namespace and mounts go with the daemon.
    const exited = (p?: ChildProcess) =>
      p && p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined;
    const gone = [exited(locker), exited(daemon)];
    locker?.stdin!.end();
    daemon?.kill();
    await Promise.all(gone);
    execFileSync('userdel', ['--force', user], { stdio: 'ignore' });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('installs into the daemon’s spool (not the host’s), and cron runs the real jobs at the next minute; a held lock is honoured', async (t) => {
    if (!runnable) {
      console.warn(`skipped: ${user} cannot execute ${process.execPath} (the Node 20 run at /usr/bin/node covers it)`);
      t.skip();
    }
    inside([
      process.execPath,
      ...tsNodeFlags(),
      path.join(repoRoot, 'node_modules/zx/build/cli.js'),
      path.join(repoRoot, 'scripts/cron.ts'),
      'install',
      '--user',
      user,
      '-n',
      ns,
    ]);
    expect(crontab()).toMatch(new RegExp(`^# BEGIN todo-chatbot-ops testbed/${ns} `, 'm'));
    // Only now does the daemon start. cron notices a changed spool by its mtime in whole seconds, once a minute: an
    // install in the same second as its first load (a fresh daemon, this test) would never be seen. A daemon users
    // install into has been running for long; a fresh one reads the spool as it starts.
    daemon.stdin!.end('start\n');
    // The host's spool has nothing of it.
    expect(() => execFileSync('crontab', ['-u', user, '-l'], { stdio: 'pipe' })).toThrow(/no crontab for/);

    // Another run holds the release lock, as the same user would: self-heal, fired by cron meanwhile, must not run.
    locker = spawn(
      'su',
      [
        '-s',
        '/bin/sh',
        user,
        '-c',
        `cd '${repoRoot}' && exec '${process.execPath}' ${tsNodeFlags().join(' ')} node_modules/zx/build/cli.js test/fixtures/locker.ts -p testbed -n ${ns}`,
      ],
      {
        env: { KUBECONFIG: kubeconfig, TODO_STATE_DIR: stateDir, PATH: '/usr/bin:/bin' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let held = '';
    locker.stdout!.on('data', (d) => (held += d));
    await until(30_000, () => held.includes('holding the lock'));

    const finished = (job: string) => {
      const log = path.join(logs, `${job}.log`);
      return fs.existsSync(log) && /\n--- \S+ exit \S+\n$/.test(fs.readFileSync(log, 'utf8')) ? log : undefined;
    };
    // At most a minute to the next boundary, then the jobs' own run (slow on a loaded machine).
    await until(
      150_000,
      () => finished('alert') && finished('self-heal'),
      () =>
        `crontab:\n${crontab()}\nlogs:\n${(fs.existsSync(logs) ? fs.readdirSync(logs) : [])
          .map((f) => `${f}:\n${fs.readFileSync(path.join(logs, f), 'utf8').slice(-2000)}`)
          .join('\n')}`,
    );

    const alert = fs.readFileSync(finished('alert')!, 'utf8');
    expect(alert).toMatch(/^--- \S+ start alert\.ts\n/);
    const doc = JSON.parse(alert.slice(alert.indexOf('{'), alert.lastIndexOf('}') + 1)) as Record<string, unknown>;
    expect(doc).toMatchObject({ script: 'alert', ok: false, exitCode: 3, profile: 'testbed', namespace: ns });
    expect(alert).toMatch(/--- \S+ exit 3\n$/);

    const heal = fs.readFileSync(finished('self-heal')!, 'utf8');
    expect(heal).toMatch(/^--- \S+ start self-heal\.ts\n/);
    expect(JSON.parse(heal.slice(heal.indexOf('{'), heal.lastIndexOf('}') + 1))).toMatchObject({
      script: 'self-heal',
      exitCode: 5,
    });
    expect(heal).toMatch(/--- \S+ exit 5\n$/);
    // The jobs ran as the user cron runs them for, in cron's environment (no HOME of ours, no TODO_ of ours).
    expect(fs.statSync(finished('alert')!).uid).toBe(Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })));
  }, 240_000);
});

/** Polls a condition (a file another process writes, a namespace being set up) until it holds or time runs out. */
async function until(ms: number, ok: () => unknown, why: () => string = () => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms / 1000}s\n${why()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
