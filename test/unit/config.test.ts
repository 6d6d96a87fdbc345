import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertFailure, assertOutput, repoRoot, run, scratchEnv } from '../helpers/run.ts';
import { duration } from '../../scripts/lib/kit/settings.ts';

function envDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-env-'));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
  return dir;
}

describe('config loading', () => {
  it('an unknown key in a profile file is an error naming the key and the file', async () => {
    const dir = envDir({ 'dev.env': 'TODO_NAMESPACE=todo\nTODO_NAMESAPCE=oops\n' });
    const r = await run('scripts/doctor.ts', ['--profile', 'dev'], { env: scratchEnv({ TODO_ENV_DIR: dir }) });
    assertFailure(r, 2);
    assertOutput(r, `unknown key TODO_NAMESAPCE in ${path.join(dir, 'dev.env')}`);
  });

  it('an invalid value names the key, the problem and where it came from', async () => {
    const dir = envDir({ 'dev.env': 'TODO_NAMESPACE=Not_A_Name\n' });
    const r = await run('scripts/doctor.ts', ['--profile', 'dev'], { env: scratchEnv({ TODO_ENV_DIR: dir }) });
    assertFailure(r, 2);
    assertOutput(r, /TODO_NAMESPACE must be a DNS-1123 label, got "Not_A_Name" \(in .*dev\.env\)/);
  });

  it('a secret in the committed profile file is refused', async () => {
    const dir = envDir({ 'dev.env': 'BETTER_AUTH_SECRET=hunter2hunter2\n' });
    const r = await run('scripts/doctor.ts', ['--profile', 'dev'], { env: scratchEnv({ TODO_ENV_DIR: dir }) });
    assertFailure(r, 2);
    assertOutput(r, 'BETTER_AUTH_SECRET is a secret and must not be set in the committed');
    expect(r.output).not.toContain('hunter2hunter2');
  });

  it('a secret typed with the wrong separator is reported by line and key, never by value (text and JSON)', async () => {
    const dir = envDir({ 'dev.env': 'TODO_NAMESPACE=todo\n', '.env.local': 'DEMO_PASSWORD:hunter2hunter2\n' });
    for (const args of [[], ['-o', 'json']]) {
      const r = await run('scripts/doctor.ts', ['--profile', 'dev', ...args], {
        env: scratchEnv({ TODO_ENV_DIR: dir }),
      });
      assertFailure(r, 2);
      assertOutput(r, `${path.join(dir, '.env.local')}:1: not KEY=VALUE (key DEMO_PASSWORD, no "=" after it)`);
      expect(r.output).not.toContain('hunter2');
    }
  });

  it('a misspelt TODO_ variable in the environment is caught', async () => {
    const r = await run('scripts/doctor.ts', [], { env: scratchEnv({ TODO_NAMSPACE: 'x' }) });
    assertFailure(r, 2);
    assertOutput(r, 'unknown setting TODO_NAMSPACE in the environment');
  });

  it('.env.local overrides the profile and the environment overrides both', async () => {
    const dir = envDir({
      'dev.env': 'TODO_NAMESPACE=from-profile\nTODO_REQUIRE_METRICS=false\n',
      '.env.local': 'TODO_NAMESPACE=from-local\n',
    });
    const noCluster = { TODO_ENV_DIR: dir, KUBECONFIG: '/nonexistent' };
    const a = await run('scripts/doctor.ts', ['--profile', 'dev', '-o', 'json'], { env: scratchEnv(noCluster) });
    expect(a.json<{ namespace: string }>().namespace).toBe('from-local');
    const b = await run('scripts/doctor.ts', ['--profile', 'dev', '-o', 'json'], {
      env: scratchEnv({ ...noCluster, TODO_NAMESPACE: 'from-env' }),
    });
    expect(b.json<{ namespace: string }>().namespace).toBe('from-env');
    const c = await run('scripts/doctor.ts', ['--profile', 'dev', '-o', 'json', '-n', 'from-flag'], {
      env: scratchEnv({ ...noCluster, TODO_NAMESPACE: 'from-env' }),
    });
    expect(c.json<{ namespace: string }>().namespace).toBe('from-flag');
  });

  it('durations accept seconds, minutes and hours', () => {
    expect(duration('90')).toBe(90);
    expect(duration('5m')).toBe(300);
    expect(duration('1h')).toBe(3600);
    expect(() => duration('soon')).toThrow(/must be like 90/);
  });

  it('--verbose shows the config with secrets as (set), never their values', async () => {
    const secret = 'x9-very-secret-value-42';
    const r = await run('scripts/doctor.ts', ['--verbose', '-o', 'json'], {
      env: scratchEnv({ BETTER_AUTH_SECRET: secret, KUBECONFIG: '/nonexistent' }),
    });
    expect(r.stderr).toContain('"BETTER_AUTH_SECRET":"(set)"');
    expect(r.stderr).toContain('"OPENAI_API_KEY":"(unset)"');
    expect(r.output).not.toContain(secret);
    // The line shows what the run uses: flags applied (it was printed before them once).
    const flagged = await run(
      'scripts/doctor.ts',
      ['--verbose', '-n', 'from-flag', '--context', 'ctx-flag', '-o', 'json'],
      { env: scratchEnv({ KUBECONFIG: '/nonexistent' }) },
    );
    expect(flagged.stderr).toMatch(/config: .*"TODO_NAMESPACE":"from-flag".*"TODO_CONTEXT":"ctx-flag"/);
  });
});

