// --agent: how kagent invoke's output is judged (it exits 0 on errors), and
// the task text it is given; when ops/agents.ts apply calls an Agent serving;
// the chart's kagent placement and Prometheus values.
import path from 'node:path';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { agentTask, judgeInvoke } from '../../scripts/lib/ai/kagent/invoke.ts';
import { assessKagentController, kagentInUse, parseVersion } from '../../scripts/lib/ai/kagent/status.ts';
import type { Context } from '../../scripts/lib/kit/cli.ts';
import { fakeNode, judgeAgent, type AgentObject } from '../../ops/agents/serving.ts';
import { modelKeySecret } from '../../ops/agents/run.ts';
import { find, render, renderOk, type Obj } from '../fixtures/chart-helm.ts';
import { assertSuccess, repoRoot, run, scratchEnv } from '../helpers/run.ts';

describe('judgeInvoke', () => {
  it('a completed task with an answer is a success; its text is the answer', () => {
    const out = JSON.stringify({
      kind: 'task',
      status: { state: 'completed' },
      artifacts: [{ parts: [{ kind: 'text', text: 'the Secret lacks OPENAI_API_KEY' }] }],
    });
    expect(judgeInvoke(out, '', 0)).toEqual({ ok: true, text: 'the Secret lacks OPENAI_API_KEY' });
  });
  it('exit 0 with an error on stderr and no JSON, a failed task, a JSON-RPC error, an empty answer: failures', () => {
    expect(judgeInvoke('', 'Error: failed to invoke agent: agent not found\n', 0)).toEqual({
      ok: false,
      text: 'Error: failed to invoke agent: agent not found',
    });
    expect(
      judgeInvoke(
        JSON.stringify({ status: { state: 'failed', message: { parts: [{ text: 'model refused' }] } } }),
        '',
        0,
      ),
    ).toEqual({ ok: false, text: 'task failed: model refused' });
    expect(judgeInvoke(JSON.stringify({ error: { code: -32000, message: 'no such agent' } }), '', 0)).toEqual({
      ok: false,
      text: 'no such agent',
    });
    expect(judgeInvoke(JSON.stringify({ status: { state: 'completed' } }), '', 0)).toEqual({
      ok: false,
      text: 'the agent gave no answer',
    });
  });
  it('the task names the script, the scope and each problem', () => {
    expect(agentTask('alert', 'todo', 'todo-chatbot', ['FIRING crash-loop'])).toBe(
      'alert found these problems in namespace todo (Helm release todo-chatbot):\n- FIRING crash-loop\nFind the root cause of each and say what to do; act only within your instructions.',
    );
  });
});

// Is an Agent serving? kagent's Ready alone is a false green when its pod sits on a fake node.
describe("doctor's kagent controller check", () => {
  it("reads the version from the controller's /version answer, and nothing from anything else", () => {
    expect(parseVersion('{"kagent_version":"0.9.12","git_commit":"none"}')).toBe('0.9.12');
    expect(parseVersion('{"version":"1"}')).toBeUndefined();
    expect(parseVersion('<html>')).toBeUndefined();
  });
  it('only when the kagent layer is on; unreachable is a warning (the scripts run without kagent)', () => {
    const ctx = (cfg: Record<string, unknown>) =>
      ({ cfg: { TODO_AI: 'auto', TODO_KAGENT_ENABLED: false, ...cfg } }) as unknown as Context;
    expect(kagentInUse(ctx({}))).toBe(false);
    expect(kagentInUse(ctx({ TODO_KAGENT_ENABLED: true }))).toBe(true);
    expect(kagentInUse(ctx({ TODO_AI: 'kagent' }))).toBe(true);
    const down = { via: 'http://127.0.0.1:9/version', problem: 'connect ECONNREFUSED' };
    expect(assessKagentController(down)).toMatchObject({ level: 'warn', required: false });
    // The local cluster's kagent comes back with bootstrap's ai step, not with an install.
    expect(assessKagentController(down, 'local').hint).toBe('npx zx scripts/bootstrap.ts --target local --with-kagent');
    expect(assessKagentController({ via: 'x', version: '0.9.12' })).toMatchObject({
      name: 'kagent controller',
      level: 'ok',
      detail: 'reachable at x, version 0.9.12',
    });
  });
});

