#!/usr/bin/env -S npx zx
// The front door: from a clone to a running, verified Todo Chatbot in one
// command. It chains the suite's scripts as child processes (doctor,
// build-images, deploy, verify, ...) and reads their result envelopes; the
// chain and its decisions live in bootstrap/*.ts.
import { main } from './lib/main.ts';
import { options, settings } from './bootstrap/spec.ts';
import { steps } from './bootstrap/steps.ts';
import { renderBootstrap } from './bootstrap/view.ts';

await main({
  name: 'bootstrap',
  summary: 'one command from nothing to a running, verified Todo Chatbot',
  description: `Steps: ${steps.join(' → ')} (--list describes them; cron only with --with-cron).
Target: --target, else minikube when minikube is installed, else the local test cluster (test/bed: a real
control plane and a real node running the images, started if not running; needs root).
Each step runs the suite's own script with --output json; re-running on a healthy install changes
nothing and says so. A failed step stops the chain with its reason, debug's findings and the command
that continues (--from STEP). Exit: the failed step's code (1 problem, 3 unreachable, 4 action failed).`,
  touches: 'changes',
  options,
  settings,
  examples: [
    'npx zx scripts/bootstrap.ts',
    'npx zx scripts/bootstrap.ts --target local',
    'npx zx scripts/bootstrap.ts --from deploy',
    'npx zx scripts/bootstrap.ts --only verify --output json',
  ],
  // Loaded on run: --help and usage errors never load the Kubernetes client.
  run: async (ctx) => (await import('./bootstrap/run.ts')).runBootstrap(ctx),
  render: renderBootstrap,
});
