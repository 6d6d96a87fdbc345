// doctor's options and settings: none of its own (its checks read the shared
// ones); declared so its context is typed.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { defineSettings } from '../lib/kit/settings.ts';

export const options = {} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type DoctorContext = Context<typeof options, typeof settings>;
