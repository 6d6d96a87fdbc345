// scale's options and settings, apart from its run module (--help stays fast).
// The settings live with the release code: config and perf read them too.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { scaleSettings } from '../lib/release/settings.ts';

export const options = {
  force: { type: 'boolean', help: "go below the PodDisruptionBudget's minAvailable" },
  max: {
    type: 'int',
    min: 1,
    max: 100,
    arg: 'N',
    help: 'with an HPA: its maxReplicas (default: max(N, the current max))',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = scaleSettings;

export type ScaleContext = Context<typeof options, typeof settings>;
