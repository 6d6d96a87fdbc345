// config's options and settings: none of its own (it reads and writes the
// others' keys); declared so its context is typed.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { defineSettings } from '../lib/kit/settings.ts';

export const options = {} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type ConfigContext = Context<typeof options, typeof settings>;
