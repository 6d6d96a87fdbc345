// ops/agents.ts: render the chart's kagent objects (ModelConfig and the two
// Agents) for the release namespace, and apply (server-side) or remove them.
import YAML from 'yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Exit, OpsError, usageError } from '../../scripts/lib/kit/errors.ts';
import { isNotFound } from '../../scripts/lib/kube/api.ts';
import { applyPlan } from '../../scripts/lib/kit/plan.ts';
import { chartPath, profileValuesFiles } from '../../scripts/lib/release/chart.ts';
import type { AgentsContext } from './spec.ts';

export async function renderAgents(ctx: AgentsContext): Promise<KubernetesObject[]> {
  const helm = await ctx.helm();
  // The profile's values, with kagent on and its objects in the release namespace (the agents' scope).
  const text = await helm.template({
    release: ctx.release,
    chart: chartPath(ctx),
    valuesFiles: profileValuesFiles(ctx),
    values: { kagent: { enabled: true, namespace: ctx.namespace } },
    extra: ['--show-only', 'templates/kagent.yaml'],
  });
  // The ModelConfig first: the Agents refer to it.
  const order = (o: KubernetesObject) => (o.kind === 'ModelConfig' ? 0 : 1);
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJSON() as KubernetesObject)
    .filter((o) => o?.kind)
    .sort((a, b) => order(a) - order(b));
}

/** True when the API server serves kagent.dev/v1alpha2 Agents and ModelConfigs. */
async function crdsInstalled(ctx: AgentsContext): Promise<boolean> {
  const kube = await ctx.kube();
  try {
    await Promise.all(
      ['Agent', 'ModelConfig'].map((k) => kube.listPage('kagent.dev/v1alpha2', k, ctx.namespace, { limit: 1 })),
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
  ctx.result.data = { objects: names, namespace: ctx.namespace };
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
  await applyPlan(
    ctx,
    objects.map((o) => ({
      what: cmd === 'apply' ? 'apply' : 'delete',
      target: `${o.kind!.toLowerCase()}/${o.metadata!.name}`,
      reason:
        cmd === 'apply'
          ? `kagent ${o.kind} for release ${ctx.release}, scoped to namespace ${ctx.namespace}`
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
}
