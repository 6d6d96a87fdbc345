// rightsize (A5): recommendations from the recorded samples (plan.ts),
// shown as a diff, written as a values overlay (--write), applied with --apply
// the way deploy applies values: helm upgrade with the deployed values plus the
// overlay, rollout wait and settle, helm rollback to the previous revision when
// the rollout fails.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Config } from '../../scripts/lib/kit/env.ts';
import { OpsError, Exit, usageError } from '../../scripts/lib/kit/errors.ts';
import { applyPlan, type PlannedAction } from '../../scripts/lib/kit/plan.ts';
import { appSecretName } from '../../scripts/lib/release/secrets.ts';
import { changedPaths, mergeValues, type Values } from '../../scripts/lib/release/values.ts';
import { diffManifests, workloadsOf } from '../../scripts/lib/release/manifests.ts';
import { observeRelease } from '../../scripts/lib/release/history.ts';
import { chartPath, renderRelease } from '../../scripts/lib/release/chart.ts';
import { crashLogs, rollBack, settle, waitWorkloads } from '../../scripts/lib/release/rollout.ts';
import { reportHtml, escapeHtml } from '../../scripts/lib/samples/report-html.ts';
import {
  defaultRightsizePolicy,
  overlayOf,
  overlayPaths,
  planRightsize,
  type HpaInfo,
  type RightsizePolicy,
  type Row,
} from './plan.ts';
import { readSamples } from '../../scripts/lib/samples/store.ts';
import type { RightsizeContext, settings } from './spec.ts';
import { releaseSelector } from '../../scripts/lib/kube/scan.ts';

export function rightsizePolicy(cfg: Config<typeof settings>): RightsizePolicy {
  return {
    ...defaultRightsizePolicy,
    minSamples: cfg.TODO_RIGHTSIZE_MIN_SAMPLES,
    minSpanSeconds: cfg.TODO_RIGHTSIZE_MIN_SPAN,
    memoryHeadroomPct: cfg.TODO_RIGHTSIZE_MEMORY_HEADROOM_PCT,
    limitHeadroomPct: cfg.TODO_RIGHTSIZE_LIMIT_HEADROOM_PCT,
    minChangePct: cfg.TODO_RIGHTSIZE_MIN_CHANGE_PCT,
  };
}

export const hpaInfo = (h: V2HorizontalPodAutoscaler): HpaInfo => ({
  name: h.metadata?.name ?? '',
  target: `${(h.spec?.scaleTargetRef.kind ?? '').toLowerCase()}/${h.spec?.scaleTargetRef.name ?? ''}`,
  resources: (h.spec?.metrics ?? [])
    .filter((m) => m.type === 'Resource' && m.resource?.target.type === 'Utilization')
    .map((m) => m.resource!.name),
});

function checkPath(file: string, flag: string): string {
  const f = path.resolve(file);
  if (!fs.existsSync(path.dirname(f))) throw usageError(`${flag} ${file}: directory ${path.dirname(f)} does not exist`);
  return f;
}

export async function runRightsize(ctx: RightsizeContext): Promise<void> {
  const opts = ctx.opts;
  const writeFile = opts.write ? checkPath(opts.write, '--write') : undefined;
  const reportFile = opts.report ? checkPath(opts.report, '--report') : undefined;
  const kube = await ctx.kube();
  if (!(await kube.read('v1', 'Namespace', ctx.namespace)))
    throw usageError(
      `namespace "${ctx.namespace}" does not exist`,
      `kubectl --context ${kube.contextName} get namespaces`,
    );
  const state = await ctx.state();
  const samples = readSamples(state, ctx.cfg.TODO_RIGHTSIZE_WINDOW);
  if (!samples.length)
    throw new OpsError(
      `no samples recorded for ${ctx.namespace} in ${state.dir}`,
      Exit.problem,
      `record some first: npx zx ops/predict.ts -n ${ctx.namespace} (cron: every 5 minutes)`,
    );
  const hpas = (
    await kube.list<V2HorizontalPodAutoscaler>(
      'autoscaling/v2',
      'HorizontalPodAutoscaler',
      ctx.namespace,
      releaseSelector(ctx.release),
    )
  ).map(hpaInfo);
  const rows = planRightsize({
    release: ctx.release,
    samples,
    hpas,
    policy: rightsizePolicy(ctx.cfg),
    keepHpaResources: !opts['hpa-resources'],
  });
  const overlay = overlayOf(rows);
  const paths = overlayPaths(rows);
  for (const r of rows)
    ctx.result.finding({
      name: `${r.container} ${r.resource}`,
      level: r.severity,
      detail: r.reason,
      object: {
        kind: r.workload.split('/')[0] === 'deployment' ? 'Deployment' : 'StatefulSet',
        name: r.workload.split('/')[1]!,
        namespace: ctx.namespace,
      },
      // Under-provisioned memory is a problem until applied.
      required: r.severity === 'fail' && (!opts.apply || ctx.dryRun),
      evidence: {
        container: r.container,
        resource: r.resource,
        current: r.current ?? null,
        recommended: r.recommended ?? null,
        changePct: r.changePct ?? null,
        change: r.change,
      },
    });
  ctx.result.data = { samples: samples.length, rows, overlay, paths };
  if (writeFile) {
    fs.writeFileSync(
      writeFile,
      `# rightsize: recommended resources (${new Date().toISOString()}); deploy with: npx zx scripts/deploy.ts --values ${path.basename(writeFile)}\n${YAML.stringify(overlay)}`,
    );
    ctx.result.data.written = writeFile;
  }
  if (reportFile) {
    fs.writeFileSync(
      reportFile,
      reportHtml({
        title: `Right-sizing for ${ctx.release}`,
        generatedAt: new Date(),
        namespace: ctx.namespace,
        context: kube.contextName,
        forecasts: [],
        extraHtml: rowsHtml(rows),
      }),
    );
    ctx.result.data.report = reportFile;
  }
  if (!opts.apply) return;
  if (!paths.length) {
    ctx.result.finding({ name: 'apply', level: 'info', detail: 'nothing to change', required: false });
    return;
  }
  await applyOverlay(ctx, overlay as Values, paths);
}

