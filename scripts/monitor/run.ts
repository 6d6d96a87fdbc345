// monitor: one snapshot of the release (one List per kind, one metrics call),
// judged by health.ts, optionally the app's own answer (--probe); or --watch,
// which keeps informers open and redraws on every change until Ctrl-C.
import { Exit, usageError, type ExitCode } from '../lib/kit/errors.ts';
import { Scanner } from '../lib/kube/scan.ts';
import { assessRelease, type Health, type HealthState } from './health.ts';
import type { MonitorContext } from './spec.ts';
import { healthLine, healthSummary, renderHealth } from './view.ts';

const exitFor: Record<HealthState, ExitCode> = { healthy: Exit.ok, degraded: Exit.problem, down: Exit.down };

function record(ctx: MonitorContext, h: Health): ExitCode {
  for (const f of h.findings) ctx.result.finding(f);
  const { findings: _f, ...view } = h;
  ctx.result.data = { ...view };
  return exitFor[h.state];
}

async function requireNamespace(ctx: MonitorContext): Promise<void> {
  const kube = await ctx.kube();
  if (!(await kube.read('v1', 'Namespace', ctx.namespace)))
    throw usageError(
      `namespace "${ctx.namespace}" does not exist`,
      `kubectl --context ${kube.contextName} get namespaces`,
    );
}

async function watch(ctx: MonitorContext): Promise<ExitCode> {
  const { watchRelease } = await import('./watch.ts');
  const tty = Boolean(process.stdout.isTTY) && !process.env.CI;
  let last = '';
  let code: ExitCode = Exit.ok;
  const w = await watchRelease(
    await ctx.kube(),
    ctx.namespace,
    ctx.release,
    (snap) => {
      const h = assessRelease(snap, { sinceSec: ctx.opts.since });
      code = exitFor[h.state];
      if (tty)
        process.stdout.write(
          `\x1b[2J\x1b[H${renderHealth(h, { release: ctx.release, namespace: ctx.namespace, sinceSec: ctx.opts.since })}\n`,
        );
      else {
        // A log gets a line only when the state or its problems change, not on every redraw.
        const summary = healthSummary(h);
        if (summary !== last) ctx.out.say(healthLine(h));
        last = summary;
      }
    },
    { onError: (e) => ctx.out.debug(`watch: ${String(e)}`) },
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await w.stop();
  return code;
}

export async function runMonitor(ctx: MonitorContext): Promise<ExitCode> {
  if (ctx.opts.watch && ctx.json) throw usageError('--watch draws a live view: use it without --output json');
  if (ctx.opts.watch && ctx.opts.probe) throw usageError('--probe is a one-off check: use it without --watch');
  // --ai is the kit's flag, not one of monitor's options: present only when given.
  if (ctx.opts.watch && ctx.aiRequest) throw usageError('--ai is a one-off request: use it without --watch');
  await requireNamespace(ctx);
  if (ctx.opts.watch) return watch(ctx);
  const scanner = new Scanner(await ctx.kube());
  const snap = await scanner.snapshot(ctx.namespace, ctx.release);
  const h = assessRelease(snap, { sinceSec: ctx.opts.since });
  if (ctx.opts.probe) {
    const { probeApp, probeFinding, probeTargets } = await import('../lib/app/probe.ts');
    const answers = await probeApp(await ctx.kube(), ctx.namespace, probeTargets(snap.services, ctx.release));
    const probes = answers.map((a) => probeFinding(a.target, a.outcome, ctx.namespace));
    h.findings.push(...probes);
    // The app's own answer: a failing probe degrades a release that looked healthy.
    if (probes.some((f) => f.level === 'fail') && h.state === 'healthy') h.state = 'degraded';
  }
  const code = record(ctx, h);
  ctx.result.data.requests = scanner.requests + 1; // + the namespace check (probes: see their findings)
  return code;
}
