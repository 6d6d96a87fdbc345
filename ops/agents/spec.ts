// agents' options and settings: none of its own (the TODO_KAGENT_* settings are
// shared, scripts/lib/ai/kagent/settings.ts); declared so its context is typed.
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { defineSettings } from '../../scripts/lib/kit/settings.ts';

export const options = {} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type AgentsContext = Context<typeof options, typeof settings>;
