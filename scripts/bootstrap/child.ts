// Runs another script of the suite as a child process with --output json and
// reads its one envelope: how bootstrap chains doctor, build-images, deploy,
// verify... without re-implementing them. The child's progress lines (stderr)
// are passed on as they come.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../lib/kit/env.ts';
import { tsNodeFlags } from '../lib/kit/node-flags.ts';
import type { Envelope } from '../lib/kit/result.ts';

export interface ChildResult {
  /** the process's exit code (null when killed) */
  code: number | null;
  envelope?: Envelope;
  /** the last stderr lines, for a child that printed no envelope */
  tail: string[];
}

/** The suite's loader, unless NODE_OPTIONS (npm's .npmrc) already loads it. */
function loaderArgs(env: NodeJS.ProcessEnv): string[] {
  return /todo-chatbot-ops-ts-loader|ts-loader\/register\.mjs/.test(env.NODE_OPTIONS ?? '') ? [] : tsNodeFlags();
}

export function runScript(
  script: string,
  args: readonly string[],
  o: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; timeoutMs?: number } = {},
): Promise<ChildResult> {
  const env = { ...process.env, ...o.env };
  const argv = [
    ...loaderArgs(env),
    path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js'),
    path.join(repoRoot, script),
    ...args,
    '--output',
    'json',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let partial = '';
    const tail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        o.onLine?.(l);
      }
    });
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), o.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (partial) {
        tail.push(partial);
        o.onLine?.(partial);
      }
      let envelope: Envelope | undefined;
      try {
        envelope = JSON.parse(stdout) as Envelope;
      } catch {
        envelope = undefined;
      }
      resolve({ code, envelope, tail });
    });
  });
}
