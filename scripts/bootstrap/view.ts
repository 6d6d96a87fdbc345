// bootstrap's text view: the steps with their outcome and time, then either
// the app URL and the next commands, or the failure and how to continue.
import { table } from '../lib/kit/output.ts';
import type { Result } from '../lib/kit/result.ts';
import type { StepRecord } from './run.ts';
import type { BootstrapContext } from './spec.ts';

export function renderBootstrap(r: Result, ctx: BootstrapContext): void {
  const out = ctx.out;
  const d = r.data as {
    target?: string;
    steps?: StepRecord[];
    list?: { name: string; selected: boolean; help: string }[];
    url?: string;
    access?: string[];
    next?: string[];
    changed?: boolean;
    continue?: string;
  };
  if (d.list) {
    out.say(`target ${d.target}; steps (* = this run):`);
    for (const s of d.list) out.say(`  ${s.selected ? '*' : ' '} ${s.name.padEnd(8)} ${s.help}`);
    return;
  }
  const steps = d.steps ?? [];
  if (ctx.dryRun) {
    out.say('dry run: nothing was changed; the chain would run:');
    for (const s of steps) out.say(`  ${s.name.padEnd(8)} ${s.detail}`);
    return;
  }
  out.say('');
  out.say(
    table(
      steps.map((s) => ({
        step: s.name,
        status: s.status,
        seconds: s.status === 'skipped' && !s.durationMs ? '' : (s.durationMs / 1000).toFixed(1),
      })),
      ['step', 'status', 'seconds'],
    ),
  );
  const failed = r.findings.filter((f) => f.level === 'fail');
  for (const f of r.findings.filter((x) => x.level !== 'ok' && !x.name.startsWith('step ')))
    out.say(`${f.level}: ${f.name}: ${f.detail}${f.hint ? `\n    hint: ${f.hint}` : ''}`);
  if (d.continue) {
    const step = failed.find((f) => f.name.startsWith('step '));
    out.say(`\nbootstrap stopped at ${step?.name}: ${step?.detail}`);
    if (step?.evidence?.hint) out.say(`hint: ${String(step.evidence.hint)}`);
    out.say(`continue with: ${d.continue}`);
    return;
  }
  if (d.changed === false) out.say('\nnothing changed: the install was already up to date, and it is verified');
  if (d.url) {
    out.say(`\nthe app: ${d.url}`);
    for (const a of d.access ?? []) out.say(`  ${a}`);
  }
  if (d.next?.length) {
    out.say('\nnext:');
    for (const n of d.next) out.say(`  ${n}`);
  }
}
