// bootstrap end to end. --target local for real: the running test bed is
// reused (the cluster project's, same TODO_OPS_BED_NAME), the chart goes into
// this file's own namespace on the real node with the images the bed already
// imported (--skip images: no rebuild), and verify's chat round trip runs
// against the real backend; a second run changes nothing. The Minikube path
// with stand-in `minikube` and `docker` (test/fixtures/bin-standins: Minikube
// cannot run here) that record their calls, the real kubectl and helm, and a
// kubeconfig whose "minikube" context answers nothing: the exact command
// sequence, a failed `minikube start` stopping the chain with the command that
// continues, and that command resuming.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigPath } from '../../scripts/lib/local-cluster/layout.ts';
import { bedEnv, deleteNamespace, kube, sh } from '../helpers/cluster.ts';
import { makeEnvDir } from '../helpers/env-dir.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv } from '../helpers/run.ts';

interface Step {
  name: string;
  status: string;
  detail: string;
  durationMs: number;
  exitCode?: number;
  results?: Doc[];
}
interface Doc {
  exitCode: number;
  findings: { name: string; level: string; detail: string; hint?: string; evidence?: Record<string, unknown> }[];
  actions: { what: string; status: string; durationMs?: number }[];
  data: { target: string; steps: Step[]; changed?: boolean; url?: string; next?: string[]; continue?: string };
}
const statuses = (d: Doc) => Object.fromEntries(d.data.steps.map((s) => [s.name, s.status]));

