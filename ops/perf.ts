#!/usr/bin/env -S npx zx
// A4: a bounded load test of the backend's real endpoints through a
// port-forward, judged against the profile's SLOs and the previous run.
import { main } from '../scripts/lib/main.ts';
import { options, settings } from './perf/spec.ts';
import { renderPerf } from './perf/view.ts';

await main({
  name: 'perf',
  summary:
    "load the backend's endpoints (health, tasks, chat, create) and judge p50/p95/p99, throughput and errors against the SLOs",
  description: `Each endpoint in turn, with autocannon, through a port-forward to the backend Service on
127.0.0.1, until --duration or --requests, whichever comes first (TODO_PERF_MAX_REQUESTS caps
--requests). It runs as user "ops-perf": the tasks "create" makes are deleted at the end; the chat
conversations stay (the API cannot delete them). "chat" asks "list tasks": with OPENAI_API_KEY set
in the release, every chat request is a model call. A port-forward reaches one pod: the figures
are that pod's, and the forward through the API server adds latency of its own (bench/perf.ts).
The run is kept in the state directory and the next run compares with it.
Exit codes: 0 every SLO met, 1 an SLO missed (or the backend could not be reached), 3 cluster unreachable.`,
  touches: 'reads',
  options,
  settings,
  examples: [
    'npx zx ops/perf.ts',
    'npx zx ops/perf.ts --endpoints health,tasks --duration 30s --connections 20',
    'npx zx ops/perf.ts -o json --requests 500',
  ],
  run: async (ctx) => (await import('./perf/run.ts')).runPerf(ctx),
  render: renderPerf,
});
