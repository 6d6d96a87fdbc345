#!/usr/bin/env -S npx zx
// K3: the release's health at a glance. One List per kind and one metrics call
// (lib/scan.ts), judged by lib/health.ts; --watch keeps informers open and
// redraws on every change.
import { main, type Context } from './lib/kit/cli.ts';
import { Exit, usageError, type ExitCode } from './lib/kit/errors.ts';
import { assessRelease, type Health, type State } from './monitor/health.ts';
import { healthLine, renderHealth } from './monitor/view.ts';
import { Scanner } from './lib/kube/scan.ts';

const options = {
  since: { type: 'duration', default: '10m', help: 'show warning events this recent' },
  watch: { type: 'boolean', short: 'w', help: 'keep watching; redraw on every change (Ctrl-C ends)' },
  probe: { type: 'boolean', help: "also ask the app: backend /readyz and frontend /api/health through a port-forward to each Service" },
} as const;

const exitFor: Record<State, ExitCode> = { healthy: Exit.ok, degraded: Exit.problem, down: Exit.down };

function record(ctx: Context<typeof options>, h: Health): ExitCode {
  for (const f of h.findings) ctx.result.finding(f);
  const { findings: _f, ...view } = h;
  ctx.result.data = { ...view };
  return exitFor[h.state];
}

async function requireNamespace(ctx: Context<typeof options>): Promise<void> {
  const kube = await ctx.kube();
  if (!(await kube.read('v1', 'Namespace', ctx.namespace))) throw usageError(`namespace "${ctx.namespace}" does not exist`, `kubectl --context ${kube.contextName} get namespaces`);
}

async function watch(ctx: Context<typeof options>): Promise<ExitCode> {
  const { watchRelease } = await import('./monitor/watch.ts');
  const tty = Boolean(process.stdout.isTTY) && !process.env.CI;
  let last = '';
  let code: ExitCode = Exit.ok;
  const w = await watchRelease(await ctx.kube(), ctx.namespace, ctx.release, (snap) => {
    const h = assessRelease(snap, { sinceSec: ctx.opts.since });
    code = exitFor[h.state];
    if (tty) process.stdout.write(`\x1b[2J\x1b[H${renderHealth(h, { release: ctx.release, namespace: ctx.namespace, sinceSec: ctx.opts.since })}\n`);
    else {
      const line = healthLine(h);
      if (line.slice(25) !== last) ctx.out.say(line); // only when the state or its problems change
      last = line.slice(25);
    }
  }, { onError: (e) => ctx.out.debug(`watch: ${String(e)}`) });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await w.stop();
  return code;
}

await main({
  name: 'monitor',
  summary: "one view of the release's health: workloads, pods, usage, Services, HPAs, volumes, warnings",
  description: `Read-only. Exit codes: 0 healthy, 1 degraded (fewer ready replicas than desired, failing pods,
a Service without ready endpoints, a volume not bound), 6 down (a workload with no ready replica,
or no workload at all). Makes one List per kind and one metrics call, however many pods.
--probe also asks the app through a port-forward to each Service (backend /readyz, frontend
/api/health): an answer other than 2xx is a failed finding and makes a healthy release degraded.`,
  touches: 'reads',
  options,
  ai: {},
  examples: ['npx zx scripts/monitor.ts', 'npx zx scripts/monitor.ts --ai "analyze the cluster health"', 'npx zx scripts/monitor.ts --probe', 'npx zx scripts/monitor.ts --watch', 'npx zx scripts/monitor.ts -o json --since 1h'],
  async run(ctx) {
    if (ctx.opts.watch && ctx.json) throw usageError('--watch draws a live view: use it without --output json');
    if (ctx.opts.watch && ctx.opts.probe) throw usageError('--probe is a one-off check: use it without --watch');
    if (ctx.opts.watch && (ctx.opts as { ai?: string }).ai) throw usageError('--ai is a one-off request: use it without --watch');
    await requireNamespace(ctx);
    if (ctx.opts.watch) return watch(ctx);
    const scanner = new Scanner(await ctx.kube());
    const snap = await scanner.snapshot(ctx.namespace, ctx.release);
    const h = assessRelease(snap, { sinceSec: ctx.opts.since });
    if (ctx.opts.probe) {
      const { probeApp, probeFinding, probeTargets } = await import('./lib/app/probe.ts');
      const answers = await probeApp(await ctx.kube(), ctx.namespace, probeTargets(snap.services, ctx.release));
      const probes = answers.map((a) => probeFinding(a.target, a.outcome, ctx.namespace));
      h.findings.push(...probes);
      // The app's own answer: a failing probe degrades a release that looked healthy.
      if (probes.some((f) => f.level === 'fail') && h.state === 'healthy') h.state = 'degraded';
    }
    const code = record(ctx, h);
    ctx.result.data.requests = scanner.requests + 1; // + the namespace check (probes: see their findings)
    return code;
  },
  render(result, ctx) {
    if (ctx.opts.watch) return;
    ctx.out.say(renderHealth({ ...(result.data as unknown as Health), findings: result.findings }, { release: ctx.release, namespace: ctx.namespace, sinceSec: ctx.opts.since }));
  },
});
