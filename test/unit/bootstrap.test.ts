// bootstrap's decisions on plain data (scripts/bootstrap/steps.ts), and the script
// as a process where no cluster is involved: --list, --dry-run, bad steps.
// The chain itself runs in test/real-node/bootstrap.test.ts.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addonsToEnable,
  appAccess,
  nextCommands,
  childProblem,
  chooseTarget,
  continueCommand,
  doctorVerdict,
  imagesPresent,
  kubectlAiFinding,
  minikubeRunning,
  selectSteps,
  stepExitCode,
} from '../../scripts/bootstrap/steps.ts';
import type { Finding } from '../../scripts/lib/kit/result.ts';
import { assertFailure, assertSuccess, repoRoot, run, scratchEnv } from '../helpers/run.ts';

const tool = (name: string, level: Finding['level'], required = true): Finding => ({
  name: `tool ${name}`,
  level,
  detail: level === 'ok' ? '1.0.0' : 'not found on PATH',
  hint: `install ${name}`,
  required,
});

describe('bootstrap: which steps run', () => {
  it('all but cron by default; --with-cron adds it; --from starts later; --skip leaves out; --only picks', () => {
    expect(selectSteps({ only: [], skip: [], withCron: false })).toEqual([
      'doctor',
      'cluster',
      'images',
      'secrets',
      'deploy',
      'verify',
      'ai',
      'summary',
    ]);
    expect(selectSteps({ only: [], skip: [], withCron: true })).toContain('cron');
    expect(selectSteps({ from: 'deploy', only: [], skip: ['ai'], withCron: false })).toEqual([
      'deploy',
      'verify',
      'summary',
    ]);
    expect(selectSteps({ only: ['verify', 'doctor', 'cron'], skip: [], withCron: false })).toEqual([
      'doctor',
      'verify',
      'cron',
    ]);
  });
  it('an unknown step, or --from with --only, is a usage error naming it', () => {
    expect(() => selectSteps({ from: 'deply', only: [], skip: [], withCron: false })).toThrow(
      /--from: unknown step "deply"/,
    );
    expect(() => selectSteps({ only: [], skip: ['x'], withCron: false })).toThrow(/--skip: unknown step "x"/);
    expect(() => selectSteps({ from: 'deploy', only: ['verify'], skip: [], withCron: false })).toThrow(
      /do not go together/,
    );
  });
  it('target: an explicit one wins; else minikube when installed, else the local test cluster', () => {
    expect(chooseTarget('current', true)).toEqual({ target: 'current', why: '--target' });
    expect(chooseTarget(undefined, true).target).toBe('minikube');
    expect(chooseTarget(undefined, false).target).toBe('local');
  });
});

describe('bootstrap: the command that continues', () => {
  it("keeps the user's flags, pins the target, replaces --from/--only and drops --dry-run", () => {
    const all = ['doctor', 'cluster', 'images', 'secrets', 'deploy', 'verify', 'ai', 'summary'] as const;
    expect(
      continueCommand(
        'scripts/bootstrap.ts',
        ['-n', 'my ns', '--from=cluster', '--skip', 'ai', '--dry-run'],
        'minikube',
        'deploy',
        [...all],
      ),
    ).toBe("npx zx scripts/bootstrap.ts --target minikube -n 'my ns' --skip ai --from deploy");
    expect(
      continueCommand('scripts/bootstrap.ts', ['--target', 'local', '--only', 'deploy,verify'], 'local', 'verify', [
        'deploy',
        'verify',
      ]),
    ).toBe('npx zx scripts/bootstrap.ts --target local --only verify');
  });
  it('passes on 1, 3 and 5 as they are; anything else is 4', () => {
    expect([1, 3, 5, 2, 6, undefined].map(stepExitCode)).toEqual([1, 3, 5, 4, 4, 4]);
  });
});

