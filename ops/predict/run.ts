// predict (A3): take one sample (one pod List, one metrics List), keep it in
// the bounded 'samples' stream, fit every series, write forecasts.json for
// ops/alert.ts, and on --report an HTML page with a chart per forecast.
import fs from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Config } from '../../scripts/lib/kit/env.ts';
import { OpsError, Exit, usageError } from '../../scripts/lib/kit/errors.ts';
import type { ForecastPolicy } from '../../scripts/lib/samples/fit.ts';
import { forecastAll, forecastsDoc } from './plan.ts';
import type { PredictContext, settings } from './spec.ts';
import { reportHtml } from '../../scripts/lib/samples/report-html.ts';
import { buildSample, readSamples, recordSample } from '../../scripts/lib/samples/store.ts';
import { Scanner, releaseSelector, slimPod, type PodMetricsLike } from '../../scripts/lib/kube/scan.ts';

export function policyFrom(cfg: Config<typeof settings>): ForecastPolicy {
  return {
    minSamples: cfg.TODO_PREDICT_MIN_SAMPLES,
    minSpanSeconds: cfg.TODO_PREDICT_MIN_SPAN,
    minR2: cfg.TODO_PREDICT_MIN_R2_PCT / 100,
    failWithinSeconds: cfg.TODO_PREDICT_FAIL_WITHIN,
    warnWithinSeconds: cfg.TODO_PREDICT_WARN_WITHIN,
    restartsWarnPerHour: cfg.TODO_PREDICT_RESTARTS_WARN,
    restartsFailPerHour: cfg.TODO_PREDICT_RESTARTS_FAIL,
    nearLimit: 0.9,
  };
}

/** One sample of the release: pods by the release's label, usage for the namespace. */
export async function takeSample(ctx: PredictContext) {
  const kube = await ctx.kube();
  const scanner = new Scanner(kube);
  const [pods, metrics] = await Promise.all([
    scanner.list<V1Pod>('v1', 'Pod', ctx.namespace, { labelSelector: releaseSelector(ctx.release), project: slimPod }),
    kube.podMetrics(ctx.namespace).then((m) => m?.items as PodMetricsLike[] | undefined),
  ]);
  return { sample: buildSample(pods, metrics, new Date()), requests: scanner.requests + 1 };
}

export async function runPredict(ctx: PredictContext): Promise<void> {
  const opts = ctx.opts;
  const policy = policyFrom(ctx.cfg);
  if (opts.report) {
    const dir = path.dirname(path.resolve(opts.report));
    if (!fs.existsSync(dir)) throw usageError(`--report ${opts.report}: directory ${dir} does not exist`);
  }
  const state = await ctx.state();
  let requests = 0;
  if (!opts['no-sample']) {
    const kube = await ctx.kube();
    if (!(await kube.read('v1', 'Namespace', ctx.namespace)))
      throw usageError(
        `namespace "${ctx.namespace}" does not exist`,
        `kubectl --context ${kube.contextName} get namespaces`,
      );
    const taken = await takeSample(ctx);
    requests = taken.requests + 1;
    recordSample(state, taken.sample, {
      maxBytes: ctx.cfg.TODO_PREDICT_SAMPLES_BYTES,
      maxAgeDays: Math.ceil(ctx.cfg.TODO_PREDICT_KEEP / 86_400),
    });
    if (!taken.sample.metrics)
      ctx.result.finding({
        name: 'metrics API',
        level: 'warn',
        detail: 'the metrics API (metrics.k8s.io) is not served: no usage recorded, only restart counts',
        hint: 'install metrics-server (minikube addons enable metrics-server)',
        required: false,
      });
    else if (!taken.sample.pods.length)
      ctx.result.finding({
        name: 'sample',
        level: 'warn',
        detail: `no running pods of release ${ctx.release} in ${ctx.namespace}`,
        required: false,
      });
  }
  const now = new Date();
  const samples = readSamples(state, ctx.cfg.TODO_PREDICT_WINDOW, now);
  const views = forecastAll(samples, ctx.namespace, policy);
  state.writeJson('forecasts', forecastsDoc(now, views));
  for (const f of views)
    ctx.result.finding({
      name: `${f.kind} forecast`,
      level: f.level === 'ok' ? (/^not enough data/.test(f.detail) ? 'info' : 'ok') : f.level,
      detail: f.detail,
      object: { kind: f.object.kind, name: f.object.name, namespace: f.object.namespace },
      required: f.level === 'fail',
      evidence: {
        key: f.key,
        ...(f.object.container ? { container: f.object.container } : {}),
        etaSeconds: f.etaSeconds,
        r2: f.r2,
        samples: f.samples,
        spanSeconds: f.spanSeconds,
      },
      ...(f.level === 'fail' && f.kind === 'memory'
        ? {
            hint: `npx zx ops/rightsize.ts -n ${ctx.namespace} (raise the memory limit) or look for a leak: npx zx scripts/debug.ts -n ${ctx.namespace}`,
          }
        : {}),
    });
  ctx.result.data = {
    samples: samples.length,
    windowSeconds: ctx.cfg.TODO_PREDICT_WINDOW,
    spanSeconds: samples.length > 1 ? samples[samples.length - 1]!.t - samples[0]!.t : 0,
    requests,
    forecastsFile: path.join(state.dir, 'forecasts.json'),
    forecasts: views.map(({ chart: _c, ...f }) => f),
  };
  if (opts.report) {
    const file = path.resolve(opts.report);
    try {
      fs.writeFileSync(
        file,
        reportHtml({
          title: `Forecasts for ${ctx.release}`,
          generatedAt: now,
          namespace: ctx.namespace,
          context: (await ctx.kube()).contextName,
          forecasts: views,
        }),
      );
    } catch (e) {
      throw new OpsError(
        `cannot write the report ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        Exit.actionFailed,
      );
    }
    ctx.result.data.report = file;
    ctx.result.data.reportBytes = fs.statSync(file).size;
  }
}
