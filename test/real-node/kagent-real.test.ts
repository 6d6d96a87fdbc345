// The real kagent (v0.9.12, built from ../shared/vendor) on the test bed:
// ops/agents.ts apply -> kagent's controller reconciles the chart's Agents ->
// their pods Ready on the real node; self-heal --agent and alert --agent hand
// their findings to the real agent through the real `kagent invoke`; the agent
// calls a scripted OpenAI-compatible model, whose tool call kagent-tools runs
// against the cluster; the model is asserted to have seen the tool's real
// output, and the script's verdict judges the answer. Then the failure paths:
// an Agent on a node that cannot serve, the controller unreachable, the model
// erroring: the script's own result is unchanged, the agent step says why.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { binDir } from '../../scripts/lib/local-cluster/cluster.ts';
import { kagentControllerStatus } from '../../scripts/lib/ai/kagent/status.ts';
import type { Context } from '../../scripts/lib/kit/cli.ts';
import {
  exposeToPods,
  kagentDown,
  kagentRunning,
  kagentUp,
  realNodePlacement,
  type KagentBed,
} from '../../scripts/lib/local-cluster/kagent.ts';
import { vendorDir } from '../../scripts/lib/local-cluster/kagent-image.ts';
import { realNodeName } from '../../scripts/lib/local-cluster/node.ts';
import { cgroupName } from '../../scripts/lib/local-cluster/layout.ts';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { repoRoot, run, scratchEnv, type RunResult } from '../helpers/run.ts';
import { messageText, startScriptedModel, type ScriptedModel } from '../fixtures/scripted-model.ts';
import { exclusive } from '../helpers/bed-lock.ts';
import { makeEnvDir, userShellEnv } from '../helpers/env-dir.ts';

// kagent's CRDs are cluster-wide: agents.test.ts deletes them under this file's controller. One at a time.
exclusive('kagent-crds');

interface Doc {
  exitCode: number;
  findings: { name: string; level: string; detail: string; hint?: string; evidence?: Record<string, unknown> }[];
  data: {
    agents?: { name: string; state: string; node?: string; pod?: string; detail: string }[];
    agent?: { name: string; ok: boolean; text: string };
  };
}

const vendored = !!vendorDir('kagent-v0.9.12');

