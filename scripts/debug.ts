#!/usr/bin/env -S npx zx
// K4: what is wrong in the namespace and what to run next. One List per kind
// (lib/diagnose/collect.ts), the logs of failing containers only (bounded), and
// a pure diagnosis (lib/diagnose/diagnose.ts); --bundle writes a redacted
// support archive (debug/bundle.ts).
import { main } from './lib/main.ts';
import { options, settings } from './debug/spec.ts';
import { renderDebug } from './debug/view.ts';

await main({
  name: 'debug',
  summary: 'find what is wrong in the namespace and say what to run next',
  description: `Read-only. Looks at every pod, workload, Service, Ingress, HPA and volume claim of the
namespace (one List per kind) and reports one finding per problem, with its evidence and the next
command: unschedulable pods, image pull errors, crash loops and failed containers (exit code,
last termination reason and the previous container's last log lines), OOMKilled, failing probes,
missing ConfigMaps/Secrets/keys, failed pods with restartPolicy Never (Jobs, hooks), Services
selecting no pod, Ingresses to a missing Service or port, HPAs without metrics, pending volume
claims, stuck rollouts. Logs are read only for failing containers, at most --logs of them.
NAME narrows to every pod, deployment, statefulset, job, service, HPA and volume claim of that
name and what relates to each, and reports on each of them; kind/NAME (svc/NAME, deploy/NAME,
pvc/NAME...) narrows to that kind.
Exit codes: 0 nothing wrong, 1 a problem was found, 2 unknown NAME or bad flag, 3 API unreachable.`,
  touches: 'reads',
  positionals: '[NAME | kind/NAME]',
  options,
  settings,
  // kubectl-ai gets debug's findings (evidence and log tails included) on stdin.
  ai: {},
  examples: [
    'npx zx scripts/debug.ts',
    'npx zx scripts/debug.ts --ai "check why the pods are failing"',
    'npx zx scripts/debug.ts todo-chatbot-backend',
    'npx zx scripts/debug.ts svc/todo-chatbot-frontend',
    'npx zx scripts/debug.ts --bundle /tmp/todo-support.tar.gz',
    'npx zx scripts/debug.ts -o json --since 15m',
  ],
  run: async (ctx) => (await import('./debug/run.ts')).runDebug(ctx),
  render: renderDebug,
});
