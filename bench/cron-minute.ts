#!/usr/bin/env -S npx zx
// Benchmark (not a test): what one cron minute costs the machine. The crontab
// runs self-heal and alert every minute; on a healthy release both only look.
// This installs a healthy release on the test bed's kwok nodes (npm run
// cluster:up first), then runs each script as its cron line does (node with the
// suite's flags, no npx) and reports CPU seconds (user + system) and peak RSS,
// median of --runs N (default 5). --against DIR (another checkout with
// node_modules linked) runs its scripts too, interleaved run by run, for a
// before/after on one machine state.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, argv } from 'zx';
import { tsNodeFlags } from '../scripts/lib/kit/node-flags.ts';
import { bedEnv } from '../scripts/lib/local-cluster/cluster.ts';

const runs = Number(argv.runs ?? 5);
const root = path.resolve(import.meta.dirname, '..');
const dirs = [root, ...(typeof argv.against === 'string' ? [path.resolve(argv.against)] : [])];
const ns = `bench-cron-${process.pid}`;
const release = 'cronbench';
const env = { ...bedEnv(), TODO_PROFILE: 'testbed', TODO_NAMESPACE: ns, TODO_RELEASE: release, NO_COLOR: '1' };
const k = $({ env, quiet: true });

interface Sample {
  cpu: number;
  rssMb: number;
  wall: number;
  code: number;
}

async function once(dir: string, script: string, stateDir: string): Promise<Sample> {
  const r = await $({
    cwd: dir,
    env: { ...env, TODO_STATE_DIR: stateDir },
    nothrow: true,
    quiet: true,
  })`/usr/bin/time -f ${'%U %S %M %e'} ${process.execPath} ${tsNodeFlags()} ${script} -o json`;
  const [user, sys, kb, wall] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { cpu: user! + sys!, rssMb: kb! / 1024, wall: wall!, code: r.exitCode ?? -1 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await k`kubectl create namespace ${ns}`;
try {
  await k`helm install ${release} ${path.join(root, 'charts/todo-chatbot')} -n ${ns} -f ${path.join(root, 'charts/todo-chatbot/values-testbed.yaml')} --wait --timeout 180s`;
  const scripts = ['ops/self-heal.ts', 'ops/alert.ts'];
  const states = dirs.map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cron-state-')));
  const samples = dirs.map(() => scripts.map((): Sample[] => []));
  for (let i = 0; i < runs; i++)
    for (const [d, dir] of dirs.entries())
      for (const [s, script] of scripts.entries()) samples[d]![s]!.push(await once(dir, script, states[d]!));
  console.log(
    `cron minute on a healthy release (kwok), ${runs} runs each, median; machine: ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, Node ${process.version}`,
  );
  for (const [d, dir] of dirs.entries()) {
    const rows = scripts.map((script, s) => {
      const xs = samples[d]![s]!;
      const codes = [...new Set(xs.map((x) => x.code))].join(',');
      return {
        script,
        cpu: median(xs.map((x) => x.cpu)),
        rss: Math.max(...xs.map((x) => x.rssMb)),
        wall: median(xs.map((x) => x.wall)),
        codes,
      };
    });
    console.log(`${dir}:`);
    for (const r of rows)
      console.log(
        `  ${r.script.padEnd(18)} CPU ${r.cpu.toFixed(2)} s  peak ${r.rss.toFixed(0)} MB  wall ${r.wall.toFixed(2)} s  exit ${r.codes}`,
      );
    console.log(
      `  the minute         CPU ${rows.reduce((a, r) => a + r.cpu, 0).toFixed(2)} s  peak ${Math.max(...rows.map((r) => r.rss)).toFixed(0)} MB`,
    );
  }
} finally {
  await k`kubectl delete namespace ${ns} --wait=false`;
}
