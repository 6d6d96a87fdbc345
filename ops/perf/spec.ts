// perf's options and settings, apart from its run module (--help stays fast).
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { defineSettings, int, setting, type Parser } from '../../scripts/lib/kit/settings.ts';
import { scaleSettings } from '../../scripts/lib/release/settings.ts';
import { endpointNames } from './plan.ts';

const fraction: Parser<number> = (v, key) => {
  const n = Number(v.trim().replace(/%$/, '')) / (v.trim().endsWith('%') ? 100 : 1);
  if (!/^\d+(\.\d+)?%?$/.test(v.trim()) || !(n >= 0 && n <= 1))
    throw new Error(`${key} must be a fraction (0.01) or a percentage (1%), got "${v}"`);
  return n;
};

export const options = {
  endpoints: {
    type: 'list',
    choices: endpointNames,
    default: endpointNames,
    arg: 'NAMES',
    help: `which endpoints, in this order: ${endpointNames.join(',')}`,
  },
  // autocannon reads a duration of 0 as "no time bound": a zero would load until the request cap.
  duration: { type: 'duration', min: 1, default: '10s', arg: 'TIME', help: 'at most this long per endpoint' },
  requests: {
    type: 'int',
    min: 1,
    max: 1_000_000,
    default: 2000,
    arg: 'N',
    help: 'at most this many requests per endpoint',
  },
  connections: { type: 'int', min: 1, max: 500, default: 10, arg: 'N', help: 'concurrent connections' },
} as const satisfies Record<string, OptionSpec>;

/**
 * The SLOs and the load's bounds: the profile's, so staging and production can
 * differ. TODO_SCALE_MAX bounds the replicas a suggestion may name.
 */
export const settings = defineSettings({
  TODO_PERF_SLO_P95_MS: setting(int(1, 600_000), 500, "each endpoint's p95 latency objective, ms"),
  TODO_PERF_SLO_P99_MS: setting(int(1, 600_000), 1500, "each endpoint's p99 latency objective, ms"),
  TODO_PERF_SLO_ERRORS: setting(
    fraction,
    0.01,
    'the error-rate objective (connection errors and non-2xx answers): 0.01 or 1%',
  ),
  TODO_PERF_MAX_REQUESTS: setting(
    int(1, 1_000_000),
    100_000,
    'the most requests any run may send per endpoint (caps --requests)',
  ),
  ...scaleSettings,
});

export type PerfContext = Context<typeof options, typeof settings>;
