import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertFailure, assertOutput, assertSuccess, refuteOutput, repoRoot, run, scratchEnv } from '../helpers/run.ts';

describe('shared CLI conventions (through scripts/doctor.ts)', () => {
  it('--help lists the common flags and the exit codes', async () => {
    const r = await run('scripts/doctor.ts', ['--help']);
    assertSuccess(r);
    for (const flag of ['--context', '--namespace', '--profile', '--output', '--verbose']) assertOutput(r, flag);
    assertOutput(r, /3\s+Kubernetes API unreachable/);
    refuteOutput(r, '--dry-run'); // doctor changes nothing, so it offers no dry run
  });

  it('runs as ./scripts/doctor.ts (shebang) and as npx zx scripts/doctor.ts', async () => {
    const { execFileSync } = await import('node:child_process');
    for (const [cmd, args] of [
      ['./scripts/doctor.ts', ['--help']],
      ['npx', ['zx', 'scripts/doctor.ts', '--help']],
    ] as const) {
      const out = execFileSync(cmd, [...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      });
      expect(out).toMatch(/^doctor: check tools/);
    }
  });

  it('an unknown flag is a one-line usage error with exit 2', async () => {
    const r = await run('scripts/doctor.ts', ['--replicas', '3'], { env: scratchEnv() });
    assertFailure(r, 2);
    expect(r.stderr.split('\n')[0]).toBe("doctor: unknown option '--replicas'");
  });

  it('a bad --output value is rejected before anything runs', async () => {
    const r = await run('scripts/doctor.ts', ['-o', 'yaml'], { env: scratchEnv() });
    assertFailure(r, 2);
    assertOutput(r, '--output must be one of text, json, got "yaml"');
  });

  it('an unknown profile names the file it looked for and the known profiles', async () => {
    const r = await run('scripts/doctor.ts', ['--profile', 'nope'], { env: scratchEnv() });
    assertFailure(r, 2);
    assertOutput(r, /unknown profile "nope": .*env\/nope\.env does not exist/);
    assertOutput(r, /profiles: .*minikube/);
  });
  // Locks: test/unit/lock.test.ts.
});

describe('doctor without a cluster', () => {
  it('exits 3 with valid JSON naming the unreachable cluster', async () => {
    const r = await run('scripts/doctor.ts', ['--output', 'json'], {
      env: scratchEnv({ KUBECONFIG: path.join(os.tmpdir(), 'no-such-kubeconfig') }),
    });
    assertFailure(r, 3);
    const doc = r.json<{ ok: boolean; findings: { name: string; level: string; detail: string }[] }>();
    expect(doc.ok).toBe(false);
    const cluster = doc.findings.find((c) => c.name === 'cluster');
    expect(cluster?.level).toBe('fail');
    expect(cluster?.detail).toContain('no kubeconfig found');
  });

  it('reports a missing required tool with an install hint', async () => {
    // PATH with node only: kubectl and helm cannot be found.
    const nodeOnly = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-path-'));
    fs.symlinkSync(process.execPath, path.join(nodeOnly, 'node'));
    const r = await run('scripts/doctor.ts', ['-o', 'json'], {
      env: scratchEnv({ PATH: nodeOnly, KUBECONFIG: '/nonexistent' }),
    });
    assertFailure(r);
    const helm = r
      .json<{ findings: { name: string; level: string; hint?: string }[] }>()
      .findings.find((c) => c.name === 'tool helm');
    expect(helm).toMatchObject({ level: 'fail' });
    expect(helm?.hint).toContain('helm.sh');
  });
});

describe('every script (scripts/ and ops/) follows the skeleton', () => {
  const entries = ['scripts', 'ops'].flatMap((d) =>
    fs.existsSync(path.join(repoRoot, d))
      ? fs
          .readdirSync(path.join(repoRoot, d))
          .filter((f) => f.endsWith('.ts'))
          .map((f) => `${d}/${f}`)
      : [],
  );
  it.each(entries)('%s: --help exits 0; a bad flag under -o json is one usage envelope (exit 2)', async (script) => {
    const help = await run(script, ['--help']);
    assertSuccess(help);
    assertOutput(help, /^Usage: npx zx /m);
    assertOutput(help, /Exit codes:/);
    const bad = await run(script, ['-o', 'json', '--no-such-flag'], { env: scratchEnv() });
    assertFailure(bad, 2);
    // json() checks the document against scripts/lib/kit/result.schema.json
    expect(bad.json<{ exitCode: number; error: { message: string } }>()).toMatchObject({
      exitCode: 2,
      error: { message: "unknown option '--no-such-flag'" },
    });
  });
});

describe('plan, then act, through the process', () => {
  const planner = (dir: string, ...args: string[]) =>
    run('test/fixtures/planner.ts', ['--dir', dir, '-o', 'json', ...args], { env: scratchEnv() });
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-plan-'));

  it('no terminal and no --yes: a destructive plan is refused with exit 2 and nothing is done', async () => {
    const dir = tmp();
    const r = await planner(dir);
    assertFailure(r, 2);
    expect(r.json<{ error: { message: string; hint: string } }>().error).toEqual({
      message: `refusing to overwrite ${dir}/b without --yes (no terminal to ask)`,
      hint: 'add --yes to confirm, or --dry-run to see the plan',
    });
    expect(fs.readdirSync(dir)).toEqual([]);
  });
  it('--dry-run prints the plan and does nothing; --yes does it all; an unattended-safe plan needs no --yes', async () => {
    const dir = tmp();
    const dry = await planner(dir, '--dry-run');
    assertSuccess(dry);
    expect(dry.json<{ dryRun: boolean; actions: { status: string }[] }>()).toMatchObject({
      dryRun: true,
      actions: [{ status: 'planned' }, { status: 'planned' }],
    });
    expect(fs.readdirSync(dir)).toEqual([]);
    const text = await run('test/fixtures/planner.ts', ['--dir', dir, '--dry-run'], { env: scratchEnv() });
    assertOutput(text, 'dry run: nothing was changed; the plan:');
    assertOutput(text, `would: overwrite ${dir}/b (destructive)`);
    assertSuccess(await planner(dir, '--yes'));
    expect(fs.readdirSync(dir).sort()).toEqual(['a', 'b']);
    const cron = tmp();
    assertSuccess(await planner(cron, '--unattended'));
    expect(fs.readdirSync(cron).sort()).toEqual(['a', 'b']);
  });
});
