#!/usr/bin/env -S npx zx
// Preflight: are the tools, the cluster, the namespace and the metrics API
// ready for this profile? Read-only. The checks live in lib/preflight/checks.ts
// so that scripts which change the cluster run the same ones first.
import { main } from './lib/main.ts';
import { options, settings } from './doctor/spec.ts';
import { renderDoctor } from './doctor/view.ts';

await main({
  name: 'doctor',
  summary: 'check tools, cluster, namespace and metrics API for a profile',
  description: 'Read-only. Exits 1 when a required check fails, 3 when the cluster cannot be reached.',
  touches: 'reads',
  options,
  settings,
  examples: ['npx zx scripts/doctor.ts', 'npx zx scripts/doctor.ts --profile local --output json'],
  run: async (ctx) => (await import('./doctor/run.ts')).runDoctor(ctx),
  render: renderDoctor,
});
