// self-heal's settings (TODO_SELF_HEAL_*): its guard rails. Kept apart from
// heal-run.ts so the entry file's --help never loads the Kubernetes client.
import { defineSettings, durationSeconds, int, setting } from '../../scripts/lib/kit/settings.ts';
import type { HealLimits } from './plan.ts';

export const healSettings = defineSettings({
  TODO_SELF_HEAL_GRACE: setting(durationSeconds, 300, 'a pod not Ready for longer than this is a problem (crash loops count at once)'),
  TODO_SELF_HEAL_TERMINATING: setting(durationSeconds, 120, 'a pod still Terminating this long after its grace period is force-deleted'),
  TODO_SELF_HEAL_MAX_ACTIONS: setting(int(0, 1000), 5, 'at most this many actions per window, all workloads together (0: report only)'),
  TODO_SELF_HEAL_MAX_PER_WORKLOAD: setting(int(1, 20), 3, 'at most this many remediation steps per workload per window, then give up and alert'),
  TODO_SELF_HEAL_WINDOW: setting(durationSeconds, 3600, 'the window the budgets count in'),
  TODO_SELF_HEAL_COOLDOWN: setting(durationSeconds, 120, 'after acting on a workload, wait this long before acting on it again'),
  TODO_SELF_HEAL_KEEP_DAYS: setting(int(1, 3650), 30, 'days of audit history kept'),
});

export function healLimits(cfg: Record<string, unknown>): HealLimits {
  return {
    graceSec: cfg.TODO_SELF_HEAL_GRACE as number,
    terminatingSec: cfg.TODO_SELF_HEAL_TERMINATING as number,
    maxActions: cfg.TODO_SELF_HEAL_MAX_ACTIONS as number,
    maxPerWorkload: cfg.TODO_SELF_HEAL_MAX_PER_WORKLOAD as number,
    windowSec: cfg.TODO_SELF_HEAL_WINDOW as number,
    cooldownSec: cfg.TODO_SELF_HEAL_COOLDOWN as number,
  };
}
