// rightsize's text view: the diff table, then what was written or done.
import { colourLevel, table } from '../../scripts/lib/kit/output.ts';
import type { Result } from '../../scripts/lib/kit/result.ts';
import { actionLine } from '../../scripts/lib/kit/render.ts';
import type { Row } from './plan.ts';
import type { RightsizeContext } from './spec.ts';

export function renderRightsize(r: Result, ctx: RightsizeContext): void {
  const d = r.data as { rows?: Row[]; written?: string; report?: string; paths?: string[] };
  const q = (row: Row, v?: number) =>
    v === undefined
      ? '-'
      : row.resource === 'requests.cpu'
        ? `${Math.round(v * 1000)}m`
        : `${Math.round(v / 2 ** 20)}Mi`;
  if (d.rows?.length)
    ctx.out.say(
      table(
        d.rows.map((row) => ({
          severity: colourLevel(row.severity),
          container: `${row.workload}/${row.container}`,
          resource: row.resource,
          now: q(row, row.current),
          recommended: q(row, row.recommended),
          change:
            row.changePct === undefined
              ? ''
              : `${row.changePct > 0 ? '+' : ''}${row.changePct}%${row.change ? '' : ' kept'}`,
          why: row.reason,
        })),
        ['severity', 'container', 'resource', 'now', 'recommended', 'change', 'why'],
      ),
    );
  for (const f of r.findings.filter((x) => x.name === 'rollout' || x.name === 'apply'))
    ctx.out.say(`${colourLevel(f.level)}  ${f.name}: ${f.detail}`);
  if (d.written) ctx.out.say(`values overlay written to ${d.written}`);
  if (d.report) ctx.out.say(`report: ${d.report}`);
  if (ctx.dryRun && r.actions.length) ctx.out.say('dry run: nothing was changed; the plan:');
  for (const a of r.actions) ctx.out.say(`  ${actionLine(a)}`);
}
