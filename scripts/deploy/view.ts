// deploy's text view: problems, the plan or what was done, the diff, the history.
import { table } from '../lib/kit/output.ts';
import type { Result } from '../lib/kit/result.ts';
import { actionLine } from '../lib/kit/render.ts';
import type { ManifestDiff } from '../lib/release/manifests.ts';
import type { DeployContext } from './spec.ts';

export function renderDeploy(r: Result, ctx: DeployContext): void {
  const out = ctx.out;
  const notable = r.findings.filter(
    (f) => f.level !== 'ok' && !f.name.startsWith('tool ') && f.name !== 'image builder',
  );
  for (const f of notable) out.say(`${f.level}: ${f.name}: ${f.detail}${f.hint ? ` (hint: ${f.hint})` : ''}`);
  const d = r.data as {
    unchanged?: boolean;
    diff?: ManifestDiff;
    history?: { revision: number; updated: string; status: string; chart: string; description: string }[];
  };
  if (d.unchanged) out.say(`release ${ctx.release} in ${ctx.namespace}: unchanged (no new revision)`);
  if (d.diff && (ctx.dryRun || ctx.out.verbose)) {
    for (const a of d.diff.added) out.say(`+ ${a}`);
    for (const a of d.diff.removed) out.say(`- ${a}`);
    for (const c of d.diff.changed) out.say(`~ ${c.object}\n${c.lines.map((l) => `    ${l}`).join('\n')}`);
  }
  if (r.actions.length) {
    if (ctx.dryRun) out.say('dry run: nothing was changed; the plan:');
    for (const a of r.actions) out.say(`  ${actionLine(a)}`);
  }
  if (d.history?.length) {
    out.say('\nhistory:');
    out.say(
      table(
        d.history.map((h) => ({
          revision: h.revision,
          updated: h.updated.replace(/\.\d+.*$/, ''),
          status: h.status,
          chart: h.chart,
          description: h.description,
        })),
        ['revision', 'updated', 'status', 'chart', 'description'],
      ),
    );
  }
}
