#!/usr/bin/env -S npx zx
// Benchmark (not a test): start-up time and peak memory of the scripts, the
// cost cron pays on every run. `npx zx bench/startup.ts [--runs N]`.
// With KUBECONFIG pointing at a cluster (npm run cluster:up) it also times a
// full doctor run against it.
import fs from 'node:fs';
import path from 'node:path';
import { $, argv } from 'zx';

const runs = Number(argv.runs ?? 5);
const root = path.resolve(import.meta.dirname, '..');
const scripts = ['scripts', 'ops'].flatMap((d) => (fs.existsSync(path.join(root, d)) ? fs.readdirSync(path.join(root, d)).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`) : []));

async function measure(args: string[]): Promise<{ ms: number; mb: number }> {
  const samples: { ms: number; mb: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await $({ cwd: root, nothrow: true, quiet: true })`/usr/bin/time -f ${'%e %M'} npx zx ${args}`;
    const [secs, kb] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    samples.push({ ms: secs! * 1000, mb: kb! / 1024 });
  }
  samples.sort((a, b) => a.ms - b.ms);
  return { ms: samples[Math.floor(samples.length / 2)]!.ms, mb: Math.max(...samples.map((s) => s.mb)) };
}

const rows: string[] = [];
for (const s of scripts) {
  const m = await measure([s, '--help']);
  rows.push(`${`${s} --help`.padEnd(36)} median ${m.ms.toFixed(0).padStart(5)} ms   peak RSS ${m.mb.toFixed(0).padStart(4)} MB`);
}
if (process.env.KUBECONFIG && fs.existsSync(process.env.KUBECONFIG)) {
  const m = await measure(['scripts/doctor.ts', '--profile', 'testbed', '-o', 'json']);
  rows.push(`${'doctor.ts against the cluster'.padEnd(36)} median ${m.ms.toFixed(0).padStart(5)} ms   peak RSS ${m.mb.toFixed(0).padStart(4)} MB`);
}
console.log(`start-up, ${runs} runs each, Node ${process.version}, ${(await $`nproc`).stdout.trim()} cores\n${rows.join('\n')}`);
