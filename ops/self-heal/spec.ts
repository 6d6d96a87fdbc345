// self-heal's options and settings (TODO_SELF_HEAL_*): its guard rails. Kept
// apart from run.ts so the entry file's --help never loads the Kubernetes client.
import type { Context, OptionSpec } from '../../scripts/lib/kit/cli.ts';
import type { Config } from '../../scripts/lib/kit/env.ts';
import { defineSettings, durationSeconds, int, setting } from '../../scripts/lib/kit/settings.ts';
import type { HealLimits } from './plan.ts';

export const options = {
  watch: {
    type: 'boolean',
    short: 'w',
    help: 'keep running: act within seconds of a change (watches), until SIGTERM or --for',
  },
  for: { type: 'duration', help: 'with --watch: stop after this long' },
  agent: {
    type: 'boolean',
    help: 'also hand what it could not fix to the kagent Agent TODO_KAGENT_HEAL_AGENT (kagent invoke)',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({
  TODO_SELF_HEAL_GRACE: setting(
    durationSeconds,
    300,
    'a pod not Ready for longer than this is a problem (crash loops count at once)',
  ),
  TODO_SELF_HEAL_TERMINATING: setting(
    durationSeconds,
    120,
    'a pod still Terminating this long after its grace period is force-deleted',
  ),
  TODO_SELF_HEAL_MAX_ACTIONS: setting(
    int(0, 1000),
    5,
    'at most this many actions per window, all workloads together (0: report only)',
  ),
  TODO_SELF_HEAL_MAX_PER_WORKLOAD: setting(
    int(1, 20),
    3,
    'at most this many remediation steps per workload per window, then give up and alert',
  ),
  TODO_SELF_HEAL_WINDOW: setting(durationSeconds, 3600, 'the window the budgets count in'),
  TODO_SELF_HEAL_COOLDOWN: setting(
    durationSeconds,
    120,
    'after acting on a workload, wait this long before acting on it again',
  ),
  TODO_SELF_HEAL_KEEP_DAYS: setting(int(1, 3650), 30, 'days of audit history kept'),
});

export type SelfHealContext = Context<typeof options, typeof settings>;

export function healLimits(cfg: Config<typeof settings>): HealLimits {
  return {
    graceSec: cfg.TODO_SELF_HEAL_GRACE,
    terminatingSec: cfg.TODO_SELF_HEAL_TERMINATING,
    maxActions: cfg.TODO_SELF_HEAL_MAX_ACTIONS,
    maxPerWorkload: cfg.TODO_SELF_HEAL_MAX_PER_WORKLOAD,
    windowSec: cfg.TODO_SELF_HEAL_WINDOW,
    cooldownSec: cfg.TODO_SELF_HEAL_COOLDOWN,
  };
}
