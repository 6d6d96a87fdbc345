// This machine against the prerequisites (prereqs.ts): commands looked up on
// PATH and files checked without a child process, versions asked only of the
// few entries that have a minimum (in parallel), so a warm check takes
// milliseconds. And the install a plan (install-plan.ts) decided on: apt-get,
// streamed, as root.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Exit, OpsError } from '../kit/errors.ts';
import {
  installConsent,
  installPlan,
  judgeVersion,
  missingLine,
  type InstallPlan,
  type Machine,
  type PrereqStatus,
} from './install-plan.ts';
import { prerequisites, type Prereq } from './prereqs.ts';
import { askOnTerminal } from '../kit/plan.ts';

/** The command's path: the first executable file of that name on PATH. */
export function findCommand(cmd: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Does a path with `*` segments match at least one existing file? */
function matches(pattern: string): boolean {
  const parts = pattern.split('/').filter(Boolean);
  const walk = (dir: string, i: number): boolean => {
    if (i === parts.length) return fs.existsSync(dir);
    const part = parts[i]!;
    if (!part.includes('*')) return walk(path.join(dir, part), i + 1);
    const re = new RegExp(`^${part.split('*').map(escape).join('[^/]*')}$`);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return false;
    }
    return names.some((n) => re.test(n) && walk(path.join(dir, n), i + 1));
  };
  return walk('/', 0);
}
const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

function output(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; text: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, text: `${stdout}${stderr}` }),
    );
  });
}

/** One run per command line and check: entries that ask the same command share its answer. */
type Runs = Map<string, Promise<{ ok: boolean; text: string }>>;
function once(runs: Runs, file: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  const key = JSON.stringify([file, args, env.GOTOOLCHAIN ?? '']);
  if (!runs.has(key)) runs.set(key, output(file, args, env));
  return runs.get(key)!;
}

async function checkOne(p: Prereq, env: NodeJS.ProcessEnv, runs: Runs): Promise<PrereqStatus> {
  let found: string | undefined;
  if (p.command) {
    found = findCommand(p.command, env.PATH) ?? p.alsoAt?.find((f) => findCommand(path.basename(f), path.dirname(f)));
    if (!found) return { prereq: p, ok: false, problem: 'not found on PATH' };
  }
  const missingFiles = (p.files ?? []).filter((f) => !matches(f));
  if (missingFiles.length) return { prereq: p, ok: false, problem: `missing ${missingFiles.join(', ')}` };
  if (p.probe) {
    const bin = findCommand(p.probe[0]!, env.PATH);
    if (!bin) return { prereq: p, ok: false, problem: `${p.probe[0]} not found on PATH` };
    if (!(await once(runs, bin, p.probe.slice(1), env)).ok)
      return { prereq: p, ok: false, problem: `\`${p.probe.join(' ')}\` failed` };
  }
  if (!p.version || !found) return { prereq: p, ok: true, ...(found ? { path: found } : {}) };
  const res = await once(runs, found, p.version.args, { ...env, ...p.version.env });
  const version = p.version.pattern.exec(res.text)?.[1];
  if (!version)
    return { prereq: p, ok: false, path: found, problem: `could not read its version (${p.version.args.join(' ')})` };
  const v = judgeVersion(p, version);
  return {
    prereq: p,
    ok: v.ok,
    path: found,
    version,
    ...(v.problem ? { problem: v.problem } : {}),
    ...(v.usable && p.usableNote ? { note: p.usableNote } : {}),
  };
}

/** Every prerequisite's status, in list order. */
export function checkPrereqs(list: readonly Prereq[], env: NodeJS.ProcessEnv = process.env): Promise<PrereqStatus[]> {
  const runs: Runs = new Map();
  return Promise.all(list.map((p) => checkOne(p, env, runs)));
}

/** Root, the distribution (/etc/os-release) and apt-get. */
function machine(env: NodeJS.ProcessEnv = process.env): Machine {
  let os: Machine['os'];
  try {
    const kv = Object.fromEntries(
      fs
        .readFileSync('/etc/os-release', 'utf8')
        .split('\n')
        .map((l) => /^(\w+)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => Boolean(m))
        .map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]),
    );
    const version = Number.parseFloat(kv.VERSION_ID ?? '');
    os = {
      id: kv.ID ?? 'unknown',
      like: (kv.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
      ...(Number.isFinite(version) ? { version } : {}),
    };
  } catch {
    os = undefined;
  }
  return { root: process.getuid?.() === 0, os, apt: Boolean(findCommand('apt-get', env.PATH)) };
}

/** Runs the plan's apt-get commands, their output line by line to onLine; exit 4 with apt's last lines when one fails. */
async function runInstall(
  plan: Extract<InstallPlan, { kind: 'install' }>,
  onLine: (line: string) => void,
): Promise<void> {
  for (const argv of plan.commands) {
    const tail: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let partial = '';
      const take = (d: string) => {
        const lines = (partial + d).split('\n');
        partial = lines.pop()!;
        for (const l of lines.filter((x) => x.trim())) {
          tail.push(l);
          if (tail.length > 10) tail.shift();
          onLine(l);
        }
      };
      child.stdout.setEncoding('utf8').on('data', take);
      child.stderr.setEncoding('utf8').on('data', take);
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0)
      throw new OpsError(
        `${argv.slice(0, 2).join(' ')} failed (exit ${code}): ${tail.slice(-3).join(' | ')}`,
        Exit.actionFailed,
        `run it yourself to see why: ${plan.line}`,
      );
  }
}

