#!/usr/bin/env -S npx zx
// kagent (optional AI layer): the chart's ModelConfig and Agents
// (todo-self-healer, todo-monitor) for this release, in the release namespace.
// render prints them; apply is a server-side apply (--dry-run: the API
// server's dry run, so kagent's CRDs validate them); remove deletes them.
import { main } from '../scripts/lib/main.ts';
import { options, settings } from './agents/spec.ts';

await main({
  name: 'agents',
  summary: 'render, apply or remove the kagent ModelConfig and Agents of the release',
  description: `Rendered from the chart's kagent values (charts/todo-chatbot, kagent.*) with the profile's
values, into the release namespace. apply and remove exit 1 with a hint when kagent's CRDs are not
installed. The agents then answer self-heal --agent and alert --agent (kagent invoke).`,
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
    'npx zx ops/agents.ts remove --yes',
  ],
  run: async (ctx) => (await import('./agents/run.ts')).runAgents(ctx),
});
