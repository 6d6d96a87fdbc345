// monitor's text view of a Health: one screen, tables per kind, then findings.
import { chalk } from 'zx';
import { clipAtWord, type Health } from './health.ts';
import { colourLevel, table } from '../lib/kit/output.ts';
import type { Result } from '../lib/kit/result.ts';
import type { MonitorContext } from './spec.ts';

function age(sec: number): string {
  if (sec < 120) return `${sec}s`;
  if (sec < 7200) return `${Math.floor(sec / 60)}m`;
  if (sec < 172_800) return `${Math.floor(sec / 3600)}h`;
  return `${Math.floor(sec / 86_400)}d`;
}

const stateColour = { healthy: chalk.green, degraded: chalk.yellow, down: chalk.red };

export function renderHealth(
  h: Health,
  o: { release: string; namespace: string; sinceSec: number; maxPods?: number },
): string {
  const out: string[] = [`release ${o.release} in ${o.namespace}: ${stateColour[h.state](h.state.toUpperCase())}`, ''];
  const section = (title: string, body: string) => out.push(chalk.bold(title), body, '');
  if (h.workloads.length)
    section(
      'WORKLOADS',
      table(
        h.workloads.map((w) => ({ ...w, name: `${w.kind.toLowerCase()}/${w.name}` })),
        ['name', 'desired', 'ready', 'available', 'updated'],
      ),
    );
  if (h.pods.length) {
    const max = o.maxPods ?? 30;
    const rows = h.pods.slice(0, max).map((p) => ({
      name: p.name,
      ready: p.ready,
      status: p.status,
      restarts: p.restarts,
      node: p.node,
      'last restart': p.lastRestart
        ? `${p.lastRestart.reason} (exit ${p.lastRestart.exitCode ?? '?'})${p.lastRestart.at ? ` ${p.lastRestart.at.slice(11, 19)}` : ''}`
        : '',
      age: age(p.ageSec),
      cpu: p.cpu ?? '',
      memory: p.memory
        ? `${p.memory}${p.memoryOfLimit !== undefined ? ` (${Math.round(p.memoryOfLimit * 100)}%)` : ''}`
        : '',
    }));
    section(
      `PODS (${h.pods.length})`,
      table(rows, ['name', 'ready', 'status', 'restarts', 'last restart', 'age', 'node', 'cpu', 'memory']) +
        (h.pods.length > max ? `\n... and ${h.pods.length - max} more (-o json lists all)` : ''),
    );
  }
  if (h.services.length)
    section(
      'SERVICES',
      table(
        h.services.map((s) => ({ name: s.name, 'ready endpoints': s.ready, 'not ready': s.notReady })),
        ['name', 'ready endpoints', 'not ready'],
      ),
    );
  if (h.hpas.length)
    section(
      'AUTOSCALERS',
      table(
        h.hpas.map((x) => ({ ...x })),
        ['name', 'target', 'replicas', 'metrics'],
      ),
    );
  if (h.pvcs.length) section('VOLUMES', table(h.pvcs, ['name', 'phase', 'capacity']));
  if (h.events.length)
    section(
      `WARNING EVENTS (last ${age(o.sinceSec)})`,
      table(
        h.events.slice(0, 10).map((e) => ({ ...e, at: e.at.slice(11, 19), message: clipAtWord(e.message, 100) })),
        ['at', 'object', 'reason', 'count', 'message'],
      ),
    );
  const probes = h.findings.filter((f) => f.name.startsWith('probe '));
  if (probes.length)
    section(
      'APP (--probe)',
      table(
        probes.map((f) => ({ level: colourLevel(f.level), answer: f.detail })),
        ['level', 'answer'],
      ),
    );
  const problems = h.findings.filter((f) => f.level !== 'ok');
  if (problems.length)
    out.push(
      chalk.bold('FINDINGS'),
      table(
        problems.map((f) => ({ level: colourLevel(f.level), detail: f.detail, next: f.hint ?? '' })),
        ['level', 'detail', 'next'],
      ),
    );
  else out.push('no problems found');
  return out.join('\n');
}

/** The state and what is wrong, without a time: --watch compares these to log only changes. */
export function healthSummary(h: Health): string {
  const problems = h.findings.filter((f) => f.level === 'fail' || f.level === 'warn');
  return `${h.state}${problems.length ? `: ${problems.map((f) => f.detail).join('; ')}` : ''}`;
}

/** One line for a log (cron, --watch off a terminal): when, the state and what is wrong. */
export function healthLine(h: Health, at = new Date()): string {
  return `${at.toISOString()} ${healthSummary(h)}`;
}

/** monitor's text output; --watch has drawn its own. */
export function renderMonitor(result: Result, ctx: MonitorContext): void {
  if (ctx.opts.watch) return;
  ctx.out.say(
    renderHealth(
      { ...(result.data as unknown as Health), findings: result.findings },
      { release: ctx.release, namespace: ctx.namespace, sinceSec: ctx.opts.since },
    ),
  );
}
