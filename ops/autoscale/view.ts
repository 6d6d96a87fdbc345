// autoscale's text view: the checks, then the recommendations with their reasons.
import { colourLevel, table } from '../../scripts/lib/kit/output.ts';
import type { Result } from '../../scripts/lib/kit/result.ts';
import { actionLine } from '../../scripts/lib/kit/render.ts';
import type { Recommendation } from './plan.ts';
import type { AutoscaleContext } from './spec.ts';

export function renderAutoscale(r: Result, ctx: AutoscaleContext): void {
  for (const f of r.findings)
    ctx.out.say(`${colourLevel(f.level)}  ${f.name}: ${f.detail}${f.hint ? `\n      hint: ${f.hint}` : ''}`);
  const recs = (r.data.recommendations ?? []) as Recommendation[];
  const v = (x: unknown) => (x === null || x === undefined ? '-' : String(x));
  if (recs.length)
    ctx.out.say(
      table(
        recs.map((x) => ({
          value: `${x.component}.autoscaling.${x.key}`,
          now: v(x.current),
          recommended: v(x.recommended),
          change: x.change ? 'change' : '',
          why: x.reason,
        })),
        ['value', 'now', 'recommended', 'change', 'why'],
      ),
    );
  if (ctx.dryRun && r.actions.length) ctx.out.say('dry run: nothing was changed; the plan:');
  for (const a of r.actions) ctx.out.say(`  ${actionLine(a)}`);
}
