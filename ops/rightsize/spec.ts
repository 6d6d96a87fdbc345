// rightsize's options and settings, apart from its run module (--help stays fast).
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { defineSettings, durationSeconds, int, setting } from '../../scripts/lib/kit/settings.ts';

export const options = {
  write: { type: 'string', arg: 'FILE.yaml', help: 'write the recommended values as a values overlay for the chart' },
  apply: { type: 'boolean', help: 'upgrade the release with the recommendations' },
  report: { type: 'string', arg: 'FILE.html', help: 'write the table as a self-contained HTML page' },
  'hpa-resources': { type: 'boolean', help: 'also change the requests an HPA scales on' },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({
  TODO_RIGHTSIZE_WINDOW: setting(durationSeconds, 7 * 86_400, 'recommend from the samples of this recent window'),
  TODO_RIGHTSIZE_MIN_SAMPLES: setting(int(2, 100_000), 12, 'fewer samples of a container than this: "not enough data"'),
  TODO_RIGHTSIZE_MIN_SPAN: setting(
    durationSeconds,
    86_400,
    'samples spanning less than this: "not enough data" (a day sees the daily peak)',
  ),
  TODO_RIGHTSIZE_MEMORY_HEADROOM_PCT: setting(int(0, 500), 15, 'memory request = peak + this %'),
  TODO_RIGHTSIZE_LIMIT_HEADROOM_PCT: setting(int(0, 1000), 50, 'memory limit = peak + this %'),
  TODO_RIGHTSIZE_MIN_CHANGE_PCT: setting(int(0, 100), 20, 'smaller changes are kept as they are (not worth a rollout)'),
  TODO_RIGHTSIZE_SETTLE: setting(
    durationSeconds,
    5,
    "after --apply's rollout, seconds to watch the changed pods for a crash (0: off)",
  ),
});

export type RightsizeContext = Context<typeof options, typeof settings>;
