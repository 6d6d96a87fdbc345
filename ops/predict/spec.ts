// predict's options and settings, apart from its run module: the entry file
// and config's key check read them without loading the Kubernetes client.
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { defineSettings, durationSeconds, int, setting } from '../../scripts/lib/kit/settings.ts';

export const options = {
  report: {
    type: 'string',
    arg: 'FILE.html',
    help: 'also write a self-contained HTML report with a chart per forecast',
  },
  'no-sample': { type: 'boolean', help: 'forecast from the recorded samples only (no cluster call)' },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({
  TODO_PREDICT_MIN_SAMPLES: setting(int(2, 10_000), 6, 'fewer samples than this: "not enough data"'),
  TODO_PREDICT_MIN_SPAN: setting(durationSeconds, 1800, 'samples spanning less than this: "not enough data"'),
  TODO_PREDICT_MIN_R2_PCT: setting(int(0, 100), 80, 'R² (in %) below which a slope is not called a trend'),
  TODO_PREDICT_WINDOW: setting(durationSeconds, 86_400, 'fit the samples of this recent window'),
  TODO_PREDICT_WARN_WITHIN: setting(durationSeconds, 3 * 86_400, 'a limit predicted within this warns'),
  TODO_PREDICT_FAIL_WITHIN: setting(durationSeconds, 6 * 3600, 'a limit predicted within this fails (exit 1)'),
  TODO_PREDICT_RESTARTS_WARN: setting(int(1, 1000), 1, 'restarts per hour that warn'),
  TODO_PREDICT_RESTARTS_FAIL: setting(int(1, 1000), 6, 'restarts per hour that fail (exit 1)'),
  TODO_PREDICT_SAMPLES_BYTES: setting(
    int(10_000, 1_000_000_000),
    4_000_000,
    'keep the samples stream under this many bytes (oldest dropped)',
  ),
  TODO_PREDICT_KEEP: setting(durationSeconds, 14 * 86_400, 'drop samples older than this'),
});

export type PredictContext = Context<typeof options, typeof settings>;
