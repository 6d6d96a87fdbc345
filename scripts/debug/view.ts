// debug's text view: one block per finding, most severe first: what is wrong,
// the quoted log lines, and the next command.
import { chalk } from 'zx';
import { colourLevel } from '../lib/kit/output.ts';
import type { Finding, Result } from '../lib/kit/result.ts';
import type { DebugContext } from './spec.ts';

const rank = { fail: 0, warn: 1, info: 2, ok: 3 } as const;

function renderDiagnosis(findings: readonly Finding[], o: { namespace: string; target?: string }): string {
  const sorted = [...findings].sort((a, b) => rank[a.level] - rank[b.level]);
  const problems = sorted.filter((f) => f.level === 'fail' || f.level === 'warn');
  const out: string[] = [
    `${o.target ?? `namespace ${o.namespace}`}: ${problems.length ? `${problems.length} problem${problems.length > 1 ? 's' : ''} found` : 'nothing wrong'}`,
    '',
  ];
  for (const f of sorted) {
    const obj = f.object ? `${f.object.kind.toLowerCase()}/${f.object.name}` : '';
    out.push(`${colourLevel(f.level)} ${chalk.bold(f.name)}${obj ? `  ${obj}` : ''}`);
    out.push(`  ${f.detail}`);
    const lines = f.evidence?.logLines as string[] | undefined;
    if (lines?.length) {
      out.push(`  last log lines${f.evidence?.logPrevious ? ' (previous container)' : ''}:`);
      for (const l of lines.slice(-10)) out.push(`    | ${l}`);
    }
    if (f.hint) out.push(`  next: ${f.hint}`);
    out.push('');
  }
  return out.join('\n').trimEnd();
}

export function renderDebug(result: Result, ctx: DebugContext): void {
  ctx.out.say(
    renderDiagnosis(result.findings, { namespace: ctx.namespace, target: result.data.target as string | undefined }),
  );
}
