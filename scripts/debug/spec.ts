// debug's options and settings, apart from its run module: the entry file
// reads them for --help without loading the Kubernetes client.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { defineSettings } from '../lib/kit/settings.ts';

export const options = {
  since: { type: 'duration', default: '1h', help: 'consider warning events (probe failures, scheduling) this recent' },
  bundle: { type: 'string', arg: 'FILE', help: 'also write a support archive (tar.gz, secrets redacted) to FILE' },
  logs: { type: 'int', min: 0, max: 100, default: 10, help: 'read the logs of at most N failing containers' },
  lines: { type: 'int', min: 1, max: 1000, default: 20, help: 'last log lines kept per failing container' },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type DebugContext = Context<typeof options, typeof settings>;
