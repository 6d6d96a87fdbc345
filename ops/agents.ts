#!/usr/bin/env -S npx zx
// kagent (optional AI layer): the chart's ModelConfig and Agents
// (todo-self-healer, todo-monitor) for this release, in the Agents' namespace
// (TODO_KAGENT_NAMESPACE, default the release namespace). render prints them;
// apply is a server-side apply (--dry-run: the API server's dry run, so kagent's
// CRDs validate them) that then waits until each Agent serves; remove deletes them.
import { main } from '../scripts/lib/main.ts';
import { options, settings } from './agents/spec.ts';

await main({
  name: 'agents',
  summary: 'render, apply or remove the kagent ModelConfig and Agents of the release',
  description: `Rendered from the chart's kagent values (charts/todo-chatbot, kagent.*) with the profile's
values, into TODO_KAGENT_NAMESPACE (empty: the release namespace), where kagent invoke -n looks them up.
apply then watches (up to --wait) until every Agent is Accepted and Ready by kagent's own conditions AND
its pod runs Ready on a node that runs containers, and says on which node; an Agent whose pod landed
on a fake node (kwok, virtual-kubelet) is a failure at once (set kagent.placement in the values).
The agents then answer self-heal --agent and alert --agent (kagent invoke).
Exit codes: 0 done (apply: every Agent serving); 1 kagent's CRDs are not installed, or an Agent is
not serving (the finding says why); 2 usage; 3 cluster unreachable; 4 an apply or delete failed.`,
  touches: 'changes',
  destructive: true,
  lock: 'release',
  positionals: 'apply|render|remove',
  options,
  settings,
  examples: [
    'npx zx ops/agents.ts render',
    'npx zx ops/agents.ts apply --dry-run',
    'npx zx ops/agents.ts apply -o json',
    'npx zx ops/agents.ts apply --wait 0',
    'npx zx ops/agents.ts remove --yes',
  ],
  run: async (ctx) => (await import('./agents/run.ts')).runAgents(ctx),
});
