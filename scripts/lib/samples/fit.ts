// predict's decisions (pure): a least-squares line through a series of
// samples, as Prometheus' predict_linear fits one, plus what predict_linear
// leaves to the reader: how many samples over how long, how well the line fits
// (R²), whether the data is a level shift rather than a trend, and "not enough
// data" instead of a guess.

export interface Point {
  /** seconds (epoch) */
  t: number;
  v: number;
}

export interface Fit {
  /** per second */
  slope: number;
  /** the value at t = 0 of the shifted time axis (t0) */
  intercept: number;
  /** the time the axis was shifted by, so large epochs keep their precision */
  t0: number;
  r2: number;
  n: number;
  spanSeconds: number;
  /** sum of squared residuals of the line */
  sse: number;
}

export const valueAt = (f: Fit, t: number) => f.intercept + f.slope * (t - f.t0);

/** Ordinary least squares of v over t. Fewer than 2 points or no time span: undefined. */
export function fitLine(points: readonly Point[]): Fit | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const t0 = points[0]!.t;
  let sx = 0,
    sy = 0;
  for (const p of points) {
    sx += p.t - t0;
    sy += p.v;
  }
  const mx = sx / n,
    my = sy / n;
  let sxx = 0,
    sxy = 0,
    syy = 0;
  for (const p of points) {
    const dx = p.t - t0 - mx,
      dy = p.v - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const sse = Math.max(0, syy - slope * sxy);
  // A flat series fits a flat line perfectly, but there is nothing to explain: R² 0, not NaN.
  const r2 = syy === 0 ? 0 : 1 - sse / syy;
  const ts = points.map((p) => p.t);
  return { slope, intercept, t0, r2, n, spanSeconds: Math.max(...ts) - Math.min(...ts), sse };
}

/**
 * The best single level shift: two flat segments split at one sample. When
 * that explains the data much better than a line, the series jumped (a
 * restart, a bigger cache, a deploy) and extrapolating it as a trend is wrong.
 */
export function bestStep(
  points: readonly Point[],
): { at: number; before: number; after: number; sse: number } | undefined {
  const n = points.length;
  if (n < 4) return undefined;
  let best: { at: number; before: number; after: number; sse: number } | undefined;
  for (let k = 2; k <= n - 2; k++) {
    const a = points.slice(0, k),
      b = points.slice(k);
    const ma = a.reduce((s, p) => s + p.v, 0) / a.length,
      mb = b.reduce((s, p) => s + p.v, 0) / b.length;
    const sse = a.reduce((s, p) => s + (p.v - ma) ** 2, 0) + b.reduce((s, p) => s + (p.v - mb) ** 2, 0);
    if (!best || sse < best.sse) best = { at: points[k]!.t, before: ma, after: mb, sse };
  }
  return best;
}

type ForecastKind = 'memory' | 'volume' | 'restarts';
export type Level = 'ok' | 'warn' | 'fail';

export interface ForecastPolicy {
  minSamples: number;
  minSpanSeconds: number;
  /** below this R² a slope is not called a trend */
  minR2: number;
  /** a crossing sooner than this is a failure */
  failWithinSeconds: number;
  /** a crossing sooner than this is a warning */
  warnWithinSeconds: number;
  /** restarts per hour that warn / fail */
  restartsWarnPerHour: number;
  restartsFailPerHour: number;
  /** already this close to the limit (0-1) warns whatever the trend */
  nearLimit: number;
}

export const defaultPolicy: ForecastPolicy = {
  minSamples: 6,
  minSpanSeconds: 1800,
  minR2: 0.8,
  failWithinSeconds: 6 * 3600,
  warnWithinSeconds: 3 * 86_400,
  restartsWarnPerHour: 1,
  restartsFailPerHour: 6,
  nearLimit: 0.9,
};

export interface Outcome {
  etaSeconds: number | null;
  r2: number;
  samples: number;
  spanSeconds: number;
  level: Level;
  detail: string;
  /** fewer samples or a shorter span than the policy needs: nothing is forecast */
  insufficient?: true;
  /** the fitted line, for the report (absent when none was drawn) */
  fit?: Fit;
  /** the predicted crossing of the limit, epoch seconds */
  crossingAt?: number;
  /** the series is a level shift, not a trend */
  step?: { at: number; before: number; after: number };
}

export function humanDuration(s: number): string {
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 2 * 86_400) return `${(s / 3600).toFixed(1).replace(/\.0$/, '')}h`;
  return `${(s / 86_400).toFixed(1).replace(/\.0$/, '')}d`;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/**
 * Time until a growing series (memory, volume use) reaches its limit.
 * `format` spells a value for the detail line (bytes as "512Mi").
 */
