#!/usr/bin/env -S npx zx
// Benchmark (not a test): backup --verify of a release holding 10,000 tasks
// (goal: backup and verified restore under 30 s together), the archive's size,
// and the backup process's peak memory, then the same at 50,000 tasks to show
// the peak does not grow with the database (the dump streams to a file).
// On the bed's real node with the real PostgreSQL pod. The rows are seeded
// directly with SQL through exec (INSERT ... generate_series), not through the
// app: 50,000 API calls would measure the app, not the backup.
// `npx zx bench/backup.ts` (starts or reuses the bed; --sizes 10000,50000).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { $, argv } from 'zx';
import { up, bedEnv } from '../scripts/lib/local-cluster/cluster.ts';
import { Kube } from '../scripts/lib/kube/client.ts';
import { execInPod } from '../scripts/lib/kube/exec.ts';
import { tsNodeFlags } from '../scripts/lib/kit/node-flags.ts';

const sizes = String(argv.sizes ?? '10000,50000')
  .split(',')
  .map(Number);
const root = path.resolve(import.meta.dirname, '..');
const ns = `bench-backup-${process.pid}`;
const release = 'bb';
await up((m) => console.error(`[bed] ${m}`));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-backup-'));
const envDir = path.join(tmp, 'env');
fs.mkdirSync(envDir);
fs.copyFileSync(path.join(root, 'env/testbed.env'), path.join(envDir, 'testbed.env'));
fs.writeFileSync(
  path.join(envDir, 'testbed.values.local.yaml'),
  'backend:\n  autoscaling:\n    enabled: false\nfrontend:\n  autoscaling:\n    enabled: false\n',
);
fs.writeFileSync(path.join(envDir, '.env.local'), `TODO_BACKUP_PASSPHRASE=bench-${process.pid}-passphrase\n`, {
  mode: 0o600,
});
const env: NodeJS.ProcessEnv = {
  ...bedEnv(),
  TODO_PROFILE: 'testbed',
  TODO_ENV_DIR: envDir,
  TODO_STATE_DIR: path.join(tmp, 'state'),
  TODO_NAMESPACE: ns,
  TODO_RELEASE: release,
  TODO_TIMEOUT: '150',
};
const kube = new Kube({ kubeconfig: env.KUBECONFIG });
const zxCli = path.join(root, 'node_modules', 'zx', 'build', 'cli.js');

/** Runs a script as node would under cron; its own peak RSS comes back through an exit hook. */
function measured(
  script: string,
  args: string[],
): Promise<{ code: number; s: number; maxRssMb: number; stdout: string; stderr: string }> {
  const rssFile = path.join(tmp, `rss-${Date.now()}`);
  const hook = `data:text/javascript,${encodeURIComponent("import fs from 'node:fs'; process.on('exit', () => fs.writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));")}`;
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...tsNodeFlags(), '--import', hook, zxCli, path.join(root, script), ...args],
      { cwd: root, env: { ...env, BENCH_RSS_FILE: rssFile }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        s: (Date.now() - t0) / 1000,
        maxRssMb: Number(fs.readFileSync(rssFile, 'utf8')) / 1024,
        stdout,
        stderr,
      }),
    );
  });
}

async function sql(query: string): Promise<string> {
  const r = await execInPod(kube, {
    namespace: ns,
    pod: `${release}-postgresql-0`,
    container: 'postgresql',
    command: [
      'sh',
      '-c',
      'PGPASSWORD="$POSTGRES_PASSWORD" exec psql -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
    ],
    stdin: query,
    timeoutSec: 300,
  });
  if (r.exitCode !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}

try {
  const d = await $({
    env,
    cwd: root,
    quiet: true,
    nothrow: true,
  })`npx zx scripts/deploy.ts -f scripts/lib/local-cluster/values-realnode.yaml`;
  if (d.exitCode !== 0) throw new Error(`deploy: ${d.stderr}`);
  const rows: string[] = [];
  for (const size of sizes) {
    const have = Number(await sql('SELECT count(*) FROM task'));
    // A tenth as many two-message conversations, so every table has rows.
    await sql(`INSERT INTO task (user_id, title, description, completed, created_at, updated_at) SELECT 'bench-' || (g % 50), 'task number ' || g, 'a description of task ' || g || ' long enough to look like one', g % 3 = 0, now(), now() FROM generate_series(${have + 1}, ${size}) g;
      WITH c AS (INSERT INTO conversation (user_id, created_at, updated_at) SELECT 'bench-' || (g % 50), now(), now() FROM generate_series(1, ${Math.floor((size - have) / 10)}) g RETURNING id, user_id)
      INSERT INTO message (user_id, conversation_id, role, content, created_at) SELECT user_id, id, r, 'message of conversation ' || id, now() FROM c, unnest(ARRAY['user', 'assistant']) r;`);
    const r = await measured('ops/backup.ts', ['--verify', '--include-secrets', '-o', 'json']);
    if (r.code !== 0) throw new Error(`backup --verify at ${size} tasks: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const doc = JSON.parse(r.stdout) as {
      data: { bytes: number; tables: Record<string, number>; verified: boolean };
      actions: { what: string; durationMs?: number }[];
    };
    const ms = (what: string) => doc.actions.find((a) => a.what === what)?.durationMs ?? NaN;
    const dump = fs.statSync(path.join(JSON.parse(r.stdout).data.archive, 'db.dump')).size;
    rows.push(
      `${doc.data.tables['public.task']} tasks: backup ${(ms('back up') / 1000).toFixed(1)} s + verified restore ${(ms('verify') / 1000).toFixed(1)} s = ${((ms('back up') + ms('verify')) / 1000).toFixed(1)} s (whole run ${r.s.toFixed(1)} s, verified ${doc.data.verified}); archive ${(doc.data.bytes / 1024).toFixed(0)} KiB (dump ${(dump / 1024).toFixed(0)} KiB); backup process peak RSS ${r.maxRssMb.toFixed(0)} MB`,
    );
    console.error(`[bench] ${rows.at(-1)}`);
  }
  // The floor: the same process doing nothing but --help.
  const help = await measured('ops/backup.ts', ['--help']);
  for (const row of rows) console.log(row);
  console.log(`ops/backup.ts --help (start-up floor): ${help.s.toFixed(1)} s, peak RSS ${help.maxRssMb.toFixed(0)} MB`);
  console.log(
    `machine: ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await $({ env, quiet: true, nothrow: true })`kubectl delete namespace ${ns} --wait=false`;
  fs.rmSync(tmp, { recursive: true, force: true });
}
