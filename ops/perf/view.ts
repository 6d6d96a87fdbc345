// perf's text view: one row per endpoint against the SLOs, then what to change.
import { colourLevel, table } from '../../scripts/lib/kit/output.ts';
import { errorRate, type EndpointRun, type Slo } from './plan.ts';
import type { Result } from '../../scripts/lib/kit/result.ts';
import type { PerfContext } from './spec.ts';

export function renderPerf(r: Result, ctx: PerfContext): void {
  const d = r.data as {
    runs?: EndpointRun[];
    slo?: Slo;
    via?: { service: string; pod: string } | null;
    suggestions?: string[];
    cleanup?: { deletedTasks: number };
  };
  for (const f of r.findings.filter((f) => !f.name.startsWith('perf ') && f.name !== 'suggestion' && f.level !== 'ok'))
    ctx.out.say(`${colourLevel(f.level)} ${f.name}: ${f.detail}`);
  if (!d.runs?.length) return;
  if (d.via)
    ctx.out.say(
      `through a port-forward to service/${d.via.service} (pod ${d.via.pod}); SLO p95 ≤ ${d.slo!.p95Ms} ms, p99 ≤ ${d.slo!.p99Ms} ms, errors ≤ ${(d.slo!.errorRate * 100).toFixed(1)}%`,
    );
  const level = (e: EndpointRun) => r.findings.find((f) => f.name === `perf ${e.name}`)?.level ?? 'info';
  ctx.out.say(
    table(
      d.runs.map((e) => ({
        endpoint: `${e.method} ${e.path}`,
        requests: e.requests,
        'req/s': e.rps,
        p50: `${e.p50} ms`,
        p95: `${e.p95} ms`,
        p99: `${e.p99} ms`,
        errors: `${(errorRate(e) * 100).toFixed(1)}%`,
        slo: colourLevel(level(e)),
      })),
      ['endpoint', 'requests', 'req/s', 'p50', 'p95', 'p99', 'errors', 'slo'],
    ),
  );
  for (const f of r.findings.filter((f) => f.name.endsWith(' regression'))) ctx.out.say(`note: ${f.detail}`);
  for (const s of d.suggestions ?? []) ctx.out.say(`suggestion: ${s}`);
  if (d.cleanup) ctx.out.say(`deleted the ${d.cleanup.deletedTasks} tasks the run created`);
}