describe('bootstrap: reading the children', () => {
  it('doctor: a missing required tool stops; an unreachable cluster does only when no cluster step starts one; local brings kubectl and helm', () => {
    const unreachable: Finding = {
      name: 'cluster',
      level: 'fail',
      detail: 'cannot reach',
      hint: 'start it',
      required: true,
    };
    const env = (findings: Finding[], exitCode: 0 | 1 | 2 | 3 = 1) => ({ exitCode, findings });
    expect(doctorVerdict(env([tool('kubectl', 'ok'), tool('helm', 'fail')]), true, 'minikube').problem).toBe(
      'helm: not found on PATH',
    );
    expect(
      doctorVerdict(env([tool('kubectl', 'ok'), tool('helm', 'fail'), tool('kagent', 'info', false)]), true, 'local')
        .problem,
    ).toBeUndefined();
    expect(doctorVerdict(env([tool('minikube', 'fail')]), true, 'local').problem).toBe('minikube: not found on PATH');
    expect(doctorVerdict(env([tool('helm', 'ok'), unreachable], 3), true, 'minikube')).toEqual({});
    expect(doctorVerdict(env([tool('helm', 'ok'), unreachable], 3), false, 'current')).toEqual({
      problem: 'cluster: cannot reach',
      hint: 'start it',
    });
    expect(
      doctorVerdict({ exitCode: 2, findings: [], error: { message: 'unknown key X' } }, true, 'minikube').problem,
    ).toBe('unknown key X');
  });
  it("a child's problem in one line: its error, its failed action, its failed required finding", () => {
    const base = { findings: [] as Finding[], actions: [] as never[] };
    expect(childProblem({ ...base, exitCode: 0 })).toBeUndefined();
    expect(childProblem({ ...base, exitCode: 3, error: { message: 'cannot reach the API' } })).toBe(
      'cannot reach the API',
    );
    expect(
      childProblem({
        ...base,
        exitCode: 4,
        actions: [
          { what: 'helm upgrade', target: 'release/x', reason: '', status: 'failed', detail: 'timed out' },
        ] as never[],
      }),
    ).toBe('helm upgrade release/x failed: timed out');
    expect(
      childProblem({
        ...base,
        exitCode: 1,
        findings: [
          { name: 'info', level: 'fail', detail: 'ignored', required: false },
          { name: 'chat round trip', level: 'fail', detail: 'POST /chat answered 500' },
        ],
      }),
    ).toBe('chat round trip: POST /chat answered 500');
  });
  it("kubectl-ai: doctor's own finding by that name first, else its tool line", () => {
    const own: Finding = { name: 'kubectl-ai', level: 'ok', detail: 'configured for gemini' };
    const line = tool('kubectl-ai', 'info', false);
    expect(kubectlAiFinding({ findings: [line, own] })).toBe(own);
    expect(kubectlAiFinding({ findings: [line] })).toBe(line);
    expect(kubectlAiFinding(undefined)).toBeUndefined();
  });
});