describe.runIf(vendored)('the real kagent on the test bed', () => {
  let k: KagentBed;
  let startedHere = false;
  let model: ScriptedModel;
  let closeModel: () => Promise<void> = async () => undefined;
  let ns = '';
  let kwokNs = '';
  let modelUrl = '';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-kagent-real-'));

  /** The scripts' environment: the real kagent CLI with a private HOME, the Agents where ops/agents.ts puts them. */
  const envFor = (namespace: string, values: object, extra: NodeJS.ProcessEnv = {}) => {
    // The test bed profile's values (TODO_VALUES names one file) with the kagent ones on top.
    const testbed = YAML.parse(
      fs.readFileSync(path.join(repoRoot, 'charts/todo-chatbot/values-testbed.yaml'), 'utf8'),
    ) as object;
    const file = path.join(tmp, `values-${namespace}.json`);
    fs.writeFileSync(file, JSON.stringify({ ...testbed, ...values }));
    const home = fs.mkdtempSync(path.join(tmp, 'home-'));
    return {
      ...bedEnv(),
      ...scratchEnv({
        TODO_NAMESPACE: namespace,
        TODO_RELEASE: 'todo',
        TODO_VALUES: file,
        TODO_KAGENT_BIN: path.join(binDir, 'kagent'),
        TODO_KAGENT_URL: k.controllerUrl,
        TODO_KAGENT_TIMEOUT: '60',
      }),
      HOME: home,
      ...extra,
    };
  };
  const values = (placement: object | undefined) => ({
    kagent: {
      modelConfig: { model: 'scripted', openAI: { baseUrl: `${modelUrl}/v1` } },
      ...(placement ? { placement } : {}),
    },
  });
  const script = async (name: string, args: string[], env: NodeJS.ProcessEnv): Promise<[RunResult, Doc]> => {
    const r = await run(name, ['-o', 'json', ...args], { env, timeoutMs: 240_000 });
    return [r, r.json<Doc>()];
  };
  /** The chart's ModelConfig reads its key from this Secret in the Agents' namespace. */
  const keySecret = (namespace: string) =>
    kube().apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'kagent-openai', namespace },
      stringData: { OPENAI_API_KEY: 'sk-scripted' },
    } as never);
  /** Something self-heal cannot fix and alert fires on: a Deployment whose pod fits no node. */
  const unschedulable = (namespace: string) =>
    kube().apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'stuck', namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'stuck' } },
        template: {
          metadata: { labels: { app: 'stuck' } },
          spec: {
            nodeSelector: { 'todo-ops.test/no-such-node': 'true' },
            containers: [{ name: 'c', image: 'localhost/none:1' }],
          },
        },
      },
    } as never);

  // The long timeout is for a cold machine: kagentUp waits for a kagent build still running (.ci/run starts it in the background).
  beforeAll(async () => {
    startedHere = !kagentRunning();
    k = await kagentUp((m) => process.stderr.write(`[kagent] ${m}\n`));
    process.stderr.write(`[kagent] up: ${JSON.stringify(k.timings)}\n`);
    model = await startScriptedModel([], { text: 'done' }, undefined, { socket: path.join(tmp, 'model.sock') });
    const exposed = await exposeToPods(path.join(tmp, 'model.sock'));
    modelUrl = exposed.url;
    closeModel = async () => {
      await exposed.close();
      await model.close();
    };
    ns = await tempNamespace('kagent-real');
    kwokNs = await tempNamespace('kagent-kwok');
    await Promise.all([keySecret(ns), keySecret(kwokNs), unschedulable(ns), unschedulable(kwokNs)]);
  }, 1_200_000);

  afterAll(async () => {
    await closeModel();
    for (const n of [ns, kwokNs]) if (n) await deleteNamespace(n);
    // A kagent this file added goes again; one the run asked for (TODO_OPS_BED_KAGENT=1) stays for the others.
    if (startedHere && !process.env.TODO_OPS_BED_KAGENT) await kagentDown();
  }, 180_000);

  it("doctor's check: the controller is reachable at TODO_KAGENT_URL and reports its version; a dead URL is said so", async () => {
    const ctx = (url: string) => ({ cfg: { TODO_KAGENT_URL: url } }) as unknown as Context;
    expect(await kagentControllerStatus(ctx(k.controllerUrl))).toEqual({
      via: `${k.controllerUrl}/version`,
      version: '0.9.12',
    });
    expect((await kagentControllerStatus(ctx('http://127.0.0.1:9'))).problem).toBeDefined();
  });

  it('ops/agents.ts apply: the controller reconciles both Agents and apply waits until their pods are Ready on the real node, and says so', async () => {
    const [r, doc] = await script('ops/agents.ts', ['apply', '--wait', '3m'], envFor(ns, values(realNodePlacement)));
    expect(r.status, r.stderr).toBe(0);
    expect(doc.data.agents!.map((a) => [a.name, a.state, a.node])).toEqual([
      ['todo-self-healer', 'serving', realNodeName],
      ['todo-monitor', 'serving', realNodeName],
    ]);
    expect(doc.findings.find((f) => f.name === 'agent todo-monitor')!.detail).toMatch(
      new RegExp(`^Accepted and Ready; pod todo-monitor-\\S+ Running on node ${realNodeName}$`),
    );
    // The cluster, not the report: kagent's own Deployment's pod runs on the real node, Ready.
    const pods = await kube().list<V1Pod>('v1', 'Pod', ns, 'app=kagent');
    const running = pods.filter(
      (p) =>
        p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(running.map((p) => [p.metadata!.labels!.kagent, p.spec!.nodeName]).sort()).toEqual([
      ['todo-monitor', realNodeName],
      ['todo-self-healer', realNodeName],
    ]);
  }, 240_000);

  it('self-heal --agent: the real agent gets the findings, its model calls a kagent-tools tool against the cluster and sees the real output; the verdict is the answer', async () => {
    const stuck = (await kube().list<V1Pod>('v1', 'Pod', ns, 'app=stuck'))[0]!.metadata!.name!;
    model.requests.length = 0;
    model.script([
      { tools: [{ name: 'k8s_get_resources', args: { resource_type: 'pods', namespace: ns, output: 'wide' } }] },
      { text: `VERDICT: ${stuck} is Pending because no node matches its nodeSelector; fix the selector.` },
    ]);
    const env = envFor(ns, values(realNodePlacement));
    const [plain, plainDoc] = await script('ops/self-heal.ts', [], env);
    const [r, doc] = await script('ops/self-heal.ts', ['--agent'], env);
    // The script's own result is unchanged by the hand-over.
    expect(r.status, r.stderr).toBe(plain.status);
    expect(r.status).toBe(1);
    expect(doc.findings.filter((f) => f.name !== 'agent').map((f) => f.name)).toEqual(
      plainDoc.findings.map((f) => f.name),
    );
    expect(doc.data.agent).toMatchObject({ name: 'todo-self-healer', ok: true });
    expect(doc.findings.find((f) => f.name === 'agent')!.evidence).toMatchObject({ namespace: ns, ok: true });
    expect(doc.data.agent!.text).toContain(`VERDICT: ${stuck} is Pending`);
    // The model was given self-heal's findings, then the tool's real output: kubectl's listing of the namespace.
    const chats = model.requests.filter((q) => q.path.endsWith('/chat/completions'));
    expect(chats.length).toBeGreaterThanOrEqual(2);
    const firstUser = chats[0]!.body
      .messages!.filter((m) => m.role === 'user')
      .map(messageText)
      .join('\n');
    expect(firstUser).toMatch(new RegExp(`self-heal found these problems in namespace ${ns}`));
    expect(firstUser).toContain(stuck);
    const toolOut = chats[1]!.body
      .messages!.filter((m) => m.role === 'tool')
      .map(messageText)
      .join('\n');
    expect(toolOut).toContain(stuck);
    expect(toolOut).toMatch(/Pending/);
    expect(toolOut).toMatch(new RegExp(`todo-self-healer-\\S+\\s+1/1\\s+Running.*${realNodeName}`));
  }, 240_000);

  it("alert --agent: the newly firing alert goes to todo-monitor; its answer is recorded, the exit code is the alert's", async () => {
    model.requests.length = 0;
    model.script([{ text: 'VERDICT: degraded; deployment/stuck has no schedulable pod.' }]);
    const env = envFor(ns, values(realNodePlacement), {
      TODO_ALERT_RULES: 'pods-not-ready',
      TODO_ALERT_FOR: 'pods-not-ready=0',
    });
    const [r, doc] = await script('ops/alert.ts', ['--agent'], env);
    expect(r.status, r.stderr).toBe(1);
    expect(doc.findings.find((f) => f.name === 'alert pods-not-ready')?.level).toBe('fail');
    expect(doc.data.agent).toMatchObject({ name: 'todo-monitor', ok: true });
    expect(doc.findings.find((f) => f.name === 'agent')!.evidence).toMatchObject({ namespace: ns, ok: true });
    expect(doc.data.agent!.text).toBe('VERDICT: degraded; deployment/stuck has no schedulable pod.');
    const asked = model.requests[0]!.body.messages!.filter((m) => m.role === 'user')
      .map(messageText)
      .join('\n');
    expect(asked).toContain('FIRING pods-not-ready: deployment/stuck');
  }, 120_000);

  it('an agent pod idles at near-zero CPU after its tool call (anyio 4.14.0 would spin a core)', async () => {
    const pod = (await kube().list<V1Pod>('v1', 'Pod', ns, 'app=kagent,kagent=todo-self-healer')).find(
      (p) => p.status?.phase === 'Running',
    )!;
    const uid = pod.metadata!.uid!;
    // kubelet's cgroupfs layout under the bed's cgroup: .../kubepods/<qos>/pod<uid>/cpuacct.usage (ns of CPU).
    const root = path.join('/sys/fs/cgroup/cpuacct', cgroupName);
    const find = (dir: string): string | undefined => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        if (e.name === `pod${uid}`) return path.join(dir, e.name);
        const hit = find(path.join(dir, e.name));
        if (hit) return hit;
      }
      return undefined;
    };
    const cg = find(root);
    expect(cg, `no cgroup for pod ${uid} under ${root}`).toBeDefined();
    const usage = () => Number(fs.readFileSync(path.join(cg!, 'cpuacct.usage'), 'utf8'));
    // A measurement over a window, not a wait: CPU seconds used per second of wall time.
    const [u0, t0] = [usage(), process.hrtime.bigint()];
    await new Promise((r) => setTimeout(r, 5000));
    const cores = (usage() - u0) / Number(process.hrtime.bigint() - t0);
    expect(cores).toBeLessThan(0.05);
  }, 60_000);

  it("the model erroring: the agent step is reported failed with the reason; the script's result and exit code are unchanged", async () => {
    model.script([], {
      status: 500,
      body: JSON.stringify({ error: { message: 'scripted outage', type: 'server_error' } }),
    });
    const env = envFor(ns, values(realNodePlacement));
    const [r, doc] = await script('ops/self-heal.ts', ['--agent'], env);
    expect(r.status, r.stderr).toBe(1);
    expect(doc.findings.find((f) => f.name.startsWith('self-heal:'))?.level).toBe('fail');
    expect(doc.data.agent).toMatchObject({ name: 'todo-self-healer', ok: false });
    const finding = doc.findings.find((f) => f.name === 'agent')!;
    expect(finding.level).toBe('warn');
    expect(finding.detail).toMatch(/^todo-self-healer: failed: /);
    expect(finding.detail).toMatch(/500|scripted outage|error/i);
    model.script([], { text: 'done' });
  }, 240_000);

  it("the controller unreachable: the agent step fails with kagent's own error; the exit code is still self-heal's", async () => {
    const env = envFor(ns, values(realNodePlacement), { TODO_KAGENT_URL: 'http://127.0.0.1:9' });
    const [r, doc] = await script('ops/self-heal.ts', ['--agent'], env);
    expect(r.status, r.stderr).toBe(1);
    expect(doc.data.agent).toMatchObject({ ok: false });
    expect(doc.findings.find((f) => f.name === 'agent')!.detail).toMatch(
      /^todo-self-healer: failed: .*(port-forward|connect|refused)/i,
    );
  }, 120_000);

  it("bootstrap --target local --with-kagent: the Agents serve on the real node with the user's model and key, and self-heal -p local --agent reaches them with nothing more set", async () => {
    // The user's shell, as in local-target.test.ts: their own HOME and env files, no KUBECONFIG, the built tools off PATH.
    const home = fs.mkdtempSync(path.join(tmp, 'user-'));
    const key = `sk-user-${process.pid}-${Date.now()}`;
    const envDir = makeEnvDir(home, {
      profiles: ['local', 'minikube'],
      envLocal: `OPENAI_API_KEY=${key}\nTODO_KAGENT_MODEL_URL=${modelUrl}/v1\nTODO_KAGENT_MODEL=scripted\n`,
    });
    const user = userShellEnv(home, envDir, {
      TODO_KAGENT_URL: undefined,
      TODO_KAGENT_BIN: undefined,
      TODO_KAGENT_ENABLED: undefined,
    });
    // The release's namespace as deploy would leave it (the app itself is local-target.test.ts's): --only cluster,ai.
    const bns = await tempNamespace('kagent-boot');
    const pv = `todo-ops-local-${bns}-todo-chatbot-postgresql`;
    try {
      await unschedulable(bns);
      const boot = await run(
        'scripts/bootstrap.ts',
        ['--target', 'local', '--with-kagent', '--only', 'cluster,ai', '-n', bns, '-o', 'json'],
        { env: user, timeoutMs: 300_000 },
      );
      expect(boot.status, `${boot.stderr}\n${boot.stdout}`).toBe(0);
      expect(boot.output).not.toContain(key);
      const steps = boot.json<{ data: { steps: { name: string; detail: string }[] } }>().data.steps;
      const ai = steps.find((x) => x.name === 'ai')!.detail;
      expect(ai).toContain(`kagent 0.9.12: controller ${k.controllerUrl} (running); recorded in`);
      expect(ai).toContain(`serving: todo-self-healer on ${realNodeName}, todo-monitor on ${realNodeName}`);
      // Later runs find the controller from the profile's own env file.
      const kept = fs.readFileSync(path.join(envDir, 'local.env.local'), 'utf8');
      expect(kept).toMatch(/^TODO_KAGENT_ENABLED=true$/m);
      expect(kept).toContain(`TODO_KAGENT_URL=${k.controllerUrl}`);
      // The cluster: the ModelConfig is the user's model, its key the user's, the pods on the real node.
      const mc = (await kube().read(
        'kagent.dev/v1alpha2',
        'ModelConfig',
        'todo-chatbot-kagent-model',
        bns,
      )) as never as {
        spec: { model: string; openAI: { baseUrl: string }; apiKeySecret: string };
      };
      expect(mc.spec).toMatchObject({ model: 'scripted', openAI: { baseUrl: `${modelUrl}/v1` } });
      const secret = (await kube().read('v1', 'Secret', mc.spec.apiKeySecret, bns)) as never as {
        data: Record<string, string>;
      };
      expect(Buffer.from(secret.data.OPENAI_API_KEY!, 'base64').toString()).toBe(key);

      model.requests.length = 0;
      model.script([{ text: 'VERDICT: the agent bootstrap set up answered.' }]);
      const [h, doc] = await script('ops/self-heal.ts', ['-p', 'local', '-n', bns, '--agent'], user);
      expect(h.status, h.stderr).toBe(1);
      expect(doc.data.agent).toMatchObject({ name: 'todo-self-healer', ok: true });
      expect(doc.data.agent!.text).toBe('VERDICT: the agent bootstrap set up answered.');
      // The model was called with the user's key, from the Secret the ModelConfig names.
      expect(model.requests[0]!.headers.authorization).toBe(`Bearer ${key}`);
      const [d, ddoc] = await script('scripts/doctor.ts', ['-p', 'local', '-n', bns], user);
      expect(
        ddoc.findings.find((f) => f.name === 'kagent controller'),
        d.stdout,
      ).toMatchObject({
        level: 'ok',
        detail: `reachable at ${k.controllerUrl}/version, version 0.9.12`,
      });
    } finally {
      model.script([], { text: 'done' });
      await deleteNamespace(bns);
      await sh()`kubectl delete pv ${pv} --ignore-not-found --wait=false`;
    }
  }, 420_000);

  it('Agents without a placement land on kwok nodes: apply fails at once naming the node (no false green), and invoking them fails', async () => {
    const env = envFor(kwokNs, values(undefined));
    const [r, doc] = await script('ops/agents.ts', ['apply', '--wait', '2m'], env);
    expect(r.status, r.stderr).toBe(1);
    const failed = doc.findings.filter((f) => f.name.startsWith('agent ') && f.level === 'fail');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]!.detail).toMatch(/placed on node bed-node-\d, a kwok node .*runs no containers/);
    const [h, hdoc] = await script('ops/self-heal.ts', ['--agent'], env);
    expect(h.status, h.stderr).toBe(1);
    expect(hdoc.data.agent).toMatchObject({ ok: false });
    expect(hdoc.findings.find((f) => f.name === 'agent')!.evidence).toMatchObject({ namespace: kwokNs, ok: false });
  }, 240_000);
});

