#!/usr/bin/env -S npx zx
// Self-healing (A1): finds crash-looping, never-Ready and stuck-Terminating
// pods, failed Jobs and stuck rollouts; acts in escalating steps within a
// budget, or reports and alerts where acting cannot help. Decisions in
// self-heal/plan.ts (pure), the run in self-heal/run.ts.
import { main } from '../scripts/lib/main.ts';
import { options, settings } from './self-heal/spec.ts';

await main({
  name: 'self-heal',
  summary:
    'heal crash loops, never-Ready and stuck pods and stuck rollouts, within a budget; alert where acting cannot help',
  description: `Steps per workload, at most TODO_SELF_HEAL_MAX_PER_WORKLOAD per window: delete the failing pods,
then rollout restart, then give up and alert. A newest helm revision that was never healthy and whose
pods fail is rolled back to the last healthy revision instead. No action for a missing ConfigMap/Secret
key, an image that cannot be pulled, an unschedulable pod, OOMKilled or a node that is not Ready: an
alert says why. Replica counts (an HPA's) are never changed. Every decision goes to the audit stream
self-heal.jsonl in the state directory. Deleting a crash-looping pod is safe unattended: no --yes needed.
Exit 0: nothing wrong, or every problem acted on; 1: a problem left (cannot help, cooldown, gave up, budget spent).`,
  touches: 'changes',
  destructive: true,
  options,
  settings,
  examples: [
    'npx zx ops/self-heal.ts --dry-run',
    'npx zx ops/self-heal.ts -o json   # from cron',
    'npx zx ops/self-heal.ts --watch',
  ],
  run: async (ctx) => (await import('./self-heal/run.ts')).runSelfHeal(ctx),
});
