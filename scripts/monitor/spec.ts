// monitor's options and settings, apart from its run module: the entry file
// reads them for --help without loading the Kubernetes client.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { defineSettings } from '../lib/kit/settings.ts';

export const options = {
  since: { type: 'duration', default: '10m', help: 'show warning events this recent' },
  watch: { type: 'boolean', short: 'w', help: 'keep watching; redraw on every change (Ctrl-C ends)' },
  probe: {
    type: 'boolean',
    help: 'also ask the app: backend /readyz and frontend /api/ready through a port-forward to each Service',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type MonitorContext = Context<typeof options, typeof settings>;
