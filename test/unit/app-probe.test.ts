// monitor --probe's decisions: which Service and path to ask, what an answer
// means; and the HTTP GET itself against a local server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { httpGet, probeFinding, probeTargets } from '../../scripts/lib/app/probe.ts';

describe('monitor --probe', () => {
  const svc = (name: string, component?: string, ports = [{ name: 'http', port: 8000 }]) => ({
    metadata: { name, labels: component ? { 'app.kubernetes.io/component': component } : {} },
    spec: { ports },
  });

  it("asks the chart's backend and frontend Services (by component label, else by name) on their http port", () => {
    expect(
      probeTargets(
        [
          svc('todo-api', 'backend'),
          svc('r-frontend', undefined, [{ name: 'web', port: 3000 }]),
          svc('r-postgresql', 'postgresql'),
        ] as never,
        'r',
      ),
    ).toEqual([
      { component: 'backend', service: 'todo-api', port: 'http', path: '/readyz' },
      { component: 'frontend', service: 'r-frontend', port: 'web', path: '/api/ready' },
    ]);
  });

  it('a 2xx answer is ok; anything else, or no answer, fails with the answer as evidence', () => {
    const t = { component: 'backend' as const, service: 'r-backend', port: 'http', path: '/readyz' };
    expect(probeFinding(t, { status: 200, body: '{"status":"ready"}', ms: 12 }, 'todo')).toMatchObject({
      name: 'probe backend /readyz',
      level: 'ok',
      detail: 'r-backend GET /readyz: 200 in 12 ms',
    });
    const bad = probeFinding(
      t,
      { status: 503, body: '{"status":"not ready","database":"unreachable"}\n', ms: 40 },
      'todo',
    );
    expect(bad).toMatchObject({
      level: 'fail',
      detail: 'r-backend GET /readyz: 503 {"status":"not ready","database":"unreachable"}',
      evidence: { status: 503, path: '/readyz' },
    });
    expect(bad.hint).toMatch(/^npx zx scripts\/debug\.ts -n todo r-backend/);
    expect(probeFinding(t, { error: 'no ready pod behind service/r-backend', ms: 3 }, 'todo').detail).toBe(
      'r-backend GET /readyz: no answer (no ready pod behind service/r-backend)',
    );
  });

  it('httpGet: status and body from 127.0.0.1; a refused connection is an answer, not a throw', async () => {
    const server = http.createServer((req, res) =>
      res.writeHead(req.url === '/readyz' ? 200 : 404).end(`path ${req.url}`),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      expect(await httpGet(port, '/readyz')).toMatchObject({ status: 200, body: 'path /readyz' });
      expect(await httpGet(port, '/nope')).toMatchObject({ status: 404 });
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect((await httpGet(port, '/readyz')).error).toMatch(/ECONNREFUSED/);
  });
});