describe('bootstrap --target local: from the running test bed to a verified release, then a re-run that changes nothing', () => {
  const ns = `boot-e2e-${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-boot-'));
  let envDir: string;
  let env: NodeJS.ProcessEnv;
  let first: Doc;
  let firstOutput = '';

  beforeAll(async () => {
    // No env/.env.local: the first run must create it.
    envDir = makeEnvDir(tmp);
    env = {
      ...bedEnv(),
      ...scratchEnv({ TODO_ENV_DIR: envDir, TODO_NAMESPACE: ns, TODO_DEPLOY_SETTLE: '2', TODO_TIMEOUT: '150' }),
    };
    const r = await run('scripts/bootstrap.ts', ['--target', 'local', '--skip', 'images', '-o', 'json'], {
      env,
      timeoutMs: 300_000,
    });
    firstOutput = r.output;
    assertSuccess(r);
    first = r.json<Doc>();
  }, 320_000);
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('runs every selected step in order, reusing the bed, and verifies the chat round trip on the real backend', () => {
    expect(first.data.target).toBe('local');
    expect(first.data.steps.map((s) => s.name)).toEqual([
      'doctor',
      'cluster',
      'secrets',
      'deploy',
      'verify',
      'ai',
      'summary',
    ]);
    expect(statuses(first)).toMatchObject({
      doctor: 'done',
      cluster: 'unchanged',
      secrets: 'done',
      deploy: 'done',
      verify: 'done',
      summary: 'done',
    });
    expect(first.data.steps.find((s) => s.name === 'cluster')!.detail).toMatch(/is running: reused/);
    expect(first.data.steps.find((s) => s.name === 'verify')!.detail).toMatch(
      /GET \/readyz: 200.*GET \/api\/ready: 200.*created task \d+ "verify \S+ \S+", read back through GET \/api\/\{user\}\/tasks/,
    );
    // verify's own envelope travels in its step: the round trip's finding with the task it created.
    const verify = first.data.steps.find((s) => s.name === 'verify')!.results![0]!;
    expect(verify.findings.find((f) => f.name === 'chat round trip')).toMatchObject({
      level: 'ok',
      evidence: { taskId: expect.any(Number), user: expect.stringMatching(/^todo-ops-verify-/) },
    });
    // Each step's time is reported (the actions carry it too).
    for (const a of first.actions) expect(a.durationMs, a.what).toBeGreaterThanOrEqual(0);
    expect(first.data.steps.find((s) => s.name === 'deploy')!.durationMs).toBeGreaterThan(0);
    expect(first.data.next!.join('\n')).toContain(`--kubeconfig ${kubeconfigPath} -n ${ns}`);
  });

  it('created env/.env.local with generated secrets (mode 600), which became the release Secret, and never printed them', async () => {
    const file = path.join(envDir, '.env.local');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    const value = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1] ?? '';
    expect(value('BETTER_AUTH_SECRET')).toMatch(/^[0-9a-f]{64}$/);
    expect(value('DEMO_PASSWORD')).toMatch(/^[0-9a-f]{64}$/);
    const secret = await kube().read<V1Secret>('v1', 'Secret', 'todo-chatbot-app-secrets', ns);
    expect(Buffer.from(secret!.data!.BETTER_AUTH_SECRET!, 'base64').toString()).toBe(value('BETTER_AUTH_SECRET'));
    expect(firstOutput).not.toContain(value('BETTER_AUTH_SECRET'));
    expect(firstOutput).not.toContain(value('DEMO_PASSWORD'));
    expect(first.findings.find((f) => f.name === 'secrets')!.detail).toMatch(
      /^created .*\.env\.local with a generated BETTER_AUTH_SECRET and DEMO_PASSWORD/,
    );
  });

  it('a second run on the healthy install changes nothing (no new revision) and says so', async () => {
    const r = await run('scripts/bootstrap.ts', ['--target', 'local', '--skip', 'images'], { env, timeoutMs: 300_000 });
    assertSuccess(r);
    expect(r.stdout).toMatch(/^cluster\s+unchanged/m);
    expect(r.stdout).toMatch(/^secrets\s+unchanged/m);
    expect(r.stdout).toMatch(/^deploy\s+unchanged/m);
    expect(r.stdout).toMatch(/^verify\s+done/m);
    expect(r.stdout).toContain('nothing changed: the install was already up to date, and it is verified');
    const history = (await sh()`helm history todo-chatbot -n ${ns} -o json`).json() as unknown[];
    expect(history).toHaveLength(1);
  }, 300_000);

  it('a round trip that fails (the Secret changed under running pods: 401) stops at verify with debug run for a diagnosis and the command to continue', async () => {
    // The pods keep the value they started with; verify signs with the Secret's new one.
    await sh()`kubectl -n ${ns} patch secret todo-chatbot-app-secrets --type merge -p ${JSON.stringify({ stringData: { BETTER_AUTH_SECRET: 'f'.repeat(64) } })}`;
    const r = await run('scripts/bootstrap.ts', ['--target', 'local', '--only', 'verify', '-o', 'json'], {
      env,
      timeoutMs: 120_000,
    });
    assertFailure(r, 1);
    const doc = r.json<Doc>();
    const step = doc.data.steps[0]!;
    expect(step).toMatchObject({ name: 'verify', status: 'failed', exitCode: 1 });
    expect(step.detail).toMatch(/^scripts\/verify\.ts: chat round trip: POST \/chat answered 401/);
    expect(step.results!.map((x) => (x as unknown as { script: string }).script)).toEqual(['verify', 'debug']);
    expect(doc.findings.find((f) => f.name === 'chat round trip')).toMatchObject({ level: 'fail' });
    expect(doc.data.continue).toBe('npx zx scripts/bootstrap.ts --target local --only verify');
    expect(r.output).not.toContain('f'.repeat(64));
  }, 150_000);
});

describe('bootstrap on the Minikube path, with stand-in minikube and docker', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-boot-mk-'));
  let envDir: string;
  const log = path.join(tmp, 'calls.jsonl');
  const kubeconfig = path.join(tmp, 'kubeconfig');
  let env: NodeJS.ProcessEnv;
  /** The recorded calls, less the version probes doctor and build-images make. */
  const calls = () => {
    const all = fs.existsSync(log)
      ? fs
          .readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as string[])
      : [];
    fs.rmSync(log, { force: true });
    return all.filter((c) => !['version', '--version', 'info'].includes(c[1]!)).map((c) => c.join(' '));
  };

  beforeAll(() => {
    envDir = makeEnvDir(tmp, { profiles: ['minikube'] });
    // A "minikube" context where nothing listens: the cluster never comes up behind the stand-in.
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: minikube, cluster: {server: "https://127.0.0.1:9"}}]',
        'users: [{name: minikube, user: {token: not-a-real-token}}]',
        'contexts: [{name: minikube, context: {cluster: minikube, user: minikube}}]',
        'current-context: minikube',
        '',
      ].join('\n'),
    );
    const standins = path.join(repoRoot, 'test/fixtures/bin-standins');
    env = {
      ...bedEnv(),
      ...scratchEnv({
        TODO_PROFILE: 'minikube',
        TODO_ENV_DIR: envDir,
        TODO_BOOTSTRAP_MINIKUBE_CPUS: '2',
        TODO_BOOTSTRAP_MINIKUBE_MEMORY: '4g',
      }),
      KUBECONFIG: kubeconfig,
      STANDIN_LOG: log,
    };
    env.PATH = `${standins}${path.delimiter}${env.PATH}`;
  });

  let resume: string[] = [];
  it('minikube on PATH makes it the target; a failed `minikube start` stops the chain with its reason and the command that continues', async () => {
    const r = await run('scripts/bootstrap.ts', ['-o', 'json'], {
      env: { ...env, STANDIN_FAIL: 'minikube start' },
      timeoutMs: 120_000,
    });
    assertFailure(r, 4);
    const doc = r.json<Doc>();
    expect(doc.data.target).toBe('minikube');
    expect(calls()).toEqual([
      'minikube status --profile minikube --output json',
      'minikube start --driver=docker --cpus=2 --memory=4g --profile minikube',
    ]);
    expect(statuses(doc)).toEqual({
      doctor: 'done',
      cluster: 'failed',
      images: 'skipped',
      secrets: 'skipped',
      deploy: 'skipped',
      verify: 'skipped',
      ai: 'skipped',
      summary: 'skipped',
    });
    const failed = doc.findings.find((f) => f.name === 'step cluster')!;
    expect(failed.detail).toBe('minikube start failed (exit 1): ERROR: minikube start failed (stand-in)');
    expect(doc.data.continue).toBe('npx zx scripts/bootstrap.ts --target minikube --from cluster');
    expect(failed.hint).toContain('continue with: npx zx scripts/bootstrap.ts --target minikube --from cluster');
    expect(fs.existsSync(path.join(envDir, '.env.local'))).toBe(false);
    resume = doc.data.continue!.split(' ').slice(3);
  }, 150_000);

  let refs: string[] = [];
  it('the continue command resumes at the cluster step: the exact commands (start, addons, images built in the node), secrets; then deploy stops it, the cluster unreachable (exit 3)', async () => {
    const r = await run('scripts/bootstrap.ts', [...resume, '-o', 'json'], { env, timeoutMs: 120_000 });
    assertFailure(r, 3);
    const doc = r.json<Doc>();
    const seq = calls();
    expect(seq.slice(0, 6)).toEqual([
      'minikube status --profile minikube --output json',
      'minikube start --driver=docker --cpus=2 --memory=4g --profile minikube',
      'minikube addons list --profile minikube --output json',
      'minikube addons enable ingress --profile minikube',
      'minikube addons enable metrics-server --profile minikube',
      'minikube image ls --profile minikube',
    ]);
    expect(seq[6]).toMatch(
      new RegExp(
        `^minikube image build --profile minikube --tag todo-chatbot-frontend:\\S+ .* ${repoRoot}/frontend-docker$`,
      ),
    );
    expect(seq[7]).toMatch(
      new RegExp(
        `^minikube image build --profile minikube --tag todo-chatbot-backend:\\S+ .* ${repoRoot}/backend-docker$`,
      ),
    );
    expect(seq).toHaveLength(8);
    refs = seq.slice(6).map((b) => /--tag (\S+)/.exec(b)![1]!);
    expect(doc.data.steps.map((s) => s.name)).toEqual([
      'cluster',
      'images',
      'secrets',
      'deploy',
      'verify',
      'ai',
      'summary',
    ]);
    expect(statuses(doc)).toMatchObject({
      cluster: 'done',
      images: 'done',
      secrets: 'done',
      deploy: 'failed',
      verify: 'skipped',
    });
    expect(doc.data.continue).toBe('npx zx scripts/bootstrap.ts --target minikube --from deploy');
    expect(doc.findings.find((f) => f.name === 'step deploy')!.detail).toMatch(
      /^scripts\/deploy\.ts: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:9/,
    );
    expect(fs.statSync(path.join(envDir, '.env.local')).mode & 0o777).toBe(0o600);
  }, 150_000);

  it('a running Minikube with its addons and the images already in the node: no start, no enable, no build', async () => {
    expect(refs).toHaveLength(2);
    const r = await run('scripts/bootstrap.ts', ['--only', 'cluster,images', '-o', 'json'], {
      env: {
        ...env,
        STANDIN_MINIKUBE_RUNNING: '1',
        STANDIN_MINIKUBE_IMAGES: refs.map((x) => `docker.io/library/${x}`).join(','),
      },
      timeoutMs: 120_000,
    });
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(statuses(doc)).toEqual({ cluster: 'unchanged', images: 'unchanged' });
    expect(doc.data.changed).toBe(false);
    expect(calls()).toEqual([
      'minikube status --profile minikube --output json',
      'minikube addons list --profile minikube --output json',
      'minikube image ls --profile minikube',
    ]);
  }, 150_000);
});
