// The kit's --ai hook, backed by kubectl-ai: step.ts (and with it the AI
// layer's code) is loaded only when a run is given --ai.
import type { AiHook } from '../../kit/cli.ts';

export const kubectlAiHook: AiHook = {
  resultText: async (result) => (await import('./step.ts')).resultText(result),
  step: async (ctx, findings) => (await import('./step.ts')).runAiStep(ctx, findings),
  render: async (result, out, action) => (await import('./step.ts')).renderAiStep(result, out, action),
};
