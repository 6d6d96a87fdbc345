// ops/agents.ts: render the chart's kagent objects (ModelConfig and the two
// Agents) for the Agents' namespace (TODO_KAGENT_NAMESPACE, else the release
// namespace), and apply (server-side) or remove them. After apply it watches
// until every Agent serves (serving.ts): kagent's verdict alone can be a false green.
import YAML from 'yaml';
import type { KubernetesObject, V1Node, V1Pod } from '@kubernetes/client-node';
import { Exit, OpsError, usageError } from '../../scripts/lib/kit/errors.ts';
import { isNotFound } from '../../scripts/lib/kube/api.ts';
import { watchUntil } from '../../scripts/lib/kube/watch.ts';
import type { Informed } from '../../scripts/lib/kube/client.ts';
import { applyPlan } from '../../scripts/lib/kit/plan.ts';
import { agentsConfig, agentsNamespace } from '../../scripts/lib/ai/kagent/settings.ts';
import { chartPath, profileValuesFiles } from '../../scripts/lib/release/chart.ts';
import { appSecretName } from '../../scripts/lib/release/secrets.ts';
import { judgeAgent, type AgentObject, type Serving } from './serving.ts';
import type { AgentsContext } from './spec.ts';

export async function renderAgents(ctx: AgentsContext): Promise<KubernetesObject[]> {
  const helm = await ctx.helm();
  // The profile's values, with kagent on and its objects where kagent invoke looks for them.
  const text = await helm.template({
    release: ctx.release,
    chart: chartPath(ctx),
    valuesFiles: profileValuesFiles(ctx),
    values: {
      kagent: { enabled: true, namespace: agentsNamespace(ctx), ...modelValues(ctx) },
      // As deploy renders the release: the chart refuses to render without a Secret for the app's keys.
      secrets: { existingSecret: appSecretName(ctx.release), create: false },
    },
    extra: ['--show-only', 'templates/kagent.yaml'],
  });
  // The ModelConfig first: the Agents refer to it.
  const order = (o: KubernetesObject) => (o.kind === 'ModelConfig' ? 0 : 1);
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJSON() as KubernetesObject)
    .filter((o) => o?.kind)
    .sort((a, b) => order(a) - order(b));
}

/** TODO_KAGENT_MODEL / TODO_KAGENT_MODEL_URL over the values files' ModelConfig, when set. */
function modelValues(ctx: AgentsContext): { modelConfig?: object } {
  const { TODO_KAGENT_MODEL: model, TODO_KAGENT_MODEL_URL: baseUrl } = agentsConfig(ctx.cfg);
  if (!model && !baseUrl) return {};
  return { modelConfig: { ...(model ? { model } : {}), ...(baseUrl ? { openAI: { baseUrl } } : {}) } };
}

interface ModelConfigObject extends KubernetesObject {
  spec?: { provider?: string; apiKeySecret?: string; apiKeySecretKey?: string };
}

/**
 * The Secret the chart's OpenAI ModelConfig reads its key from, made from
 * OPENAI_API_KEY in the env files: kagent's own install puts its key in its own
 * namespace, and the Agents live in the release's. Never rendered or printed.
 */
export function modelKeySecret(objects: readonly KubernetesObject[], key: string): KubernetesObject | undefined {
  const mc = objects.find((o) => o.kind === 'ModelConfig') as ModelConfigObject | undefined;
  if (!key || !mc?.spec?.apiKeySecret || mc.spec.provider !== 'OpenAI') return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: mc.spec.apiKeySecret, namespace: mc.metadata?.namespace, labels: mc.metadata?.labels },
    type: 'Opaque',
    stringData: { [mc.spec.apiKeySecretKey || 'OPENAI_API_KEY']: key },
  } as KubernetesObject;
}

/** True when the API server serves kagent.dev/v1alpha2 Agents and ModelConfigs. */
async function crdsInstalled(ctx: AgentsContext): Promise<boolean> {
  const kube = await ctx.kube();
  try {
    await Promise.all(
      ['Agent', 'ModelConfig'].map((k) => kube.listPage('kagent.dev/v1alpha2', k, agentsNamespace(ctx), { limit: 1 })),
    );
    return true;
  } catch (e) {
    if (isNotFound(e) || /HTTP 404/.test((e as Error).message)) return false;
    throw e;
  }
}