/** A stop for missing prerequisites: exit 2 (or 4 when an install failed), with what is missing. */
export class PrereqError extends OpsError {
  readonly missing: PrereqStatus[];
  constructor(message: string, missing: PrereqStatus[], hint: string, code: 2 | 4 = Exit.usage) {
    super(message, code, hint);
    this.missing = missing;
  }
}

export interface EnsureOptions {
  dryRun: boolean;
  /** --yes */
  yes: boolean;
  /** the setting that agrees without a terminal (TODO_BOOTSTRAP_INSTALL=1; CI=true for the tests) */
  agreed: boolean;
  /** how the user agrees, for the hint: "--yes or TODO_BOOTSTRAP_INSTALL=1" */
  agreeHow: string;
  /** stdin and stderr are a terminal: ask */
  tty: boolean;
  /** progress: the line about to run, apt's output */
  say: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface EnsureOutcome {
  /** every prerequisite as it is now (after an install) */
  statuses: PrereqStatus[];
  /** what the run did: nothing to do, showed the plan (--dry-run), installed */
  status: 'present' | 'planned' | 'installed';
  plan: InstallPlan;
}

/**
 * Checks the prerequisites of a use; installs the missing ones when this
 * machine can and the user agreed; else stops (exit 2, nothing changed) with
 * one line naming each missing command and its package, and the command to run.
 */
export async function ensurePrereqs(list: readonly Prereq[], o: EnsureOptions): Promise<EnsureOutcome> {
  const env = o.env ?? process.env;
  const statuses = await checkPrereqs(list, env);
  const absent = statuses.filter((s) => !s.ok);
  const missing = absent.map((s) => s.prereq);
  const plan = installPlan(missing, machine(env));
  if (plan.kind === 'none') return { statuses, status: 'present', plan };
  const what = `missing system prerequisites: ${missingLine(missing)}`;
  const manualHint = plan.manual.map((m) => `${m.name}: ${m.how}`).join('; ');
  const hint = (...parts: (string | undefined)[]) => parts.filter(Boolean).join('; ');
  if (plan.kind === 'stop')
    throw new PrereqError(
      what,
      absent,
      hint(plan.line ? `${plan.reason}: as root, run: ${plan.line}` : plan.reason, manualHint),
    );
  const consent = installConsent({ dryRun: o.dryRun, yes: o.yes, agreed: o.agreed, tty: o.tty });
  if (consent === 'show') {
    o.say(`${what}; would run: ${plan.line}${manualHint ? `; then still: ${manualHint}` : ''}`);
    return { statuses, status: 'planned', plan };
  }
  if (consent === 'stop')
    throw new PrereqError(
      what,
      absent,
      hint(`run as root: ${plan.line} (or let this run install them: ${o.agreeHow})`, manualHint),
    );
  o.say(what);
  if (consent === 'ask' && !(await askOnTerminal(`install them now? ${plan.line} [y/N] `)))
    throw new PrereqError(`${what} (not installed)`, absent, `run as root: ${plan.line}`);
  o.say(`$ ${plan.line}`);
  try {
    await runInstall(plan, (l) => o.say(`  ${l}`));
  } catch (e) {
    if (e instanceof OpsError) throw new PrereqError(e.message, absent, e.hint ?? plan.line, Exit.actionFailed);
    throw e;
  }
  const after = await checkPrereqs(list, env);
  const still = after.filter((s) => !s.ok);
  if (still.length)
    throw new PrereqError(
      `still missing after the install: ${still.map((s) => `${s.prereq.name} (${s.prereq.package}): ${s.problem}`).join('; ')}`,
      still,
      manualHint || `check: ${plan.line}`,
    );
  return { statuses: after, status: 'installed', plan };
}

/**
 * Stops (PrereqError, exit 2) when any of the list is missing, naming each
 * with its package and the apt-get line: the local cluster's own check before
 * it starts anything, for callers that did not run bootstrap's doctor step
 * (npm run cluster:up, the tests' global setup).
 */
export async function requirePrereqs(list: readonly Prereq[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const absent = (await checkPrereqs(list, env)).filter((s) => !s.ok);
  if (!absent.length) return;
  const missing = absent.map((s) => s.prereq);
  const plan = installPlan(missing, { ...machine(env), root: true });
  const line = plan.kind === 'install' ? plan.line : plan.kind === 'stop' ? (plan.line ?? plan.reason) : '';
  throw new PrereqError(`missing system prerequisites: ${missingLine(missing)}`, absent, `as root: ${line}`);
}

/** "containerd is not installed (Debian package containerd)": what a spawn that found no binary says instead of ENOENT. */
export function notInstalled(cmd: string): string {
  const p = prerequisites.find((x) => x.command === cmd);
  return p
    ? `${cmd} is not installed (Debian package ${p.package}: apt-get install ${p.package})`
    : `${cmd} is not installed (not found on PATH)`;
}

/** A spawn's error event, ENOENT named as the missing command and its package. */
export function spawnError(e: NodeJS.ErrnoException, cmd: string): Error {
  return e.code === 'ENOENT' ? new Error(notInstalled(path.basename(cmd)), { cause: e }) : e;
}
