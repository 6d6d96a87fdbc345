// Locks through real processes: the locker fixture runs the whole CLI path
// (config, context resolution, lock, signals); the racer fixture takes the lock
// at a signal so a dozen runs really collide.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, lockFile, type LockKey } from '../../scripts/lib/kit/lock.ts';
import { OpsError } from '../../scripts/lib/kit/errors.ts';
import { repoRoot, scratchEnv } from '../helpers/run.ts';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';

const zxCli = path.join(repoRoot, 'node_modules/zx/build/cli.js');
const offline = { KUBECONFIG: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml') };
const releaseKey: LockKey = { context: 'offline', namespace: 'todo', release: 'todo-chatbot' };

interface Proc {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  /** resolves when the output (stdout + stderr) matches, rejects if the process ends first */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [...tsNodeFlags(), ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d;
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let ended = false;
  void closed.then(() => {
    ended = true;
    for (const w of waiters) w();
  });
  const waitFor = (re: RegExp, timeoutMs = 90_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${re}; output:\n${out}`)), timeoutMs);
      const check = () => {
        const m = out.match(re);
        if (m) done(undefined, m);
        else if (ended) done(new Error(`exited before ${re}; output:\n${out}`));
      };
      const done = (err?: Error, m?: RegExpMatchArray) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(m!);
      };
      waiters.add(check);
      check();
    });
  return { child, out: () => out, waitFor, closed };
}

const locker = (env: NodeJS.ProcessEnv) => start([zxCli, 'test/fixtures/locker.ts'], env);
const lockerEnv = (extra: NodeJS.ProcessEnv = {}) => ({ ...scratchEnv(offline), ...extra });
const leftovers = (file: string) => fs.readdirSync(path.dirname(file)).filter((f) => f !== path.basename(file));

describe('release lock through the CLI (test/fixtures/locker.ts)', () => {
  it('a second run exits 5 naming the holder script, pid, release, namespace and context; after release a new run gets it', async () => {
    const env = lockerEnv();
    const first = locker(env);
    await first.waitFor(/holding the lock/);
    const second = locker(env);
    expect(await second.closed).toEqual({ code: 5, signal: null });
    expect(second.out()).toContain(
      `locker: another locker run (pid ${first.child.pid}) holds the lock on release todo-chatbot in namespace todo (context offline), since 20`,
    );
    expect(second.out()).toMatch(
      /hint: wait for it to finish, or stop it \(kill \d+\); lock file: .*\/offline\/todo\/locks\/todo-chatbot\.lock/,
    );
    first.child.stdin.end();
    expect((await first.closed).code).toBe(0);
    expect(fs.existsSync(lockFile(env.TODO_STATE_DIR!, releaseKey))).toBe(false);
    const third = locker(env);
    await third.waitFor(/holding the lock/);
    third.child.stdin.end();
    expect((await third.closed).code).toBe(0);
  });

  it('another release (or namespace) is not blocked', async () => {
    const env = lockerEnv();
    const first = locker(env);
    await first.waitFor(/holding the lock/);
    const others = [locker({ ...env, TODO_RELEASE: 'other' }), locker({ ...env, TODO_NAMESPACE: 'staging' })];
    await Promise.all(others.map((p) => p.waitFor(/holding the lock/)));
    for (const p of [first, ...others]) p.child.stdin.end();
    for (const p of [first, ...others]) expect((await p.closed).code).toBe(0);
  });

  it('SIGTERM releases the lock and exits 143 (128+15); a new run gets it', async () => {
    const env = lockerEnv();
    const file = lockFile(env.TODO_STATE_DIR!, releaseKey);
    const holder = locker(env);
    await holder.waitFor(/holding the lock/);
    expect(fs.existsSync(file)).toBe(true);
    holder.child.kill('SIGTERM');
    expect(await holder.closed).toEqual({ code: 143, signal: null });
    expect(holder.out()).toContain('locker: interrupted by SIGTERM; lock released');
    expect(fs.existsSync(file)).toBe(false);
    const next = locker(env);
    await next.waitFor(/holding the lock/);
    next.child.kill('SIGINT');
    expect((await next.closed).code).toBe(130);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a dozen runs at once over a stale lock (holder killed with SIGKILL): exactly one wins, every time', async () => {
    const env = lockerEnv();
    const file = lockFile(env.TODO_STATE_DIR!, releaseKey);
    const kubeconfig = fs.readFileSync(offline.KUBECONFIG, 'utf8');
    // The start line: each run reads its kubeconfig from its own FIFO right before it takes the lock
    // (scripts load the kube client first, which is most of their start-up), so all twelve are
    // loaded and blocked there, and are released together by writing the kubeconfigs.
    const fifos = Array.from({ length: 12 }, (_, i) => path.join(env.TODO_STATE_DIR!, `kubeconfig-${i}`));
    const atStartLine = async (fifo: string, p: Proc): Promise<number> => {
      for (;;) {
        try {
          return fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK); // succeeds once the run has it open
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
        }
        if (p.child.exitCode !== null) throw new Error(`exited before the start line:\n${p.out()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // The stale lock of each round is the previous round's winner, killed with SIGKILL.
    let holder = locker(env);
    await holder.waitFor(/holding the lock/);
    const rounds = raceRounds(3);
    for (let round = 1; round <= rounds; round++) {
      holder.child.kill('SIGKILL');
      await holder.closed;
      expect(fs.existsSync(file), 'the killed holder left its lock').toBe(true);
      for (const f of fifos) {
        fs.rmSync(f, { force: true });
        execFileSync('mkfifo', [f]);
      }
      const runs = fifos.map((f) => locker({ ...env, KUBECONFIG: f }));
      const fds = await Promise.all(runs.map((p, i) => atStartLine(fifos[i]!, p)));
      for (const fd of fds) {
        fs.writeSync(fd, kubeconfig);
        fs.closeSync(fd);
      }
      // Each run either says it holds the lock, or exits (waitFor rejects when it exits first).
      const outcomes = await Promise.all(
        runs.map((p) =>
          p.waitFor(/holding the lock/).then(
            () => 'won',
            async () => `exit ${(await p.closed).code}`,
          ),
        ),
      );
      const winners = runs.filter((_, i) => outcomes[i] === 'won');
      expect(winners.length, `round ${round}: ${outcomes.join(', ')}`).toBe(1);
      holder = winners[0]!;
      for (const [i, p] of runs.entries()) {
        if (p === holder) continue;
        expect(outcomes[i], p.out()).toBe('exit 5');
        expect(p.out()).toContain(`another locker run (pid ${holder.child.pid}) holds the lock`);
      }
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(holder.child.pid);
    }
    holder.child.stdin.end();
    expect((await holder.closed).code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(leftovers(file)).toEqual([]); // no markers or temporary files left behind
  }, 240_000);
});

/**
 * Rounds of the race tests: the full count in the main run; the Node 22/24
 * matrix (test/node-matrix.sh) sets TODO_OPS_LOCK_ROUNDS=1, as the lock's logic
 * does not change with the Node version and each round costs a dozen processes.
 */
function raceRounds(full: number): number {
  return Number(process.env.TODO_OPS_LOCK_ROUNDS ?? full);
}

describe('lock takeover race at one instant (test/fixtures/lock-racer.ts)', () => {
  const key: LockKey = { context: 'race', namespace: 'todo', release: 'todo-chatbot' };
  const racer = (dir: string) => start(['test/fixtures/lock-racer.ts', dir], {});

  it('12 runs released at the same instant over a stale lock: exactly one wins, 5 rounds', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-race-'));
    const file = lockFile(dir, key);
    // Round 0's holder is killed to leave a real stale lock; each round's winner is killed for the next.
    let holder = racer(dir);
    await holder.waitFor(/ready/);
    holder.child.stdin.write('go\n');
    await holder.waitFor(/won/);
    for (let round = 1; round <= raceRounds(5); round++) {
      holder.child.kill('SIGKILL');
      await holder.closed;
      const runs = Array.from({ length: 12 }, () => racer(dir));
      await Promise.all(runs.map((p) => p.waitFor(/ready/)));
      for (const p of runs) p.child.stdin.write('go\n'); // all loaded: they take the lock together
      const lines = await Promise.all(runs.map((p) => p.waitFor(/^(won|busy) .*$/m).then((m) => m[0])));
      const winners = runs.filter((_, i) => lines[i]!.startsWith('won'));
      expect(winners.length, `round ${round}:\n${lines.join('\n')}`).toBe(1);
      holder = winners[0]!;
      for (const [i, p] of runs.entries())
        if (p !== holder)
          expect(lines[i]).toBe(
            `busy 5 another racer run (pid ${holder.child.pid}) holds the lock on release todo-chatbot in namespace todo (context race), since ${JSON.parse(fs.readFileSync(file, 'utf8')).since}`,
          );
      for (const p of runs) if (p !== holder) p.child.stdin.end();
      await Promise.all(runs.filter((p) => p !== holder).map((p) => p.closed));
    }
    holder.child.stdin.end();
    expect((await holder.closed).code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(leftovers(file)).toEqual([]);
  }, 120_000);
});

describe('lock in-process', () => {
  it('takes over a lock whose pid now belongs to another process (pid reuse), and a damaged lock file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-lock-'));
    const file = lockFile(dir, releaseKey);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Our own parent's pid is alive, but its start time is not the one recorded: a reused pid.
    fs.writeFileSync(
      file,
      JSON.stringify({
        script: 'deploy',
        pid: process.ppid,
        host: os.hostname(),
        since: '2026-01-01T00:00:00Z',
        gen: 'g1',
        start: '1',
        key: releaseKey,
      }),
    );
    const release = await acquireLock(dir, releaseKey, 'test');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ script: 'test', pid: process.pid });
    release();
    fs.writeFileSync(file, ''); // an empty (damaged) lock file: no holder
    (await acquireLock(dir, releaseKey, 'test'))();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a takeover whose taker died midway is finished by the next run; a live taker makes the next run busy', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-lock-'));
    const file = lockFile(dir, releaseKey);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const record = (script: string, pid: number, gen: string) =>
      JSON.stringify({ script, pid, host: os.hostname(), since: '2026-01-01T00:00:00Z', gen, key: releaseKey });
    fs.writeFileSync(file, record('deploy', 999_999_999, 'g3')); // stale
    fs.writeFileSync(`${file}.take-g3-1`, record('scale', 999_999_998, 'g4')); // its taker died before the rename
    fs.writeFileSync(`${file}.take-g3-2`, record('config', process.ppid, 'g5')); // a live taker, midway
    const err = await acquireLock(dir, releaseKey, 'restore').catch((e: unknown) => e);
    expect((err as OpsError).message).toMatch(
      new RegExp(`^another config run \\(pid ${process.ppid}\\) holds the lock`),
    );
    fs.writeFileSync(`${file}.take-g3-2`, record('config', 999_999_997, 'g5')); // that one died too: the next marker, take-g3-3
    const release = await acquireLock(dir, releaseKey, 'restore');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ script: 'restore', pid: process.pid });
    expect(leftovers(file)).toEqual([]); // the winner removed the markers
    release();
  });

  it('a script-scoped lock does not block the release lock, and a lock on another host is never taken over', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-lock-'));
    const rel = await acquireLock(dir, releaseKey, 'deploy');
    const own = await acquireLock(dir, { ...releaseKey, scope: 'monitor' }, 'monitor');
    expect(lockFile(dir, { ...releaseKey, scope: 'monitor' })).toMatch(/locks\/todo-chatbot\+monitor\.lock$/);
    own();
    rel();
    const file = lockFile(dir, releaseKey);
    fs.writeFileSync(
      file,
      JSON.stringify({
        script: 'restore',
        pid: 999_999_999,
        host: 'elsewhere',
        since: '2026-01-01T00:00:00Z',
        gen: 'g2',
        key: releaseKey,
      }),
    );
    const err = await acquireLock(dir, releaseKey, 'deploy').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(5);
    expect((err as OpsError).message).toBe(
      'another restore run (pid 999999999 on elsewhere) holds the lock on release todo-chatbot in namespace todo (context offline), since 2026-01-01T00:00:00Z',
    );
    expect((err as OpsError).hint).toContain(`if that run is gone, remove ${file}`);
  });

  it('an unwritable state dir is a one-line configuration error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-lock-'));
    fs.writeFileSync(path.join(dir, 'file'), '');
    const err = await acquireLock(path.join(dir, 'file'), releaseKey, 'deploy').catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 2,
      message: expect.stringMatching(
        /^cannot write state at .*\/file\/offline\/todo\/locks: a parent is not a directory \(ENOTDIR\)$/,
      ),
    });
  });
});
