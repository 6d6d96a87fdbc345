// cron's options and settings, apart from its run module (--help stays fast).
// The settings (the schedules) are declared with the job table they feed.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { cronSettings } from './table.ts';

export const options = {
  user: { type: 'string', arg: 'NAME', help: 'the crontab of this user (needs root; default: yours)' },
} as const satisfies Record<string, OptionSpec>;

export const settings = cronSettings;

export type CronContext = Context<typeof options, typeof settings>;
