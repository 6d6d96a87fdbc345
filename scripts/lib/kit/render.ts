// The default text view of a Result: findings as a table, then actions as
// one line each. Scripts with a richer view pass their own `render`.
import { chalk } from 'zx';
import { colourLevel, table, type Output } from './output.ts';
import type { Action, Result } from './result.ts';

const statusMark: Record<Action['status'], string> = {
  planned: 'would',
  done: 'done',
  failed: 'FAILED',
  skipped: 'skipped',
};

export function actionLine(a: Action): string {
  const mark =
    a.status === 'failed'
      ? chalk.red(statusMark[a.status])
      : a.status === 'done'
        ? chalk.green(statusMark[a.status])
        : statusMark[a.status];
  return `${mark}: ${a.what} ${a.target} (${a.reason})${a.detail ? `: ${a.detail}` : ''}`;
}

export function renderResult(r: Result, out: Output, dryRun = false): void {
  if (r.findings.length) {
    out.say(
      table(
        r.findings.map((f) => ({ check: f.name, level: colourLevel(f.level), detail: f.detail, hint: f.hint ?? '' })),
        ['check', 'level', 'detail', 'hint'],
      ),
    );
  }
  if (r.actions.length) {
    if (r.findings.length) out.say('');
    if (dryRun) out.say('dry run: nothing was changed; the plan:');
    for (const a of r.actions) out.say(`  ${actionLine(a)}`);
  } else if (dryRun) out.say('dry run: nothing to do');
}
