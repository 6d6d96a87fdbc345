// bats-style helpers on vitest: run a script as a real process, then assert on
// its status and output, as bats' `run`, `assert_success`, `assert_output` do.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { expect } from 'vitest';
import { tsNodeFlags } from '../../scripts/lib/kit/node-flags.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
const zxCli = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr, like bats' $output */
  output: string;
  json<T = Record<string, unknown>>(): T;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** A private state dir and profile for one test, so runs never share locks or history. */
export function scratchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-test-'));
  return { TODO_STATE_DIR: dir, TODO_PROFILE: 'testbed', ...extra };
}

/**
 * Node 22.18+ strips types itself: run scripts that way there (dropping the
 * suite's loader npm adds from .npmrc: a run outside the repo's .npmrc), so the
 * tests cover both ways scripts load; the loader itself on every Node is
 * test/unit/ts-loader.test.ts's.
 */
function loader(env: NodeJS.ProcessEnv): string[] {
  if (!(process.features as { typescript?: string }).typescript) return tsNodeFlags();
  env.NODE_OPTIONS = (env.NODE_OPTIONS ?? '').replace(/--import[= ]todo-chatbot-ops-ts-loader/g, '').trim();
  return [];
}

let validator: ReturnType<Ajv['compile']> | undefined;
/** Asserts a document is a result envelope (scripts/lib/kit/result.schema.json). */
export function assertEnvelope(doc: unknown): void {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(
    JSON.parse(fs.readFileSync(path.join(repoRoot, 'scripts/lib/kit/result.schema.json'), 'utf8')),
  );
  if (!validator(doc))
    throw new Error(
      `not a result envelope: ${JSON.stringify(validator.errors, null, 2)}\n${JSON.stringify(doc, null, 2).slice(0, 2000)}`,
    );
}

/** The environment a test's process gets: the caller's, no colours, and no variable given as undefined. */
export function childEnv(opts: RunOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...opts.env };
  // Never inherit a developer's real cluster or secrets by accident.
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env;
}

/** Spawns and captures everything; `envelope`: a script's JSON is checked against the result schema. */
function capture(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: RunOptions,
  envelope: boolean,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({
        status,
        stdout,
        stderr,
        output: stdout + stderr,
        json<T>() {
          let doc: unknown;
          try {
            doc = JSON.parse(stdout);
          } catch {
            throw new Error(`stdout is not one JSON document:\n${stdout}\n--- stderr:\n${stderr}`);
          }
          // Every script's JSON is the one result shape: checked on every read, in every test.
          if (envelope) assertEnvelope(doc);
          return doc as T;
        },
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `zx <script> args` (with the suite's loader, so Node 20 loads .ts) and captures everything. */
export function run(script: string, args: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  const env = childEnv(opts);
  const file = path.resolve(repoRoot, script);
  return capture(
    process.execPath,
    [...loader(env), zxCli, file, ...args],
    env,
    opts,
    /^(scripts|ops)\//.test(path.relative(repoRoot, file)),
  );
}

/** Runs a command line through bash, as a user pastes it (a hint, a README line), with run()'s environment rules. */
export function runLine(line: string, opts: RunOptions = {}): Promise<RunResult> {
  return capture('bash', ['-c', line], childEnv(opts), opts, false);
}

const show = (r: RunResult) => `status ${r.status}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;

export function assertSuccess(r: RunResult): void {
  expect(r.status, show(r)).toBe(0);
}
export function assertFailure(r: RunResult, status?: number): void {
  if (status === undefined) expect(r.status, show(r)).not.toBe(0);
  else expect(r.status, show(r)).toBe(status);
}
export function assertOutput(r: RunResult, expected: string | RegExp): void {
  if (typeof expected === 'string') expect(r.output, show(r)).toContain(expected);
  else expect(r.output, show(r)).toMatch(expected);
}
export function refuteOutput(r: RunResult, unexpected: string | RegExp): void {
  if (typeof unexpected === 'string') expect(r.output, show(r)).not.toContain(unexpected);
  else expect(r.output, show(r)).not.toMatch(unexpected);
}
