#!/usr/bin/env -S npx zx
// Runs the whole app on this machine for development: the FastAPI backend on
// SQLite and the Next.js dev server, wired together, until Ctrl-C.
import { main } from './lib/main.ts';
import { options, settings } from './dev/spec.ts';

await main({
  name: 'dev',
  summary: 'run backend (SQLite) and frontend locally, wired together',
  touches: 'nothing',
  options,
  settings,
  examples: ['npm run dev', 'npx zx scripts/dev.ts --frontend-port 3100'],
  run: async (ctx) => (await import('./dev/run.ts')).runDev(ctx),
});
