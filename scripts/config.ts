#!/usr/bin/env -S npx zx
// The release's settings and secrets: get, set, unset, diff, rotate. Keys are
// checked against the env schema (UPPER_CASE settings) and the chart's
// values.schema.json (dotted values paths) before anything changes. Secrets are
// read from stdin, never from the command line, and shown only as fingerprints.
import { main } from './lib/main.ts';
import { options, settings } from './config/spec.ts';

await main({
  name: 'config',
  summary: "get, set, unset, diff or rotate the release's settings and secrets",
  description: `get [KEY...]        local and deployed values (secrets as sha256 fingerprints)
set KEY=VALUE...    write to the local files deploy reads: settings to env/<profile>.env.local,
                    secrets to the env file that keeps them (VALUE "-": read from stdin; secrets only
                    that way), chart values (dotted paths) to env/<profile>.values.local.yaml
unset KEY...        remove from those files (BETTER_AUTH_SECRET and DEMO_PASSWORD are required)
diff                the local files against the deployed release
rotate SECRET       a new BETTER_AUTH_SECRET or DEMO_PASSWORD: env file, Secret, restart its readers`,
  touches: 'changes',
  lock: 'release',
  positionals: 'get|set|unset|diff|rotate [ARGS...]',
  options,
  settings,
  examples: [
    'npx zx scripts/config.ts get',
    'npx zx scripts/config.ts set backend.config.logLevel=debug',
    'printf %s "$KEY" | npx zx scripts/config.ts set OPENAI_API_KEY=-',
    'npx zx scripts/config.ts diff',
    'npx zx scripts/config.ts rotate BETTER_AUTH_SECRET',
  ],
  ai: {},
  check: async (ctx) => (await import('./config/run.ts')).checkConfig(ctx),
  // Loaded on run: --help and usage errors never load the Kubernetes client.
  run: async (ctx) => (await import('./config/run.ts')).runConfig(ctx),
});
