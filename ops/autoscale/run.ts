// autoscale (A2): observe the release's Deployments, HPAs, pods and the metrics
// API (one List each), check (plan.ts), recommend from the recorded
// samples, and with --apply set the chart's autoscaling values through helm as
// scale does (min/max listed under global.todoOpsScaled so deploy keeps them).
import type { V1Deployment, V1Pod, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { usageError } from '../../scripts/lib/kit/errors.ts';
import { waitForRollout } from '../../scripts/lib/kube/rollout.ts';
import { applyPlan, type PlannedAction } from '../../scripts/lib/kit/plan.ts';
import { appSecretName } from '../../scripts/lib/release/secrets.ts';
import { getPath, setPath, type Values } from '../../scripts/lib/release/values.ts';
import { diffManifests, parseManifest } from '../../scripts/lib/release/manifests.ts';
import { scaledMarker } from '../../scripts/lib/release/scale-marker.ts';
import { observeRelease } from '../../scripts/lib/release/history.ts';
import { chartPath, renderRelease } from '../../scripts/lib/release/chart.ts';
import {
  checkHpas,
  deploymentUsage,
  recommend,
  valueChanges,
  type AutoscaleObserved,
  type ComponentObserved,
  type HpaState,
} from './plan.ts';
import { readSamples } from '../../scripts/lib/samples/store.ts';
import type { AutoscaleContext } from './spec.ts';
import { Scanner, releaseSelector, slimPod, type PodMetricsLike } from '../../scripts/lib/kube/scan.ts';

export function hpaState(h: V2HorizontalPodAutoscaler): HpaState {
  const cpuTarget = h.spec?.metrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu')?.resource?.target
    .averageUtilization;
  const cpuNow = h.status?.currentMetrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu')?.resource
    ?.current.averageUtilization;
  const bad = h.status?.conditions?.find(
    (c) => (c.type === 'ScalingActive' || c.type === 'AbleToScale') && c.status === 'False',
  );
  return {
    name: h.metadata?.name ?? '',
    minReplicas: h.spec?.minReplicas ?? 1,
    maxReplicas: h.spec?.maxReplicas ?? 1,
    ...(cpuTarget !== undefined ? { targetCpu: cpuTarget } : {}),
    ...(h.spec?.behavior?.scaleDown?.stabilizationWindowSeconds !== undefined
      ? { scaleDownWindow: h.spec.behavior.scaleDown.stabilizationWindowSeconds }
      : {}),
    ...(h.status?.desiredReplicas !== undefined ? { desiredReplicas: h.status.desiredReplicas } : {}),
    ...(cpuNow !== undefined && cpuNow !== null ? { currentCpu: cpuNow } : {}),
    ...(bad ? { failing: [bad.reason ?? bad.type, bad.message ?? ''] as [string, string] } : {}),
  };
}

export async function runAutoscale(ctx: AutoscaleContext): Promise<void> {
  const opts = ctx.opts;
  const kube = await ctx.kube();
  if (!(await kube.read('v1', 'Namespace', ctx.namespace)))
    throw usageError(
      `namespace "${ctx.namespace}" does not exist`,
      `kubectl --context ${kube.contextName} get namespaces`,
    );
  const observed = await observeRelease(ctx, appSecretName(ctx.release));
  if (!observed.deployed)
    throw usageError(
      `release ${ctx.release} is not installed in namespace ${ctx.namespace}`,
      'npx zx scripts/deploy.ts',
    );
  const scanner = new Scanner(kube);
  const sel = { labelSelector: releaseSelector(ctx.release) };
  const [deployments, hpas, pods, metrics] = await Promise.all([
    scanner.list<V1Deployment>('apps/v1', 'Deployment', ctx.namespace, sel),
    scanner.list<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', ctx.namespace, sel),
    scanner.list<V1Pod>('v1', 'Pod', ctx.namespace, { ...sel, project: slimPod }),
    kube.podMetrics(ctx.namespace).then((m) => m?.items as PodMetricsLike[] | undefined),
  ]);
  const reporting = new Set((metrics ?? []).map((m) => m.metadata.name));
  const graceMs = ctx.cfg.TODO_AUTOSCALE_METRICS_GRACE * 1000;
  const started = (p: V1Pod) =>
    Math.max(
      ...(p.status?.containerStatuses ?? []).map((c) =>
        new Date(c.state?.running?.startedAt ?? p.metadata?.creationTimestamp ?? 0).getTime(),
      ),
      0,
    );
  const obs: AutoscaleObserved = { metricsApi: metrics !== undefined, components: [] };
  for (const c of opts.components) {
    const dep = deployments.find((d) => d.metadata?.labels?.['app.kubernetes.io/component'] === c);
    if (!dep) continue;
    const name = dep.metadata!.name!;
    const hpa = hpas.find((h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === name);
    const mine = pods.filter(
      (p) =>
        p.metadata?.labels?.['app.kubernetes.io/component'] === c &&
        p.status?.phase === 'Running' &&
        !p.metadata?.deletionTimestamp,
    );
    obs.components.push({
      component: c,
      deployment: name,
      replicas: dep.spec?.replicas ?? 1,
      enabled: getPath(observed.deployed.values, `${c}.autoscaling.enabled`) === true,
      ...(hpa ? { hpa: hpaState(hpa) } : {}),
      pods: mine.map((p) => p.metadata!.name!),
      podsWithoutRequest: mine
        .filter((p) => !p.spec?.containers.find((x) => x.name === c)?.resources?.requests?.cpu)
        .map((p) => p.metadata!.name!),
      podsWithoutMetrics: mine.filter((p) => !reporting.has(p.metadata!.name!)).map((p) => p.metadata!.name!),
      podsStarting: mine
        .filter((p) => !reporting.has(p.metadata!.name!) && Date.now() - started(p) < graceMs)
        .map((p) => p.metadata!.name!),
    });
  }
  for (const f of checkHpas(obs, ctx.namespace))
    ctx.result.finding({
      name: `${f.component} ${f.name}`,
      level: f.level,
      detail: f.detail,
      ...(f.hint ? { hint: f.hint } : {}),
      object: { kind: 'Deployment', name: `${ctx.release}-${f.component}`, namespace: ctx.namespace },
      required: f.level === 'fail',
    });
  const samples = readSamples(await ctx.state(), ctx.cfg.TODO_AUTOSCALE_WINDOW);
  const policy = {
    minSamples: ctx.cfg.TODO_AUTOSCALE_MIN_SAMPLES,
    minSpanSeconds: ctx.cfg.TODO_AUTOSCALE_MIN_SPAN,
    maxCap: ctx.cfg.TODO_AUTOSCALE_MAX_CAP,
  };
  const recs = obs.components.flatMap((c: ComponentObserved) =>
    recommend(c, deploymentUsage(samples, c.deployment, c.component), policy),
  );
  const changes = valueChanges(recs);
  ctx.result.data = {
    samples: samples.length,
    metricsApi: obs.metricsApi,
    components: obs.components,
    recommendations: recs,
    changes,
    requests: scanner.requests + 1,
  };
  if (!opts.apply) return;
  if (!Object.keys(changes).length) {
    ctx.result.finding({ name: 'apply', level: 'info', detail: 'nothing to change', required: false });
    return;
  }
  let values: Values = observed.deployed.values;
  for (const [k, v] of Object.entries(changes)) values = setPath(values, k, v);
  // min/max are replica values: listed as scale lists its own, so the next deploy keeps them.
  const owned = new Set([
    ...((getPath(values, scaledMarker) as string[] | undefined) ?? []),
    ...Object.keys(changes).filter((k) => /\.autoscaling\.(minReplicas|maxReplicas)$/.test(k)),
  ]);
  if (owned.size) values = setPath(values, scaledMarker, [...owned].sort());
  const touched = [...new Set(Object.keys(changes).map((k) => k.split('.')[0]!))];
  const allowed = new Set(
    touched.flatMap((c) => [`Deployment/${ctx.release}-${c}`, `HorizontalPodAutoscaler/${ctx.release}-${c}`]),
  );
  const rendered = await renderRelease(ctx, { valuesFiles: [], values });
  const diff = diffManifests(observed.deployed.manifest, rendered);
  const others = [...diff.added, ...diff.removed, ...diff.changed.map((c) => c.object)].filter((k) => !allowed.has(k));
  if (others.length)
    throw usageError(
      `the chart here (${ctx.cfg.TODO_CHART}) renders more changes than autoscaling: ${others.join(', ')}`,
      'run deploy first, then autoscale --apply',
    );
  const targets = [...parseManifest(rendered).values()]
    .filter((o) => o.kind === 'Deployment' && allowed.has(`Deployment/${o.metadata.name}`))
    .map((o) => o.metadata.name);
  const action: PlannedAction<{ values: Values }> = {
    what: 'helm upgrade',
    target: `release/${ctx.release}`,
    reason: Object.entries(changes)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
    params: { values },
  };
  const helm = await ctx.helm();
  await applyPlan(ctx, [action], async (a) => {
    const status = await helm.upgradeInstall({
      release: ctx.release,
      chart: chartPath(ctx),
      values: a.params!.values,
      timeoutSec: ctx.timeoutSec,
    });
    await ctx.out.progress(`waiting for ${targets.join(', ')}`, () =>
      Promise.all(
        targets.map((name) =>
          waitForRollout(kube, { kind: 'Deployment', name, namespace: ctx.namespace, timeoutSec: ctx.timeoutSec }),
        ),
      ),
    );
    return `revision ${status.version}`;
  });
}
