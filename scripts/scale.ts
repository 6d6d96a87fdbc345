#!/usr/bin/env -S npx zx
// Scales frontend or backend: the Deployment's replicas, or its HPA's
// minReplicas/maxReplicas when autoscaled, through the release's values (so
// helm and the next deploy keep them). Waits until the replicas are Ready.
import { scriptArgv } from './lib/kit/cli.ts';
import { main } from './lib/main.ts';
import { negativeNumbersAsPositionals, parseScaleArgs } from './scale/plan.ts';
import { options, settings } from './scale/spec.ts';
import { renderScale } from './scale/view.ts';

await main(
  {
    name: 'scale',
    summary: "set the replicas of frontend or backend (or its HPA's min/max), wait until Ready",
    description: `The count is stored in the release values (a new helm revision) and listed under
global.todoOpsScaled, so the next deploy keeps it (deploy --reset-scale returns to the profile's).
0 needs --yes; below a PodDisruptionBudget's minAvailable needs --force; more than TODO_SCALE_MAX is refused.
--ai "<request>" alone: kubectl-ai acts (changes only with --yes), then scale checks each Deployment
against the release and waits for Ready; a count kubectl-ai set is not kept by the next deploy.`,
    touches: 'changes',
    destructive: true,
    lock: 'release',
    positionals: 'frontend|backend N',
    options,
    settings,
    examples: [
      'npx zx scripts/scale.ts backend 3',
      'npx zx scripts/scale.ts frontend 0 --yes',
      'npx zx scripts/scale.ts backend 2 --dry-run -o json',
      'npx zx scripts/scale.ts --ai "scale the backend to handle more load" --yes',
    ],
    // Without frontend|backend N, kubectl-ai acts first and scale checks what it left.
    ai: {
      first: (ctx) => ctx.positionals.length === 0,
      context: async (ctx) =>
        ctx.positionals.length
          ? (await import('./lib/ai/kubectl-ai/step.ts')).resultText(ctx.result)
          : (await import('./scale/ai.ts')).scaleAiContext(ctx),
    },
    check: (ctx) => {
      if (ctx.positionals.length || !ctx.aiRequest) parseScaleArgs(ctx.positionals, ctx.cfg.TODO_SCALE_MAX);
    },
    // Loaded on run: --help and usage errors never load the Kubernetes client.
    run: async (ctx) => (await import('./scale/run.ts')).runScale(ctx),
    render: renderScale,
  },
  negativeNumbersAsPositionals(scriptArgv().args),
);
