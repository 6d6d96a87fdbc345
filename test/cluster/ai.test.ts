// The --ai layer with the real kubectl-ai (built from the vendored source by
// test/bed/build-kubectl-ai.sh, cached by version) against a scripted
// OpenAI-compatible model on 127.0.0.1 (test/fixtures/scripted-model.ts) and the
// real test bed: one release installed by deploy on kwok nodes, one namespace
// beside it holding a sentinel pod that kubectl-ai must never see.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, deleteNamespace, kube, tempNamespace } from '../helpers/cluster.ts';
import { makeEnvDir } from '../helpers/env-dir.ts';
import { freePort } from '../../scripts/lib/local-cluster/net.ts';
import { assertSuccess, repoRoot, run, scratchEnv, type RunResult } from '../helpers/run.ts';
import { messageText, startScriptedModel, type Recorded, type ScriptedModel } from '../fixtures/scripted-model.ts';

const release = 'airel';
const ns = `ai-${process.pid}`;
const key = `sk-aitest-${randomBytes(12).toString('hex')}`;

interface Doc {
  exitCode: number;
  actions: { what: string; target: string; status: string; detail?: string }[];
  findings: { name: string; level: string; detail: string; object?: { name: string } }[];
  data: Record<string, any>;
}

/** What the process list showed while kubectl-ai was waiting for the model. */
interface Seen {
  keyInCmdline: string[];
  kubectlAi: { argv: string[]; environ: string[] }[];
}

