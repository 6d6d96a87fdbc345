#!/usr/bin/env -S npx zx
// D3: is the deployed release really working? Its health endpoints through the
// Services, then a real chat round trip: a task created through the chat API,
// read back through the tasks API, with a JWT minted from the release's own
// secret. Read-only for the cluster; the app gets one task, deleted again.
import { main } from './lib/main.ts';
import { options, settings } from './verify/spec.ts';

await main({
  name: 'verify',
  summary: "check the release end to end: health endpoints, then a chat round trip through the app's API",
  description: `Through a port-forward to each Service: backend /readyz, frontend /api/ready; then
POST /api/{user}/chat "add <title>" as a user of verify's own (todo-ops-verify-*), with an HS256 JWT
signed by the BETTER_AUTH_SECRET the backend Deployment reads, and GET /api/{user}/tasks must list the
created task; the task is deleted afterwards. The secret and the token are never printed.
Exit 1 when a check fails, 3 when the cluster cannot be reached.`,
  touches: 'reads',
  options,
  settings,
  examples: ['npx zx scripts/verify.ts', 'npx zx scripts/verify.ts -n todo --output json'],
  // Loaded on run: --help and usage errors never load the Kubernetes client.
  run: async (ctx) => (await import('./verify/run.ts')).runVerify(ctx),
});
