// The long-running modes when the API server is lost under them: monitor
// --watch and self-heal --watch say "cluster unreachable since HH:MM:SS" within
// 10 s, whether the server hangs (SIGSTOP: only the probe can tell) or dies
// (its watches drop), never "healthy" during the outage, come back when it
// does, and exit 3 once TODO_WATCH_UNREACHABLE has passed or on Ctrl-C during
// it. The server is the one of a private control plane (test/helpers/mini-bed.ts),
// never the shared bed's.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { miniBed, type MiniBed } from '../helpers/mini-bed.ts';
import { repoRoot, scratchEnv } from '../helpers/run.ts';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';

const name = `todo-ops-mini-watch-${process.pid}`;
const ns = 'watched';
const release = 'w';

interface Proc {
  child: ChildProcessWithoutNullStreams;
  /** stdout and stderr, each line with the ms since the spawn it arrived at */
  lines: { at: number; text: string }[];
  exited: Promise<{ code: number | null; at: number }>;
  /** resolves with the time of the first line from line index `from` on that matches */
  seen(re: RegExp, ms?: number, from?: number): Promise<number>;
}

function start(bed: MiniBed, script: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(
    process.execPath,
    [...tsNodeFlags(), path.join(repoRoot, 'node_modules/zx/build/cli.js'), script, ...args],
    { cwd: repoRoot, env: { ...bed.env, ...env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: Proc['lines'] = [];
  const waiters: (() => void)[] = [];
  const take = (d: Buffer) => {
    for (const text of d.toString().split('\n').filter(Boolean)) lines.push({ at: Date.now(), text });
    for (const w of waiters) w();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exited = new Promise<{ code: number | null; at: number }>((r) =>
    child.on('close', (code, signal) => r({ code: code ?? (signal as never), at: Date.now() })),
  );
  return {
    child,
    lines,
    exited,
    seen: (re, ms = 60_000, from = 0) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`${script}: not seen ${re} in ${ms} ms; output:\n${lines.map((l) => l.text).join('\n')}`)),
          ms,
        );
        const check = () => {
          const hit = lines.slice(from).find((l) => re.test(l.text));
          if (hit) {
            clearTimeout(timer);
            resolve(hit.at);
          }
        };
        waiters.push(check);
        check();
      }),
  };
}

