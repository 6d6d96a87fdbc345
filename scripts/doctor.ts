#!/usr/bin/env -S npx zx
// Preflight: are the tools, the cluster, the namespace and the metrics API
// ready for this profile? Read-only. The checks live in lib/doctor-checks.ts so
// that scripts which change the cluster run the same ones first.
import { main } from './lib/kit/cli.ts';
import { Exit } from './lib/kit/errors.ts';
import { doctorFindings } from './lib/preflight/checks.ts';
import { renderResult } from './lib/kit/render.ts';

await main({
  name: 'doctor',
  summary: 'check tools, cluster, namespace and metrics API for a profile',
  description: 'Read-only. Exits 1 when a required check fails, 3 when the cluster cannot be reached.',
  touches: 'reads',
  examples: ['npx zx scripts/doctor.ts', 'npx zx scripts/doctor.ts --profile testbed --output json'],
  async run(ctx) {
    const { unreachable } = await doctorFindings(ctx);
    return unreachable ? Exit.unreachable : undefined;
  },
  render(result, ctx) {
    renderResult(result, ctx.out);
    const failed = result.findings.filter((f) => f.level === 'fail' && f.required !== false).length;
    ctx.out.say(failed ? `\n${failed} required check(s) failed` : '\nall required checks passed');
  },
});
