// agents' options and settings: the wait after apply is its own; the
// TODO_KAGENT_* settings are shared (scripts/lib/ai/kagent/settings.ts).
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { defineSettings } from '../../scripts/lib/kit/settings.ts';

export const options = {
  wait: {
    type: 'duration',
    default: '3m',
    help: 'apply: how long to wait for every Agent to be Accepted and Ready with its pod on a node that runs containers (0: do not wait)',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type AgentsContext = Context<typeof options, typeof settings>;
