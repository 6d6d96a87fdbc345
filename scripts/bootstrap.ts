#!/usr/bin/env -S npx zx
// The front door: from a clone to a running, verified Todo Chatbot in one
// command. It chains the suite's scripts as child processes (doctor,
// build-images, deploy, verify, ...) and reads their result envelopes; the
// chain and its decisions live in lib/bootstrap-*.ts.
import { main } from './lib/kit/cli.ts';
import { bootstrapSettings } from './bootstrap/spec.ts';
import { steps, targets } from './bootstrap/steps.ts';
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
  options: {
    target: { type: 'enum', choices: targets, help: 'minikube, current (the kube context as it is) or local (the test cluster); default: minikube if installed, else local' },
    from: { type: 'enum', choices: steps, arg: 'STEP', help: 'start at this step (resume after a failure)' },
    only: { type: 'list', arg: 'STEP', help: 'run only these steps' },
    skip: { type: 'list', arg: 'STEP', help: 'leave these steps out' },
    list: { type: 'boolean', help: 'show the steps and which this run would do, then stop' },
    'with-cron': { type: 'boolean', help: 'also install the ops scripts in cron (scripts/cron.ts install)' },
  },
  settings: bootstrapSettings,
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