// kagent invoke -n: before, it defaulted to "kagent" while ops/agents.ts put the Agents in the release namespace.
describe.runIf(vendored)('kagent invoke looks in the namespace the Agents are in', () => {
  it('the recording stand-in sees -n <release namespace> and --kagent-url when set', async () => {
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-kagent-argv-')), 'calls.jsonl');
    const stand = path.resolve(import.meta.dirname, '../fixtures/bin-standins');
    const n = await tempNamespace('kagent-argv');
    try {
      await sh()`kubectl -n ${n} run stuck --image=localhost/none:1 --overrides=${JSON.stringify({ spec: { nodeSelector: { 'todo-ops.test/no-such-node': 'true' } } })}`;
      const r = await run('ops/self-heal.ts', ['-o', 'json', '--agent'], {
        env: {
          ...bedEnv(),
          ...scratchEnv({ TODO_NAMESPACE: n, TODO_RELEASE: 'none', TODO_KAGENT_URL: 'http://127.0.0.1:8083' }),
          PATH: `${stand}:${bedEnv().PATH}`,
          STANDIN_LOG: log,
        },
        timeoutMs: 120_000,
      });
      expect(r.status, r.stderr).toBe(1);
      const call = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n')[0]!) as string[];
      expect(call.slice(0, 7)).toEqual(['kagent', 'invoke', '-a', 'todo-self-healer', '-n', n, '--kagent-url']);
      expect(call[7]).toBe('http://127.0.0.1:8083');
    } finally {
      await deleteNamespace(n);
    }
  }, 120_000);
});
