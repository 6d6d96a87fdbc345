#!/usr/bin/env -S npx zx
// K3: the release's health at a glance. One List per kind and one metrics call
// (lib/kube/scan.ts), judged by monitor/health.ts; --watch keeps informers open
// and redraws on every change.
import { main } from './lib/main.ts';
import { options, settings } from './monitor/spec.ts';
import { renderMonitor } from './monitor/view.ts';

await main({
  name: 'monitor',
  summary: "one view of the release's health: workloads, pods, usage, Services, HPAs, volumes, warnings",
  description: `Read-only. Exit codes: 0 healthy, 1 degraded (fewer ready replicas than desired, failing pods,
a Service without ready endpoints, a volume not bound), 6 down (a workload with no ready replica,
or no workload at all). Makes one List per kind and one metrics call, however many pods.
--probe also asks the app through a port-forward to each Service (backend /readyz, frontend
/api/ready): an answer other than 2xx is a failed finding and makes a healthy release degraded.`,
  touches: 'reads',
  options,
  settings,
  ai: {},
  examples: [
    'npx zx scripts/monitor.ts',
    'npx zx scripts/monitor.ts --ai "analyze the cluster health"',
    'npx zx scripts/monitor.ts --probe',
    'npx zx scripts/monitor.ts --watch',
    'npx zx scripts/monitor.ts -o json --since 1h',
  ],
  run: async (ctx) => (await import('./monitor/run.ts')).runMonitor(ctx),
  render: renderMonitor,
});
