// doctor's text view: every check, then whether the required ones passed.
import { renderResult } from '../lib/kit/render.ts';
import type { Result } from '../lib/kit/result.ts';
import type { DoctorContext } from './spec.ts';

export function renderDoctor(result: Result, ctx: DoctorContext): void {
  renderResult(result, ctx.out);
  const failed = result.findings.filter((f) => f.level === 'fail' && f.required !== false).length;
  ctx.out.say(failed ? `\n${failed} required check(s) failed` : '\nall required checks passed');
}
