#!/usr/bin/env -S npx zx
// Benchmark (not a test): start-up time and peak memory of the scripts, the
// cost cron pays on every run. `npx zx bench/startup.ts [--runs N] [--against DIR]`.
// --against DIR (another checkout, e.g. `git worktree add /tmp/before HEAD~5`
// with node_modules linked) measures its scripts too, interleaved run by run,
// so a before/after comparison shares one machine state.
// With KUBECONFIG pointing at a cluster (npm run cluster:up) it also times a
// whole monitor run against it; kubectl (on PATH) is timed alongside.
import fs from 'node:fs';
import path from 'node:path';
import { $, argv } from 'zx';

const runs = Number(argv.runs ?? 5);
const root = path.resolve(import.meta.dirname, '..');
const against = typeof argv.against === 'string' ? path.resolve(argv.against) : undefined;
const entries = (dir: string) =>
  ['scripts', 'ops'].flatMap((d) =>
    fs.existsSync(path.join(dir, d))
      ? fs
          .readdirSync(path.join(dir, d))
          .filter((f) => f.endsWith('.ts'))
          .map((f) => `${d}/${f}`)
      : [],
  );

interface Stat {
  ms: number;
  mb: number;
}

async function once(cwd: string, argv: string[]): Promise<Stat> {
  const r = await $({ cwd, nothrow: true, quiet: true })`/usr/bin/time -f ${'%e %M'} ${argv}`;
  const [secs, kb] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { ms: secs! * 1000, mb: kb! / 1024 };
}

/** The median time and the peak memory of `runs` runs of argv in each directory, run alternately. */
async function measureCmd(dirs: string[], argv: string[]): Promise<Stat[]> {
  const samples: Stat[][] = dirs.map(() => []);
  for (let i = 0; i < runs; i++) for (const [k, d] of dirs.entries()) samples[k]!.push(await once(d, argv));
  return samples.map((s) => {
    s.sort((a, b) => a.ms - b.ms);
    return { ms: s[Math.floor(s.length / 2)]!.ms, mb: Math.max(...s.map((x) => x.mb)) };
  });
}
/** `npx zx ARGS`, as users type it. */
const measure = (dirs: string[], args: string[]) => measureCmd(dirs, ['npx', 'zx', ...args]);

const fmt = (m: Stat) => `median ${m.ms.toFixed(0).padStart(5)} ms   peak RSS ${m.mb.toFixed(0).padStart(4)} MB`;
const rows: string[] = [];
const dirs = against ? [against, root] : [root];
for (const s of entries(root)) {
  const present = dirs.filter((d) => fs.existsSync(path.join(d, s)));
  const ms = await measure(present, [s, '--help']);
  const label = `${s} --help`.padEnd(36);
  if (present.length === 2)
    rows.push(
      `${label} before ${fmt(ms[0]!)}   after ${fmt(ms[1]!)}   ${(ms[1]!.ms - ms[0]!.ms).toFixed(0).padStart(5)} ms`,
    );
  else rows.push(`${label} ${fmt(ms[0]!)}`);
}
if (process.env.KUBECONFIG && fs.existsSync(process.env.KUBECONFIG)) {
  // A whole run that talks to the cluster: the start-up plus the Kubernetes client plus its requests.
  const ms = await measure(dirs, ['scripts/monitor.ts', '--profile', 'testbed', '-n', 'default', '-o', 'json']);
  const label = 'monitor.ts against the cluster'.padEnd(36);
  rows.push(ms.length === 2 ? `${label} before ${fmt(ms[0]!)}   after ${fmt(ms[1]!)}` : `${label} ${fmt(ms[0]!)}`);
}
// Where the time of `npx zx` goes: npm's own exec (esbuild's --version is a native binary that
// answers in milliseconds: the rest is npm), zx's --version (no script of ours), and a script
// started as the crontab lines start it (node, the suite's loader, zx; no npm).
const loader = path.join(root, 'scripts/lib/ts-loader/register.mjs');
const zxCli = path.join(root, 'node_modules/zx/build/cli.js');
for (const [label, argv] of [
  ['npx esbuild --version (npm exec alone)', ['npx', 'esbuild', '--version']],
  ['npx zx --version (npm + zx, no script)', ['npx', 'zx', '--version']],
  ['crontab-style: monitor.ts --help', [process.execPath, '--import', loader, zxCli, 'scripts/monitor.ts', '--help']],
  ['crontab-style: self-heal.ts --help', [process.execPath, '--import', loader, zxCli, 'ops/self-heal.ts', '--help']],
  // The yardstick the issue set: kubectl's own start-up, in the same run.
  ['kubectl version --client', ['kubectl', 'version', '--client']],
] as const)
  rows.push(`${label.padEnd(36)} ${fmt((await measureCmd([root], [...argv]))[0]!)}`);
const head = `start-up, ${runs} runs each, Node ${process.version}, ${(await $`nproc`).stdout.trim()} cores`;
console.log(`${head}${against ? `, before = ${against}` : ''}\n${rows.join('\n')}`);