describe('watches when the API server dies (a private control plane)', () => {
  let bed: MiniBed;
  const procs: Proc[] = [];

  beforeAll(async () => {
    bed = await miniBed(name);
    // A release that reads healthy: nothing reconciles here, so the Deployment's status is written by hand.
    await bed.kubectl(['create', 'namespace', ns]);
    await bed.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `${release}-web`, namespace: ns, labels: { 'app.kubernetes.io/instance': release } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web', 'app.kubernetes.io/instance': release } },
            spec: { containers: [{ name: 'web', image: 'web:1' }] },
          },
        },
      }),
    );
    await bed.kubectl([
      'patch',
      'deployment',
      `${release}-web`,
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: { observedGeneration: 1, replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 },
      }),
    ]);
  }, 180_000);
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    // A server left stopped by a failed run would not die on down()'s SIGTERM.
    const pid = path.join(bed?.env.KWOK_WORKDIR ?? '', 'clusters', name, 'pids', 'kube-apiserver.pid');
    if (fs.existsSync(pid)) {
      try {
        process.kill(Number(fs.readFileSync(pid, 'utf8').trim()), 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await bed?.down();
  });

  it('a hung server, then a dead one: "cluster unreachable since" within 10 s each time, exit 3 at the bound or on Ctrl-C, and back to the view in between', async () => {
    const env = (limit: string) => ({ ...scratchEnv(), TODO_RELEASE: release, TODO_WATCH_UNREACHABLE: limit });
    const monitorBound = start(bed, 'scripts/monitor.ts', ['-n', ns, '--watch'], env('5'));
    const monitorLong = start(bed, 'scripts/monitor.ts', ['-n', ns, '--watch'], env('5m'));
    const heal = start(bed, 'ops/self-heal.ts', ['-n', ns, '--watch'], env('5'));
    procs.push(monitorBound, monitorLong, heal);
    await Promise.all([
      monitorBound.seen(/Z healthy$/),
      monitorLong.seen(/Z healthy$/),
      heal.seen(/^self-heal: watching namespace watched$/),
    ]);
    const apiserver = Number(
      fs.readFileSync(path.join(bed.env.KWOK_WORKDIR!, 'clusters', name, 'pids', 'kube-apiserver.pid'), 'utf8').trim(),
    );
    const unreachable = /cluster unreachable since \d\d:\d\d:\d\d \([\w ]+\); retrying, giving up after/;

    // 1. Hung (SIGSTOP): no connection closes, no watch fails; only the probe can tell.
    const stoppedAt = Date.now();
    process.kill(apiserver, 'SIGSTOP');
    const seen1 = await Promise.all([monitorBound, monitorLong, heal].map((p) => p.seen(unreachable, 20_000)));
    process.stderr.write(`[watch] hung server seen after ${seen1.map((t) => t - stoppedAt).join(' / ')} ms\n`);
    for (const t of seen1) expect(t - stoppedAt).toBeLessThan(10_000);
    // Left alone, the two with a 5 s bound give up: exit 3, not before the bound.
    const [mb, hb] = await Promise.all([monitorBound.exited, heal.exited]);
    process.stderr.write(`[watch] exit 3 after ${mb.at - stoppedAt} / ${hb.at - stoppedAt} ms (bound 5 s)\n`);
    for (const x of [mb, hb]) {
      expect(x.code).toBe(3);
      expect(x.at - stoppedAt).toBeGreaterThanOrEqual(5_000);
      expect(x.at - stoppedAt).toBeLessThan(25_000);
    }
    expect(monitorBound.lines.map((l) => l.text)).toContainEqual(
      expect.stringMatching(
        /^monitor: cluster unreachable since \d\d:\d\d:\d\d \(timeout\): gave up after TODO_WATCH_UNREACHABLE/,
      ),
    );
    expect(heal.lines.map((l) => l.text)).toContainEqual(
      expect.stringMatching(/^self-heal: cluster unreachable since .*: gave up after TODO_WATCH_UNREACHABLE/),
    );

    // 2. The server resumes: the long-bound watch says so and draws the release again.
    process.kill(apiserver, 'SIGCONT');
    await monitorLong.seen(/Z cluster reachable again at \d\d:\d\d:\d\d \(unreachable for \d+s\)$/, 20_000);
    const back = monitorLong.lines.findIndex((l) => /reachable again/.test(l.text));
    await monitorLong.seen(/Z healthy$/, 20_000, back);

    // 3. Killed: its watches drop at once and the probe confirms it.
    const killedAt = Date.now();
    process.kill(apiserver, 'SIGKILL');
    const t = await monitorLong.seen(unreachable, 20_000, monitorLong.lines.length);
    process.stderr.write(`[watch] killed server seen after ${t - killedAt} ms\n`);
    expect(t - killedAt).toBeLessThan(10_000);
    // Ctrl-C during the outage: exit 3, not 0 (the last state drawn was healthy).
    monitorLong.child.kill('SIGINT');
    expect((await monitorLong.exited).code).toBe(3);
    expect(monitorLong.lines.map((l) => l.text)).toContainEqual(
      expect.stringMatching(/^monitor: stopped while the cluster is unreachable \(since /),
    );

    // Never a stale "healthy" while the server is gone, and no stack trace.
    for (const p of [monitorBound, monitorLong]) {
      let down = false;
      for (const l of p.lines) {
        if (unreachable.test(l.text)) down = true;
        else if (/reachable again/.test(l.text)) down = false;
        else if (down) expect(l.text).not.toMatch(/ healthy$/);
      }
    }
    for (const p of procs) expect(p.lines.map((l) => l.text).join('\n')).not.toMatch(/\n\s+at .*\.ts:\d+/);
  }, 120_000);
});
