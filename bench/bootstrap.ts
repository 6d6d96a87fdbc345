#!/usr/bin/env -S npx zx
// Benchmark (not a test): `bootstrap --target local` from nothing running
// (the bed's tools and images cached) to a verified release. Goal: under 60 s.
// Stops the bed named TODO_OPS_BED_NAME first (default todo-ops-bench: a bed
// of its own, so run it once before measuring to warm its image import
// cache), runs bootstrap as the user would, then prints the per-step times.
// The bed is stopped again afterwards unless TODO_OPS_BED_KEEP=1.
// `npx zx bench/bootstrap.ts [--runs 1]`
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, argv } from 'zx';

process.env.TODO_OPS_BED_NAME ??= 'todo-ops-bench';
const { down, bedName, bedEnv } = await import('../scripts/lib/local-cluster/cluster.ts');
const { bedDir, toolsDir } = await import('../scripts/lib/local-cluster/layout.ts');
const runs = Number(argv.runs ?? 1);
const root = path.resolve(import.meta.dirname, '..');

const loadBefore = os.loadavg();
interface Step {
  name: string;
  status: string;
  durationMs: number;
}
const results: { total: number; steps: Step[] }[] = [];
for (let i = 0; i < runs; i++) {
  await down();
  const envDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bootstrap-env-'));
  for (const f of ['minikube.env', 'local.env']) fs.copyFileSync(path.join(root, 'env', f), path.join(envDir, f));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The local profile merges its context into ~/.kube/config and keeps its data under ~/.local/share:
    // a HOME of the bench's own; the bed and its tools stay where they are.
    HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bootstrap-home-')),
    TODO_OPS_BED_DIR: bedDir,
    TODO_OPS_TOOLS_DIR: toolsDir,
    TODO_ENV_DIR: envDir,
    TODO_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bootstrap-state-')),
    TODO_NAMESPACE: `bench-boot-${process.pid}-${i}`,
  };
  delete env.KUBECONFIG;
  const t0 = Date.now();
  const r = await $({ env, cwd: root, quiet: true, nothrow: true })`npx zx scripts/bootstrap.ts --target local -o json`;
  const total = (Date.now() - t0) / 1000;
  if (r.exitCode !== 0) throw new Error(`bootstrap exit ${r.exitCode}\n${r.stderr.split('\n').slice(-30).join('\n')}`);
  const doc = JSON.parse(r.stdout) as { data: { steps: Step[] } };
  results.push({ total, steps: doc.data.steps });
  // A kept bed keeps no release of the bench's.
  if (process.env.TODO_OPS_BED_KEEP)
    await $({ env: bedEnv(), quiet: true, nothrow: true })`kubectl delete namespace ${env.TODO_NAMESPACE} --wait=false`;
  // Its data volume (the directory is in the bench's HOME).
  await $({
    env: bedEnv(),
    quiet: true,
    nothrow: true,
  })`kubectl delete pv todo-ops-local-${env.TODO_NAMESPACE}-todo-chatbot-postgresql --wait=false`;
  console.error(
    `[bench] run ${i + 1}: ${total.toFixed(1)} s (${doc.data.steps.map((s) => `${s.name} ${(s.durationMs / 1000).toFixed(1)}`).join(', ')})`,
  );
}
if (!process.env.TODO_OPS_BED_KEEP) await down();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const totals = results.map((x) => x.total);
console.log(
  `load average before/after: ${loadBefore.map((x) => x.toFixed(1)).join(' ')} / ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (${os.cpus().length} CPUs)`,
);
console.log(
  `bootstrap --target local on bed ${bedName}, from nothing running to a verified release (${runs} run${runs > 1 ? 's' : ''}): median ${median(totals).toFixed(1)} s, min ${Math.min(...totals).toFixed(1)} s, max ${Math.max(...totals).toFixed(1)} s (goal < 60 s)`,
);
for (const name of results[0]!.steps.map((s) => s.name)) {
  const xs = results.map((x) => (x.steps.find((s) => s.name === name)?.durationMs ?? 0) / 1000);
  console.log(`  ${name.padEnd(8)} median ${median(xs).toFixed(1)} s`);
}