describe('--ai with the real kubectl-ai and a scripted model', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-ai-'));
  let bin: string;
  let model: ScriptedModel;
  let env: NodeJS.ProcessEnv;
  let other: string;
  let sentinel: string;
  let appSecrets: string[] = [];
  const seen: Seen = { keyInCmdline: [], kubectlAi: [] };
  const outputs: string[] = [];

  const lookAtProcesses = () => {
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        if (argv.some((a) => a.includes(key))) seen.keyInCmdline.push(argv.join(' '));
        // Only this file's runs (their trace is under its state dir).
        if (argv[0] === bin && argv.some((a) => a.startsWith(env.TODO_STATE_DIR!)))
          seen.kubectlAi.push({
            argv,
            environ: fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean),
          });
      } catch {
        /* the process ended meanwhile */
      }
    }
  };
  const aiEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    // TODO_AI_TIMEOUT bounds a kubectl-ai that hangs: judged as such instead of killing the whole run.
    ...env,
    TODO_AI_BIN: bin,
    TODO_AI_PROVIDER: 'openai',
    TODO_AI_MODEL: 'scripted',
    OPENAI_API_KEY: key,
    OPENAI_ENDPOINT: model.endpoint,
    TODO_AI_TIMEOUT: '90',
    ...extra,
  });
  const go = async (script: string, args: string[], e: NodeJS.ProcessEnv): Promise<RunResult> => {
    const r = await run(`scripts/${script}.ts`, args, { env: e, timeoutMs: 170_000 });
    outputs.push(r.output);
    if (r.status === null)
      throw new Error(`${script} ${args.join(' ')} was killed after 170 s; stderr:\n${r.stderr.slice(-2000)}`);
    return r;
  };
  const aiAction = (d: Doc) => d.actions.find((a) => a.what === 'kubectl-ai')!;
  const replicas = async (name: string) =>
    (await kube().read<V1Deployment>('apps/v1', 'Deployment', name, ns))!.spec!.replicas;
  const notices = (r: RunResult) => r.stderr.split('\n').filter((l) => l.includes('--ai:'));
  /** The tool results kubectl-ai sent back to the model. */
  const toolMessages = (reqs: Recorded[]) =>
    reqs.flatMap((q) => (q.body.messages ?? []).filter((m) => m.role === 'tool').map(messageText));

  beforeAll(async () => {
    bin = execFileSync('bash', [path.join(repoRoot, 'test/bed/build-kubectl-ai.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    model = await startScriptedModel([], { text: 'done' }, lookAtProcesses);
    // The backend without its HPA, so a count kubectl-ai sets stays put.
    const envDir = makeEnvDir(tmp, { values: 'backend:\n  autoscaling:\n    enabled: false\n' });
    env = {
      ...bedEnv(),
      ...scratchEnv({
        TODO_ENV_DIR: envDir,
        TODO_NAMESPACE: ns,
        TODO_RELEASE: release,
        TODO_TIMEOUT: '60',
        TODO_DEPLOY_SETTLE: '0',
      }),
    };
    delete env.OPENAI_API_KEY;
    other = await tempNamespace('ai-other');
    const k = kube();
    sentinel = `sentinel-${process.pid}`;
    await k.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: sentinel, namespace: other },
      spec: { containers: [{ name: 'c', image: 'sentinel:1' }] },
    });
    assertSuccess(await go('deploy', [], env));
    appSecrets = [
      ...fs
        .readFileSync(path.join(envDir, '.env.local'), 'utf8')
        .matchAll(/^(?:BETTER_AUTH_SECRET|DEMO_PASSWORD)=(.+)$/gm),
    ].map((m) => m[1]!.trim());
    expect(appSecrets).toHaveLength(2);
    // A workload debug reports: a CPU request no node has, so its pod stays Pending.
    await k.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'broken' } },
        template: {
          metadata: { labels: { app: 'broken' } },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'c',
                image: 'broken:1',
                resources: { requests: { cpu: '500' } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    });
  });
  afterAll(async () => {
    await model?.close();
    await Promise.all([deleteNamespace(ns), other && deleteNamespace(other)]);
    // Nothing any run printed holds the provider key or an app secret.
    for (const o of outputs) for (const s of [key, ...appSecrets]) expect(o).not.toContain(s);
  });

  it('scale --ai without --yes: kubectl-ai refuses the change, the script says so in one line, nothing changes', async () => {
    const scaleCmd = `kubectl scale deployment/${release}-backend --replicas=3`;
    model.script([{ tools: [{ name: 'kubectl', args: { command: scaleCmd, modifies_resource: 'yes' } }] }]);
    const before = model.requests.length;
    const r = await go('scale', ['--ai', 'scale the backend to 3', '-o', 'json'], aiEnv());
    const doc = r.json<Doc>();
    expect(doc.exitCode).toBe(0);
    expect(aiAction(doc)).toMatchObject({ status: 'skipped', target: `namespace ${ns}` });
    expect(aiAction(doc).detail).toContain(`refused: pass --yes`);
    expect(aiAction(doc).detail).toContain(scaleCmd);
    expect(notices(r)).toHaveLength(1);
    expect(model.requests.length - before).toBe(1);
    expect(await replicas(`${release}-backend`)).toBe(1);
    expect(doc.findings.find((f) => f.object?.name === `${release}-backend`)).toMatchObject({
      name: 'replicas',
      level: 'ok',
    });
    // The exact command line kubectl-ai was started with: its real flags, the key nowhere in it.
    const argv = seen.kubectlAi.at(-1)!.argv;
    const kubeconfig = argv[argv.indexOf('--kubeconfig') + 1]!;
    const trace = argv[argv.indexOf('--trace-path') + 1]!;
    expect(argv.slice(1)).toEqual([
      '--quiet',
      '--llm-provider',
      'openai',
      '--model',
      'scripted',
      '--kubeconfig',
      kubeconfig,
      '--max-iterations',
      '10',
      '--trace-path',
      trace,
      '--remove-workdir',
      '--skip-permissions=false',
      expect.stringMatching(/^scale the backend to 3\n\nWork only in the Kubernetes namespace "ai-\d+"/),
    ]);
    expect(trace.startsWith(env.TODO_STATE_DIR!)).toBe(true);
    expect(fs.existsSync(kubeconfig)).toBe(false); // the scoped kubeconfig is removed after the run
  });

  it('scale --ai --yes: the deployment really has 3 replicas, the step is its own action, and no secret leaks', async () => {
    model.script([
      {
        tools: [
          {
            name: 'kubectl',
            args: { command: `kubectl scale deployment/${release}-backend --replicas=3`, modifies_resource: 'yes' },
          },
        ],
      },
      // A command that prints kubectl-ai's environment: the key is there, the app's secrets are not.
      { tools: [{ name: 'bash', args: { command: 'env', modifies_resource: 'no' } }] },
      // And one that prints the app's Secret (base64): in the trace it is scrubbed too.
      {
        tools: [
          {
            name: 'kubectl',
            args: { command: `kubectl get secret ${release}-app-secrets -o jsonpath={.data}`, modifies_resource: 'no' },
          },
        ],
      },
      { text: 'The backend now runs 3 replicas.' },
    ]);
    const before = model.requests.length;
    const r = await go('scale', ['--ai', 'scale the backend to 3', '--yes', '-o', 'json'], aiEnv());
    const doc = r.json<Doc>();
    expect(doc.exitCode).toBe(0);
    expect(aiAction(doc)).toMatchObject({
      status: 'done',
      detail: `ran 3 command(s): kubectl scale deployment/${release}-backend --replicas=3; env; kubectl get secret ${release}-app-secrets -o jsonpath={.data}`,
    });
    expect(await replicas(`${release}-backend`)).toBe(3);
    // scale's own check afterwards: Ready, and outside the release values.
    expect(doc.data.deployments.find((d: { component: string }) => d.component === 'backend')).toMatchObject({
      replicas: 3,
      ready: 3,
      release: 1,
    });
    expect(doc.findings.find((f) => f.name === 'replicas outside the release')!.detail).toContain(
      'the next deploy or scale returns it to 1',
    );
    expect(doc.data.ai.answer).toBe('The backend now runs 3 replicas.');
    const reqs = model.requests.slice(before);
    const envOut = toolMessages(reqs).find((t) => t.includes('PATH='))!;
    expect(envOut).toContain(`OPENAI_API_KEY=${key}`);
    for (const s of appSecrets) expect(envOut).not.toContain(s);
    expect(envOut).not.toMatch(/BETTER_AUTH_SECRET|DEMO_PASSWORD|TODO_/);
    expect(seen.kubectlAi.at(-1)!.argv).toContain('--skip-permissions=true');
    const environ = seen.kubectlAi.at(-1)!.environ;
    expect(environ).toContain(`OPENAI_API_KEY=${key}`);
    expect(environ.some((e) => /^(BETTER_AUTH_SECRET|DEMO_PASSWORD|DATABASE_URL)=/.test(e))).toBe(false);
    // The trace kubectl-ai wrote (its HTTP requests carry the key, the env output too) is scrubbed and private.
    const trace = fs.readFileSync(doc.data.ai.trace, 'utf8');
    expect(trace).toContain('kubectl scale deployment');
    expect(trace).toContain('OPENAI_API_KEY=***');
    expect(trace).not.toContain(key);
    expect(trace).toContain('BETTER_AUTH_SECRET');
    for (const s of appSecrets)
      for (const form of [s, Buffer.from(s).toString('base64').replace(/=+$/, '')]) expect(trace).not.toContain(form);
    expect((fs.statSync(doc.data.ai.trace).mode & 0o777).toString(8)).toBe('600');
    expect(seen.keyInCmdline).toEqual([]);
    expect(r.output).not.toContain(key);
  });

  it("debug --ai: the model gets debug's findings, and kubectl-ai's commands see only the release's namespace", async () => {
    await kube().waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: ns,
      labelSelector: 'app=broken',
      timeoutSec: 60,
      done: (pods) =>
        pods.some((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False')),
    });
    model.script([
      { tools: [{ name: 'kubectl', args: { command: 'kubectl get pods -o name', modifies_resource: 'no' } }] },
      { text: 'The broken pod asks for more CPU than any node has.' },
    ]);
    const before = model.requests.length;
    const r = await go('debug', ['--ai', 'why are the pods failing', '-o', 'json'], aiEnv());
    const doc = r.json<Doc>();
    expect(doc.exitCode).toBe(1); // debug's own verdict: a problem was found
    expect(aiAction(doc).status).toBe('done');
    const reqs = model.requests.slice(before);
    const user = messageText(reqs[0]!.body.messages!.find((m) => m.role === 'user')!);
    expect(user).toMatch(/^why are the pods failing\n/);
    const problem = doc.findings.find((f) => f.level === 'fail' && f.object?.name.startsWith('broken'))!;
    expect(problem).toBeDefined();
    expect(user).toContain(problem.detail);
    // The prescribed `kubectl get pods` ran against the release's namespace only.
    const listed = toolMessages(reqs).join('\n');
    expect(listed).toMatch(/pod\/broken-/);
    expect(listed).toMatch(new RegExp(`pod/${release}-backend-`));
    expect(listed).not.toContain(sentinel);
    expect(doc.data.ai.commands).toEqual([{ tool: 'kubectl', command: 'kubectl get pods -o name', ok: true }]);
    expect(doc.data.ai.outOfScope).toEqual([]);
  });

  it("doctor's kubectl-ai finding: binary, version and provider, without calling the model", async () => {
    // (unconfigured and absent: unit-tested on assessAi; the absent binary in a run: below)
    const before = model.requests.length;
    const r = await go('doctor', ['-o', 'json'], aiEnv());
    const finding = r.json<Doc>().findings.find((f) => f.name === 'kubectl-ai');
    expect(finding).toMatchObject({
      level: 'ok',
      required: false,
      detail: `${bin}, version 0.0.28; provider openai configured`,
      evidence: { path: bin, version: '0.0.28', provider: 'openai', configured: true },
    });
    expect(r.json<Doc>().exitCode).toBe(0);
    expect(model.requests.length).toBe(before);
  });

  it('kubectl-ai missing, the model endpoint down, the model answering 429: one line each, the deterministic result and exit code stand', async () => {
    // (The findings themselves may differ between runs a second apart: usage samples, fresh events.)
    const verdict = (d: Doc) => ({ exitCode: d.exitCode, state: d.data.state, workloads: d.data.workloads?.length });
    model.script([], { status: 429 });
    const closed = await freePort();
    const [missing, down, limited] = await Promise.all([
      go(
        'monitor',
        ['--ai', 'analyze the cluster health', '-o', 'json'],
        aiEnv({ TODO_AI_BIN: path.join(tmp, 'no-such-kubectl-ai') }),
      ),
      go(
        'monitor',
        ['--ai', 'analyze the cluster health', '-o', 'json'],
        aiEnv({ OPENAI_ENDPOINT: `http://127.0.0.1:${closed}/v1` }),
      ),
      go('monitor', ['--ai', 'analyze the cluster health', '-o', 'json'], aiEnv()),
    ]);
    const expected: [RunResult, string, RegExp][] = [
      [missing, 'skipped', /no-such-kubectl-ai not found: install kubectl-ai/],
      [down, 'failed', /^the model endpoint cannot be reached: .*connection refused/],
      [limited, 'failed', /^the model is rate-limited \(429\)/],
    ];
    // monitor's own verdict, the same whatever happened to kubectl-ai: the release is healthy.
    const base = missing.json<Doc>();
    expect(base.exitCode).toBe(0);
    expect(base.data.state).toBe('healthy');
    for (const [r, status, detail] of expected) {
      const doc = r.json<Doc>();
      expect(verdict(doc)).toEqual(verdict(base));
      expect(aiAction(doc).status).toBe(status);
      expect(aiAction(doc).detail).toMatch(detail);
      expect(notices(r)).toEqual([`warning: --ai: ${aiAction(doc).detail} (the monitor result does not depend on it)`]);
    }
  });
});
