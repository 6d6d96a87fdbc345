// scale (K2): observe the Deployment, its HPA and PDB and the release values,
// plan (plan.ts), change the release values through helm, wait for Ready.
import type { V1Deployment } from '@kubernetes/client-node';
import { doctorFindings, requireDoctor } from '../lib/preflight/checks.ts';
import { usageError } from '../lib/kit/errors.ts';
import { waitForRollout } from '../lib/kube/rollout.ts';
import { applyPlan } from '../lib/kit/plan.ts';
import { appSecretName } from '../lib/release/secrets.ts';
import { diffManifests, manifestUnchanged, parseManifest } from '../lib/release/manifests.ts';
import { observeRelease } from '../lib/release/history.ts';
import { chartPath, renderRelease } from '../lib/release/chart.ts';
import { parseScaleArgs, planScale, type ScaleParams } from './plan.ts';
import type { ScaleContext } from './spec.ts';

interface Hpa {
  spec?: { minReplicas?: number; maxReplicas: number };
}
interface Pdb {
  spec?: { minAvailable?: number | string; maxUnavailable?: number | string };
}

export async function runScale(ctx: ScaleContext): Promise<void> {
  // --ai alone: kubectl-ai has acted (scripts/lib/kit/cli.ts runs it first); check what it left.
  if (!ctx.positionals.length && ctx.aiRequest) return (await import('./ai.ts')).scaleCheckAfterAi(ctx);
  const { component, replicas } = parseScaleArgs(ctx.positionals, ctx.cfg.TODO_SCALE_MAX);
  const maxOpt = ctx.opts.max;
  const [doctor, observed] = await Promise.all([doctorFindings(ctx), observeRelease(ctx, appSecretName(ctx.release))]);
  requireDoctor(ctx, doctor);
  if (!observed.deployed)
    throw usageError(
      `release ${ctx.release} is not installed in namespace ${ctx.namespace}`,
      'npx zx scripts/deploy.ts',
    );
  const dep = [...parseManifest(observed.deployed.manifest).values()].find(
    (o) =>
      o.kind === 'Deployment' &&
      (o.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/component'] === component,
  );
  if (!dep) throw usageError(`release ${ctx.release} has no ${component} Deployment`);
  const name = dep.metadata.name;
  const kube = await ctx.kube();
  const [live, hpa, pdb] = await Promise.all([
    kube.read<V1Deployment>('apps/v1', 'Deployment', name, ctx.namespace),
    kube.read<Hpa & { apiVersion?: string; kind?: string }>(
      'autoscaling/v2',
      'HorizontalPodAutoscaler',
      name,
      ctx.namespace,
    ),
    kube.read<Pdb & { apiVersion?: string; kind?: string }>('policy/v1', 'PodDisruptionBudget', name, ctx.namespace),
  ]);
  if (!live) throw usageError(`deployment/${name} not found in ${ctx.namespace}`, 'npx zx scripts/deploy.ts');
  const plan = planScale(
    {
      replicas: live.spec?.replicas ?? 1,
      ready: live.status?.readyReplicas ?? 0,
      hpa: hpa?.spec ? { minReplicas: hpa.spec.minReplicas ?? 1, maxReplicas: hpa.spec.maxReplicas } : undefined,
      pdb: pdb?.spec,
      values: observed.deployed.values,
    },
    component,
    replicas,
    { force: ctx.opts.force, max: maxOpt, deployment: name },
  );
  ctx.result.data = {
    component,
    deployment: name,
    before: plan.before,
    after: plan.after,
    notes: plan.notes,
    autoscaled: !!hpa,
  };
  for (const n of plan.notes) ctx.result.finding({ name: 'scale', level: 'info', detail: n, required: false });
  if (plan.actions.length) {
    // The change goes through helm with the deployed values: refuse if the chart here would change more than that.
    const rendered = await renderRelease(ctx, { valuesFiles: [], values: observed.deployed.values });
    const diff = diffManifests(observed.deployed.manifest, rendered);
    if (!manifestUnchanged(diff))
      throw usageError(
        `the chart here (${ctx.cfg.TODO_CHART}) renders differently from the deployed revision (${[...diff.changed.map((c) => c.object), ...diff.added, ...diff.removed].join(', ')}): scaling now would deploy that too`,
        'run deploy first, then scale',
      );
  }
  const helm = await ctx.helm();
  await applyPlan<ScaleParams>(ctx, plan.actions, async (a) => {
    const p = a.params!;
    const t0 = Date.now();
    const status = await helm.upgradeInstall({
      release: ctx.release,
      chart: chartPath(ctx),
      values: p.values,
      timeoutSec: ctx.timeoutSec,
    });
    if (p.hpa)
      // The HPA controller moves spec.replicas into [min, max] on its next sync.
      await kube.waitFor<V1Deployment>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ctx.namespace,
        fieldSelector: `metadata.name=${name}`,
        timeoutSec: ctx.timeoutSec,
        done: ([d]) => !!d && (d.spec?.replicas ?? 0) >= p.target.min && (d.spec?.replicas ?? 0) <= p.target.max,
        describe: ([d]) =>
          `replicas ${d?.spec?.replicas ?? '?'}, waiting for the HPA to bring them into ${p.target.min}-${p.target.max}`,
      });
    const state = await ctx.out.progress(`waiting for deployment/${name} to be Ready`, () =>
      waitForRollout(kube, { kind: 'Deployment', name, namespace: ctx.namespace, timeoutSec: ctx.timeoutSec }),
    );
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    ctx.result.data.seconds = seconds;
    ctx.result.data.ready = state.ready;
    return `revision ${status.version}; ${state.ready}/${state.desired} Ready in ${seconds}s`;
  });
}
