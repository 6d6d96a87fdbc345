#!/usr/bin/env -S npx zx
// A2: autoscaling. Checks that the release's HPAs exist and get metrics (and
// says why not), recommends min/max replicas, target utilisation and
// scale-down stabilisation from the samples ops/predict.ts records, each with
// its reason, and with --apply sets them through the chart's values.
import { main } from '../scripts/lib/main.ts';
import { options, settings } from './autoscale/spec.ts';
import { renderAutoscale } from './autoscale/view.ts';

await main({
  name: 'autoscale',
  summary: "check the release's HPAs get metrics; recommend and set min/max, target and scale-down window",
  description: `Checks: an HPA per autoscaled component, the metrics API served, CPU requests set, every pod
reporting usage, and a replica count the HPA did not choose (a manual scale it will undo).
Recommendations come from the samples ops/predict.ts records (TODO_AUTOSCALE_WINDOW).
--apply sets <component>.autoscaling.* in the release values through helm (enabling it creates the HPA);
min/max are listed under global.todoOpsScaled like scale's, so the next deploy keeps them.
Exit codes: 0 fine, 1 an HPA missing or getting no metrics, 4 the upgrade failed.`,
  touches: 'changes',
  lock: 'release',
  options,
  settings,
  examples: [
    'npx zx ops/autoscale.ts',
    'npx zx ops/autoscale.ts --apply --components backend --dry-run',
    'npx zx ops/autoscale.ts -o json',
  ],
  run: async (ctx) => (await import('./autoscale/run.ts')).runAutoscale(ctx),
  render: renderAutoscale,
});