describe('bootstrap: reading minikube', () => {
  it('status: running only when host, kubelet and API server are', () => {
    expect(minikubeRunning('{"Host":"Running","Kubelet":"Running","APIServer":"Running"}')).toBe(true);
    expect(minikubeRunning('{"Host":"Running","Kubelet":"Stopped","APIServer":"Stopped"}')).toBe(false);
    expect(minikubeRunning('🤷  Profile "minikube" not found.')).toBe(false);
  });
  it('addons: those not enabled; unreadable output enables all', () => {
    expect(
      addonsToEnable('{"ingress":{"Status":"enabled"},"metrics-server":{"Status":"disabled"}}', [
        'ingress',
        'metrics-server',
      ]),
    ).toEqual(['metrics-server']);
    expect(addonsToEnable('garbage', ['ingress', 'metrics-server'])).toEqual(['ingress', 'metrics-server']);
  });
  it('images: every ref listed, as given or under docker.io/library', () => {
    const refs = ['todo-chatbot-frontend:abc1234', 'todo-chatbot-backend:abc1234'];
    expect(
      imagesPresent(
        refs,
        'docker.io/library/todo-chatbot-frontend:abc1234\ndocker.io/library/todo-chatbot-backend:abc1234\n',
      ),
    ).toBe(true);
    expect(imagesPresent(refs, 'docker.io/library/todo-chatbot-frontend:abc1234\n')).toBe(false);
    expect(imagesPresent([], 'x')).toBe(false);
  });
  it('the app: ingress host first, then minikube service, and always the port-forward', () => {
    const a = appAccess({
      target: 'minikube',
      namespace: 'todo',
      release: 'todo-chatbot',
      minikubeUrl: 'http://192.168.49.2:30080',
      ingressHosts: ['todo.local'],
    });
    expect(a.url).toBe('http://todo.local/');
    expect(a.how.join('\n')).toContain('minikube service: http://192.168.49.2:30080');
    const l = appAccess({ target: 'local', namespace: 'ns', release: 'r', kubeconfig: '/k', ingressHosts: [] });
    expect(l.how[0]).toContain('KUBECONFIG=/k kubectl port-forward -n ns svc/r-frontend 3000:3000');
    // The local profile: the merged context named, and kubectl as it can be run (the cached one, off PATH).
    const c = appAccess({
      target: 'local',
      namespace: 'todo',
      release: 'r',
      context: 'todo-ops-local',
      kubectl: '/cache/bin/kubectl',
      ingressHosts: [],
    });
    expect(c.how[0]).toContain(
      '/cache/bin/kubectl --context todo-ops-local port-forward -n todo svc/r-frontend 3000:3000',
    );
  });
  it("next commands carry the children's profile, context and kubeconfig; local adds the redeploy, minikube does not (it needs the build)", () => {
    const local = nextCommands({ target: 'local', namespace: 'todo', profile: 'local' });
    expect(local).toHaveLength(5);
    for (const l of local) expect(l).toMatch(/^npx zx scripts\/\w+\.ts -p local -n todo\b/);
    expect(local.at(-1)).toMatch(/^npx zx scripts\/deploy\.ts -p local -n todo +# redeploy/);
    const agents = nextCommands({ target: 'local', namespace: 'todo', profile: 'local', agents: true });
    expect(agents.at(-1)).toMatch(/^npx zx ops\/self-heal\.ts -p local -n todo --agent +# /);
    const mk = nextCommands({ target: 'minikube', namespace: 'todo', context: 'mk2' });
    expect(mk.map((l) => l.split('#')[0]!.trim())).toEqual([
      'npx zx scripts/monitor.ts --context mk2 -n todo --probe',
      'npx zx scripts/verify.ts --context mk2 -n todo',
      'npx zx scripts/debug.ts --context mk2 -n todo',
      'npx zx scripts/scale.ts --context mk2 -n todo backend 2',
    ]);
  });
});

describe('bootstrap as a process, no cluster', () => {
  it('--list shows every step and marks those this run does', async () => {
    const r = await run('scripts/bootstrap.ts', ['--target', 'current', '--from', 'deploy', '--list'], {
      env: scratchEnv(),
    });
    assertSuccess(r);
    expect(r.stdout).toMatch(/^ {4}doctor /m);
    expect(r.stdout).toMatch(/^ {2}\* deploy /m);
    expect(r.stdout).toMatch(/^ {4}cron /m);
  });
  it('--dry-run -o json: every step planned with what it would run, nothing run', async () => {
    const r = await run('scripts/bootstrap.ts', ['--target', 'current', '--skip', 'ai', '--dry-run', '-o', 'json'], {
      env: scratchEnv(),
    });
    assertSuccess(r);
    const doc = r.json<{ dryRun: boolean; actions: { what: string; status: string; detail: string }[] }>();
    expect(doc.dryRun).toBe(true);
    expect(doc.actions.map((a) => a.what)).toEqual([
      'step doctor',
      'step cluster',
      'step images',
      'step secrets',
      'step deploy',
      'step verify',
      'step summary',
    ]);
    expect(doc.actions.every((a) => a.status === 'planned')).toBe(true);
    expect(doc.actions.find((a) => a.what === 'step deploy')!.detail).toBe('npx zx scripts/deploy.ts --output json');
  });
  it('--with-kagent on another target than local is a one-line usage error (exit 2), before anything runs', async () => {
    const r = await run('scripts/bootstrap.ts', ['--target', 'current', '--with-kagent'], { env: scratchEnv() });
    assertFailure(r, 2);
    expect(r.stderr.split('\n')[0]).toBe("bootstrap: --with-kagent needs the local target (this run's: current)");
    expect(r.stderr).toMatch(
      /hint: add --target local;.* then: TODO_KAGENT_ENABLED=true npx zx scripts\/bootstrap\.ts --target current --only ai$/m,
    );
  });
  it('--with-kagent --dry-run: the ai step plans kagent on the local cluster, the env file lines and ops/agents.ts apply', async () => {
    const r = await run(
      'scripts/bootstrap.ts',
      ['--target', 'local', '--with-kagent', '--only', 'ai', '--dry-run', '-o', 'json'],
      { env: scratchEnv({ TODO_PROFILE: undefined }) },
    );
    assertSuccess(r);
    const doc = r.json<{ actions: { what: string; detail: string }[] }>();
    expect(doc.actions.map((a) => [a.what, a.detail])).toEqual([
      [
        'step ai',
        'kubectl-ai present?; add kagent to the local cluster (unless running), TODO_KAGENT_ENABLED and TODO_KAGENT_URL in env/local.env.local; npx zx ops/agents.ts apply --profile local --output json',
      ],
    ]);
  });
  it('an unknown step is a one-line usage error (exit 2)', async () => {
    const r = await run('scripts/bootstrap.ts', ['--only', 'deploy,nope'], { env: scratchEnv() });
    assertFailure(r, 2);
    expect(r.stderr.split('\n')[0]).toBe('bootstrap: --only: unknown step "nope"');
  });
  it('ai with TODO_KAGENT_ENABLED=true runs ops/agents.ts apply as a child: its failure stops the chain with its reason and the command to continue', async () => {
    const offline = { KUBECONFIG: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml') };
    const r = await run('scripts/bootstrap.ts', ['--target', 'current', '--only', 'ai', '-o', 'json'], {
      env: scratchEnv({ TODO_KAGENT_ENABLED: 'true', ...offline }),
    });
    expect(r.status).not.toBe(0);
    const doc = r.json<{
      findings: { name: string; level: string; detail: string; hint?: string }[];
      data: {
        steps: { name: string; status: string; detail: string; results: { script: string; exitCode: number }[] }[];
      };
    }>();
    const [ai] = doc.data.steps;
    expect(ai).toMatchObject({ name: 'ai', status: 'failed', detail: expect.stringMatching(/^ops\/agents\.ts: /) });
    expect(ai!.results.map((e) => e.script)).toEqual(['agents']);
    expect(ai!.results[0]!.exitCode).toBe(r.status);
    // After the child's own hint, when it has one (the cluster unreachable: helm is found, on PATH or in the tools cache).
    expect(doc.findings.find((f) => f.name === 'step ai')!.hint).toMatch(
      /(^|; then )continue with: npx zx scripts\/bootstrap\.ts --target current --only ai$/,
    );
  });
});
