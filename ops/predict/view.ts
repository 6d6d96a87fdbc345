// predict's text view: one line per forecast, worst first.
import { colourLevel } from '../../scripts/lib/kit/output.ts';
import type { Result } from '../../scripts/lib/kit/result.ts';
import { humanDuration } from '../../scripts/lib/samples/fit.ts';
import type { PredictContext } from './spec.ts';

export function renderPredict(r: Result, ctx: PredictContext): void {
  const d = r.data as {
    samples?: number;
    spanSeconds?: number;
    report?: string;
    reportBytes?: number;
    forecastsFile?: string;
  };
  for (const f of r.findings.filter((x) => !/ forecast$/.test(x.name)))
    ctx.out.say(`${colourLevel(f.level)}  ${f.name}: ${f.detail}`);
  ctx.out.say(
    `${d.samples ?? 0} samples over ${humanDuration(d.spanSeconds ?? 0)}; forecasts in ${d.forecastsFile ?? '?'}`,
  );
  for (const f of r.findings.filter((x) => / forecast$/.test(x.name))) {
    const o = f.object;
    const container = f.evidence?.container as string | undefined;
    ctx.out.say(
      `${colourLevel(f.level)}  ${f.name.replace(/ forecast$/, '').padEnd(8)}  ${o?.name ?? ''}${container ? `/${container}` : ''}: ${f.detail}`,
    );
  }
  if (d.report) ctx.out.say(`report: ${d.report} (${Math.round((d.reportBytes ?? 0) / 1024)} KiB)`);
}
