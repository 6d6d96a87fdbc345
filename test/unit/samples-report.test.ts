// predict's HTML report in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core, no browser download): opened from file:// with the
// network cut, no console error, and one drawn chart per forecast.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../scripts/lib/samples/fit.ts';
import { forecastAll } from '../../ops/predict/plan.ts';
import { reportHtml } from '../../scripts/lib/samples/report-html.ts';
import type { Sample } from '../../scripts/lib/samples/store.ts';

const chromiumPath = process.env.TODO_OPS_CHROMIUM ?? '/usr/bin/chromium';
const Mi = 2 ** 20;
const t0 = 1_700_000_000;

/** A leaking backend, a flat frontend and a volume filling up; the restarts of each container come along. */
function samples(): Sample[] {
  return Array.from({ length: 12 }, (_, i) => {
    const t = t0 + i * 600;
    const c = (name: string, memory: number, limit: number) => ({
      name,
      memory,
      cpu: 0.05,
      requests: { memory: 64 * Mi, cpu: 0.05 },
      limits: { memory: limit },
      restarts: name === 'backend' ? Math.floor(i / 2) : 0,
    });
    return {
      t,
      metrics: true,
      pods: [
        {
          pod: 'rel-backend-abc-1',
          workload: { kind: 'Deployment', name: 'rel-backend' },
          t,
          containers: [c('backend', (200 + 12 * i) * Mi, 512 * Mi)],
        },
        {
          pod: 'rel-frontend-abc-1',
          workload: { kind: 'Deployment', name: 'rel-frontend' },
          t,
          containers: [c('frontend', (100 + ((i * 7) % 5)) * Mi, 256 * Mi)],
        },
      ],
      volumes: [{ pvc: 'data-rel-postgresql-0', usedBytes: (2000 + 40 * i) * Mi, capacityBytes: 5 * 1024 * Mi, t }],
    };
  });
}

describe('the HTML report in headless Chromium', () => {
  let browser: Browser;
  let file: string;
  const views = forecastAll(samples(), 'ns', defaultPolicy);

  beforeAll(async () => {
    if (!fs.existsSync(chromiumPath))
      throw new Error(`${chromiumPath} is missing: apt-get install chromium (.ci/run installs it)`);
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'report-')), 'forecasts.html');
    fs.writeFileSync(
      file,
      reportHtml({
        title: 'Forecasts for rel',
        generatedAt: new Date(),
        namespace: 'ns',
        context: 'bed',
        forecasts: views,
      }),
    );
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => browser?.close());

  it('is one self-contained file of a reasonable size', () => {
    const html = fs.readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|url\(/); // nothing fetched: the library is inline
    expect(fs.statSync(file).size).toBeLessThan(120 * 1024);
  });

  it('loads from file:// offline, no console error, and draws one chart per forecast', async () => {
    expect(views.length).toBe(5); // memory and restarts for 2 containers, 1 volume
    expect(views.filter((v) => v.chart.crossing).length).toBeGreaterThanOrEqual(2);
    const context = await browser.newContext({ offline: true, viewport: { width: 1000, height: 800 } });
    const requested: string[] = [];
    await context.route('**/*', (route) =>
      route.request().url().startsWith('file:')
        ? route.continue()
        : (requested.push(route.request().url()), route.abort()),
    );
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    await page.waitForFunction((n) => document.querySelectorAll('.chart canvas').length === n, views.length, {
      timeout: 10_000,
    });
    // Per chart: how many pixels are painted, and how many in the observed points' blue.
    const painted = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLCanvasElement>('.chart canvas')].map((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let ink = 0,
          blue = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3]! > 0) ink++;
          if (d[i]! < 60 && d[i + 1]! > 90 && d[i + 1]! < 140 && d[i + 2]! > 200) blue++;
        }
        return { ink, blue, chart: c.closest('.chart')!.id };
      }),
    );
    expect(painted.map((p) => p.chart)).toEqual(views.map((_, i) => `chart-${i}`));
    for (const p of painted) {
      expect(p.ink, p.chart).toBeGreaterThan(2000);
      expect(p.blue, p.chart).toBeGreaterThan(50);
    }
    expect(errors).toEqual([]);
    expect(requested).toEqual([]);
    if (process.env.TODO_OPS_REPORT_SCREENSHOT)
      await page.screenshot({ path: process.env.TODO_OPS_REPORT_SCREENSHOT, fullPage: true });
    await context.close();
  });
});
