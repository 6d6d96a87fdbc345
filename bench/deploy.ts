#!/usr/bin/env -S npx zx
// Benchmark (not a test): deploy's unchanged redeploy (goal: under 3 s, as it
// should do nothing), with and without its drift check side by side, and scale-up to Ready, on the test bed (kwok: pods are
// Ready as soon as they are scheduled, so scale-up measures the scripts, helm and
// the controllers; on the real node it adds image start-up and probes).
// `npm run bench:deploy` (starts or reuses the bed; --runs 5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, argv } from 'zx';
import { up, bedEnv } from '../scripts/lib/local-cluster/cluster.ts';

const runs = Number(argv.runs ?? 5);
const root = path.resolve(import.meta.dirname, '..');
const ns = `bench-deploy-${process.pid}`;
await up((m) => console.error(`[bed] ${m}`));
const envDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-deploy-env-'));
fs.copyFileSync(path.join(root, 'env/testbed.env'), path.join(envDir, 'testbed.env'));
const noHpa = path.join(envDir, 'no-hpa.yaml');
fs.writeFileSync(noHpa, 'frontend:\n  autoscaling:\n    enabled: false\n');
const env: NodeJS.ProcessEnv = {
  ...bedEnv(),
  TODO_PROFILE: 'testbed',
  TODO_ENV_DIR: envDir,
  TODO_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-deploy-state-')),
  TODO_NAMESPACE: ns,
  TODO_RELEASE: 'bench',
};
const zx = (args: string[]) => $({ env, cwd: root, quiet: true, nothrow: true })`npx zx ${args}`;

const seconds = async (args: string[]) => {
  const t0 = Date.now();
  const r = await zx(args);
  if (r.exitCode !== 0) throw new Error(`${args.join(' ')}: exit ${r.exitCode}\n${r.stderr}`);
  return { s: (Date.now() - t0) / 1000, out: r.stdout };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const first = await seconds(['scripts/deploy.ts', '-f', noHpa]);
  console.error(`[bench] fresh deploy: ${first.s.toFixed(2)} s`);
  // Side by side, alternating: with the drift check (the default) and without it (TODO_DEPLOY_DRIFT=false).
  const unchanged: number[] = [];
  const noDrift: number[] = [];
  const driftMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await seconds(['scripts/deploy.ts', '-f', noHpa, '-o', 'json']);
    const doc = JSON.parse(r.out) as { data: { unchanged?: boolean; drift?: { ms: number; checked: number } } };
    if (!doc.data.unchanged) throw new Error(`not unchanged:\n${r.out}`);
    unchanged.push(r.s);
    driftMs.push(doc.data.drift?.ms ?? NaN);
    env.TODO_DEPLOY_DRIFT = 'false';
    try {
      noDrift.push((await seconds(['scripts/deploy.ts', '-f', noHpa])).s);
    } finally {
      delete env.TODO_DEPLOY_DRIFT;
    }
  }
  // The floor: the same process doing nothing but --help (node, the .ts loader, zx, the CLI).
  const help: number[] = [];
  for (let i = 0; i < runs; i++) help.push((await seconds(['scripts/deploy.ts', '--help'])).s);
  const scaleUp: { total: number; ready: number }[] = [];
  for (const n of [3, 1, 5, 1]) {
    const r = await seconds(['scripts/scale.ts', 'frontend', String(n), '-o', 'json']);
    const doc = JSON.parse(r.out) as { data: { seconds?: number } };
    if (n > 1) scaleUp.push({ total: r.s, ready: doc.data.seconds ?? NaN });
  }
  console.log(
    `unchanged redeploy (${runs} runs): median ${median(unchanged).toFixed(2)} s, min ${Math.min(...unchanged).toFixed(2)} s, max ${Math.max(...unchanged).toFixed(2)} s (goal < 3 s)`,
  );
  console.log(
    `unchanged redeploy without the drift check (TODO_DEPLOY_DRIFT=false, ${runs} runs): median ${median(noDrift).toFixed(2)} s; the drift check itself (a read and a dry-run apply per release object): median ${median(driftMs).toFixed(0)} ms`,
  );
  console.log(`deploy --help (start-up floor, ${runs} runs): median ${median(help).toFixed(2)} s`);
  for (const s of scaleUp)
    console.log(
      `scale-up to Ready (kwok): ${s.ready.toFixed(1)} s from the change to Ready, ${s.total.toFixed(2)} s for the whole run`,
    );
  console.log(
    `machine: ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await $({ env, quiet: true, nothrow: true })`kubectl delete namespace ${ns} --wait=false`;
  fs.rmSync(envDir, { recursive: true, force: true });
}
