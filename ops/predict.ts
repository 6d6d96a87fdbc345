#!/usr/bin/env -S npx zx
// A3: predictive maintenance. Each run records one sample of the release
// (usage per container, restart counts) and forecasts from the recorded ones:
// time to the memory limit, to a full volume, rising restart rates, each with
// its sample count, span and R². Cron-ready: run it every few minutes.
import { main } from '../scripts/lib/main.ts';
import { options, settings } from './predict/spec.ts';
import { renderPredict } from './predict/view.ts';

await main({
  name: 'predict',
  summary: 'record a usage sample and forecast time to memory limit, full volume and restart rates',
  description: `Each run takes one sample (one pod List, one metrics List) into the state directory
(stream "samples", bounded by TODO_PREDICT_SAMPLES_BYTES and TODO_PREDICT_KEEP), fits a least-squares
line to each series over TODO_PREDICT_WINDOW and writes forecasts.json next to it for alert.ts.
Below TODO_PREDICT_MIN_SAMPLES samples or TODO_PREDICT_MIN_SPAN it says "not enough data".
Exit codes: 0 no forecast fails, 1 a limit is predicted within TODO_PREDICT_FAIL_WITHIN or a container
restarts faster than TODO_PREDICT_RESTARTS_FAIL per hour.`,
  touches: 'reads',
  lock: 'script',
  options,
  settings,
  examples: ['npx zx ops/predict.ts', 'npx zx ops/predict.ts --report forecasts.html', 'npx zx ops/predict.ts -o json'],
  run: async (ctx) => (await import('./predict/run.ts')).runPredict(ctx),
  render: renderPredict,
});
