// alert's options and settings (TODO_ALERT_*): which rules run, each rule's
// `for`, the repeat and heartbeat intervals and the thresholds, validated when
// the profile loads (a bad rule name or duration is a one-line usage error).
import { ruleNames, type RuleName } from './rules.ts';
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import { usageError } from '../../scripts/lib/kit/errors.ts';
import {
  bool,
  defineSettings,
  duration,
  durationSeconds,
  int,
  setting,
  type Parser,
} from '../../scripts/lib/kit/settings.ts';

const defaultFor: Record<RuleName, number> = {
  'crash-loop': 60,
  'replicas-mismatch': 300,
  'pods-not-ready': 300,
  'restarts-rising': 0,
  readyz: 120,
  'backup-stale': 0,
  forecast: 0,
  'service-endpoints': 120,
  'release-drift': 300,
};

const ruleList: Parser<RuleName[]> = (v, key) => {
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 1 && names[0] === 'all') return [...ruleNames];
  for (const n of names)
    if (!(ruleNames as readonly string[]).includes(n))
      throw new Error(`${key}: unknown rule "${n}" (rules: ${ruleNames.join(', ')})`);
  return names as RuleName[];
};

/** "crash-loop=30s,readyz=5m": each named rule's `for`, over the defaults. */
export const forMap: Parser<Record<RuleName, number>> = (v, key) => {
  const out = { ...defaultFor };
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([a-z-]+)\s*[=:]\s*(\S+)$/.exec(part);
    if (!m) throw new Error(`${key} must be like crash-loop=1m,readyz=2m, got "${part}"`);
    if (!(ruleNames as readonly string[]).includes(m[1]!))
      throw new Error(`${key}: unknown rule "${m[1]}" (rules: ${ruleNames.join(', ')})`);
    out[m[1] as RuleName] = duration(m[2]!, `${key} ${m[1]}`);
  }
  return out;
};

export const options = {
  for: { type: 'duration', help: 'silence: how long (required: every silence ends)' },
  comment: { type: 'string', help: 'silence: why, kept with it' },
  agent: {
    type: 'boolean',
    help: 'also hand newly firing alerts to the kagent Agent TODO_KAGENT_ALERT_AGENT (kagent invoke)',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({
  TODO_ALERT_RULES: setting(
    ruleList,
    [...ruleNames] as RuleName[],
    `rules to evaluate, comma-separated, or all (${ruleNames.join(', ')})`,
  ),
  TODO_ALERT_FOR: setting(
    forMap,
    defaultFor,
    'how long a condition must hold before it fires, per rule: crash-loop=1m,readyz=2m (others keep their default)',
  ),
  TODO_ALERT_REPEAT: setting(durationSeconds, 4 * 3600, 'a firing alert is sent again after this long'),
  TODO_ALERT_HEARTBEAT: setting(
    durationSeconds,
    0,
    'send a heartbeat notification this often, so a silent alerter is noticed (0: off)',
  ),
  TODO_ALERT_RESTARTS: setting(
    int(1, 10_000),
    3,
    'restarts-rising fires when a workload restarts this many times within TODO_ALERT_RESTARTS_WINDOW',
  ),
  TODO_ALERT_RESTARTS_WINDOW: setting(durationSeconds, 900, 'the window restarts-rising counts in'),
  TODO_ALERT_BACKUP_MAX_AGE: setting(
    durationSeconds,
    26 * 3600,
    'backup-stale fires when the last good backup is older than this',
  ),
  TODO_ALERT_STDOUT: setting(bool, true, 'print each notification on stdout too (the webhook is TODO_WEBHOOK_URL)'),
});

export type AlertContext = Context<typeof options, typeof settings>;

/** The command line, checked before any cluster access: a bad command, rule or missing --for is exit 2 with no cluster. */
export function alertArgs(ctx: AlertContext): { cmd?: 'silence' | 'unsilence' | 'status'; match?: string } {
  const [cmd, ...rest] = ctx.positionals;
  if (cmd !== undefined && cmd !== 'silence' && cmd !== 'unsilence' && cmd !== 'status')
    throw usageError(`unknown command "${cmd}": use silence, unsilence or status (or nothing to evaluate the rules)`);
  if (rest.length > 1) throw usageError(`too many arguments: ${rest.join(' ')}`);
  if (cmd !== 'silence' && cmd !== 'unsilence') {
    if (rest.length) throw usageError(`too many arguments: ${rest.join(' ')}`);
    return { cmd };
  }
  const m = rest[0];
  if (!m) throw usageError(`name a rule or an alert key (rule:object) to ${cmd}`, `rules: ${ruleNames.join(', ')}`);
  const rule = m.split(':')[0]!;
  if (!(ruleNames as readonly string[]).includes(rule))
    throw usageError(`unknown rule "${rule}"`, `rules: ${ruleNames.join(', ')}`);
  if (cmd === 'silence' && !ctx.opts.for)
    throw usageError('silence needs --for DURATION (e.g. --for 2h): a silence always ends');
  return { cmd, match: m };
}