export function forecastToLimit(
  points: readonly Point[],
  limit: number | undefined,
  p: ForecastPolicy,
  format: (v: number) => string = String,
): Outcome {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const n = sorted.length;
  const span = n ? sorted[n - 1]!.t - sorted[0]!.t : 0;
  const last = sorted[n - 1];
  const base = { samples: n, spanSeconds: span };
  const fit = fitLine(sorted);
  const r2 = Number((fit?.r2 ?? 0).toFixed(4));
  if (n < p.minSamples || span < p.minSpanSeconds)
    return {
      ...base,
      etaSeconds: null,
      r2,
      level: 'ok',
      fit,
      insufficient: true,
      detail: `not enough data: ${n} samples over ${humanDuration(span)} (needs ${p.minSamples} over ${humanDuration(p.minSpanSeconds)})`,
    };
  if (!limit || limit <= 0)
    return { ...base, etaSeconds: null, r2, level: 'ok', fit, detail: `no limit set: now ${format(last!.v)}` };
  const used = last!.v / limit;
  const nearly = used >= p.nearLimit;
  const near = (why: string): Outcome => ({
    ...base,
    etaSeconds: null,
    r2,
    fit,
    level: nearly ? 'warn' : 'ok',
    detail: `${why}; now ${format(last!.v)} of ${format(limit)} (${pct(used)})`,
  });
  const step = bestStep(sorted);
  if (step && fit && step.sse < 0.5 * fit.sse && Math.abs(step.after - step.before) > 0)
    return {
      ...near(
        `a level shift from ${format(step.before)} to ${format(step.after)} at ${new Date(step.at * 1000).toISOString()}, not a trend (line R² ${r2.toFixed(2)})`,
      ),
      step: { at: step.at, before: step.before, after: step.after },
    };
  if (!fit || fit.slope <= 0) return near(`not growing (R² ${r2.toFixed(2)})`);
  if (fit.r2 < p.minR2) return near(`no clear trend (R² ${r2.toFixed(2)} < ${p.minR2})`);
  const crossingAt = fit.t0 + (limit - fit.intercept) / fit.slope;
  const eta = Math.max(0, crossingAt - last!.t);
  const level: Level = eta <= p.failWithinSeconds ? 'fail' : eta <= p.warnWithinSeconds || nearly ? 'warn' : 'ok';
  const perHour = fit.slope * 3600;
  return {
    ...base,
    etaSeconds: Math.round(eta),
    r2,
    level,
    fit,
    crossingAt,
    detail: `reaches the limit ${format(limit)} in ${humanDuration(eta)} (now ${format(last!.v)}, ${pct(used)}; +${format(perHour)}/h; R² ${r2.toFixed(2)}, ${n} samples over ${humanDuration(span)})`,
  };
}

/** The rate of a restart counter: a steady climb warns, a fast one fails. */
export function forecastRestarts(points: readonly Point[], p: ForecastPolicy): Outcome {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const n = sorted.length;
  const span = n ? sorted[n - 1]!.t - sorted[0]!.t : 0;
  const fit = fitLine(sorted);
  const r2 = Number((fit?.r2 ?? 0).toFixed(4));
  const base = { samples: n, spanSeconds: span, etaSeconds: null, r2, fit };
  if (n < p.minSamples || span < p.minSpanSeconds)
    return {
      ...base,
      level: 'ok',
      insufficient: true,
      detail: `not enough data: ${n} samples over ${humanDuration(span)} (needs ${p.minSamples} over ${humanDuration(p.minSpanSeconds)})`,
    };
  const added = sorted[n - 1]!.v - sorted[0]!.v;
  if (added <= 0 || !fit || fit.slope <= 0)
    return { ...base, level: 'ok', detail: `no restarts in ${humanDuration(span)}` };
  const perHour = fit.slope * 3600;
  const rate = `${perHour.toFixed(perHour < 10 ? 1 : 0)} restarts/h (+${added} in ${humanDuration(span)}, R² ${r2.toFixed(2)})`;
  if (fit.r2 < p.minR2) return { ...base, level: 'ok', detail: `occasional restarts, no steady rate: ${rate}` };
  const level: Level = perHour >= p.restartsFailPerHour ? 'fail' : perHour >= p.restartsWarnPerHour ? 'warn' : 'ok';
  return { ...base, level, detail: level === 'ok' ? `slow restarts: ${rate}` : `restarting steadily: ${rate}` };
}

/** One forecast as forecasts.json holds it: the fit's outcome without its drawing, and what it is about. */
export interface Forecast extends Pick<Outcome, 'etaSeconds' | 'r2' | 'samples' | 'spanSeconds' | 'level' | 'detail'> {
  key: string;
  kind: ForecastKind;
  object: { kind: string; name: string; namespace: string; container?: string };
}

/** What the report draws for one forecast: observed points, the fitted line, the limit and the crossing. */
export interface ForecastChart {
  unit: 'bytes' | 'count';
  points: [number, number][];
  line?: [[number, number], [number, number]];
  limit?: number;
  crossing?: [number, number];
}

export interface ForecastView extends Forecast {
  chart: ForecastChart;
}

export interface ForecastsDoc {
  at: string;
  forecasts: Forecast[];
}

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1)); // nearest rank
  return s[idx]!;
}
