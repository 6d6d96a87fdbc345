// The forecasts as one self-contained HTML file: the charting library (uPlot,
// MIT, pinned in package.json) and its stylesheet are read from node_modules
// and inlined, the data travels as JSON in the page, so the file opens from
// disk with no network. One chart per forecast: observed points, the fitted
// line, the limit and the predicted crossing.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ForecastView } from './fit.ts';

const uplotDir = () => path.join(path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

export interface ReportInput {
  title: string;
  generatedAt: Date;
  namespace: string;
  context: string;
  forecasts: readonly ForecastView[];
  /** extra sections (e.g. rightsize's table), already HTML */
  extraHtml?: string;
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON safe inside a <script> element: no "</script>" or "<!--" can end it early. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/** The page's own drawing code: builds each chart's aligned data and draws it with uPlot. */
const drawScript = `
(function () {
  var data = JSON.parse(document.getElementById('forecast-data').textContent);
  var units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  function bytes(v) {
    if (v == null) return '';
    var i = 0; while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (Math.abs(v) >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)) + units[i];
  }
  data.forEach(function (f, idx) {
    var c = f.chart, xs = {};
    c.points.forEach(function (p) { xs[p[0]] = 1; });
    if (c.line) { xs[c.line[0][0]] = 1; xs[c.line[1][0]] = 1; }
    if (c.crossing) xs[c.crossing[0]] = 1;
    var x = Object.keys(xs).map(Number).sort(function (a, b) { return a - b; });
    function at(pairs) { var m = {}; pairs.forEach(function (p) { m[p[0]] = p[1]; }); return x.map(function (t) { return t in m ? m[t] : null; }); }
    var series = [{}], cols = [x];
    series.push({ label: 'observed', stroke: '#1f6feb', width: 0, paths: function () { return null; }, points: { show: true, size: 7, fill: '#1f6feb' } });
    cols.push(at(c.points));
    if (c.line) { series.push({ label: 'fitted', stroke: '#d97706', width: 2, dash: [6, 4], spanGaps: true, points: { show: false } }); cols.push(at(c.line)); }
    if (c.limit) { series.push({ label: 'limit', stroke: '#dc2626', width: 2, points: { show: false } }); cols.push(x.map(function () { return c.limit; })); }
    if (c.crossing) { series.push({ label: 'predicted crossing', stroke: '#7c3aed', width: 0, paths: function () { return null; }, points: { show: true, size: 12, fill: '#7c3aed' } }); cols.push(at([c.crossing])); }
    var fmt = c.unit === 'bytes' ? bytes : function (v) { return v == null ? '' : String(Math.round(v * 100) / 100); };
    series.forEach(function (s, i) { if (i > 0) s.value = function (u, v) { return fmt(v); }; });
    var el = document.getElementById('chart-' + idx);
    var width = Math.max(320, Math.min(900, el.clientWidth || 900));
    new uPlot({
      width: width, height: 260,
      scales: { x: { time: true }, y: { range: function (u, min, max) { var lo = Math.min(0, min), hi = Math.max(max, c.limit || 0); return [lo, hi + (hi - lo) * 0.08 || 1]; } } },
      axes: [{}, { size: 70, values: function (u, vs) { return vs.map(fmt); } }],
      series: series,
    }, cols, el);
  });
})();
`;

export function reportHtml(r: ReportInput): string {
  const dir = uplotDir();
  const lib = fs.readFileSync(path.join(dir, 'uPlot.iife.min.js'), 'utf8');
  const css = fs.readFileSync(path.join(dir, 'uPlot.min.css'), 'utf8');
  const rows = r.forecasts
    .map(
      (f, i) =>
        `<tr class="${f.level}"><td>${f.level.toUpperCase()}</td><td>${escapeHtml(f.kind)}</td><td><a href="#f-${i}">${escapeHtml(objectName(f))}</a></td><td>${escapeHtml(f.detail)}</td></tr>`,
    )
    .join('\n');
  const sections = r.forecasts
    .map(
      (f, i) =>
        `<section id="f-${i}" class="${f.level}"><h2>${f.level.toUpperCase()} · ${escapeHtml(f.kind)} · ${escapeHtml(objectName(f))}</h2><p>${escapeHtml(f.detail)}</p><p class="meta">${f.samples} samples over ${Math.round(f.spanSeconds)}s, R² ${f.r2.toFixed(2)}${f.etaSeconds !== null ? `, ETA ${f.etaSeconds}s` : ''}</p><div class="chart" id="chart-${i}"></div></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(r.title)}</title>
<style>${css}</style>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #111; max-width: 960px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
td, th { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
tr.fail td:first-child, section.fail h2 { color: #b91c1c; } tr.warn td:first-child, section.warn h2 { color: #b45309; }
section { margin: 1.5rem 0; } h2 { font-size: 1rem; margin: 0 0 .25rem; } .meta { color: #555; margin: 0 0 .5rem; }
.chart { width: 100%; }
</style></head><body>
<h1>${escapeHtml(r.title)}</h1>
<p>Namespace <b>${escapeHtml(r.namespace)}</b> in context <b>${escapeHtml(r.context)}</b>, generated ${escapeHtml(r.generatedAt.toISOString())}. ${r.forecasts.length} forecasts: least-squares fits of the recorded samples; "not enough data" is said, not guessed.</p>
<table><thead><tr><th>level</th><th>kind</th><th>object</th><th>forecast</th></tr></thead><tbody>
${rows || '<tr><td colspan="4">no forecasts: no samples recorded yet</td></tr>'}
</tbody></table>
${r.extraHtml ?? ''}
${sections}
<script>${lib}</script>
<script type="application/json" id="forecast-data">${scriptJson(r.forecasts.map((f) => ({ key: f.key, chart: f.chart })))}</script>
<script>${drawScript}</script>
</body></html>
`;
}

const objectName = (f: ForecastView) =>
  `${f.object.kind.toLowerCase()}/${f.object.name}${f.object.container ? ` (${f.object.container})` : ''}`;