describe('bad input is exit 2 before any cluster access', () => {
  const noCluster = scratchEnv({ KUBECONFIG: '/nonexistent' });
  const cases: [string, string[], RegExp][] = [
    ['scripts/scale.ts', ['backend', 'lots'], /^scale: replicas must be a whole number, got "lots"$/],
    ['scripts/scale.ts', ['backend', '-1'], /^scale: replicas must be between 0 and 10 \(TODO_SCALE_MAX\), got -1$/],
    ['scripts/scale.ts', ['postgres', '1'], /^scale: cannot scale "postgres"/],
    ['ops/restore.ts', ['/nonexistent/todo-chatbot-x'], /^restore: no archive at \/nonexistent\/todo-chatbot-x$/],
    ['ops/restore.ts', ['nope', '--dir', os.tmpdir()], /^restore: no archive nope in /],
    ['ops/restore.ts', [], /^restore: restore takes one archive/],
    ['ops/perf.ts', ['--duration', '0'], /^perf: --duration must be at least 1s, got "0"$/],
    [
      'ops/autoscale.ts',
      ['--components', 'nope'],
      /^autoscale: --components: unknown nope \(choose from frontend, backend\)$/,
    ],
    ['scripts/monitor.ts', ['extra'], /^monitor: unexpected argument "extra": monitor takes options only$/],
    ['scripts/deploy.ts', ['extra'], /^deploy: unexpected argument "extra": deploy takes options only$/],
    ['ops/alert.ts', ['frob'], /^alert: unknown command "frob"/],
    ['ops/alert.ts', ['silence', 'crash-loop'], /^alert: silence needs --for DURATION/],
    ['ops/alert.ts', ['unsilence', 'nosuch'], /^alert: unknown rule "nosuch"$/],
    ['scripts/config.ts', ['frob'], /^config: unknown command "frob"$/],
    ['scripts/config.ts', ['set', 'NOPE=1'], /^config: unknown key NOPE/],
    ['scripts/config.ts', ['rotate', 'OPENAI_API_KEY'], /^config: OPENAI_API_KEY cannot be generated/],
  ];
  for (const [script, args, line] of cases)
    it(`${script} ${args.join(' ')}`, async () => {
      const r = await run(script, args, { env: noCluster });
      assertFailure(r, 2);
      expect(r.stderr.split('\n')[0]).toMatch(line);
      expect(r.output).not.toContain('kubeconfig');
    });
});

describe('verify with no cluster to reach', () => {
  it('exit 3 with one line naming the server, and its JSON result says so too', async () => {
    const env = scratchEnv({ KUBECONFIG: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml') });
    const text = await run('scripts/verify.ts', [], { env });
    assertFailure(text, 3);
    expect(text.stderr.split('\n')[0]).toMatch(/^verify: .*127\.0\.0\.1:9/);
    const json = await run('scripts/verify.ts', ['-o', 'json'], { env });
    assertFailure(json, 3);
    expect(json.json<{ exitCode: number; ok: boolean }>()).toMatchObject({ exitCode: 3, ok: false });
  });
});
