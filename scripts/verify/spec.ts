// verify's options and settings (none of its own), apart from its run module
// (--help stays fast).
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { defineSettings } from '../lib/kit/settings.ts';

export const options = {
  'request-timeout': { type: 'duration', default: '30s', help: 'how long to wait for each answer of the app' },
  'no-chat': { type: 'boolean', help: 'health endpoints only' },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type VerifyContext = Context<typeof options, typeof settings>;
