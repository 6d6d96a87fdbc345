// predict's decisions on plain data: the fit, the forecasts and their refusals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bestStep,
  defaultPolicy,
  fitLine,
  forecastRestarts,
  forecastToLimit,
  type Point,
} from '../../scripts/lib/samples/fit.ts';
import { forecastAll, forecastsDoc } from '../../ops/predict/plan.ts';
import {
  buildSample,
  containerSeries,
  readSamples,
  recordSample,
  type Sample,
} from '../../scripts/lib/samples/store.ts';
import { openState } from '../../scripts/lib/kit/state.ts';
import { formatBytes } from '../../scripts/lib/kube/quantity.ts';
import { assertFailure, repoRoot, run, scratchEnv } from '../helpers/run.ts';

const Mi = 2 ** 20;
const t0 = 1_700_000_000;
/** A seeded generator: the "noise" is the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}
const series = (n: number, stepSec: number, f: (i: number) => number): Point[] =>
  Array.from({ length: n }, (_, i) => ({ t: t0 + i * stepSec, v: f(i) }));

describe('least squares', () => {
  it('recovers slope and intercept of an exact line, R² 1', () => {
    const f = fitLine(series(10, 60, (i) => 100 + 2 * i * 60))!;
    expect(f.slope).toBeCloseTo(2, 9);
    expect(f.intercept).toBeCloseTo(100, 6);
    expect(f.r2).toBeCloseTo(1, 9);
    expect(f.spanSeconds).toBe(540);
  });
  it('one point or no time span: no fit', () => {
    expect(fitLine([{ t: t0, v: 1 }])).toBeUndefined();
    expect(
      fitLine([
        { t: t0, v: 1 },
        { t: t0, v: 2 },
      ]),
    ).toBeUndefined();
  });
});

describe('forecastToLimit', () => {
  it('a known linear trend gives the expected time to the limit (within 1%)', () => {
    // 200Mi growing 10Mi every 5 minutes for 2 hours; limit 512Mi.
    const r = rng(7);
    const pts = series(25, 300, (i) => 200 * Mi + i * 10 * Mi + (r() - 0.5) * 0.5 * Mi);
    const o = forecastToLimit(pts, 512 * Mi, defaultPolicy);
    // last value ~440Mi, 72Mi to go at 2Mi/min: 36 minutes.
    expect(o.etaSeconds).not.toBeNull();
    expect(Math.abs(o.etaSeconds! - 36 * 60) / (36 * 60)).toBeLessThan(0.01);
    expect(o.level).toBe('fail'); // within 6h
    expect(o.r2).toBeGreaterThan(0.99);
    expect(o.samples).toBe(25);
    expect(o.spanSeconds).toBe(24 * 300);
    expect(o.crossingAt).toBeCloseTo(t0 + 24 * 300 + 36 * 60, -2);
  });
  it('a slow trend warns days ahead, a very slow one is ok', () => {
    const slow = forecastToLimit(
      series(12, 600, (i) => 100 * Mi + i * Mi),
      512 * Mi,
      defaultPolicy,
    ); // 6Mi/h, ~68h
    expect(slow.level).toBe('warn');
    const slower = forecastToLimit(
      series(12, 600, (i) => 100 * Mi + i * 0.1 * Mi),
      512 * Mi,
      defaultPolicy,
    );
    expect(slower.level).toBe('ok');
    expect(slower.etaSeconds).toBeGreaterThan(3 * 86_400);
  });
  it('noisy flat data gives no alarm', () => {
    const r = rng(42);
    const o = forecastToLimit(
      series(40, 300, () => 300 * Mi + (r() - 0.5) * 40 * Mi),
      512 * Mi,
      defaultPolicy,
    );
    expect(o.level).toBe('ok');
    expect(o.etaSeconds).toBeNull();
    expect(o.r2).toBeLessThan(defaultPolicy.minR2);
    expect(o.detail).toMatch(/^(no clear trend|not growing|a level shift)/);
  });
  it('a step change is not extrapolated as a trend, even though a line fits it fairly well', () => {
    const r = rng(3);
    const pts = series(24, 300, (i) => (i < 12 ? 150 : 300) * Mi + (r() - 0.5) * 2 * Mi);
    expect(fitLine(pts)!.r2).toBeGreaterThan(0.7); // what predict_linear would extrapolate
    const o = forecastToLimit(pts, 512 * Mi, defaultPolicy, formatBytes);
    expect(o.etaSeconds).toBeNull();
    expect(o.level).toBe('ok');
    expect(o.detail).toMatch(/^a level shift from 15\dMi to 30\dMi at /);
    expect(bestStep(pts)!.at).toBe(t0 + 12 * 300);
  });
  it('too few samples, or too short a span: "not enough data", never a guess', () => {
    const few = forecastToLimit(
      series(5, 600, (i) => 100 * Mi + i * 50 * Mi),
      512 * Mi,
      defaultPolicy,
    );
    expect(few).toMatchObject({ etaSeconds: null, level: 'ok', samples: 5 });
    expect(few.detail).toMatch(/^not enough data: 5 samples over 40m \(needs 6 over 30m\)$/);
    const short = forecastToLimit(
      series(20, 10, (i) => 100 * Mi + i * 50 * Mi),
      512 * Mi,
      defaultPolicy,
    );
    expect(short.detail).toMatch(/^not enough data: 20 samples over 3m/);
  });
  it('near the limit warns even without a trend; no limit set is said', () => {
    expect(
      forecastToLimit(
        series(10, 600, () => 480 * Mi),
        512 * Mi,
        defaultPolicy,
      ).level,
    ).toBe('warn');
    expect(
      forecastToLimit(
        series(10, 600, (i) => i * Mi),
        undefined,
        defaultPolicy,
      ).detail,
    ).toMatch(/^no limit set/);
  });
});

describe('forecastRestarts', () => {
  it('a steady crash loop fails, an occasional restart does not alarm', () => {
    const loop = forecastRestarts(
      series(12, 300, (i) => i),
      defaultPolicy,
    ); // 12/h
    expect(loop.level).toBe('fail');
    expect(loop.detail).toMatch(/^restarting steadily: 12 restarts\/h/);
    const once = forecastRestarts(
      series(12, 300, (i) => (i > 9 ? 1 : 0)),
      defaultPolicy,
    );
    expect(once.level).toBe('ok');
    const none = forecastRestarts(
      series(12, 300, () => 3),
      defaultPolicy,
    );
    expect(none.detail).toMatch(/^no restarts in 55m$/);
  });
});

describe('samples to forecasts', () => {
  const pod = (name: string, mem: string, restarts = 0) => ({
    metadata: {
      name,
      labels: { 'pod-template-hash': 'abc12' },
      ownerReferences: [
        { kind: 'ReplicaSet', name: 'rel-backend-abc12', controller: true, apiVersion: 'apps/v1', uid: 'u' },
      ],
    },
    spec: {
      containers: [
        { name: 'backend', resources: { requests: { memory: '128Mi', cpu: '100m' }, limits: { memory: mem } } },
      ],
    },
    status: {
      phase: 'Running',
      containerStatuses: [{ name: 'backend', restartCount: restarts, ready: true, image: '', imageID: '' }],
    },
  });
  const metrics = (name: string, mem: number, at: number) => [
    {
      metadata: { name },
      timestamp: new Date(at * 1000).toISOString(),
      containers: [{ name: 'backend', usage: { cpu: '50m', memory: `${mem}Mi` } }],
    },
  ];

  it('buildSample reads usage, requests, limits, restarts and the Deployment', () => {
    const s = buildSample([pod('p1', '512Mi', 2) as never], metrics('p1', 200, t0), new Date(t0 * 1000 + 5000));
    expect(s.pods[0]).toMatchObject({ pod: 'p1', t: t0, workload: { kind: 'Deployment', name: 'rel-backend' } });
    expect(s.pods[0]!.containers[0]).toEqual({
      name: 'backend',
      memory: 200 * Mi,
      cpu: 0.05,
      requests: { memory: 128 * Mi, cpu: 0.1 },
      limits: { memory: 512 * Mi, cpu: undefined },
      restarts: 2,
    });
  });

  it('a rollout continues the series: keyed by workload and container, restarts added across replaced pods', () => {
    // Samples every 10 min; at i = 4 the pod p1 (3 restarts) is replaced by p2, which restarts too.
    const samples: Sample[] = [];
    for (let i = 0; i < 8; i++) {
      const name = i < 4 ? 'p1' : 'p2';
      const restarts = i < 4 ? 3 : i - 3;
      samples.push(
        buildSample(
          [pod(name, '512Mi', restarts) as never],
          metrics(name, 200 + 20 * i, t0 + i * 600),
          new Date((t0 + i * 600 + 3) * 1000),
        ),
      );
    }
    const series = containerSeries(samples);
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({ workload: { kind: 'Deployment', name: 'rel-backend' }, pods: ['p1', 'p2'] });
    expect(series[0]!.memory).toHaveLength(8);
    expect(series[0]!.restarts.map((r) => r.v)).toEqual([3, 3, 3, 3, 4, 5, 6, 7]);
    const views = forecastAll(samples, 'ns', defaultPolicy);
    expect(views.map((v) => v.key).sort()).toEqual([
      'memory/ns/Deployment/rel-backend/backend',
      'restarts/ns/Deployment/rel-backend/backend',
    ]);
    expect(views.find((v) => v.kind === 'memory')!.detail).toMatch(/^reaches the limit 512Mi in /);
  });

  it('"not enough data" draws the samples but no fitted line', () => {
    const samples = [0, 1].map((i) =>
      buildSample([pod('p1', '512Mi') as never], metrics('p1', 200 + i, t0 + i * 60), new Date((t0 + i * 60) * 1000)),
    );
    const mem = forecastAll(samples, 'ns', defaultPolicy).find((v) => v.kind === 'memory')!;
    expect(mem.detail).toMatch(/^not enough data/);
    expect(mem.chart.points).toHaveLength(2);
    expect(mem.chart.line).toBeUndefined();
  });

  it('a rising memory in the store becomes a memory forecast with the contract shape; a repeated scrape counts once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-unit-'));
    const state = openState(dir, { context: 'c', namespace: 'ns' });
    for (let i = 0; i < 8; i++) {
      const s: Sample = buildSample(
        [pod('p1', '512Mi') as never],
        metrics('p1', 200 + 20 * i, t0 + i * 600),
        new Date((t0 + i * 600 + 3) * 1000),
      );
      recordSample(state, s, { maxBytes: 1_000_000, maxAgeDays: 3650 });
      if (i === 7) recordSample(state, { ...s, t: s.t + 30 }, { maxBytes: 1_000_000, maxAgeDays: 3650 });
    }
    const samples = readSamples(state, 86_400 * 3650);
    expect(samples).toHaveLength(9);
    expect(containerSeries(samples)[0]!.memory).toHaveLength(8);
    const views = forecastAll(samples, 'ns', defaultPolicy);
    const mem = views.find((f) => f.kind === 'memory')!;
    expect(mem).toMatchObject({
      key: 'memory/ns/Deployment/rel-backend/backend',
      object: { kind: 'Deployment', name: 'rel-backend', namespace: 'ns', container: 'backend' },
      samples: 8,
      spanSeconds: 4200,
      level: 'fail',
    });
    // 340Mi at the last sample, +2Mi/min: 86 minutes to 512Mi.
    expect(mem.etaSeconds! / 60).toBeCloseTo(86, 0);
    expect(mem.chart.crossing![1]).toBe(512 * Mi);
    const doc = forecastsDoc(new Date(t0 * 1000), views);
    expect(Object.keys(doc.forecasts[0]!).sort()).toEqual([
      'detail',
      'etaSeconds',
      'key',
      'kind',
      'level',
      'object',
      'r2',
      'samples',
      'spanSeconds',
    ]);
  });

  it('the store stays under its byte bound, oldest dropped', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-unit-'));
    const state = openState(dir, { context: 'c', namespace: 'ns' });
    state.append('alerts', { x: 1 });
    for (let i = 0; i < 50; i++)
      recordSample(
        state,
        buildSample([pod('p1', '512Mi') as never], metrics('p1', 100 + i, t0 + i * 60), new Date((t0 + i * 60) * 1000)),
        { maxBytes: 5000, maxAgeDays: 3650 },
      );
    expect(fs.statSync(path.join(state.dir, 'samples.jsonl')).size).toBeLessThanOrEqual(5000);
    const kept = readSamples(state, 86_400 * 3650);
    expect(kept.length).toBeGreaterThan(3);
    expect(kept[kept.length - 1]!.t).toBe(t0 + 49 * 60);
    expect(state.history('alerts')).toHaveLength(1); // other streams untouched
  });
});

describe('ops/predict.ts as a process (recorded samples only: no cluster call)', () => {
  const offline = { KUBECONFIG: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml') };
  function seeded(): NodeJS.ProcessEnv {
    const env = scratchEnv(offline);
    const state = openState(env.TODO_STATE_DIR!, { context: 'offline', namespace: 'ns' });
    const now = Math.round(Date.now() / 1000);
    const mem = (i: number) => [
      {
        metadata: { name: 'p1' },
        timestamp: new Date((now - (9 - i) * 600) * 1000).toISOString(),
        containers: [{ name: 'backend', usage: { cpu: '50m', memory: `${300 + 20 * i}Mi` } }],
      },
    ];
    const pod = {
      metadata: { name: 'p1', labels: {}, ownerReferences: [] },
      spec: { containers: [{ name: 'backend', resources: { limits: { memory: '512Mi' } } }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'backend', restartCount: 0 }] },
    };
    for (let i = 0; i < 10; i++)
      recordSample(state, buildSample([pod as never], mem(i), new Date((now - (9 - i) * 600) * 1000)), {
        maxBytes: 1_000_000,
        maxAgeDays: 30,
      });
    return env;
  }

  it('--no-sample forecasts from the store: a line per forecast, exit 1 for a limit within hours', async () => {
    const r = await run('ops/predict.ts', ['-n', 'ns', '--no-sample'], { env: seeded() });
    assertFailure(r, 1);
    expect(r.stdout).toMatch(/^10 samples over 1\.5h; forecasts in .*\/offline\/ns\/forecasts\.json$/m);
    expect(r.stdout).toMatch(
      /^FAIL\s+memory\s+p1\/backend: reaches the limit 512Mi in 16m \(now 480Mi, 94%; \+120Mi\/h; R² 1\.00, 10 samples over 1\.5h\)$/m,
    );
    expect(r.stdout).toMatch(/^OK\s+restarts\s+p1\/backend: no restarts in 1\.5h$/m);
  });

  it('--report into a directory that does not exist: one line, exit 2, before any cluster call', async () => {
    const r = await run('ops/predict.ts', ['-n', 'ns', '--report', '/nonexistent-dir/x.html'], {
      env: scratchEnv(offline),
    });
    assertFailure(r, 2);
    expect(r.stderr.split('\n')[0]).toBe(
      'predict: --report /nonexistent-dir/x.html: directory /nonexistent-dir does not exist',
    );
  });
});
