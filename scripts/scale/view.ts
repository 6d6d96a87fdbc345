// scale's text view: before -> after, notes, what was done and how long Ready took.
import { actionLine } from '../lib/kit/render.ts';
import type { Result } from '../lib/kit/result.ts';
import type { ScaleContext } from './spec.ts';

export function renderScale(r: Result, ctx: ScaleContext): void {
  const d = r.data as {
    deployment?: string;
    before?: Record<string, number>;
    after?: Record<string, number>;
    notes?: string[];
    seconds?: number;
  };
  for (const f of r.findings.filter((f) => f.level === 'warn' || f.level === 'fail'))
    ctx.out.say(`${f.level}: ${f.name}: ${f.detail}`);
  if (d.before && d.after) {
    const keys = Object.keys(d.after);
    ctx.out.say(
      `deployment/${d.deployment}: ${keys.map((k) => `${k} ${d.before![k] ?? '?'} -> ${d.after![k]}`).join(', ')}`,
    );
  }
  for (const n of d.notes ?? []) ctx.out.say(`note: ${n}`);
  if (ctx.dryRun && r.actions.length) ctx.out.say('dry run: nothing was changed; the plan:');
  for (const a of r.actions) ctx.out.say(`  ${actionLine(a)}`);
}