describe('judgeAgent (ops/agents.ts apply waits on it)', () => {
  const agent = (conds: [string, string, string?][], generation = 1, observed = 1): AgentObject => ({
    metadata: { name: 'todo-monitor', generation },
    status: {
      observedGeneration: observed,
      conditions: conds.map(([type, status, message]) => ({ type, status, reason: 'R', message })),
    },
  });
  const node = (name: string, fake: boolean): V1Node => ({
    metadata: {
      name,
      annotations: fake ? { 'kwok.x-k8s.io/node': 'fake' } : {},
      labels: { type: fake ? 'kwok' : 'real' },
    },
    status: { nodeInfo: { kubeletVersion: fake ? 'fake' : 'v1.33.13' } as never },
  });
  const pod = (nodeName: string, ready: boolean): V1Pod => ({
    metadata: { name: 'todo-monitor-abc', labels: { app: 'kagent', kagent: 'todo-monitor' } },
    spec: { nodeName, containers: [] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const nodes = [node('real-0', false), node('bed-node-1', true)];
  const ok: [string, string][] = [
    ['Accepted', 'True'],
    ['Ready', 'True'],
  ];

  it('Accepted, Ready and its pod Ready on a node that runs containers: serving, and where', () => {
    expect(judgeAgent('todo-monitor', agent(ok), [pod('real-0', true)], nodes)).toEqual({
      state: 'serving',
      pod: 'todo-monitor-abc',
      node: 'real-0',
      detail: 'Accepted and Ready; pod todo-monitor-abc Running on node real-0',
    });
  });
  it('kagent says Ready but the pod is on a kwok node: failed at once, naming the node and the fix', () => {
    const v = judgeAgent('todo-monitor', agent(ok), [pod('bed-node-1', true)], nodes);
    expect(v.state).toBe('failed');
    expect(v.detail).toMatch(/placed on node bed-node-1, a kwok node .* runs no containers: set kagent\.placement/);
    // kubelet version "fake" alone is enough to tell
    const bare: V1Node = { metadata: { name: 'vk' }, status: { nodeInfo: { kubeletVersion: 'fake' } as never } };
    expect(fakeNode(bare)).toMatch(/kubelet version "fake"/);
    expect(fakeNode(nodes[0])).toBeUndefined();
  });
  it("not Accepted (a missing ModelConfig, say): failed with kagent's reason", () => {
    expect(judgeAgent('todo-monitor', agent([['Accepted', 'False', 'ModelConfig x not found']]), [], nodes)).toEqual({
      state: 'failed',
      detail: 'not Accepted by kagent (R: ModelConfig x not found)',
    });
  });
  it('not reconciled yet, no status, an old generation, a pod not Ready: waiting, with what is missing', () => {
    expect(judgeAgent('todo-monitor', undefined, [], nodes).state).toBe('waiting');
    expect(judgeAgent('todo-monitor', { metadata: { name: 'todo-monitor' } }, [], nodes).detail).toMatch(
      /controller has not reconciled it/,
    );
    expect(judgeAgent('todo-monitor', agent(ok, 2, 1), [pod('real-0', true)], nodes).state).toBe('waiting');
    const v = judgeAgent(
      'todo-monitor',
      agent([
        ['Accepted', 'True'],
        ['Ready', 'False', 'Deployment not available'],
      ]),
      [pod('real-0', false)],
      nodes,
    );
    expect(v).toEqual({
      state: 'waiting',
      detail: 'Ready=False (R: Deployment not available); pod todo-monitor-abc Running on node real-0',
    });
  });
});

describe("the chart's kagent values", () => {
  const base = ['secrets.existingSecret=todo-secrets', 'kagent.enabled=true'];
  const agentsOf = async (o: { set?: string[]; values?: object }) =>
    (await renderOk({ set: [...base, ...(o.set ?? [])], values: o.values })).filter((x) => x.kind === 'Agent');

  it("placement (nodeSelector, tolerations, resources) is rendered into each Agent's spec.declarative.deployment; none by default", async () => {
    for (const a of await agentsOf({})) expect(a.spec.declarative.deployment).toBeUndefined();
    const placement = {
      nodeSelector: { type: 'real' },
      tolerations: [{ key: 'todo-ops.test/real-node', operator: 'Exists', effect: 'NoSchedule' }],
      resources: { requests: { cpu: '50m', memory: '256Mi' } },
    };
    const agents = await agentsOf({ values: { kagent: { placement } } });
    expect(agents).toHaveLength(2);
    for (const a of agents) expect(a.spec.declarative.deployment).toEqual(placement);
  });
  it('todo-monitor offers no Prometheus tools unless a Prometheus URL is configured, and then is told where it is', async () => {
    const tools = (a: Obj[]) =>
      find(a, 'Agent', 'todo-monitor').spec.declarative.tools[0].mcpServer.toolNames as string[];
    const without = await agentsOf({});
    expect(tools(without).filter((t) => t.startsWith('prometheus'))).toEqual([]);
    expect(find(without, 'Agent', 'todo-monitor').spec.declarative.systemMessage).toContain('There is no Prometheus');
    const withProm = await agentsOf({ set: ['kagent.monitor.prometheusUrl=http://prometheus.monitoring:9090'] });
    expect(tools(withProm)).toEqual(expect.arrayContaining(['prometheus_query_tool', 'prometheus_query_range_tool']));
    expect(find(withProm, 'Agent', 'todo-monitor').spec.declarative.systemMessage).toContain(
      'Prometheus is at http://prometheus.monitoring:9090',
    );
  });
  it('the schema refuses a placement it does not know and a Prometheus URL that is not http(s)', async () => {
    const r1 = await render({ set: [...base], values: { kagent: { placement: { affinity: {} } } } });
    expect(r1.ok).toBe(false);
    const r2 = await render({ set: [...base, 'kagent.monitor.prometheusUrl=prometheus:9090'] });
    expect(r2.ok).toBe(false);
  });
});

describe('modelKeySecret (ops/agents.ts apply gives the ModelConfig its key)', () => {
  const mc = (spec: object) => ({
    apiVersion: 'kagent.dev/v1alpha2',
    kind: 'ModelConfig',
    metadata: { name: 'm', namespace: 'todo', labels: { a: 'b' } },
    spec,
  });
  it("the Secret the OpenAI ModelConfig names, in its namespace, under its key name, with OPENAI_API_KEY's value", () => {
    const objs = [mc({ provider: 'OpenAI', apiKeySecret: 'kagent-openai', apiKeySecretKey: 'OPENAI_API_KEY' })];
    expect(modelKeySecret(objs, 'sk-1')).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'kagent-openai', namespace: 'todo', labels: { a: 'b' } },
      type: 'Opaque',
      stringData: { OPENAI_API_KEY: 'sk-1' },
    });
  });
  it('none without a key, without a Secret named, for another provider, or without a ModelConfig', () => {
    const named = mc({ provider: 'OpenAI', apiKeySecret: 's', apiKeySecretKey: 'K' });
    expect(modelKeySecret([named], '')).toBeUndefined();
    expect(modelKeySecret([mc({ provider: 'OpenAI' })], 'sk')).toBeUndefined();
    expect(modelKeySecret([mc({ provider: 'Anthropic', apiKeySecret: 's' })], 'sk')).toBeUndefined();
    expect(modelKeySecret([], 'sk')).toBeUndefined();
  });
});

