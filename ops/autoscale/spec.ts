// autoscale's options and settings, apart from its run module (--help stays fast).
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { defineSettings, durationSeconds, int, setting } from '../../scripts/lib/kit/settings.ts';

export const options = {
  components: {
    type: 'list',
    arg: 'frontend,backend',
    choices: ['frontend', 'backend'],
    default: ['frontend', 'backend'],
    help: 'which components',
  },
  apply: { type: 'boolean', help: 'set the recommendations in the release values (helm upgrade)' },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({
  TODO_AUTOSCALE_WINDOW: setting(durationSeconds, 7 * 86_400, 'recommend from the samples of this recent window'),
  TODO_AUTOSCALE_MIN_SAMPLES: setting(
    int(2, 100_000),
    12,
    'fewer samples than this: "not enough data", nothing recommended',
  ),
  TODO_AUTOSCALE_MIN_SPAN: setting(durationSeconds, 86_400, 'samples spanning less than this: "not enough data"'),
  TODO_AUTOSCALE_METRICS_GRACE: setting(
    durationSeconds,
    90,
    'pods started this recently without metrics are a wait (warn), not a broken HPA (fail)',
  ),
  TODO_AUTOSCALE_MAX_CAP: setting(int(1, 100), 10, 'never recommend more than this maxReplicas'),
});

export type AutoscaleContext = Context<typeof options, typeof settings>;