/** The overlay on top of the deployed values, through helm, as deploy does it; rollback when the rollout fails. */
async function applyOverlay(ctx: RightsizeContext, overlay: Values, paths: string[]): Promise<void> {
  const observed = await observeRelease(ctx, appSecretName(ctx.release));
  if (!observed.deployed)
    throw usageError(
      `release ${ctx.release} is not installed in namespace ${ctx.namespace}`,
      'npx zx scripts/deploy.ts',
    );
  const values = mergeValues(observed.deployed.values, overlay);
  const rendered = await renderRelease(ctx, { valuesFiles: [], values });
  const diff = diffManifests(observed.deployed.manifest, rendered);
  const workloads = workloadsOf(rendered);
  const touched = new Set(paths.map((p) => p.split('.')[0]));
  const targets = workloads.filter((w) => [...touched].some((c) => w.name === `${ctx.release}-${c}`));
  const targetKeys = new Set(targets.map((w) => `${w.kind}/${w.name}`));
  const others = [...diff.added, ...diff.removed, ...diff.changed.map((c) => c.object)].filter(
    (k) => !targetKeys.has(k),
  );
  if (others.length)
    throw usageError(
      `the chart here (${ctx.cfg.TODO_CHART}) renders more changes than the resources: ${others.join(', ')}`,
      'run deploy first, then rightsize --apply',
    );
  const action: PlannedAction<{ values: Values }> = {
    what: 'helm upgrade',
    target: `release/${ctx.release}`,
    reason: `set ${paths.length} resource values (${paths.join(', ')}); rolls ${targets.map((t) => `${t.kind.toLowerCase()}/${t.name}`).join(', ')}`,
    params: { values },
  };
  ctx.result.data.valuesChanged = changedPaths(observed.deployed.values, values);
  const helm = await ctx.helm();
  let failure: Error | undefined;
  await applyPlan(ctx, [action], async (a) => {
    const status = await helm.upgradeInstall({
      release: ctx.release,
      chart: chartPath(ctx),
      values: a.params!.values,
      timeoutSec: ctx.timeoutSec,
    });
    try {
      await waitWorkloads(ctx, targets);
      await settle(ctx, targets, ctx.cfg.TODO_RIGHTSIZE_SETTLE);
    } catch (e) {
      failure = e as Error;
      await crashLogs(ctx, e);
      throw e;
    }
    return `revision ${status.version}, rolled out`;
  });
  if (!failure) return;
  ctx.result.finding({
    name: 'rollout',
    level: 'fail',
    detail: failure.message,
    hint: (failure as OpsError).hint,
    required: true,
  });
  await rollBack(ctx, observed.deployed.revision);
}

function rowsHtml(rows: readonly Row[]): string {
  const q = (r: Row, v?: number) =>
    v === undefined ? '' : r.resource === 'requests.cpu' ? `${Math.round(v * 1000)}m` : `${Math.round(v / 2 ** 20)}Mi`;
  return `<h2>Right-sizing</h2><table><thead><tr><th>severity</th><th>workload/container</th><th>resource</th><th>now</th><th>recommended</th><th>change</th><th>why</th></tr></thead><tbody>${rows
    .map(
      (r) =>
        `<tr class="${r.severity}"><td>${r.severity.toUpperCase()}</td><td>${escapeHtml(`${r.workload}/${r.container}`)}</td><td>${r.resource}</td><td>${q(r, r.current)}</td><td>${q(r, r.recommended)}</td><td>${r.changePct === undefined ? '' : `${r.changePct > 0 ? '+' : ''}${r.changePct}%`}${r.change ? '' : ' (kept)'}</td><td>${escapeHtml(r.reason)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}