export async function runAgents(ctx: AgentsContext): Promise<void> {
  const [cmd, ...rest] = ctx.positionals;
  if (!cmd || !['apply', 'render', 'remove'].includes(cmd))
    throw usageError(
      cmd ? `unknown command "${cmd}": use apply, render or remove` : 'expected a command: apply, render or remove',
    );
  if (rest.length) throw usageError(`too many arguments: ${rest.join(' ')}`);
  const objects = await renderAgents(ctx);
  const names = objects.map((o) => `${o.kind!.toLowerCase()}/${o.metadata!.name}`);
  const ns = agentsNamespace(ctx);
  ctx.result.data = { objects: names, namespace: ns };
  if (cmd === 'render') {
    if (!ctx.json) ctx.out.say(objects.map((o) => YAML.stringify(o)).join('---\n'));
    else ctx.result.data.manifests = objects;
    return;
  }
  if (!(await crdsInstalled(ctx)))
    throw new OpsError(
      `kagent's CRDs (kagent.dev/v1alpha2 Agent, ModelConfig) are not installed in this cluster`,
      Exit.problem,
      'install kagent first (kagent install, or its kagent-crds and kagent Helm charts), then run this again',
    );
  const kube = await ctx.kube();
  const key = modelKeySecret(objects, ctx.cfg.OPENAI_API_KEY);
  if (!key && cmd === 'apply') await warnNoKey(ctx, objects);
  await applyPlan(
    ctx,
    [...(key ? [key] : []), ...objects].map((o) => ({
      what: cmd === 'apply' ? 'apply' : 'delete',
      target: `${o.kind!.toLowerCase()}/${o.metadata!.name}`,
      reason:
        o === key
          ? `the model's API key for ModelConfig's apiKeySecret (OPENAI_API_KEY from the env files; never shown)`
          : cmd === 'apply'
            ? `kagent ${o.kind} for release ${ctx.release} in namespace ${ns}, scoped to namespace ${ctx.namespace}`
            : 'remove the agents',
      destructive: cmd === 'remove',
      params: o,
    })),
    async (a, dryRun) => {
      const o = a.params!;
      if (cmd === 'apply') {
        await kube.apply(o, { dryRun });
        return dryRun ? 'validated by the API server (dry run)' : 'applied';
      }
      try {
        await kube.delete(o, dryRun);
        return dryRun ? 'would delete' : 'deleted';
      } catch (e) {
        if (isNotFound(e)) return 'not there';
        throw e;
      }
    },
    { serverDryRun: true },
  );
  const agents = objects.filter((o) => o.kind === 'Agent').map((o) => o.metadata!.name!);
  if (cmd !== 'apply' || ctx.dryRun || !ctx.opts.wait || !agents.length) return;
  if (ctx.result.actions.some((a) => a.status === 'failed')) return;
  const verdicts = await waitServing(ctx, ns, agents, ctx.opts.wait);
  ctx.result.data.agents = agents.map((name) => ({ name, ...verdicts[name]! }));
  for (const name of agents) {
    const v = verdicts[name]!;
    ctx.result.finding({
      name: `agent ${name}`,
      level: v.state === 'serving' ? 'ok' : 'fail',
      required: true,
      detail: v.state === 'waiting' ? `not serving after ${ctx.opts.wait}s: ${v.detail}` : v.detail,
      object: { kind: 'Agent', name, namespace: ns },
      hint:
        v.state === 'serving'
          ? undefined
          : `kubectl -n ${ns} describe agent ${name}; kubectl -n ${ns} get pods -l kagent=${name} -o wide`,
      evidence: { state: v.state, node: 'node' in v ? (v.node ?? null) : null },
    });
  }
}

/** No OPENAI_API_KEY to give the chart's ModelConfig, and no Secret of the user's there: the Agents could not call their model. */
async function warnNoKey(ctx: AgentsContext, objects: readonly KubernetesObject[]): Promise<void> {
  const mc = objects.find((o) => o.kind === 'ModelConfig') as ModelConfigObject | undefined;
  const name = mc?.spec?.apiKeySecret;
  if (!mc || !name) return;
  const ns = mc.metadata!.namespace!;
  if (await (await ctx.kube()).read('v1', 'Secret', name, ns)) return;
  ctx.result.finding({
    name: 'model key',
    level: 'warn',
    required: false,
    detail: `ModelConfig ${mc.metadata!.name} reads its API key from Secret ${name} in namespace ${ns}, which is not there: the Agents cannot call their model`,
    hint: 'set OPENAI_API_KEY in env/.env.local (any value for a local OpenAI-compatible server, with TODO_KAGENT_MODEL_URL), then npx zx ops/agents.ts apply',
  });
}

/**
 * Watches the Agents, their pods and the nodes until every Agent serves, one
 * fails (e.g. placed on a fake node), or timeoutSec pass; returns the verdicts.
 */
async function waitServing(
  ctx: AgentsContext,
  ns: string,
  agents: string[],
  timeoutSec: number,
): Promise<Record<string, Serving>> {
  const kube = await ctx.kube();
  let pods: Pick<Informed<V1Pod>, 'list'> = { list: () => [] };
  let nodes: Pick<Informed<V1Node>, 'list'> = { list: () => [] };
  const judge = (objs: readonly (KubernetesObject & AgentObject)[]) =>
    Object.fromEntries(
      agents.map((n) => [
        n,
        judgeAgent(
          n,
          objs.find((a) => a.metadata?.name === n),
          pods.list(),
          nodes.list(),
        ),
      ]),
    );
  const settled = (v: Record<string, Serving>) =>
    Object.values(v).every((x) => x.state === 'serving') || Object.values(v).some((x) => x.state === 'failed');
  const wait = () =>
    watchUntil<KubernetesObject & AgentObject, Record<string, Serving>>(kube, {
      apiVersion: 'kagent.dev/v1alpha2',
      kind: 'Agent',
      namespace: ns,
      timeoutSec,
      until: (objs) => {
        const v = judge(objs);
        return settled(v) ? v : undefined;
      },
      onTimeout: (objs) => judge(objs),
      started: async (w) => {
        const recheck = () => {
          const v = judge(w.list());
          if (settled(v)) w.end(v);
        };
        const p = w.open<V1Pod>({
          apiVersion: 'v1',
          kind: 'Pod',
          namespace: ns,
          labelSelector: 'app=kagent',
          onChange: recheck,
        });
        const n = w.open<V1Node>({ apiVersion: 'v1', kind: 'Node', onChange: recheck });
        pods = p;
        nodes = n;
        await Promise.all([p.start(), n.start()]);
        recheck();
      },
    });
  return ctx.out.progress(`waiting up to ${timeoutSec}s for ${agents.join(', ')} to serve`, wait);
}
