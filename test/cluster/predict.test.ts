// predict on the test bed: a release on kwok's fake nodes whose backend's
// memory use is set through kwok's usage annotation and read back through the
// real metrics API (metrics-server scraping kwok). Each run records one sample;
// a rising memory use becomes a forecast of the time to the memory limit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartDir, profile } from '../fixtures/chart-helm.ts';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, run, scratchEnv } from '../helpers/run.ts';
import type { ForecastsDoc } from '../../scripts/lib/predict-plan.ts';

const release = 'pred';
const Mi = 2 ** 20;
const usageKey = 'kwok.x-k8s.io/usage-memory';

interface Doc {
  exitCode: number;
  findings: { name: string; level: string; detail: string }[];
  data: { samples: number; requests: number; forecastsFile: string; report?: string; forecasts: ForecastsDoc['forecasts'] };
}

describe('predict on the test bed', () => {
  let ns: string;
  let env: NodeJS.ProcessEnv;
  let pod: string;
  const predict = (...args: string[]) => run('ops/predict.ts', ['--profile', 'testbed', '-n', ns, ...args], { env });

  /** Sets the backend's memory use and waits until the metrics API reports it (no watch exists for metrics: bounded polling). */
  async function useMemory(mi: number): Promise<void> {
    await kube().mergePatch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: ns, annotations: { [usageKey]: `${mi}Mi` } } });
    const deadline = Date.now() + 45_000;
    for (;;) {
      const m = (await kube().podMetrics(ns))?.items.find((p) => p.metadata.name === pod);
      const mem = m?.containers.find((c) => c.name === 'backend')?.usage.memory;
      if (mem && Math.abs(Number.parseInt(mem, 10) * (mem.endsWith('Ki') ? 1024 : mem.endsWith('Mi') ? Mi : 1) - mi * Mi) < Mi) return;
      if (Date.now() > deadline) throw new Error(`the metrics API did not report ${mi}Mi for ${pod} within 45s (last: ${mem})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  beforeAll(async () => {
    ns = await tempNamespace('predict');
    env = { ...bedEnv(), ...scratchEnv(), TODO_RELEASE: release, TODO_PREDICT_MIN_SAMPLES: '4', TODO_PREDICT_MIN_SPAN: '5s' };
    const values = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'predict-')), 'values.yaml');
    fs.writeFileSync(values, `backend:\n  autoscaling:\n    enabled: false\n  podAnnotations:\n    ${usageKey}: 100Mi\n`);
    await sh()`helm install ${release} ${chartDir} -n ${ns} -f ${profile('testbed')} -f ${values} --wait --timeout 120s`;
    const pods = await kube().list<{ metadata: { name: string } }>('v1', 'Pod', ns, `app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend`);
    pod = pods[0]!.metadata.name;
    await useMemory(100);
  });
  afterAll(() => deleteNamespace(ns));

  it('the first run samples (one pod List, one metrics List) and says "not enough data"', async () => {
    const r = await predict('-o', 'json');
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.data.samples).toBe(1);
    expect(doc.data.requests).toBe(3); // namespace check + pod List + metrics List
    const mem = doc.data.forecasts.find((f) => f.kind === 'memory' && f.object.name === pod)!;
    expect(mem).toMatchObject({ etaSeconds: null, level: 'ok', samples: 1 });
    expect(mem.detail).toMatch(/^not enough data: 1 samples/);
    // Every running container of the release is sampled: backend, frontend, postgresql.
    expect(new Set(doc.data.forecasts.filter((f) => f.kind === 'memory').map((f) => f.object.container))).toEqual(new Set(['backend', 'frontend', 'postgresql']));
  });

  it('a rising memory use is forecast to reach the limit, with samples, span and R²; forecasts.json has the contract', async () => {
    for (const mi of [140, 180, 220]) {
      await useMemory(mi);
      const r = await predict('-o', 'json');
      // Until the 4th sample: not enough data, exit 0; with it, the forecast fails.
      expect(r.status).toBe(mi === 220 ? 1 : 0);
    }
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'predict-report-')), 'forecasts.html');
    const r = await predict('-o', 'json', '--no-sample', '--report', report);
    assertFailure(r, 1); // 256Mi is seconds away at this rate: a required failed finding
    const doc = r.json<Doc>();
    const mem = doc.data.forecasts.find((f) => f.kind === 'memory' && f.object.name === pod)!;
    expect(mem.level).toBe('fail');
    expect(mem.samples).toBe(4);
    expect(mem.r2).toBeGreaterThan(0.9);
    expect(mem.etaSeconds).toBeGreaterThan(0);
    expect(mem.etaSeconds).toBeLessThan(600);
    expect(mem.detail).toMatch(/^reaches the limit 256Mi in \d+s \(now 220Mi, 86%/);
    const file = JSON.parse(fs.readFileSync(doc.data.forecastsFile, 'utf8')) as ForecastsDoc;
    expect(file.forecasts.find((f) => f.key === `memory/${ns}/${pod}/backend`)).toEqual(mem);
    // The flat ones stay quiet.
    expect(doc.data.forecasts.filter((f) => f.kind === 'memory' && f.object.container !== 'backend').every((f) => f.level === 'ok')).toBe(true);
    const html = fs.readFileSync(report, 'utf8');
    expect(html).toContain(`pod/${pod} (backend)`);
    const text = await predict('--no-sample');
    assertFailure(text, 1);
    expect(text.stdout).toMatch(new RegExp(`^FAIL\\s+memory\\s+${pod}/backend: reaches the limit 256Mi in`, 'm'));
  });

  it('bad inputs: one line, the documented code', async () => {
    const missing = await predict('-n', 'no-such-namespace');
    assertFailure(missing, 2);
    expect(missing.stderr.split('\n')[0]).toBe('predict: namespace "no-such-namespace" does not exist');
    const badDir = await predict('--report', '/nonexistent-dir/x.html');
    assertFailure(badDir, 2);
    expect(badDir.stderr.split('\n')[0]).toMatch(/^predict: --report \/nonexistent-dir\/x.html: directory \/nonexistent-dir does not exist$/);
  });
});
