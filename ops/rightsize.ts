#!/usr/bin/env -S npx zx
// A5: right-sizing. Per container, requests and limits from the samples predict
// records, with the reason and a severity, as a diff against today's; a values
// overlay for the chart (--write) and, with --apply, a helm upgrade of the
// release with it (rollout wait, rollback on failure).
import { main } from '../scripts/lib/main.ts';
import { options, settings } from './rightsize/spec.ts';
import { renderRightsize } from './rightsize/view.ts';

await main({
  name: 'rightsize',
  summary: 'recommend CPU/memory requests and limits from recorded usage; write them as values or apply them',
  description: `Reads the samples ops/predict.ts records (TODO_RIGHTSIZE_WINDOW). CPU request: the p95 of use;
memory request: the peak + TODO_RIGHTSIZE_MEMORY_HEADROOM_PCT; memory limit: the peak +
TODO_RIGHTSIZE_LIMIT_HEADROOM_PCT; CPU limits are left alone. A resource an HPA scales on is kept
(and said so) unless --hpa-resources. --apply upgrades the release with the deployed values plus the
overlay (only the resources change), waits for the rollout and rolls back if it fails; the next deploy
returns to the profile's values unless given the overlay (--write FILE, then deploy --values FILE).
Exit codes: 0 fine, 1 memory under-provisioned (peak within 10% of the limit) and not applied,
or no samples yet; 4 the upgrade or its rollout failed (rolled back).`,
  touches: 'changes',
  lock: 'release',
  options,
  settings,
  examples: [
    'npx zx ops/rightsize.ts',
    'npx zx ops/rightsize.ts --write rightsized.yaml',
    'npx zx ops/rightsize.ts --apply --dry-run',
    'npx zx ops/rightsize.ts --apply',
  ],
  run: async (ctx) => (await import('./rightsize/run.ts')).runRightsize(ctx),
  render: renderRightsize,
});
