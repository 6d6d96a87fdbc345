// The ops kit's pure parts, in-process: the result and its exit code, plan
// consent and application, typed options, config assembled from settings.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Context, helpText, parseFlags, type ScriptSpec } from '../../scripts/lib/kit/cli.ts';
import { loadConfig } from '../../scripts/lib/kit/env.ts';
import { Exit, OpsError } from '../../scripts/lib/kit/errors.ts';
import { Output } from '../../scripts/lib/kit/output.ts';
import { applyPlan, confirm, type PlannedAction } from '../../scripts/lib/kit/plan.ts';
import { Result, deriveExitCode } from '../../scripts/lib/kit/result.ts';
import { defineSettings, int, setting } from '../../scripts/lib/kit/settings.ts';
import { carryFlags } from '../../scripts/lib/kit/hints.ts';
import { assertEnvelope, assertFailure, assertOutput, run, scratchEnv } from '../helpers/run.ts';

const options = {
  replicas: { type: 'int', min: 0, max: 50, default: 1, help: 'replicas' },
  since: { type: 'duration', default: '10m', help: 'how far back' },
  component: { type: 'enum', choices: ['frontend', 'backend'], help: 'which one' },
  only: { type: 'list', help: 'kinds' },
  force: { type: 'boolean', help: 'force' },
} as const;
const spec = (over: Partial<ScriptSpec<any, any>> = {}): ScriptSpec<any, any> => ({
  name: 'demo',
  summary: 'demo script',
  touches: 'changes',
  options,
  run: async () => undefined,
  ...over,
});

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OpsError);
    expect((e as OpsError).code).toBe(Exit.usage);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('typed options', () => {
  it('converts each type and applies defaults', () => {
    const { flags } = parseFlags(spec(), [
      '--replicas',
      '3',
      '--since',
      '2h',
      '--component',
      'backend',
      '--only',
      'pods,services',
      '--only',
      'events',
    ]);
    expect(flags).toMatchObject({
      replicas: 3,
      since: 7200,
      component: 'backend',
      only: ['pods', 'services', 'events'],
      force: false,
      'dry-run': false,
      output: 'text',
    });
    const d = parseFlags(spec(), []).flags;
    expect(d).toMatchObject({ replicas: 1, since: 600, only: [] }); // a default is converted like a given value (seconds, as typed)
    expect(d.component).toBeUndefined();
  });
  it('rejects out-of-range, non-numeric and unknown values with the flag named', () => {
    expect(usage(() => parseFlags(spec(), ['--replicas', '51']))).toBe('--replicas must be between 0 and 50, got 51');
    expect(usage(() => parseFlags(spec(), ['--replicas', 'abc']))).toBe('--replicas must be a whole number, got "abc"');
    expect(usage(() => parseFlags(spec(), ['--replicas=-1']))).toBe('--replicas must be between 0 and 50, got -1');
    expect(usage(() => parseFlags(spec(), ['--since', 'soon']))).toMatch(/^--since must be like 90, 90s, 5m, 1h or 2d/);
    expect(usage(() => parseFlags(spec(), ['--component', 'database']))).toBe(
      '--component must be one of frontend, backend, got "database"',
    );
    expect(usage(() => parseFlags(spec(), ['--nope']))).toBe("unknown option '--nope'");
  });
  it('what a script touches decides its flags; a flag that does nothing is not offered', () => {
    const nothing = helpText(spec({ touches: 'nothing' }));
    expect(nothing).not.toMatch(/--context|--namespace|--dry-run|--yes/);
    const reads = helpText(spec({ touches: 'reads' }));
    expect(reads).toMatch(/--context/);
    expect(reads).not.toMatch(/--dry-run|--yes/);
    const changes = helpText(spec());
    expect(changes).toMatch(/--dry-run/);
    expect(changes).not.toMatch(/--yes/); // no destructive action: --yes would mean nothing
    expect(helpText(spec({ destructive: true }))).toMatch(/-y, --yes/);
    expect(usage(() => parseFlags(spec({ touches: 'reads' }), ['--dry-run']))).toBe("unknown option '--dry-run'");
  });
  it("--help shows defaults, bounds and the script's own settings", () => {
    const help = helpText(
      spec({ settings: defineSettings({ TODO_DEMO_MAX: setting(int(1, 9), 3, 'at most this many') }) }),
    );
    expect(help).toMatch(/--replicas N\s+replicas \(0-50; default 1\)/);
    expect(help).toMatch(/--since DURATION\s+how far back \(default 10m\)/);
    expect(help).toMatch(/--component frontend\|backend/);
    expect(help).toMatch(/TODO_DEMO_MAX\s+at most this many \(default 3\)/);
  });
});

function envDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-env-'));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
  return dir;
}

describe('config from its inputs', () => {
  const base = { 'p.env': 'TODO_NAMESPACE=ns1\n' };
  it('takes profile, environment and env directory as arguments', () => {
    const cfg = loadConfig({ profile: 'p', env: { TODO_RELEASE: 'rel' }, envDir: envDir(base) });
    expect(cfg).toMatchObject({ profile: 'p', TODO_NAMESPACE: 'ns1', TODO_RELEASE: 'rel', TODO_TIMEOUT: 300 });
  });
  it('an empty TODO_PROFILE means the default, not an error', () => {
    expect(loadConfig({ env: { TODO_PROFILE: '' }, envDir: envDir({ 'minikube.env': '' }) }).profile).toBe('minikube');
  });
  it("a script's own settings are typed and checked; other scripts' keys are left to them", () => {
    // TODO_BUILD_IMAGES_* belongs to scripts/build-images.ts: another script leaves it alone.
    const dir = envDir({ 'p.env': 'TODO_DEMO_MAX=5\nTODO_BUILD_IMAGES_SOMETHING=3\n' });
    const settings = defineSettings({ TODO_DEMO_MAX: setting(int(1, 9), 3, 'max') });
    const demo = loadConfig({ profile: 'p', env: {}, envDir: dir, settings });
    expect(demo.TODO_DEMO_MAX).toBe(5);
    expect(demo).not.toHaveProperty('TODO_BUILD_IMAGES_SOMETHING');
    const bad = envDir({ 'p.env': 'TODO_DEMO_MAX=12\n' });
    expect(() => loadConfig({ profile: 'p', env: {}, envDir: bad, settings })).toThrow(
      /TODO_DEMO_MAX must be between 1 and 9, got 12 \(in .*p\.env\)/,
    );
    // Without the script's declaration the same key is unknown.
    expect(() => loadConfig({ profile: 'p', env: {}, envDir: envDir({ 'p.env': 'TODO_DEMOX=1\n' }) })).toThrow(
      /unknown key TODO_DEMOX/,
    );
  });
  it("keys named after an existing script are that script's, wherever they appear", () => {
    // doctor exists: TODO_DOCTOR_* belongs to it and is not rejected by another script's run.
    expect(() => loadConfig({ profile: 'p', env: { TODO_DOCTOR_SOMETHING: 'x' }, envDir: envDir(base) })).not.toThrow();
    expect(() => loadConfig({ profile: 'p', env: { TODO_DOCTOT_SOMETHING: 'x' }, envDir: envDir(base) })).toThrow(
      /unknown setting TODO_DOCTOT_SOMETHING/,
    );
  });
  it('an env file line that is not KEY=VALUE is an error with file and line, not silently dropped', () => {
    const dir = envDir({ 'p.env': 'TODO_NAMESPACE=ns1\nTODO_RELEASE rel\n' });
    expect(() => loadConfig({ profile: 'p', env: {}, envDir: dir })).toThrow(
      /p\.env:2: not KEY=VALUE \(key TODO_RELEASE, no "=" after it\)$/,
    );
    // A secret typed with the wrong separator: the error names the key, never the value.
    const typo = envDir({ 'p.env': 'DEMO_PASSWORD:hunter2-value\n' });
    let message = '';
    try {
      loadConfig({ profile: 'p', env: {}, envDir: typo });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/p\.env:1: not KEY=VALUE \(key DEMO_PASSWORD, no "=" after it\)$/);
    expect(message).not.toContain('hunter2');
    const quote = envDir({ 'p.env': 'TODO_NAMESPACE="ns1\n' });
    expect(() => loadConfig({ profile: 'p', env: {}, envDir: quote })).toThrow(/unterminated " quote/);
  });
});

describe('result and exit code', () => {
  it('a failed action is 4, a failed required finding 1, a failed optional finding 0', () => {
    const r = new Result();
    expect(deriveExitCode(r)).toBe(0);
    r.finding({ name: 'x', level: 'fail', detail: '', required: false });
    expect(deriveExitCode(r)).toBe(0);
    r.finding({ name: 'y', level: 'fail', detail: '' });
    expect(deriveExitCode(r)).toBe(1);
    r.action({ what: 'a', target: 't', reason: 'r', status: 'failed' });
    expect(deriveExitCode(r)).toBe(4);
    r.exitCode = Exit.unreachable;
    expect(deriveExitCode(r)).toBe(3);
  });
  it('the schema refuses what it should (so the envelope check in every test can fail)', () => {
    const ok = {
      script: 's',
      ok: true,
      exitCode: 0,
      profile: 'p',
      context: null,
      namespace: 'n',
      release: 'r',
      dryRun: false,
      startedAt: new Date().toISOString(),
      durationMs: 1,
      findings: [],
      actions: [],
      data: {},
    };
    expect(() => assertEnvelope(ok)).not.toThrow();
    expect(() => assertEnvelope({ ...ok, exitCode: 1 })).toThrow(/not a result envelope/); // ok with a non-zero code
    expect(() => assertEnvelope({ ...ok, ok: false, exitCode: 7 })).toThrow();
    expect(() => assertEnvelope({ ...ok, findings: [{ name: 'x', level: 'bad', detail: '' }] })).toThrow();
    expect(() =>
      assertEnvelope({ ...ok, actions: [{ what: 'x', target: 't', reason: 'r', status: 'maybe' }] }),
    ).toThrow();
    const { data: _omit, ...noData } = ok;
    expect(() => assertEnvelope(noData)).toThrow();
  });
});

function ctxFor(flags: Record<string, unknown>, s = spec({ destructive: true })): Context<any, any> {
  const cfg = loadConfig({ profile: 'p', env: {}, envDir: envDir({ 'p.env': '' }) });
  return new Context(s, cfg, new Output('text'), { 'dry-run': false, yes: false, ...flags }, []);
}
const del: PlannedAction = { what: 'delete', target: 'pod/a', reason: 'crash loop', destructive: true };
const safeDel: PlannedAction = { ...del, target: 'pod/b', unattended: true };
const patch: PlannedAction = { what: 'patch', target: 'deployment/x', reason: 'drift' };

describe('plan, then act', () => {
  it('without a terminal and without --yes a destructive plan is refused with exit 2 before anything runs', async () => {
    const ctx = ctxFor({});
    const applied: string[] = [];
    const err = await applyPlan(ctx, [patch, del], async (a) => void applied.push(a.target), { isTTY: false }).catch(
      (e: OpsError) => e,
    );
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(Exit.usage);
    expect((err as OpsError).message).toBe('refusing to delete pod/a without --yes (no terminal to ask)');
    expect((err as OpsError).hint).toMatch(/--yes/);
    expect(applied).toEqual([]);
  });
  it('--yes, an unattended-safe action, or --dry-run need no consent', async () => {
    await expect(confirm(ctxFor({ yes: true }), [del], { isTTY: false })).resolves.toBeUndefined();
    await expect(confirm(ctxFor({}), [safeDel, patch], { isTTY: false })).resolves.toBeUndefined();
    await expect(confirm(ctxFor({ 'dry-run': true }), [del], { isTTY: false })).resolves.toBeUndefined();
  });
  it('on a terminal it asks, and a "no" changes nothing', async () => {
    const questions: string[] = [];
    const no = async (q: string) => (questions.push(q), false);
    const applied: string[] = [];
    await expect(
      applyPlan(ctxFor({}), [del], async (a) => void applied.push(a.target), { isTTY: true, ask: no }),
    ).rejects.toThrow('cancelled: nothing was changed');
    expect(questions).toEqual(['demo: about to delete pod/a. Continue? [y/N] ']);
    expect(applied).toEqual([]);
    await applyPlan(ctxFor({}), [del], async (a) => void applied.push(a.target), {
      isTTY: true,
      ask: async () => true,
    });
    expect(applied).toEqual(['pod/a']);
  });
  it('--dry-run records the plan and applies nothing, unless the script asks for a server-side dry run', async () => {
    const ctx = ctxFor({ 'dry-run': true });
    const calls: [string, boolean][] = [];
    await applyPlan(ctx, [patch, del], async (a, dry) => void calls.push([a.target, dry]));
    expect(calls).toEqual([]);
    expect(ctx.result.actions.map((a) => a.status)).toEqual(['planned', 'planned']);
    await applyPlan(ctx, [patch], async (a, dry) => (calls.push([a.target, dry]), 'server accepted'), {
      serverDryRun: true,
    });
    expect(calls).toEqual([['deployment/x', true]]);
    expect(ctx.result.actions[2]).toMatchObject({ status: 'planned', detail: 'server accepted' });
  });
  it('a failure stops the plan (later actions skipped) and makes the exit code 4', async () => {
    const ctx = ctxFor({ yes: true });
    await applyPlan(ctx, [patch, del, safeDel], async (a) => {
      if (a.target === 'pod/a') throw new Error('forbidden: pods "a" is forbidden');
    });
    expect(ctx.result.actions.map((a) => [a.target, a.status])).toEqual([
      ['deployment/x', 'done'],
      ['pod/a', 'failed'],
      ['pod/b', 'skipped'],
    ]);
    expect(ctx.result.actions[1]!.detail).toBe('forbidden: pods "a" is forbidden');
    expect(deriveExitCode(ctx.result)).toBe(4);
  });
  it('an unreachable API ends the run with exit 3, not 4', async () => {
    const ctx = ctxFor({});
    const err = await applyPlan(ctx, [patch], async () => {
      throw new OpsError('cannot reach the Kubernetes API', Exit.unreachable);
    }).catch((e: OpsError) => e);
    expect((err as OpsError).code).toBe(Exit.unreachable);
    expect(ctx.result.actions[0]!.status).toBe('failed');
  });
});

describe('hints carry the run’s flags', () => {
  const given = { profile: 'testbed', context: 'kind-a', namespace: 'shop' };
  it('adds the given kit flags after each suite command, unless that command already says them', () => {
    expect(carryFlags('npx zx scripts/debug.ts todo-chatbot-backend', given)).toBe(
      'npx zx scripts/debug.ts -p testbed --context kind-a -n shop todo-chatbot-backend',
    );
    expect(carryFlags('helm list -n shop; or deploy: npx zx scripts/deploy.ts -n shop', given)).toBe(
      'helm list -n shop; or deploy: npx zx scripts/deploy.ts -p testbed --context kind-a -n shop',
    );
    expect(carryFlags('npx zx ops/backup.ts --profile=x && npx zx ./ops/restore.ts latest', given)).toBe(
      'npx zx ops/backup.ts --context kind-a -n shop --profile=x && npx zx ./ops/restore.ts -p testbed --context kind-a -n shop latest',
    );
    expect(carryFlags('npx zx scripts/doctor.ts', { kubeconfig: '/tmp/my dir/kc' })).toBe(
      "npx zx scripts/doctor.ts --kubeconfig '/tmp/my dir/kc'",
    );
  });
  it('leaves hints alone when no kit flag was given, and other commands always', () => {
    expect(carryFlags('npx zx scripts/debug.ts x', {})).toBe('npx zx scripts/debug.ts x');
    expect(carryFlags('kubectl get pods', given)).toBe('kubectl get pods');
  });
  it('a printed hint is the run’s: a usage error from a run with -p and -n says them again', async () => {
    const r = await run('ops/restore.ts', ['nope', '--dir', os.tmpdir(), '-p', 'testbed', '-n', 'shop'], {
      env: scratchEnv({ KUBECONFIG: '/nonexistent' }),
    });
    assertFailure(r, 2);
    assertOutput(r, `hint: npx zx ops/restore.ts -p testbed -n shop latest --dir ${os.tmpdir()}`);
  });
});
