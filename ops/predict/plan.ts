// From recorded samples to forecasts (pure): memory per container against its
// limit, volume use against the claim's capacity, restart rates per container.
// The shape written to forecasts.json is the contract ops/alert.ts reads.
import { formatBytes } from '../../scripts/lib/kube/quantity.ts';
import {
  forecastRestarts,
  forecastToLimit,
  valueAt,
  type Forecast,
  type ForecastChart,
  type ForecastPolicy,
  type ForecastsDoc,
  type ForecastView,
  type Level,
  type Outcome,
} from '../../scripts/lib/samples/fit.ts';
import { containerSeries, volumeSeries, type Sample } from '../../scripts/lib/samples/store.ts';

const order: Record<Level, number> = { fail: 0, warn: 1, ok: 2 };

function chartOf(
  o: Outcome,
  points: { t: number; v: number }[],
  unit: ForecastChart['unit'],
  limit?: number,
): ForecastChart {
  const chart: ForecastChart = { unit, points: points.map((p) => [p.t, p.v]), ...(limit ? { limit } : {}) };
  // A line through too few samples would be a guess drawn as a forecast: "not enough data" draws none.
  if (o.fit && o.step === undefined && points.length >= 2 && !o.insufficient) {
    const t1 = points[0]!.t;
    // The line runs to the crossing when there is one (capped at a week ahead), else over the samples.
    const last = points[points.length - 1]!.t;
    const t2 = o.crossingAt !== undefined ? Math.min(o.crossingAt, last + 7 * 86_400) : last;
    chart.line = [
      [t1, valueAt(o.fit, t1)],
      [t2, valueAt(o.fit, t2)],
    ];
  }
  if (o.crossingAt !== undefined && limit) chart.crossing = [Math.round(o.crossingAt), limit];
  return chart;
}

export function forecastAll(samples: readonly Sample[], namespace: string, policy: ForecastPolicy): ForecastView[] {
  const out: ForecastView[] = [];
  for (const s of containerSeries(samples)) {
    const object = { kind: s.workload.kind, name: s.workload.name, namespace, container: s.container };
    const id = `${namespace}/${s.workload.kind}/${s.workload.name}/${s.container}`;
    if (s.memory.length) {
      const o = forecastToLimit(s.memory, s.limits.memory, policy, formatBytes);
      out.push({
        key: `memory/${id}`,
        kind: 'memory',
        object,
        ...pick(o),
        chart: chartOf(o, s.memory, 'bytes', s.limits.memory),
      });
    }
    const o = forecastRestarts(s.restarts, policy);
    out.push({
      key: `restarts/${id}`,
      kind: 'restarts',
      object,
      ...pick(o),
      chart: chartOf(o, s.restarts, 'count'),
    });
  }
  for (const v of volumeSeries(samples)) {
    const o = forecastToLimit(v.used, v.capacity, policy, formatBytes);
    out.push({
      key: `volume/${namespace}/${v.pvc}`,
      kind: 'volume',
      object: { kind: 'PersistentVolumeClaim', name: v.pvc, namespace },
      ...pick(o),
      chart: chartOf(o, v.used, 'bytes', v.capacity),
    });
  }
  return out.sort((a, b) => order[a.level] - order[b.level] || a.key.localeCompare(b.key));
}

function pick(o: Outcome): Pick<Forecast, 'etaSeconds' | 'r2' | 'samples' | 'spanSeconds' | 'level' | 'detail'> {
  return {
    etaSeconds: o.etaSeconds,
    r2: o.r2,
    samples: o.samples,
    spanSeconds: o.spanSeconds,
    level: o.level,
    detail: o.detail,
  };
}

/** The contract: no chart data in forecasts.json. */
export const forecastsDoc = (at: Date, views: readonly ForecastView[]): ForecastsDoc => ({
  at: at.toISOString(),
  forecasts: views.map(({ chart: _c, ...f }) => f),
});
