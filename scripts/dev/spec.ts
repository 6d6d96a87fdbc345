// dev's options and settings, apart from its run module: the entry file reads
// them for --help. It reads the shared BETTER_AUTH_SECRET and OPENAI_API_KEY,
// none of its own.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { defineSettings } from '../lib/kit/settings.ts';

export const options = {
  'backend-port': { type: 'int', min: 1, max: 65535, default: 8000, arg: 'PORT', help: 'backend port' },
  'frontend-port': { type: 'int', min: 1, max: 65535, default: 3000, arg: 'PORT', help: 'frontend port' },
  data: { type: 'string', arg: 'DIR', help: 'where the SQLite file lives (default backend-docker/data)' },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type DevContext = Context<typeof options, typeof settings>;
