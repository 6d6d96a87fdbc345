#!/usr/bin/env -S npx zx
// Deploys the release: the app Secret from the env files (through the API, never
// on a command line), then `helm upgrade --install` with the profile's values,
// only when the rendered manifest, the values or the Secret differ from the
// deployed ones. Waits for the rollout, says why it failed, rolls back.
import { main } from './lib/main.ts';
import { options, settings } from './deploy/spec.ts';
import { renderDeploy } from './deploy/view.ts';

await main({
  name: 'deploy',
  summary: 'install or upgrade the release; nothing when nothing changed',
  description: `Secrets (BETTER_AUTH_SECRET, DEMO_PASSWORD, OPENAI_API_KEY, DATABASE_URL) go from the env files into
the Secret <release>-app-secrets by the API; a missing BETTER_AUTH_SECRET or DEMO_PASSWORD is generated
into the profile's env file (one removed from the live Secret is put back). Replica values set by scale
are kept (--reset-scale drops them). Live objects that drifted from the deployed revision (a field the
chart sets, changed by hand) are repaired by an upgrade. --dry-run prints the diff and the drift. Exit 4 when the rollout fails (after the
rollback to the previous revision, unless --no-rollback). Exit 2, nothing changed, when the live PostgreSQL
StatefulSet runs another major than the one this deploy would run on its volume; the hint is the way
out (backup, a fresh volume for the new major, restore --data-only).`,
  touches: 'changes',
  lock: 'release',
  options,
  settings,
  // After the deploy: kubectl-ai gets its result (findings and actions) as context.
  ai: {},
  examples: [
    'npx zx scripts/deploy.ts --ai "deploy the todo frontend with 2 replicas" --yes',
    'npx zx scripts/deploy.ts',
    'npx zx scripts/deploy.ts --images build.json --dry-run',
    'npx zx scripts/deploy.ts --image backend=todo-chatbot-backend:3f2a1bc -f my-values.yaml',
  ],
  // Loaded on run: --help and usage errors never load the Kubernetes client.
  run: async (ctx) => (await import('./deploy/run.ts')).runDeploy(ctx),
  render: renderDeploy,
});
