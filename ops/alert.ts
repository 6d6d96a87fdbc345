#!/usr/bin/env -S npx zx
// Alerting (A6): rules over the namespace's findings and the release's state,
// each with a `for` duration; firing/resolved kept between runs, repeats after
// an interval, silences with expiry, an optional heartbeat. Rules in
// alert/rules.ts, the state machine in alert/state.ts (both pure).
import { main } from '../scripts/lib/main.ts';
import { alertArgs, options, settings } from './alert/spec.ts';

await main({
  name: 'alert',
  summary: 'evaluate the alert rules and notify (webhook and/or stdout); silence, unsilence, status',
  description: `Rules: crash-loop, replicas-mismatch, pods-not-ready, restarts-rising, readyz (backend /readyz),
backup-stale (the backup stream), forecast (ops/predict.ts's forecasts), service-endpoints (a Service
of the release with no ready pod), release-drift (live objects differ from the release); a rule whose input is absent
is inactive (an info finding). A condition fires once it has held for its rule's \`for\`
(TODO_ALERT_FOR), is sent once, again after TODO_ALERT_REPEAT, and a resolved notice follows when it
clears. Webhook: TODO_WEBHOOK_URL (Slack or JSON).
Exit 0: nothing firing; 1: an alert is firing (silenced ones do not count), for status too.`,
  touches: 'reads',
  lock: 'script',
  positionals: '[silence RULE|RULE:OBJECT --for DURATION | unsilence RULE|RULE:OBJECT | status]',
  options,
  settings,
  examples: [
    'npx zx ops/alert.ts',
    'npx zx ops/alert.ts silence crash-loop --for 2h --comment "migrating"',
    'npx zx ops/alert.ts status -o json',
  ],
  check: (ctx) => void alertArgs(ctx),
  run: async (ctx) => (await import('./alert/run.ts')).runAlert(ctx),
});
