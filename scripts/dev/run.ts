// dev: the backend (FastAPI on SQLite, its own virtualenv) and the Next.js dev
// server on this machine, the frontend pointed at the backend, both stopped
// together on Ctrl-C. No cluster.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { $, retry } from 'zx';
import { repoRoot } from '../lib/kit/env.ts';
import { Exit, OpsError, type ExitCode } from '../lib/kit/errors.ts';
import type { DevContext } from './spec.ts';

const backendDir = path.join(repoRoot, 'backend-docker');
const frontendDir = path.join(repoRoot, 'frontend-docker');

async function waitHealthy(url: string, what: string, seconds = 90): Promise<void> {
  await retry(Math.ceil(seconds * 2), '500ms', async () => {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${what}: ${r.status}`);
  }).catch(() => {
    throw new OpsError(`${what} did not become healthy at ${url} within ${seconds}s`, Exit.actionFailed);
  });
}

export async function runDev(ctx: DevContext): Promise<ExitCode> {
  const bport = ctx.opts['backend-port'];
  const fport = ctx.opts['frontend-port'];
  const dataDir = path.resolve(ctx.opts.data ?? path.join(backendDir, 'data'));
  const python = path.join(backendDir, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) {
    await ctx.out.progress('creating the backend virtualenv', async () => {
      await $({ cwd: backendDir, quiet: true })`python3 -m venv .venv`;
      await $({ cwd: backendDir, quiet: true })`.venv/bin/pip install -q -r requirements.txt`;
    });
  }
  if (!fs.existsSync(path.join(frontendDir, 'node_modules'))) {
    await ctx.out.progress(
      'installing frontend dependencies',
      () => $({ cwd: frontendDir, quiet: true })`npm ci --no-audit --no-fund`,
    );
  }
  // A secret for this session only unless the user configured one: never printed.
  const secret = ctx.cfg.BETTER_AUTH_SECRET || crypto.randomBytes(32).toString('hex');
  const common = { ...process.env, BETTER_AUTH_SECRET: secret, NEXT_TELEMETRY_DISABLED: '1' };
  fs.mkdirSync(dataDir, { recursive: true });
  const backend = $({
    cwd: backendDir,
    env: {
      ...common,
      HOST: '127.0.0.1',
      PORT: String(bport),
      SQLITE_PATH: path.join(dataDir, 'todo.db'),
      OPENAI_API_KEY: ctx.cfg.OPENAI_API_KEY,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
    nothrow: true,
  })`${python} -m app`;
  const frontend = $({
    cwd: frontendDir,
    env: { ...common, BACKEND_URL: `http://127.0.0.1:${bport}`, PORT: String(fport), HOSTNAME: '127.0.0.1' },
    stdio: ['ignore', 'inherit', 'inherit'],
    nothrow: true,
  })`npx next dev --hostname 127.0.0.1 --port ${fport}`;
  const stop = () => Promise.allSettled([backend.kill('SIGTERM'), frontend.kill('SIGTERM')]);
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  try {
    await ctx.out.progress('waiting for the backend', () =>
      waitHealthy(`http://127.0.0.1:${bport}/healthz`, 'backend'),
    );
    await ctx.out.progress('waiting for the frontend', () =>
      waitHealthy(`http://127.0.0.1:${fport}/api/health`, 'frontend', 180),
    );
  } catch (e) {
    await stop();
    throw e;
  }
  ctx.out.say(
    `Todo Chatbot: http://127.0.0.1:${fport}  (backend http://127.0.0.1:${bport}, data ${dataDir}); Ctrl-C stops both`,
  );
  const [b, f] = await Promise.all([backend, frontend]);
  return b.exitCode === 0 || b.signal
    ? f.exitCode === 0 || f.signal
      ? Exit.ok
      : Exit.actionFailed
    : Exit.actionFailed;
}
