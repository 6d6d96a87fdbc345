// predict on the test bed: a release on kwok's fake nodes whose backend's
// memory use is set through kwok's usage annotation and read back through the
// real metrics API (metrics-server scraping kwok). Each run records one sample;
// a rising memory use becomes a forecast of the time to the memory limit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartDir, profile } from '../fixtures/chart-helm.ts';
import { bedEnv, deleteNamespace, kube, sh, tempNamespace, untilMetrics } from '../helpers/cluster.ts';
import { assertFailure, assertSuccess, run, scratchEnv } from '../helpers/run.ts';
import type { V1Pod } from '@kubernetes/client-node';
import type { ForecastsDoc } from '../../scripts/lib/samples/fit.ts';

const release = 'pred';
const Mi = 2 ** 20;
const usageKey = 'kwok.x-k8s.io/usage-memory';

interface Doc {
  exitCode: number;
  findings: { name: string; level: string; detail: string }[];
  data: {
    samples: number;
    requests: number;
    forecastsFile: string;
    report?: string;
    forecasts: ForecastsDoc['forecasts'];
  };
}

describe('predict on the test bed', () => {
  let ns: string;
  let env: NodeJS.ProcessEnv;
  let pod: string;
  const predict = (...args: string[]) => run('ops/predict.ts', ['--profile', 'testbed', '-n', ns, ...args], { env });

  /** Sets the backend's memory use and waits until the metrics API reports it. */
  async function useMemory(mi: number): Promise<void> {
    await kube().mergePatch({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace: ns, annotations: { [usageKey]: `${mi}Mi` } },
    });
    await untilMetrics(ns, `${mi}Mi for ${pod}`, (items) => {
      const mem = items.find((p) => p.metadata.name === pod)?.containers.find((c) => c.name === 'backend')
        ?.usage.memory;
      return (
        !!mem &&
        Math.abs(Number.parseInt(mem, 10) * (mem.endsWith('Ki') ? 1024 : mem.endsWith('Mi') ? Mi : 1) - mi * Mi) < Mi
      );
    });
  }

  /**
   * The samples are taken on a 15 s cadence from the first one. A forecast is a line fitted over time, so the
   * test fixes the time axis: how long the metrics API takes to show a new value (0-20 s) would otherwise make
   * the gaps between samples uneven, and 4 unevenly spaced points can fit a line badly. This waits for a
   * moment, not for something to happen: the value to sample is already confirmed by useMemory. A value
   * confirmed after its moment takes the next one (still R² > 0.94 for these values).
   */
  let cadenceStart = 0;
  let slot = 0;
  async function nextSampleMoment(): Promise<void> {
    const every = 15_000;
    slot = Math.max(slot + 1, Math.ceil((Date.now() - cadenceStart) / every));
    await new Promise((r) => setTimeout(r, Math.max(0, cadenceStart + slot * every - Date.now())));
  }

  beforeAll(async () => {
    ns = await tempNamespace('predict');
    env = {
      ...bedEnv(),
      ...scratchEnv(),
      TODO_RELEASE: release,
      TODO_PREDICT_MIN_SAMPLES: '4',
      TODO_PREDICT_MIN_SPAN: '5s',
    };
    const values = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'predict-')), 'values.yaml');
    fs.writeFileSync(
      values,
      `backend:\n  autoscaling:\n    enabled: false\n  podAnnotations:\n    ${usageKey}: 100Mi\n`,
    );
    await sh()`helm install ${release} ${chartDir} -n ${ns} -f ${profile('testbed')} -f ${values} --wait --timeout 120s`;
    const pods = await kube().list<{ metadata: { name: string } }>(
      'v1',
      'Pod',
      ns,
      `app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend`,
    );
    pod = pods[0]!.metadata.name;
    await useMemory(100);
    // metrics-server scrapes each pod on its own cadence: the first run must find all three containers.
    await untilMetrics(ns, 'metrics for backend, frontend and postgresql', (items) => {
      const names = new Set(items.flatMap((p) => p.containers.map((c) => c.name)));
      return ['backend', 'frontend', 'postgresql'].every((n) => names.has(n));
    });
  });
  afterAll(() => deleteNamespace(ns));

  it('the first run samples (one pod List, one metrics List) and says "not enough data"', async () => {
    cadenceStart = Date.now();
    const r = await predict('-o', 'json');
    assertSuccess(r);
    const doc = r.json<Doc>();
    expect(doc.data.samples).toBe(1);
    expect(doc.data.requests).toBe(3); // namespace check + pod List + metrics List
    const mem = doc.data.forecasts.find((f) => f.kind === 'memory' && f.object.name === `${release}-backend`)!;
    expect(mem).toMatchObject({ etaSeconds: null, level: 'ok', samples: 1 });
    expect(mem.detail).toMatch(/^not enough data: 1 samples/);
    // Every running container of the release is sampled: backend, frontend, postgresql.
    expect(new Set(doc.data.forecasts.filter((f) => f.kind === 'memory').map((f) => f.object.container))).toEqual(
      new Set(['backend', 'frontend', 'postgresql']),
    );
  });

  it('a rising memory use is forecast to reach the limit, with samples, span and R²; forecasts.json has the contract', async () => {
    for (const mi of [150, 200, 240]) {
      await useMemory(mi);
      await nextSampleMoment();
      if (mi === 240) break;
      // Until the 4th sample: not enough data, exit 0.
      assertSuccess(await predict('-o', 'json'));
    }
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'predict-report-')), 'forecasts.html');
    const r = await predict('-o', 'json', '--report', report);
    assertFailure(r, 1); // 256Mi is seconds away at this rate: a required failed finding
    const doc = r.json<Doc>();
    const mem = doc.data.forecasts.find((f) => f.kind === 'memory' && f.object.name === `${release}-backend`)!;
    expect(mem.level).toBe('fail');
    expect(mem.samples).toBe(4);
    expect(mem.r2).toBeGreaterThan(0.9);
    expect(mem.etaSeconds).toBeGreaterThan(0);
    expect(mem.etaSeconds).toBeLessThan(600);
    expect(mem.detail).toMatch(/^reaches the limit 256Mi in \d+s \(now 240Mi, 94%/);
    const file = JSON.parse(fs.readFileSync(doc.data.forecastsFile, 'utf8')) as ForecastsDoc;
    expect(file.forecasts.find((f) => f.key === `memory/${ns}/Deployment/${release}-backend/backend`)).toEqual(mem);
    // The flat ones stay quiet.
    expect(
      doc.data.forecasts
        .filter((f) => f.kind === 'memory' && f.object.container !== 'backend')
        .every((f) => f.level === 'ok'),
    ).toBe(true);
    const html = fs.readFileSync(report, 'utf8');
    expect(html).toContain(`deployment/${release}-backend (backend)`);
    // The page's chart data is the run's: the four samples taken, the limit, the fitted line to the crossing.
    const data = JSON.parse(
      /<script type="application\/json" id="forecast-data">([^<]*)<\/script>/.exec(html)![1]!,
    ) as {
      key: string;
      chart: { points: [number, number][]; limit?: number; line?: unknown[]; crossing?: [number, number] };
    }[];
    const chart = data.find((f) => f.key === mem.key)!.chart;
    expect(chart.points.map(([, v]) => Math.round(v / Mi))).toEqual([100, 150, 200, 240]);
    expect(chart.limit).toBe(256 * Mi);
    expect(chart.line).toHaveLength(2);
    expect(chart.crossing![1]).toBe(256 * Mi);
    expect(Math.abs(chart.crossing![0] - (chart.points.at(-1)![0] + mem.etaSeconds!))).toBeLessThanOrEqual(1);
  });

  // rightsize reads the samples predict recorded above, as it does under cron.
  describe('rightsize from those samples', () => {
    const rightsize = (...args: string[]) =>
      run('ops/rightsize.ts', ['--profile', 'testbed', '-n', ns, ...args], {
        env: { ...env, TODO_RIGHTSIZE_MIN_SAMPLES: '3', TODO_RIGHTSIZE_MIN_SPAN: '5s', TODO_RIGHTSIZE_SETTLE: '1' },
      });
    interface RsDoc {
      exitCode: number;
      actions: { what: string; status: string; reason: string }[];
      data: {
        rows: {
          workload: string;
          container: string;
          resource: string;
          current?: number;
          recommended?: number;
          severity: string;
          change: boolean;
          reason: string;
        }[];
        paths: string[];
        valuesChanged?: string[];
      };
    }
    const helmValues = async () =>
      JSON.parse((await sh()`helm get values ${release} -n ${ns} -o json`).stdout) as Record<string, any>;
    const backendResources = async () =>
      (await kube().read<any>('apps/v1', 'Deployment', `${release}-backend`, ns))!.spec.template.spec.containers.find(
        (c: { name: string }) => c.name === 'backend',
      ).resources;

    it("--apply --dry-run: recommends from the peak (the backend at 240Mi of 256Mi is under-provisioned: exit 1), keeps the HPA's CPU request, plans the upgrade, changes nothing", async () => {
      const before = await sh()`helm history ${release} -n ${ns} -o json`;
      const r = await rightsize('--apply', '--dry-run', '-o', 'json');
      assertFailure(r, 1);
      const doc = r.json<RsDoc>();
      const limit = doc.data.rows.find((x) => x.container === 'backend' && x.resource === 'limits.memory')!;
      expect(limit).toMatchObject({ current: 256 * Mi, recommended: 360 * Mi, severity: 'fail', change: true }); // 240Mi + 50%
      const request = doc.data.rows.find((x) => x.container === 'backend' && x.resource === 'requests.memory')!;
      expect(request).toMatchObject({ current: 32 * Mi, recommended: 276 * Mi, change: true }); // 240Mi + 15%
      const hpaCpu = doc.data.rows.find((x) => x.container === 'frontend' && x.resource === 'requests.cpu')!;
      if (hpaCpu.severity !== 'ok')
        expect(hpaCpu.reason).toMatch(/NOT changed: HPA pred-frontend scales on cpu utilisation/);
      expect(doc.data.paths).toContain('backend.resources.limits.memory');
      expect(doc.data.paths).not.toContain('frontend.resources.requests.cpu');
      expect(doc.actions).toEqual([expect.objectContaining({ what: 'helm upgrade', status: 'planned' })]);
      expect((await sh()`helm history ${release} -n ${ns} -o json`).stdout).toBe(before.stdout);
    });

    it('--apply upgrades the release with the recommended resources, and only those; --write keeps them as an overlay', async () => {
      const before = await helmValues();
      const overlay = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rightsize-')), 'rightsized.yaml');
      const r = await rightsize('--apply', '--write', overlay, '-o', 'json');
      assertSuccess(r);
      const doc = r.json<RsDoc>();
      expect(doc.actions).toEqual([expect.objectContaining({ what: 'helm upgrade', status: 'done' })]);
      const after = await helmValues();
      // Only resources values changed, exactly the paths the plan listed.
      expect(doc.data.valuesChanged!.sort()).toEqual(doc.data.paths);
      expect(
        doc.data.paths.every((p) =>
          /^(backend|frontend|postgresql)\.resources\.(requests|limits)\.(cpu|memory)$/.test(p),
        ),
      ).toBe(true);
      const withoutResources = (v: Record<string, any>) =>
        JSON.parse(JSON.stringify(v, (k, x) => (k === 'resources' ? undefined : x)));
      expect(withoutResources(after)).toEqual(withoutResources(before));
      const live = await backendResources();
      expect(live.limits.memory).toBe('360Mi');
      expect(live.requests.memory).toBe('276Mi');
      expect(live.limits.cpu).toBe('500m'); // CPU limits are left alone
      expect(fs.readFileSync(overlay, 'utf8')).toMatch(/backend:\n {2}resources:\n(.*\n)* {6}memory: 360Mi/);
    });
  });

  // autoscale on the same release: the frontend has the testbed profile's HPA, the backend none.
  describe('autoscale', () => {
    const autoscale = (...args: string[]) =>
      run('ops/autoscale.ts', ['--profile', 'testbed', '-n', ns, ...args], {
        env: { ...env, TODO_AUTOSCALE_MIN_SAMPLES: '3', TODO_AUTOSCALE_MIN_SPAN: '5s' },
      });
    interface AsDoc {
      findings: { name: string; level: string; detail: string }[];
      actions: { what: string; status: string; reason: string }[];
      data: { changes: Record<string, unknown>; requests: number };
    }
    type Hpa = {
      metadata?: { name?: string };
      status?: {
        conditions?: { type: string; status: string }[];
        currentMetrics?: { resource?: { name: string; current: { averageUtilization?: number } } }[];
      };
    };
    const hpaWithMetrics = (name: string) =>
      kube().waitFor<Hpa & { apiVersion?: string; kind?: string }>({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        namespace: ns,
        fieldSelector: `metadata.name=${name}`,
        timeoutSec: 90,
        // Metrics now, not left from an earlier sync: after rightsize's rollout a new pod may not report yet (ScalingActive False).
        done: ([h]) =>
          (h?.status?.conditions?.some((c) => c.type === 'ScalingActive' && c.status === 'True') ?? false) &&
          (h?.status?.currentMetrics?.some(
            (m) => m.resource?.name === 'cpu' && m.resource.current.averageUtilization !== undefined,
          ) ??
            false),
        describe: ([h]) => `HPA ${name}: ${JSON.stringify(h?.status?.currentMetrics ?? 'no metrics yet')}`,
      });

    /**
     * Until the metrics API reports every running pod of the release. After rightsize's rollout the HPA's
     * status can still show the old pods' metrics while the new pods wait for their second scrape.
     */
    async function podsReporting(): Promise<void> {
      const pods = (await kube().list<V1Pod>('v1', 'Pod', ns, `app.kubernetes.io/instance=${release}`))
        .filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)
        .map((p) => p.metadata!.name!);
      await untilMetrics(ns, pods.join(', '), (items) => pods.every((p) => items.some((m) => m.metadata.name === p)));
    }

    it('checks the frontend HPA gets metrics, says the backend is not autoscaled; --apply creates its HPA, which then reports current metrics', async () => {
      await podsReporting();
      await hpaWithMetrics(`${release}-frontend`);
      // One run: the checks see the release as it was, --apply then tunes the frontend's HPA and creates the backend's.
      const r = await autoscale('--apply', '-o', 'json');
      assertSuccess(r);
      const doc = r.json<AsDoc>();
      expect(doc.findings.find((f) => f.name === 'frontend hpa metrics')).toMatchObject({ level: 'ok' });
      expect(doc.findings.find((f) => f.name === 'frontend hpa metrics')!.detail).toMatch(
        /^HPA pred-frontend: CPU \d+% of requests \(target \d+%\), 1 replicas \(1-3\)$/,
      );
      expect(doc.findings.find((f) => f.name === 'backend hpa')).toMatchObject({
        level: 'info',
        detail: `deployment/${release}-backend is not autoscaled (backend.autoscaling.enabled is false): 1 fixed replicas`,
      });
      expect(doc.data.changes['backend.autoscaling.enabled']).toBe(true);
      expect(doc.data.requests).toBe(4); // Deployments, HPAs, pods, metrics: one List each
      expect(doc.actions).toEqual([expect.objectContaining({ what: 'helm upgrade', status: 'done' })]);
      await hpaWithMetrics(`${release}-backend`);
      const values = JSON.parse((await sh()`helm get values ${release} -n ${ns} -o json`).stdout) as {
        backend: { autoscaling: Record<string, unknown> };
        global: { todoOpsScaled: string[] };
      };
      expect(values.backend.autoscaling).toMatchObject({ enabled: true, minReplicas: 1 });
      expect(values.global.todoOpsScaled).toEqual(
        expect.arrayContaining(['backend.autoscaling.minReplicas', 'backend.autoscaling.maxReplicas']),
      );
    });
  });
});
