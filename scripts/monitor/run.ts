// monitor: one snapshot of the release (one List per kind, one metrics call),
// judged by health.ts, optionally the app's own answer (--probe); or --watch,
// which keeps informers open and redraws on every change until Ctrl-C, and
// says "cluster unreachable since ..." within seconds of losing the API server
// (exit 3 after TODO_WATCH_UNREACHABLE, or on Ctrl-C during the outage).
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

/** Until SIGINT or SIGTERM. */
const signalled = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });

async function watch(ctx: MonitorContext): Promise<ExitCode> {
  const { watchRelease } = await import('./watch.ts');
  const { guardReachability, outageError, reachableLine, unreachableLine } =
    await import('../lib/kube/reachability.ts');
  // Listened for from the start: a Ctrl-C while the first snapshot is still being read must not kill the run with no exit code.
  const stopRequested = signalled();
  const kube = await ctx.kube();
  const tty = Boolean(process.stdout.isTTY) && !process.env.CI;
  const limitSec = ctx.cfg.TODO_WATCH_UNREACHABLE;
  let last = '';
  let code: ExitCode = Exit.ok;
  const draw = (screen: string) => process.stdout.write(`\x1b[2J\x1b[H${screen}\n`);
  let w: Awaited<ReturnType<typeof watchRelease>> | undefined;
  // The API server is probed apart from the watches: a dead one must replace the view at once, never leave it standing.
  const guard = guardReachability(kube, {
    limitSec,
    onChange: (t) => {
      last = '';
      if (t.to === 'unreachable') {
        const line = unreachableLine(t.outage, limitSec);
        if (tty) draw(`release ${ctx.release} in ${ctx.namespace}: UNREACHABLE\n\n${line}`);
        else ctx.out.say(`${new Date().toISOString()} unreachable: ${line}`);
      } else {
        ctx.out.say(`${tty ? '' : `${t.at.toISOString()} `}${reachableLine(t)}`);
        w?.refresh();
      }
    },
  });
  try {
    // Its first snapshot may wait on a server that just hung: Ctrl-C and the outage's bound count from the start.
    const setup = watchRelease(
      kube,
      ctx.namespace,
      ctx.release,
      (snap) => {
        if (guard.state.outage) return; // the caches hold what the cluster was, not what it is
        const h = assessRelease(snap, { sinceSec: ctx.opts.since });
        code = exitFor[h.state];
        if (tty) draw(renderHealth(h, { release: ctx.release, namespace: ctx.namespace, sinceSec: ctx.opts.since }));
        else {
          // A log gets a line only when the state or its problems change, not on every redraw.
          const summary = healthSummary(h);
          if (summary !== last) ctx.out.say(healthLine(h));
          last = summary;
        }
      },
      {
        onError: (e) => {
          guard.report(e);
          ctx.out.debug(`watch: ${String(e)}`);
        },
      },
    ).then((x) => {
      w = x;
      return new Promise<never>(() => undefined); // runs until stopped or given up
    });
    const ended = await Promise.race([stopRequested, guard.expired, setup]);
    if (ended) throw ended;
    const outage = guard.state.outage;
    if (outage) throw outageError(outage, 'stopped', kube);
    return code;
  } finally {
    guard.stop();
    await w?.stop();
  }
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