describe('ops/agents.ts render on every profile (as a process, no cluster)', () => {
  // Before, only testbed (whose values create the app Secret) rendered: the chart refused the others' values.
  it.each(['minikube', 'local', 'cloud', 'testbed'])(
    '%s: the ModelConfig and both Agents, with the model settings applied',
    async (profile) => {
      const r = await run('ops/agents.ts', ['render', '-p', profile, '-o', 'json'], {
        env: scratchEnv({
          TODO_PROFILE: profile,
          KUBECONFIG: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml'),
          TODO_CONTEXT: '', // the profile's context is not in this kubeconfig: its current one
          TODO_KAGENT_MODEL_URL: 'http://10.0.0.9:8000/v1',
          TODO_KAGENT_MODEL: 'local-llm',
        }),
      });
      assertSuccess(r);
      const doc = r.json<{ data: { objects: string[]; manifests: Obj[] } }>();
      expect(doc.data.objects).toEqual([
        'modelconfig/todo-chatbot-kagent-model',
        'agent/todo-self-healer',
        'agent/todo-monitor',
      ]);
      expect(doc.data.manifests[0]!.spec).toMatchObject({
        model: 'local-llm',
        openAI: { baseUrl: 'http://10.0.0.9:8000/v1' },
      });
    },
  );
});
